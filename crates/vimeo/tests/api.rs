//! API calls: version pinning, typed errors, fields, paging, rate limits,
//! retries and the response cache.

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use sandbox::{Fault, SandboxConfig};
use serde_json::{Value, json};
use vimeo::cache::{ManualClock, MemoryCache};
use vimeo::{ApiRequest, Error, RateLimitPolicy, User, Video, codes};

use crate::support::{self, start, start_with};

#[tokio::test]
async fn calls_pin_the_version_and_decode_typed_models() {
    let (sandbox, client) = start().await;
    let me: User = client.get("/me").await.unwrap();
    assert_eq!(me.uri.as_deref(), Some("/users/1000"));
    let space = me.upload_quota.unwrap().space.unwrap();
    assert_eq!(space.free, space.max);
    let request = sandbox.requests().pop().unwrap();
    assert_eq!(request.accept.as_deref(), Some(vimeo::ACCEPT_VERSION));
    assert_eq!(
        request.authorization,
        Some(format!("Bearer {}", sandbox.credentials().personal_token))
    );
    assert!(request.user_agent.unwrap().starts_with("vimeo-rs/"));
    let snapshot = client
        .last_rate_limit()
        .expect("rate-limit headers were read");
    assert_eq!(snapshot.limit, Some(2_500));
    assert!(snapshot.reset_unix.is_some());
}

#[tokio::test]
async fn fields_filter_nested_paths() {
    let (_sandbox, client) = start().await;
    let created: Video = client
        .post(
            "/me/videos",
            &json!({"upload": {"approach": "tus", "size": 5}, "name": "A"}),
        )
        .await
        .unwrap();
    let path = created.uri.unwrap();
    let raw: Value = client
        .send(ApiRequest::get(&path).fields("uri,upload.status"))
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(raw["upload"], json!({"status": "in_progress"}));
    assert!(raw.get("name").is_none());
}

#[tokio::test]
async fn errors_are_typed_with_vimeo_fields() {
    let (sandbox, client) = start().await;
    let error = client.get::<Value>("/videos/424242").await.unwrap_err();
    let api = error.api().expect("an API error");
    assert_eq!((api.status, api.error_code), (404, Some(codes::NOT_FOUND)));
    assert_eq!(api.method, "GET");
    assert_eq!(api.path, "/videos/424242");
    assert!(api.developer_message.is_some() && api.rate_limit.is_some());

    let error = client
        .post::<Value>(
            "/me/videos",
            &json!({"upload": {"approach": "tus", "size": "lots"}}),
        )
        .await
        .unwrap_err();
    let api = error.api().unwrap();
    assert_eq!(api.error_code, Some(codes::INVALID_PARAMETERS));
    assert_eq!(
        api.invalid_parameters[0].field.as_deref(),
        Some("upload.size")
    );
    assert!(error.to_string().contains("upload.size"), "{error}");

    let error = client
        .post::<Value>("/me/videos", &json!({"type": "streaming"}))
        .await
        .unwrap_err();
    assert_eq!(
        error.api().unwrap().error_code,
        Some(codes::LEGACY_UPLOAD_TYPE)
    );

    // No token at all, and a client-credentials token trying to upload.
    let anonymous = support::builder(&sandbox).build().unwrap();
    let error = anonymous.get::<Value>("/me").await.unwrap_err();
    assert_eq!(error.api().unwrap().error_code, Some(codes::MISSING_TOKEN));
    let app_only = support::builder(&sandbox)
        .token(sandbox.issue_token("public upload", false))
        .build()
        .unwrap();
    let error = app_only
        .post::<Value>(
            "/me/videos",
            &json!({"upload": {"approach": "tus", "size": 1}}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        error.api().unwrap().error_code,
        Some(codes::NO_USER_FOR_TOKEN)
    );
}

#[tokio::test]
async fn a_proxy_page_becomes_an_error_with_its_text() {
    let (sandbox, client) = start().await;
    sandbox.faults().inject_next(
        Method::POST,
        Fault::Raw {
            status: 502,
            content_type: "text/html".into(),
            body: "<html><body>Bad gateway</body></html>".into(),
        },
    );
    let error = client
        .post::<Value>(
            "/me/videos",
            &json!({"upload": {"approach": "tus", "size": 1}}),
        )
        .await
        .unwrap_err();
    let api = error.api().unwrap();
    assert_eq!((api.status, api.error_code), (502, None));
    assert!(api.body_excerpt.contains("Bad gateway"));
}

#[tokio::test]
async fn paging_follows_next_until_the_end() {
    let (sandbox, client) = start().await;
    for i in 0..7 {
        let _: Video = client
            .post(
                "/me/videos",
                &json!({"upload": {"approach": "tus", "size": 1}, "name": format!("v{i}")}),
            )
            .await
            .unwrap();
    }
    let before = sandbox.requests().len();
    let mut pages = client.paginate::<Video>("/me/videos?per_page=3&fields=uri,name");
    let mut names = Vec::new();
    while let Some(video) = pages.next().await {
        names.push(video.unwrap().name.unwrap());
    }
    assert_eq!(pages.pages_fetched(), 3);
    assert_eq!(sandbox.requests().len() - before, 3);
    assert_eq!(names, ["v6", "v5", "v4", "v3", "v2", "v1", "v0"]);
    // The same through the Stream interface.
    use futures_util::StreamExt as _;
    let streamed: Vec<_> = client
        .paginate::<Video>("/me/videos?per_page=2")
        .into_stream()
        .collect()
        .await;
    assert_eq!(streamed.len(), 7);
    // A bad page size is an error item, after which the paginator ends.
    let mut bad = client.paginate::<Video>("/me/videos?per_page=1000");
    assert!(bad.next().await.unwrap().is_err());
    assert!(bad.next().await.is_none());
}

#[tokio::test]
async fn idempotent_calls_retry_5xx_but_posts_do_not() {
    let (sandbox, client) = start().await;
    sandbox.faults().inject_next(
        Method::GET,
        Fault::Status {
            status: 503,
            retry_after: None,
        },
    );
    let me: User = client.get("/me").await.unwrap();
    assert!(me.uri.is_some());
    assert_eq!(sandbox.faults().fired(), 1);
    sandbox.faults().inject_next(
        Method::POST,
        Fault::Status {
            status: 503,
            retry_after: None,
        },
    );
    let error = client
        .post::<Value>(
            "/me/videos",
            &json!({"upload": {"approach": "tus", "size": 1}}),
        )
        .await
        .unwrap_err();
    assert_eq!(error.api().unwrap().status, 503);
}

#[tokio::test]
async fn a_429_is_waited_out_within_the_budget_then_returned() {
    let (sandbox, client) = start_with(
        SandboxConfig::new()
            .rate_limit(3, Duration::from_secs(1))
            .reset_as_epoch(),
    )
    .await;
    for _ in 0..3 {
        let _: User = client.get("/me").await.unwrap();
    }
    assert_eq!(client.last_rate_limit().unwrap().remaining, Some(0));
    // The fourth call is refused, waits for the reset (≤ 1 s) and succeeds.
    let _: User = client.get("/me").await.unwrap();
    let statuses: Vec<u16> = sandbox.requests().iter().map(|r| r.status).collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(*statuses.last().unwrap(), 200);

    // With no budget, the 429 comes back typed, with the snapshot.
    let strict = support::builder(&sandbox)
        .token(sandbox.credentials().personal_token.as_str())
        .rate_limit_policy(RateLimitPolicy::never())
        .build()
        .unwrap();
    sandbox.faults().inject_next(
        Method::GET,
        Fault::Status {
            status: 429,
            retry_after: Some(30),
        },
    );
    let error = strict.get::<Value>("/me").await.unwrap_err();
    let api = error.api().unwrap();
    assert!(api.is_rate_limited());
    assert_eq!(api.rate_limit.unwrap().remaining, Some(0));

    // A wait longer than the budget allows is not attempted.
    sandbox.faults().inject_next(
        Method::GET,
        Fault::Status {
            status: 429,
            retry_after: Some(3_600),
        },
    );
    let started = std::time::Instant::now();
    assert!(
        client
            .get::<Value>("/me")
            .await
            .unwrap_err()
            .api()
            .unwrap()
            .is_rate_limited()
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test]
async fn the_cache_serves_hits_and_isolates_tokens() {
    let (sandbox, client) = start().await;
    let clock = Arc::new(ManualClock::new(1_000_000));
    let cache = Arc::new(
        MemoryCache::builder()
            .clock(clock.clone() as Arc<dyn vimeo::cache::Clock>)
            .build(),
    );
    client.enable_cache(cache.clone(), Duration::from_secs(60));
    let count = || {
        sandbox
            .requests()
            .iter()
            .filter(|r| r.path == "/me")
            .count()
    };

    let first = client.send(ApiRequest::get("/me")).await.unwrap();
    let second = client.send(ApiRequest::get("/me")).await.unwrap();
    assert!(!first.from_cache && second.from_cache);
    assert_eq!(first.body, second.body);
    assert_eq!(count(), 1, "the second call was a hit");

    // Bypass: goes to the origin and leaves the cache alone.
    assert!(
        !client
            .send(ApiRequest::get("/me").no_cache())
            .await
            .unwrap()
            .from_cache
    );
    assert_eq!(count(), 2);

    // Another token never sees this token's entry.
    let other = sandbox.issue_token("public private", true);
    client.set_token(other.as_str());
    assert!(
        !client
            .send(ApiRequest::get("/me"))
            .await
            .unwrap()
            .from_cache
    );
    assert_eq!(count(), 3);
    client.set_token(sandbox.credentials().personal_token.as_str());

    // Expiry.
    clock.advance(Duration::from_secs(61));
    assert!(
        !client
            .send(ApiRequest::get("/me"))
            .await
            .unwrap()
            .from_cache
    );
    assert_eq!(count(), 4);

    // Errors are never cached.
    for _ in 0..2 {
        assert!(client.get::<Value>("/videos/1").await.is_err());
    }
    assert_eq!(
        sandbox
            .requests()
            .iter()
            .filter(|r| r.path == "/videos/1")
            .count(),
        2
    );

    // Clearing, and disabling.
    client.clear_cache().await.unwrap();
    assert!(
        !client
            .send(ApiRequest::get("/me"))
            .await
            .unwrap()
            .from_cache
    );
    client.disable_cache();
    assert!(
        !client
            .send(ApiRequest::get("/me"))
            .await
            .unwrap()
            .from_cache
    );
    assert_eq!(count(), 6);
}

#[tokio::test]
async fn the_token_goes_to_the_api_host_only() {
    let (sandbox, client) = start().await;
    // An absolute URL on another origin (the upload host) gets no credentials.
    let elsewhere = format!("{}/files/0000", sandbox.upload_host());
    let _ = client.send(ApiRequest::get(&elsewhere)).await;
    let seen = sandbox.uploads().requests();
    assert_eq!(seen.len(), 1, "the request reached the other host");
    assert_eq!(seen[0].authorization, None);
    // The same path on the API origin does get it.
    let _ = client
        .send(ApiRequest::get(format!("{}/me", sandbox.api_url())))
        .await;
    assert!(sandbox.requests().last().unwrap().authorization.is_some());
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed_with_the_token() {
    let (sandbox, client) = start().await;
    for status in [301, 302, 307, 308] {
        sandbox.faults().inject_next(
            Method::GET,
            Fault::Redirect {
                status,
                location: format!("{}/files/steal", sandbox.upload_host()),
            },
        );
        let error = client
            .send(ApiRequest::get("/me").no_cache())
            .await
            .unwrap_err();
        assert_eq!(error.api().map(|e| e.status), Some(status), "{error}");
    }
    // Nothing reached the other host: no token to leak.
    assert!(sandbox.uploads().requests().is_empty());
}

#[tokio::test]
async fn transport_failures_are_typed_and_secret_free() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = vimeo::VimeoClient::builder()
        .api_url(format!("http://127.0.0.1:{port}"))
        .token("super-secret-token")
        .retry_policy(support::fast_retries().max_attempts(2))
        .build()
        .unwrap();
    let error = client.get::<Value>("/me?x=1").await.unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    let text = format!("{error} {error:?} {client:?}");
    assert!(
        !text.contains("super-secret-token") && !text.contains("x=1"),
        "{text}"
    );
}
