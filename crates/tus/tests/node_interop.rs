//! The upload suite against an independent tus server: @tus/server with
//! @tus/file-store (Node), started by `cargo xtask ci`. Requires
//! `TUS_NODE_ENDPOINT` (its creation URL) and `TUS_NODE_DIR` (its storage dir).

use std::path::PathBuf;
use std::sync::Arc;

use tus::{Client, Error, Event, MemoryUrlStore, Source, UploadOptions, Verification};

#[allow(dead_code, unreachable_pub)] // shared with the sandbox suite, which uses all of it
mod support;

fn endpoint() -> String {
    std::env::var("TUS_NODE_ENDPOINT").expect(
        "TUS_NODE_ENDPOINT is not set: run this suite through `cargo xtask ci`, which starts the Node tus server",
    )
}

fn storage() -> PathBuf {
    PathBuf::from(std::env::var("TUS_NODE_DIR").expect("TUS_NODE_DIR is not set"))
}

fn temp_file(len: usize, seed: u64) -> (sandbox::TempDir, PathBuf) {
    let dir = sandbox::TempDir::new("tus-node").unwrap();
    let path = dir.path().join("source.bin");
    std::fs::write(&path, support::content(len, seed)).unwrap();
    (dir, path)
}

fn assert_stored(url: &str, source: &std::path::Path) {
    let id = url.rsplit('/').next().unwrap();
    let stored = std::fs::read(storage().join(id)).expect("Node stored the upload under its id");
    assert!(
        stored == std::fs::read(source).unwrap(),
        "stored bytes differ from the source"
    );
}

fn client() -> Client {
    Client::new().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovers_the_nodes_capabilities() {
    let caps = client().options(&endpoint()).await.unwrap();
    assert!(caps.versions.iter().any(|v| v == "1.0.0"));
    for extension in ["creation", "creation-with-upload", "termination"] {
        assert!(
            caps.supports(extension),
            "{extension} in {:?}",
            caps.extensions
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_in_chunks_with_creation_with_upload() {
    let (_dir, path) = temp_file(3 * 1024 * 1024 + 17, 21);
    let options = UploadOptions::default()
        .chunk_size(1 << 20)
        .metadata("filename", "source.bin");
    let outcome = client()
        .upload(
            &endpoint(),
            Source::from_path(&path).await.unwrap(),
            &options,
        )
        .await
        .unwrap();
    assert_eq!(
        outcome.verification,
        Verification::Complete {
            length: 3 * 1024 * 1024 + 17
        }
    );
    assert_eq!(outcome.bytes_sent, 3 * 1024 * 1024 + 17);
    assert_stored(&outcome.url, &path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_with_plain_creation_and_a_single_chunk() {
    let (_dir, path) = temp_file(700_000, 22);
    // @tus/server does not offer the checksum extension: asking for checksums
    // must fall back to plain PATCHes, not fail.
    let options = UploadOptions::default()
        .creation_with_upload(false)
        .checksum(tus::ChecksumAlgorithm::Sha1);
    let outcome = client()
        .upload(
            &endpoint(),
            Source::from_path(&path).await.unwrap(),
            &options,
        )
        .await
        .unwrap();
    assert!(outcome.verification.is_complete());
    assert_stored(&outcome.url, &path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_empty_and_one_byte_files() {
    for len in [0, 1] {
        let (_dir, path) = temp_file(len, 23);
        let outcome = client()
            .upload(
                &endpoint(),
                Source::from_path(&path).await.unwrap(),
                &UploadOptions::default(),
            )
            .await
            .unwrap();
        assert_eq!(
            outcome.verification,
            Verification::Complete { length: len as u64 }
        );
        assert_stored(&outcome.url, &path);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_from_a_reader() {
    let bytes = support::content(1_000_000, 24);
    let source = Source::from_reader(std::io::Cursor::new(bytes.clone()), bytes.len() as u64);
    let outcome = client()
        .upload(
            &endpoint(),
            source,
            &UploadOptions::default().chunk_size(300_000),
        )
        .await
        .unwrap();
    assert!(outcome.verification.is_complete());
    let id = outcome.url.rsplit('/').next().unwrap();
    assert_eq!(std::fs::read(storage().join(id)).unwrap(), bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_upload_resumes_through_the_store() {
    let (_dir, path) = temp_file(2 * 1024 * 1024, 25);
    let store = Arc::new(MemoryUrlStore::new());
    let cancel = tus::CancelToken::new();
    let trigger = cancel.clone();
    let options = UploadOptions::default()
        .chunk_size(512 * 1024)
        .store(store.clone())
        .cancel_token(cancel)
        .on_event(move |event| {
            if let Event::ChunkComplete { offset, .. } = event
                && *offset >= 1024 * 1024
            {
                trigger.cancel();
            }
        });
    let err = client()
        .upload(
            &endpoint(),
            Source::from_path(&path).await.unwrap(),
            &options,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err:?}");
    let outcome = client()
        .upload(
            &endpoint(),
            Source::from_path(&path).await.unwrap(),
            &UploadOptions::default().chunk_size(512 * 1024).store(store),
        )
        .await
        .unwrap();
    assert_eq!(outcome.resumed_from, 1024 * 1024);
    assert_eq!(outcome.bytes_sent, 1024 * 1024);
    assert_stored(&outcome.url, &path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_verify_upload_to_and_terminate() {
    let (_dir, path) = temp_file(600_000, 26);
    let created = Arc::new(std::sync::Mutex::new(None));
    let sink = created.clone();
    let options = UploadOptions::default()
        .chunk_size(200_000)
        .creation_with_upload(false)
        .on_event(move |event| {
            if let Event::Created { url } = event {
                *sink.lock().unwrap() = Some(url.clone());
            }
        });
    let outcome = client()
        .upload(
            &endpoint(),
            Source::from_path(&path).await.unwrap(),
            &options,
        )
        .await
        .unwrap();
    assert_eq!(
        created.lock().unwrap().as_deref(),
        Some(outcome.url.as_str())
    );
    assert_eq!(
        client().verify(&outcome.url, 600_000).await.unwrap(),
        Verification::Complete { length: 600_000 }
    );
    assert_eq!(
        client().verify(&outcome.url, 600_001).await.unwrap(),
        Verification::Incomplete {
            offset: 600_000,
            length: 600_001
        }
    );
    // upload_to an already complete URL sends nothing and verifies.
    let again = client()
        .upload_to(
            &outcome.url,
            Source::from_path(&path).await.unwrap(),
            &UploadOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!((again.resumed_from, again.bytes_sent), (600_000, 0));
    client().terminate(&outcome.url).await.unwrap();
    match client().status(&outcome.url).await.unwrap_err() {
        Error::Status(e) => assert!(matches!(e.status, 404 | 410), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_a_stream_of_unknown_length() {
    let bytes = support::content(1_500_000, 27);
    let outcome = client()
        .upload_stream(
            &endpoint(),
            &bytes[..],
            &UploadOptions::default().chunk_size(400_000),
        )
        .await
        .unwrap();
    assert_eq!(
        outcome.verification,
        Verification::Complete { length: 1_500_000 }
    );
    let id = outcome.url.rsplit('/').next().unwrap();
    assert_eq!(std::fs::read(storage().join(id)).unwrap(), bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_uploads_use_concatenation_when_offered_and_one_stream_otherwise() {
    let (_dir, path) = temp_file(2 * 1024 * 1024 + 5, 27);
    let caps = client().options(&endpoint()).await.unwrap();
    let outcome = client()
        .upload(
            &endpoint(),
            Source::from_path(&path).await.unwrap(),
            &UploadOptions::default().chunk_size(256 * 1024).parallel(4),
        )
        .await
        .unwrap();
    assert!(outcome.verification.is_complete());
    if caps.supports("concatenation") {
        // The final upload is assembled by the server from the parts.
        let status = client().status(&outcome.url).await.unwrap();
        assert_eq!(status.offset, 2 * 1024 * 1024 + 5);
    } else {
        assert_stored(&outcome.url, &path);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_through_a_forward_proxy_with_credentials() {
    let proxy = sandbox::Tinyproxy::with_auth("node", "pr0xy-n0de");
    let (_dir, path) = temp_file(2 * 1024 * 1024 + 5, 29);
    let client = Client::builder()
        .proxy(proxy.url_with_credentials())
        .no_proxy("")
        .build()
        .unwrap();
    let outcome = client
        .upload(
            &endpoint(),
            Source::from_path(&path).await.unwrap(),
            &UploadOptions::default().chunk_size(1 << 20),
        )
        .await
        .unwrap();
    assert!(outcome.verification.is_complete());
    assert_stored(&outcome.url, &path);
    let patches = proxy
        .requests()
        .iter()
        .filter(|r| r.starts_with("PATCH ") && r.contains(outcome.url.as_str()))
        .count();
    assert_eq!(patches, 3, "{:?}", proxy.requests());
}
