//! Uploads against the sandbox tus server, with every fault it can inject.

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use sandbox::Fault;
use tus::{Error, Event, RetryPolicy, Source, UploadOptions, Verification};

use crate::support::{Events, Harness, KIB, client, content, methods, small_chunks};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_a_file_in_chunks_and_verifies_it() {
    let h = Harness::start().await;
    let path = h.file("a.bin", 300 * KIB + 7, 1);
    let events = Events::default();
    let options = events.options(small_chunks().metadata("filename", "a.bin"));
    let outcome = h.upload(&path, &options).await.unwrap();

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
    let outcome = h.upload(&path, &options).await.unwrap();
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
        let outcome = h.upload(&path, &small_chunks()).await.unwrap();
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
    h.upload(&path, &options).await.unwrap_err();
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
    let err = h.upload(&path, &small_chunks()).await.unwrap_err();
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
    let err = h.upload(&path, &options).await.unwrap_err();
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
