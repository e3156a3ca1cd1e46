//! The optional tus extensions against the sandbox: checksum, expiration and
//! creation-defer-length (streams of unknown length).

use http::Method;
use sandbox::Fault;
use tus::{ChecksumAlgorithm, Error, Source, UploadOptions};

use crate::support::{Harness, client};

fn options() -> UploadOptions {
    UploadOptions::default().chunk_size(64 * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_patch_carries_a_verified_checksum() {
    for (algorithm, prefix) in [
        (ChecksumAlgorithm::Sha1, "sha1 "),
        (ChecksumAlgorithm::Sha256, "sha256 "),
    ] {
        let h = Harness::start().await;
        let path = h.file("c.bin", 200_000, 40);
        let outcome = h
            .upload(&path, &options().checksum(algorithm))
            .await
            .unwrap();
        assert!(outcome.verification.is_complete());
        h.assert_stored(&outcome.url, &path);
        let log = h.server.requests();
        let post = log.iter().find(|r| r.method == Method::POST).unwrap();
        assert_eq!(
            post.content_length,
            Some(0),
            "no data rides on the POST when checksums are on"
        );
        let patches: Vec<_> = log.iter().filter(|r| r.method == Method::PATCH).collect();
        assert_eq!(patches.len(), 4);
        for patch in patches {
            assert!(
                patch
                    .checksum
                    .as_deref()
                    .is_some_and(|c| c.starts_with(prefix)),
                "{:?}",
                patch.checksum
            );
            assert_eq!(patch.status, Some(204), "the server verified it");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_460_resends_only_the_failed_chunk() {
    let h = Harness::start().await;
    h.server
        .faults()
        .inject(Method::PATCH, 2, Fault::ChecksumMismatch);
    let path = h.file("d.bin", 200_000, 41);
    let outcome = h
        .upload(&path, &options().checksum(ChecksumAlgorithm::Sha1))
        .await
        .unwrap();
    h.assert_stored(&outcome.url, &path);
    assert_eq!(outcome.retries, 1);
    assert_eq!(
        outcome.bytes_sent,
        200_000 + 65_536,
        "exactly one chunk went twice"
    );
    let offsets: Vec<_> = h
        .server
        .requests()
        .iter()
        .filter(|r| r.method == Method::PATCH)
        .map(|r| r.upload_offset.unwrap())
        .collect();
    assert_eq!(offsets, [0, 65_536, 65_536, 131_072, 196_608]);
}

#[tokio::test]
async fn a_persistent_mismatch_gives_up_with_the_460() {
    let h = Harness::start().await;
    let path = h.file("e.bin", 100_000, 42);
    // A proxy that damages every chunk: the hook replaces the digest.
    let damaging = tus::Client::builder()
        .retry_policy(tus::RetryPolicy::default().max_attempts(2).backoff(
            std::time::Duration::from_millis(1),
            std::time::Duration::from_millis(2),
        ))
        .request_hook(|parts| {
            if parts.headers.contains_key("upload-checksum") {
                parts.headers.insert(
                    "upload-checksum",
                    "sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=".parse().unwrap(),
                );
            }
        })
        .build()
        .unwrap();
    let err = damaging
        .upload(
            &h.server.endpoint(),
            Source::from_path(&path).await.unwrap(),
            &options().checksum(ChecksumAlgorithm::Sha1),
        )
        .await
        .unwrap_err();
    match err {
        Error::RetriesExhausted { attempts: 3, last } => assert!(
            matches!(*last, Error::Status(ref s) if s.status == 460),
            "{last:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        h.server.upload_state(&h.upload_url()).map(|s| s.0),
        Some(0),
        "nothing damaged was kept"
    );
}

#[tokio::test]
async fn servers_without_the_extension_get_no_checksum_header() {
    let h = Harness::with(|c| c.without_extension("checksum")).await;
    let path = h.file("f.bin", 100_000, 43);
    let outcome = h
        .upload(&path, &options().checksum(ChecksumAlgorithm::Sha256))
        .await
        .unwrap();
    h.assert_stored(&outcome.url, &path);
    assert!(h.server.requests().iter().all(|r| r.checksum.is_none()));
}

#[tokio::test]
async fn upload_to_negotiates_checksums_with_the_upload_url() {
    let h = Harness::start().await;
    let path = h.file("g.bin", 100_000, 44);
    let store = std::sync::Arc::new(tus::MemoryUrlStore::new());
    h.server.faults().inject(
        Method::PATCH,
        1,
        Fault::Status {
            status: 404,
            retry_after: None,
        },
    );
    let _ = h
        .upload(&path, &options().store(store).creation_with_upload(false))
        .await;
    let url = h.upload_url();
    client()
        .upload_to(
            &url,
            Source::from_path(&path).await.unwrap(),
            &options().checksum(ChecksumAlgorithm::Sha1),
        )
        .await
        .unwrap();
    let after: Vec<_> = h
        .server
        .requests()
        .into_iter()
        .filter(|r| r.method == Method::PATCH)
        .skip(1)
        .collect();
    assert!(!after.is_empty() && after.iter().all(|r| r.checksum.is_some()));
    h.assert_stored(&url, &path);
}

/// Uploads until the first chunk is acknowledged, then cancels (resumable).
async fn start_and_cancel(
    h: &Harness,
    path: &std::path::Path,
    store: std::sync::Arc<tus::MemoryUrlStore>,
) {
    let cancel = tus::CancelToken::new();
    let trigger = cancel.clone();
    let options = options()
        .creation_with_upload(false)
        .store(store)
        .cancel_token(cancel)
        .on_event(move |event| {
            if matches!(event, tus::Event::ChunkComplete { .. }) {
                trigger.cancel();
            }
        });
    let err = client()
        .upload(
            &h.server.endpoint(),
            Source::from_path(path).await.unwrap(),
            &options,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_expires_is_reported_while_unfinished() {
    let h = Harness::with(|c| c.expires_after(std::time::Duration::from_secs(3600))).await;
    assert!(
        client()
            .options(&h.server.endpoint())
            .await
            .unwrap()
            .supports("expiration")
    );
    let path = h.file("x.bin", 200_000, 45);
    let store = std::sync::Arc::new(tus::MemoryUrlStore::new());
    start_and_cancel(&h, &path, store).await;
    let url = h.upload_url();
    let status = client().status(&url).await.unwrap();
    let left = status
        .expires_at
        .unwrap()
        .duration_since(std::time::SystemTime::now())
        .unwrap();
    assert!(
        left > std::time::Duration::from_secs(3500) && left <= std::time::Duration::from_secs(3600),
        "{left:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_that_expires_midway_starts_over_cleanly() {
    let h = Harness::with(|c| c.expires_after(std::time::Duration::from_secs(3600))).await;
    h.server.faults().inject(Method::PATCH, 3, Fault::Expire);
    let path = h.file("y.bin", 300_000, 46);
    let restarted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = restarted.clone();
    let options = options().on_event(move |event| {
        if matches!(event, tus::Event::Restarted { .. }) {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let outcome = h.upload(&path, &options).await.unwrap();
    assert!(restarted.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(outcome.resumed_from, 0);
    h.assert_stored(&outcome.url, &path);
    assert_eq!(
        h.server
            .requests()
            .iter()
            .filter(|r| r.method == Method::POST)
            .count(),
        2,
        "a second upload was created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_stored_upload_is_replaced_on_resume() {
    let h = Harness::with(|c| c.expires_after(std::time::Duration::from_secs(3600))).await;
    let path = h.file("z.bin", 200_000, 47);
    let store = std::sync::Arc::new(tus::MemoryUrlStore::new());
    start_and_cancel(&h, &path, store.clone()).await;
    h.server.faults().inject_next(Method::HEAD, Fault::Expire);
    let outcome = h.upload(&path, &options().store(store)).await.unwrap();
    assert_eq!(outcome.resumed_from, 0);
    h.assert_stored(&outcome.url, &path);
    assert_eq!(
        h.server
            .requests()
            .iter()
            .filter(|r| r.method == Method::POST)
            .count(),
        2
    );
}

#[tokio::test]
async fn without_the_extension_a_vanished_upload_is_an_error_not_a_restart() {
    let h = Harness::start().await;
    h.server.faults().inject(Method::PATCH, 2, Fault::Expire);
    let path = h.file("w.bin", 200_000, 48);
    let err = h.upload(&path, &options()).await.unwrap_err();
    assert!(
        matches!(err, Error::Status(ref s) if s.status == 410),
        "{err:?}"
    );
    assert_eq!(
        h.server
            .requests()
            .iter()
            .filter(|r| r.method == Method::POST)
            .count(),
        1
    );
}

fn stream_of(len: usize, seed: u64) -> Vec<u8> {
    crate::support::content(len, seed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_of_unknown_length_upload_with_a_deferred_length() {
    let h = Harness::start().await;
    let chunk = 64 * 1024;
    for len in [0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk + 5] {
        let bytes = stream_of(len, len as u64);
        let outcome = client()
            .upload_stream(&h.server.endpoint(), &bytes[..], &options())
            .await
            .unwrap();
        assert_eq!(
            outcome.verification,
            tus::Verification::Complete { length: len as u64 },
            "len {len}"
        );
        assert_eq!(outcome.bytes_sent, len as u64);
        assert_eq!(
            std::fs::read(h.server.stored_file(&outcome.url).unwrap()).unwrap(),
            bytes,
            "len {len}"
        );
        assert_eq!(
            h.server.upload_state(&outcome.url),
            Some((len as u64, len as u64))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_survives_cuts_and_server_errors_within_a_chunk() {
    let h = Harness::start().await;
    h.server.faults().inject(
        Method::PATCH,
        2,
        Fault::CutAfter {
            bytes: 10_000,
            lose: 0,
        },
    );
    h.server.faults().inject(
        Method::PATCH,
        4,
        Fault::Status {
            status: 503,
            retry_after: None,
        },
    );
    let bytes = stream_of(300_000, 50);
    let outcome = client()
        .upload_stream(&h.server.endpoint(), &bytes[..], &options())
        .await
        .unwrap();
    assert!(outcome.verification.is_complete());
    assert_eq!(outcome.retries, 2);
    assert_eq!(
        std::fs::read(h.server.stored_file(&outcome.url).unwrap()).unwrap(),
        bytes
    );
    // After the cut, only the unacknowledged part of the chunk was re-sent.
    let (cut, next_patch) = h.around_fault();
    assert!(matches!(cut.fault, Some(Fault::CutAfter { .. })));
    assert_eq!(
        next_patch.upload_offset,
        Some(cut.upload_offset.unwrap() + 10_000)
    );
}

#[tokio::test]
async fn a_server_without_deferred_lengths_is_refused_clearly() {
    let h = Harness::with(|c| c.without_extension("creation-defer-length")).await;
    let err = client()
        .upload_stream(&h.server.endpoint(), &b"data"[..], &options())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unsupported {
                extension: "creation-defer-length"
            }
        ),
        "{err:?}"
    );
    assert!(h.server.requests().iter().all(|r| r.method != Method::POST));
}
