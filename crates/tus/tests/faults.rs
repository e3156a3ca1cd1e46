//! Uploads that meet every fault the sandbox can inject — statuses to retry
//! and statuses never to retry, cut connections, lost bytes, stalls, offset
//! conflicts, malformed answers — and still end byte for byte or with a typed,
//! resumable error.

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use sandbox::Fault;
use tus::{Error, Event, ProtocolError};

use crate::support::{Events, Harness, KIB, methods, small_chunks};

/// Runs one upload with `fault` injected on the `nth` request of `method` and
/// checks it still completes byte for byte.
async fn survives(method: Method, nth: u64, fault: Fault) -> (Harness, Events, tus::UploadOutcome) {
    let h = Harness::start().await;
    h.server.faults().inject(method, nth, fault.clone());
    let path = h.file("f.bin", 256 * KIB + 100, 5);
    let events = Events::default();
    let outcome = h
        .upload(&path, &events.options(small_chunks()))
        .await
        .unwrap_or_else(|e| panic!("{fault:?}: {e}"));
    assert!(outcome.verification.is_complete(), "{fault:?}");
    h.assert_stored(&outcome.url, &path);
    assert_eq!(h.server.faults().fired(), 1, "{fault:?} fired");
    (h, events, outcome)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_transient_statuses() {
    for status in [500, 502, 503, 423, 429] {
        let (h, events, outcome) = survives(
            Method::PATCH,
            2,
            Fault::Status {
                status,
                retry_after: None,
            },
        )
        .await;
        assert_eq!(outcome.retries, 1, "{status}");
        assert_eq!(events.retries().len(), 1);
        // After the failure the client re-synced with HEAD before sending again.
        let after_fault: Vec<_> = h
            .server
            .requests()
            .into_iter()
            .skip_while(|r| r.fault.is_none())
            .skip(1)
            .map(|r| r.method)
            .collect();
        assert_eq!(after_fault.first(), Some(&Method::HEAD), "{status}");
    }
}

#[tokio::test]
async fn honours_retry_after() {
    let (_, events, _) = survives(
        Method::PATCH,
        1,
        Fault::Status {
            status: 429,
            retry_after: Some(1),
        },
    )
    .await;
    assert_eq!(events.retries(), [(1, Duration::from_secs(1))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_after_a_cut_connection_from_the_servers_offset() {
    let (h, _, outcome) = survives(
        Method::PATCH,
        2,
        Fault::CutAfter {
            bytes: 10_000,
            lose: 0,
        },
    )
    .await;
    let (cut, next_patch) = h.around_fault();
    assert_eq!(cut.status, None);
    assert_eq!(cut.body_stored, 10_000);
    // Only the unacknowledged rest of the chunk went out again...
    assert_eq!(
        next_patch.upload_offset,
        Some(cut.upload_offset.unwrap() + 10_000)
    );
    // ...and every byte went out at least once.
    assert!(outcome.bytes_sent >= 256 * 1024 + 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resends_bytes_the_server_lost() {
    let (h, _, _) = survives(
        Method::PATCH,
        1,
        Fault::CutAfter {
            bytes: 30_000,
            lose: 5_000,
        },
    )
    .await;
    let (cut, next_patch) = h.around_fault();
    assert_eq!(
        next_patch.upload_offset,
        Some(cut.upload_offset.unwrap() + 25_000)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creation_cut_mid_body_is_not_repeated_and_a_rerun_is_safe() {
    // An upload that fits in one chunk rides on the POST (creation-with-upload).
    // Cut mid-body, the POST may have reached the server: repeating it could
    // leave two uploads, so the client stops and says a rerun is safe.
    let h = Harness::start().await;
    h.server.faults().inject(
        Method::POST,
        1,
        Fault::CutAfter {
            bytes: 1_000,
            lose: 0,
        },
    );
    let path = h.file("one.bin", 30 * KIB, 4);
    let error = h.upload(&path, &small_chunks()).await.unwrap_err();
    assert!(
        matches!(error, Error::CreationUncertain { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("rerun is safe"), "{error}");
    assert_eq!(methods(&h), [Method::OPTIONS, Method::POST]);
    let outcome = h.upload(&path, &small_chunks()).await.unwrap();
    h.assert_stored(&outcome.url, &path);
    let methods = methods(&h);
    assert_eq!(methods.iter().filter(|m| **m == Method::POST).count(), 2);
    assert!(!methods.contains(&Method::PATCH), "{methods:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_server_times_out_and_the_upload_resumes() {
    let (_, events, _) = survives(Method::PATCH, 2, Fault::Stall(Duration::from_secs(3))).await;
    let reasons: Vec<_> = events
        .all()
        .into_iter()
        .filter_map(|e| match e {
            Event::Retrying { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.len(), 1);
    assert!(reasons[0].contains("no progress"), "{reasons:?}");
}

#[tokio::test]
async fn offset_conflicts_resync_with_head() {
    let (h, events, _) = survives(
        Method::PATCH,
        2,
        Fault::Status {
            status: 409,
            retry_after: None,
        },
    )
    .await;
    let retries = events.retries();
    assert_eq!(retries.len(), 1, "the re-sync is reported");
    assert!(
        retries[0].1 > Duration::ZERO,
        "a 409 re-syncs after a backoff wait, like any failure"
    );
    let log = h.server.requests();
    let conflict = log.iter().position(|r| r.fault.is_some()).unwrap();
    assert_eq!(log[conflict + 1].method, Method::HEAD);
}

#[tokio::test]
async fn a_failed_head_is_retried_too() {
    survives(
        Method::HEAD,
        1,
        Fault::Status {
            status: 503,
            retry_after: None,
        },
    )
    .await;
}

#[tokio::test]
async fn never_retries_errors_that_cannot_succeed() {
    for status in [400, 401, 403, 404, 410, 413] {
        let h = Harness::start().await;
        h.server.faults().inject(
            Method::PATCH,
            1,
            Fault::Status {
                status,
                retry_after: None,
            },
        );
        let path = h.file("g.bin", 200 * KIB, 6);
        let err = h.upload(&path, &small_chunks()).await.unwrap_err();
        match err {
            Error::Status(e) => {
                assert_eq!(e.status, status);
                assert_eq!(e.method, "PATCH");
                assert!(e.url.starts_with("http://127.0.0.1:"));
                assert_eq!(e.body_excerpt, "injected fault");
            }
            other => panic!("{status}: {other:?}"),
        }
        assert_eq!(
            h.server
                .requests()
                .iter()
                .filter(|r| r.method == Method::PATCH)
                .count(),
            1,
            "{status}: no retry"
        );
    }
}

#[tokio::test]
async fn html_error_pages_become_readable_errors() {
    let h = Harness::start().await;
    h.server.faults().inject(
        Method::POST,
        1,
        Fault::Raw {
            status: 403,
            content_type: "text/html".into(),
            body: "<html>\n<h1>Forbidden</h1>\n</html>".into(),
        },
    );
    let path = h.file("h.bin", 10, 7);
    let err = h.upload(&path, &small_chunks()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "POST {} answered 403: <html> <h1>Forbidden</h1> </html>",
            h.server.endpoint()
        )
    );
}

#[tokio::test]
async fn malformed_and_backwards_offsets_are_protocol_errors_and_resumable() {
    for (text, expected) in [
        (
            "banana",
            ProtocolError::MalformedHeader {
                name: "Upload-Offset",
            },
        ),
        (
            "1",
            ProtocolError::OffsetBackwards {
                before: 65536,
                after: 1,
            },
        ),
        (
            "99999999",
            ProtocolError::OffsetTooLarge {
                offset: 99_999_999,
                limit: 131_072,
            },
        ),
    ] {
        let h = Harness::start().await;
        h.server
            .faults()
            .inject(Method::PATCH, 2, Fault::WrongOffset(text.into()));
        let path = h.file("i.bin", 200 * KIB, 8);
        let store = Arc::new(tus::MemoryUrlStore::new());
        let options = small_chunks().store(store.clone());
        let err = h.upload(&path, &options).await.unwrap_err();
        match err {
            Error::Protocol { error, .. } => assert_eq!(error, expected, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
        // The upload is still resumable: the rerun continues from the real offset.
        let outcome = h.upload(&path, &options).await.unwrap();
        assert_eq!(outcome.resumed_from, 131_072, "{text}");
        h.assert_stored(&outcome.url, &path);
    }
}
