//! Async request hooks against a token-protected server whose bearer token
//! rotates mid-upload: the before-request hook attaches the current token,
//! the after-response hook refreshes it on a 401 and asks for one retry.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use http::HeaderValue;
use tus::{AfterResponse, Error, Source, UploadOptions};

use crate::support::{Harness, client};

/// Hooks that attach `cache`'s token and refresh it from `server` on a 401.
fn token_hooks(harness: &Harness, refreshes: Arc<AtomicU32>) -> UploadOptions {
    let backend = Arc::new(harness.server.token_source());
    let cache = Arc::new(Mutex::new(backend().unwrap()));
    let attach = cache.clone();
    UploadOptions::default()
        .chunk_size(64 * 1024)
        .before_request(move |mut request| {
            let token = attach.lock().unwrap().clone();
            Box::pin(async move {
                request.headers.insert(
                    "authorization",
                    HeaderValue::from_str(&format!("Bearer {token}"))?,
                );
                Ok(request)
            })
        })
        .after_response(move |answer| {
            let (backend, cache, refreshes) = (backend.clone(), cache.clone(), refreshes.clone());
            Box::pin(async move {
                if answer.status != 401 {
                    return AfterResponse::Continue;
                }
                // The app's backend hands out the current token.
                *cache.lock().unwrap() = backend().unwrap();
                refreshes.fetch_add(1, Ordering::SeqCst);
                AfterResponse::RetryOnce
            })
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_finishes_through_token_expiries_without_resending_acknowledged_bytes() {
    let harness = Harness::with(|config| config.rotating_token(4)).await;
    let path = harness.file("rotating.bin", 1 << 20, 7);
    let refreshes = Arc::new(AtomicU32::new(0));
    let options = token_hooks(&harness, refreshes.clone());
    let outcome = client()
        .upload(
            &harness.server.endpoint(),
            Source::from_path(&path).await.unwrap(),
            &options,
        )
        .await
        .unwrap();
    harness.assert_stored(&outcome.url, &path);
    assert!(
        harness.server.token_rotations() >= 2,
        "the token expired at least twice"
    );
    assert!(
        refreshes.load(Ordering::SeqCst) >= 2,
        "the hook refreshed it each time"
    );
    let log = harness.server.requests();
    assert!(
        log.iter().any(|r| r.status == Some(401)),
        "expired tokens were refused"
    );
    let resent: u64 = log
        .iter()
        .map(sandbox::LoggedRequest::resent_acknowledged_bytes)
        .sum();
    assert_eq!(resent, 0, "no acknowledged byte was sent again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_refresh_the_upload_fails_and_a_failing_hook_is_typed() {
    let harness = Harness::with(|config| config.rotating_token(4)).await;
    let path = harness.file("no-refresh.bin", 1 << 20, 8);
    let token = harness.server.current_token().unwrap();
    let stale = UploadOptions::default()
        .chunk_size(64 * 1024)
        .before_request(move |mut request| {
            let token = token.clone();
            Box::pin(async move {
                request.headers.insert(
                    "authorization",
                    HeaderValue::from_str(&format!("Bearer {token}"))?,
                );
                Ok(request)
            })
        });
    let error = client()
        .upload(
            &harness.server.endpoint(),
            Source::from_path(&path).await.unwrap(),
            &stale,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Status(s) if s.status == 401),
        "{error:?}"
    );
    let failing = UploadOptions::default()
        .before_request(|_| Box::pin(async { Err("the backend is down".into()) }));
    let error = client()
        .upload(
            &harness.server.endpoint(),
            Source::from_path(&path).await.unwrap(),
            &failing,
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Hook { .. }), "{error:?}");
    // A hook may change the query, not the origin.
    let moving = UploadOptions::default().before_request(|mut request| {
        Box::pin(async move {
            request.url = "http://elsewhere.example/files/".parse()?;
            Ok(request)
        })
    });
    let error = client()
        .upload(
            &harness.server.endpoint(),
            Source::from_path(&path).await.unwrap(),
            &moving,
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Hook { .. }), "{error:?}");
}
