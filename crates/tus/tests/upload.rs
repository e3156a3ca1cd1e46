//! Uploads against the sandbox tus server, with every fault it can inject.

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use sandbox::Fault;
use tus::{Error, Event, ProtocolError, RetryPolicy, Source, UploadOptions, Verification};

use crate::support::{Events, Harness, client, content};

const KIB: usize = 1024;

fn small_chunks() -> UploadOptions {
    UploadOptions::default().chunk_size(64 * KIB as u64)
}

fn methods(harness: &Harness) -> Vec<Method> {
    harness
        .server
        .requests()
        .into_iter()
        .map(|r| r.method)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_a_file_in_chunks_and_verifies_it() {
    let h = Harness::start().await;
    let path = h.file("a.bin", 300 * KIB + 7, 1);
    let events = Events::default();
    let options = events.options(small_chunks().metadata("filename", "a.bin"));
    let outcome = client()
        .upload(
            &h.server.endpoint(),
            Source::from_path(&path).await.unwrap(),
            &options,
        )
        .await
        .unwrap();

    assert_eq!(
        outcome.verification,
        Verification::Complete {
            length: 300 * 1024 + 7
        }
    );
    assert_eq!(outcome.resumed_from, 0);
    assert_eq!(outcome.bytes_sent, 300 * 1024 + 7);
    assert_eq!(outcome.retries, 0);
    h.assert_stored(&outcome.url, &path);

    // OPTIONS, an empty POST (a multi-chunk upload is created before any byte
    // is sent, so every byte is resumable), 5 PATCHes, final HEAD.
    assert_eq!(
        methods(&h),
        [
            Method::OPTIONS,
            Method::POST,
            Method::PATCH,
            Method::PATCH,
            Method::PATCH,
            Method::PATCH,
            Method::PATCH,
            Method::HEAD
        ]
    );
    let log = h.server.requests();
    let offsets: Vec<_> = log
        .iter()
        .filter(|r| r.method == Method::PATCH)
        .map(|r| r.upload_offset.unwrap())
        .collect();
    assert_eq!(offsets, [0, 65536, 131072, 196608, 262144]);
    let metadata =
        tus::decode_metadata(h.server.upload_metadata(&outcome.url).unwrap().as_bytes()).unwrap();
    assert_eq!(metadata, [("filename".to_string(), b"a.bin".to_vec())]);

    // Progress never goes backwards and ends at the total.
    let events = events.all();
    let mut last = 0;
    for event in &events {
        if let Event::Progress(p) = event {
            assert!(p.sent >= last && p.sent <= p.total);
            last = p.sent;
        }
    }
    assert_eq!(last, 300 * 1024 + 7);
    let created = events
        .iter()
        .position(|e| matches!(e, Event::Created { .. }))
        .unwrap();
    let first_chunk = events
        .iter()
        .position(|e| matches!(e, Event::ChunkComplete { .. }))
        .unwrap();
    assert!(
        created < first_chunk,
        "Created comes before the first ChunkComplete"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::ChunkComplete { .. }))
            .count(),
        5
    );
}

#[tokio::test]
async fn plain_creation_and_relative_locations() {
    let h = Harness::with(|c| c.relative_location()).await;
    let path = h.file("b.bin", 100 * KIB, 2);
    let options = small_chunks().creation_with_upload(false);
    let outcome = client()
        .upload(
            &h.server.endpoint(),
            Source::from_path(&path).await.unwrap(),
            &options,
        )
        .await
        .unwrap();
    assert!(outcome.verification.is_complete());
    assert!(
        outcome.url.starts_with(&h.server.endpoint()),
        "{} resolved against the endpoint",
        outcome.url
    );
    h.assert_stored(&outcome.url, &path);
    let post = h
        .server
        .requests()
        .into_iter()
        .find(|r| r.method == Method::POST)
        .unwrap();
    assert_eq!(post.content_length, Some(0));
}

#[tokio::test]
async fn empty_and_one_byte_files() {
    let h = Harness::start().await;
    for len in [0, 1] {
        let path = h.file(&format!("e{len}.bin"), len, 3);
        let outcome = client()
            .upload(
                &h.server.endpoint(),
                Source::from_path(&path).await.unwrap(),
                &small_chunks(),
            )
            .await
            .unwrap();
        assert_eq!(
            outcome.verification,
            Verification::Complete { length: len as u64 }
        );
        h.assert_stored(&outcome.url, &path);
    }
}

#[tokio::test]
async fn uploads_from_a_reader_of_known_length() {
    let h = Harness::start().await;
    let bytes = content(200 * KIB, 4);
    let source = Source::from_reader(std::io::Cursor::new(bytes.clone()), bytes.len() as u64);
    let outcome = client()
        .upload(&h.server.endpoint(), source, &small_chunks())
        .await
        .unwrap();
    assert!(outcome.verification.is_complete());
    assert_eq!(
        std::fs::read(h.server.stored_file(&outcome.url).unwrap()).unwrap(),
        bytes
    );
}

/// Runs one upload with `fault` injected on the `nth` request of `method` and
/// checks it still completes byte for byte.
async fn survives(method: Method, nth: u64, fault: Fault) -> (Harness, Events, tus::UploadOutcome) {
    let h = Harness::start().await;
    h.server.faults().inject(method, nth, fault.clone());
    let path = h.file("f.bin", 256 * KIB + 100, 5);
    let events = Events::default();
    let outcome = client()
        .upload(
            &h.server.endpoint(),
            Source::from_path(&path).await.unwrap(),
            &events.options(small_chunks()),
        )
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
    let error = client()
        .upload(
            &h.server.endpoint(),
            Source::from_path(&path).await.unwrap(),
            &small_chunks(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::CreationUncertain { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("rerun is safe"), "{error}");
    assert_eq!(methods(&h), [Method::OPTIONS, Method::POST]);
    let outcome = client()
        .upload(
            &h.server.endpoint(),
            Source::from_path(&path).await.unwrap(),
            &small_chunks(),
        )
        .await
        .unwrap();
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
        let err = client()
            .upload(
                &h.server.endpoint(),
                Source::from_path(&path).await.unwrap(),
                &small_chunks(),
            )
            .await
            .unwrap_err();
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
    let err = client()
        .upload(
            &h.server.endpoint(),
            Source::from_path(&path).await.unwrap(),
            &small_chunks(),
        )
        .await
        .unwrap_err();
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
        let err = client()
            .upload(
                &h.server.endpoint(),
                Source::from_path(&path).await.unwrap(),
                &options,
            )
            .await
            .unwrap_err();
        match err {
            Error::Protocol { error, .. } => assert_eq!(error, expected, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
        // The upload is still resumable: the rerun continues from the real offset.
        let outcome = client()
            .upload(
                &h.server.endpoint(),
                Source::from_path(&path).await.unwrap(),
                &options,
            )
            .await
            .unwrap();
        assert_eq!(outcome.resumed_from, 131_072, "{text}");
        h.assert_stored(&outcome.url, &path);
    }
}

#[tokio::test]
async fn upload_to_an_existing_url_and_check_status() {
    let h = Harness::start().await;
    let path = h.file("l.bin", 150 * KIB, 11);
    h.server.faults().inject(
        Method::PATCH,
        1,
        Fault::Status {
            status: 404,
            retry_after: None,
        },
    );
    let store = Arc::new(tus::MemoryUrlStore::new());
    let options = small_chunks()
        .store(store.clone())
        .creation_with_upload(false);
    client()
        .upload(
            &h.server.endpoint(),
            Source::from_path(&path).await.unwrap(),
            &options,
        )
        .await
        .unwrap_err();
    let url = h.upload_url();

    assert_eq!(
        client().verify(&url, 150 * 1024).await.unwrap(),
        Verification::Incomplete {
            offset: 0,
            length: 150 * 1024
        }
    );
    let outcome = client()
        .upload_to(
            &url,
            Source::from_path(&path).await.unwrap(),
            &small_chunks(),
        )
        .await
        .unwrap();
    assert_eq!(
        outcome.verification,
        Verification::Complete { length: 150 * 1024 }
    );
    assert_eq!(client().status(&url).await.unwrap().offset, 150 * 1024);
    h.assert_stored(&url, &path);

    // Terminate, then the URL is gone.
    client().terminate(&url).await.unwrap();
    match client().status(&url).await.unwrap_err() {
        Error::Status(e) => assert_eq!(e.status, 410),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn options_reports_capabilities() {
    let h = Harness::with(|c| c.max_size(1000)).await;
    let caps = client().options(&h.server.endpoint()).await.unwrap();
    assert_eq!(caps.versions, ["1.0.0"]);
    assert!(
        caps.supports("creation")
            && caps.supports("creation-with-upload")
            && caps.supports("termination")
    );
    assert_eq!(caps.max_size, Some(1000));
    let path = h.file("m.bin", 1001, 12);
    let err = client()
        .upload(
            &h.server.endpoint(),
            Source::from_path(&path).await.unwrap(),
            &small_chunks(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                length: 1001,
                max: 1000
            }
        ),
        "{err:?}"
    );
    assert!(h.server.requests().iter().all(|r| r.method != Method::POST));
}

#[tokio::test]
async fn bad_sources_are_typed_errors() {
    let h = Harness::start().await;
    match Source::from_path(h.dir.path().join("missing"))
        .await
        .unwrap_err()
    {
        Error::Source { path, source } => {
            assert!(path.unwrap().ends_with("missing"));
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Source::from_path(h.dir.path()).await.unwrap_err(),
        Error::NotAFile { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_grows_during_the_upload_is_detected() {
    let h = Harness::start().await;
    let path = h.file("n.bin", 256 * KIB, 13);
    let grow = path.clone();
    let options = small_chunks().on_event(move |event| {
        if let Event::ChunkComplete {
            offset: 131_072, ..
        } = event
        {
            use std::io::Write;
            std::fs::OpenOptions::new()
                .append(true)
                .open(&grow)
                .unwrap()
                .write_all(b"more")
                .unwrap();
        }
    });
    let err = client()
        .upload(
            &h.server.endpoint(),
            Source::from_path(&path).await.unwrap(),
            &options,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::SourceChanged {
                expected: 262_144,
                found: 262_148
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn bad_urls_are_refused_before_any_request() {
    for url in ["", "ftp://h/files", "not a url", "http:///files"] {
        let source = Source::from_reader(std::io::Cursor::new(vec![1u8]), 1);
        let err = client()
            .upload(url, source, &UploadOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidUrl { .. }), "{url}: {err:?}");
    }
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = tus::Client::builder()
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(2)
                .backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .build()
        .unwrap();
    let source = Source::from_reader(std::io::Cursor::new(vec![1u8; 10]), 10);
    let err = client
        .upload_to(
            &format!("http://127.0.0.1:{port}/files/abc"),
            source,
            &UploadOptions::default(),
        )
        .await
        .unwrap_err();
    match err {
        Error::RetriesExhausted { attempts: 3, last } => {
            assert!(matches!(*last, Error::Transport { .. }), "{last:?}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn custom_headers_and_hooks_reach_every_request_and_nothing_else_is_added() {
    let h = Harness::start().await;
    let path = h.file("o.bin", 100 * KIB, 14);
    let run = |client: tus::Client| {
        let endpoint = h.server.endpoint();
        let path = path.clone();
        async move {
            client
                .upload(
                    &endpoint,
                    Source::from_path(&path).await.unwrap(),
                    &small_chunks(),
                )
                .await
                .unwrap()
        }
    };
    let authorizations = |from: usize| -> Vec<Option<String>> {
        h.server.requests()[from..]
            .iter()
            .map(|r| r.authorization.clone())
            .collect()
    };

    run(client()).await;
    let plain = authorizations(0);
    assert!(
        plain.iter().all(Option::is_none),
        "the client adds no credentials of its own: {plain:?}"
    );

    let before = h.server.requests().len();
    run(tus::Client::builder()
        .header("Authorization", "Bearer abc")
        .unwrap()
        .build()
        .unwrap())
    .await;
    let with_header = authorizations(before);
    assert!(
        with_header.len() >= 3
            && with_header
                .iter()
                .all(|a| a.as_deref() == Some("Bearer abc")),
        "{with_header:?}"
    );

    let before = h.server.requests().len();
    let hooked = tus::Client::builder()
        .request_hook(|parts| {
            let value = format!("Signed {}", parts.method);
            parts
                .headers
                .insert(http::header::AUTHORIZATION, value.parse().unwrap());
        })
        .build()
        .unwrap();
    run(hooked).await;
    for request in &h.server.requests()[before..] {
        assert_eq!(
            request.authorization.as_deref(),
            Some(format!("Signed {}", request.method).as_str())
        );
    }
    assert!(tus::Client::builder().header("bad header", "x").is_err());
}
