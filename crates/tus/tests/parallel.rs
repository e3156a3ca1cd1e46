//! Parallel uploads through tus concatenation against the sandbox.

use std::sync::Arc;

use http::Method;
use sandbox::Fault;
use tus::{Event, FileUrlStore, RetryPolicy, Source, UploadOptions};

use crate::support::{Events, Harness, client};

const CHUNK: u64 = 64 * 1024;

fn options() -> UploadOptions {
    UploadOptions::default().chunk_size(CHUNK).parallel(4)
}

fn concat_headers(h: &Harness) -> Vec<String> {
    h.server
        .requests()
        .iter()
        .filter(|r| r.method == Method::POST)
        .map(|r| r.path.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_parts_upload_concurrently_and_join_into_one_verified_upload() {
    let h = Harness::start().await;
    let path = h.file("p.bin", 1_000_003, 90);
    let events = Events::default();
    let outcome = h
        .upload(
            &path,
            &events.options(options().metadata("filename", "p.bin")),
        )
        .await
        .unwrap();
    assert!(outcome.verification.is_complete());
    assert_eq!(outcome.bytes_sent, 1_000_003);
    h.assert_stored(&outcome.url, &path);
    // Four partial creations and one final, which carries the metadata.
    assert_eq!(concat_headers(&h).len(), 5);
    let metadata = h.server.upload_metadata(&outcome.url).unwrap();
    assert!(tus::decode_metadata(metadata.as_bytes()).unwrap()[0].0 == "filename");
    // Progress is the sum over the parts and ends at the total.
    let last = events
        .all()
        .into_iter()
        .filter_map(|e| match e {
            Event::Progress(p) => Some(p),
            _ => None,
        })
        .max_by_key(|p| p.sent)
        .unwrap();
    assert_eq!((last.sent, last.total), (1_000_003, 1_000_003));
    // Chunks are reported at whole-file positions: some start past the first quarter.
    let starts: Vec<u64> = events
        .all()
        .into_iter()
        .filter_map(|e| match e {
            Event::ChunkComplete { start, .. } => Some(start),
            _ => None,
        })
        .collect();
    assert!(starts.iter().any(|s| *s >= 750_000), "{starts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_part_is_resumed_alone_on_the_next_run() {
    let h = Harness::start().await;
    let path = h.file("r.bin", 800_000, 91);
    let store = Arc::new(FileUrlStore::new(h.dir.path().join("store")));
    let fragile = tus::Client::builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    // One PATCH (of whichever part sends it third) is cut after 5,000 bytes.
    h.server.faults().inject(
        Method::PATCH,
        3,
        Fault::CutAfter {
            bytes: 5_000,
            lose: 0,
        },
    );
    let first = fragile
        .upload(
            &h.server.endpoint(),
            Source::from_path(&path).await.unwrap(),
            &options().store(store.clone()),
        )
        .await;
    assert!(first.is_err(), "the cut part fails without retries");
    let log = h.server.requests();
    let cut = log.iter().find(|r| r.fault.is_some()).unwrap().path.clone();
    let (acknowledged, _) = h.server.upload_state(&cut).unwrap();
    let before = log.len();

    let outcome = h.upload(&path, &options().store(store)).await.unwrap();
    assert!(outcome.verification.is_complete());
    h.assert_stored(&outcome.url, &path);
    let rerun = &h.server.requests()[before..];
    let patches: Vec<_> = rerun.iter().filter(|r| r.method == Method::PATCH).collect();
    assert!(!patches.is_empty());
    assert!(
        patches.iter().all(|r| r.path == cut),
        "only the failed part sends bytes again: {patches:?}"
    );
    assert_eq!(patches[0].upload_offset, Some(acknowledged));
    // No part was created again: one POST, the final one.
    assert_eq!(rerun.iter().filter(|r| r.method == Method::POST).count(), 1);
    assert_eq!(outcome.resumed_from, 800_000 - (200_000 - acknowledged));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_inside_a_run_touch_only_the_failing_part() {
    let h = Harness::start().await;
    let path = h.file("q.bin", 600_000, 92);
    h.server.faults().inject(
        Method::PATCH,
        2,
        Fault::Status {
            status: 503,
            retry_after: None,
        },
    );
    let outcome = h.upload(&path, &options()).await.unwrap();
    h.assert_stored(&outcome.url, &path);
    assert_eq!(outcome.retries, 1);
    let log = h.server.requests();
    let failed = log.iter().find(|r| r.fault.is_some()).unwrap().path.clone();
    let heads: Vec<_> = log
        .iter()
        .filter(|r| r.method == Method::HEAD)
        .map(|r| r.path.clone())
        .collect();
    // Each part and the final upload are verified by one HEAD; the failed part
    // alone has one more, the re-sync after its failure.
    let count = |path: &String| heads.iter().filter(|p| *p == path).count();
    assert_eq!(count(&failed), 2, "{heads:?}");
    assert_eq!(heads.len(), 6, "{heads:?}");
    assert!(
        heads
            .iter()
            .filter(|p| **p != failed)
            .all(|p| count(p) == 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_concatenation_or_for_readers_it_is_one_stream() {
    let h = Harness::with(|c| c.without_extension("concatenation")).await;
    let path = h.file("s.bin", 300_000, 93);
    let outcome = h.upload(&path, &options()).await.unwrap();
    h.assert_stored(&outcome.url, &path);
    assert_eq!(concat_headers(&h).len(), 1);

    let h = Harness::start().await;
    let bytes = crate::support::content(300_000, 94);
    let outcome = client()
        .upload(
            &h.server.endpoint(),
            Source::from_reader(std::io::Cursor::new(bytes), 300_000),
            &options(),
        )
        .await
        .unwrap();
    assert!(outcome.verification.is_complete());
    assert_eq!(concat_headers(&h).len(), 1);
}

/// A parallel upload's future dropped while its parts are mid-PATCH: the
/// parts stop with it (their tasks are aborted), and the rerun continues every
/// part that had stored bytes from its server offset — none is created again
/// or re-sent from its start — and joins them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parallel_upload_dropped_mid_patch_resumes_its_parts() {
    const LEN: usize = 32 << 20;
    // Without creation-with-upload, so the parts' bytes go in PATCHes.
    let h = Harness::with(|c| c.without_extension("creation-with-upload")).await;
    let path = h.file("dropped.bin", LEN, 93);
    let store = Arc::new(tus::MemoryUrlStore::new());
    let options = UploadOptions::default()
        .chunk_size(LEN as u64)
        .parallel(4)
        .store(store.clone());
    h.upload_dropped_after(&path, options, 1 << 20).await;
    let rerun = UploadOptions::default()
        .chunk_size(1 << 20)
        .parallel(4)
        .store(store);
    let outcome = h.upload(&path, &rerun).await.unwrap();
    assert!(outcome.verification.is_complete());
    h.assert_stored(&outcome.url, &path);
    // The dropped run sent each part in one PATCH of the whole part, the
    // rerun in 1 MiB chunks: so the log tells them apart, whether a dropped
    // PATCH was cut or (on a loaded machine) landed whole before the drop
    // took effect. Each part the dropped run started was continued by the
    // rerun: its accepted PATCHes start past 0 (one meeting the dropped
    // request's lock, 423, or its offset, 409, stores nothing).
    let part_len = Some(LEN as u64 / 4);
    let log = h.server.requests();
    let started: std::collections::BTreeSet<&str> = log
        .iter()
        .filter(|r| r.method == Method::PATCH && r.content_length == part_len)
        .map(|r| r.path.as_str())
        .collect();
    assert!(!started.is_empty(), "{log:?}");
    for part in &started {
        let patches: Vec<_> = log
            .iter()
            .filter(|r| {
                r.method == Method::PATCH
                    && r.path == *part
                    && r.content_length != part_len
                    && r.status == Some(204)
            })
            .collect();
        let (offset, length) = h.server.upload_state(part).unwrap();
        assert_eq!(offset, length, "{part} was completed");
        assert!(
            patches.iter().all(|r| r.upload_offset > Some(0)),
            "{part} was continued, not stored again from its start: {patches:?}"
        );
    }
    // What the dropped run stored was not stored again: the parts' PATCHes
    // stored each byte of the file once. (Not `bytes_sent`: that counts the
    // wire, where a PATCH refused with 409 may still have carried its body;
    // nor `resumed_from`: the resume HEADs may come before the dropped
    // bytes land.)
    let stored: u64 = log
        .iter()
        .filter(|r| r.method == Method::PATCH)
        .map(|r| r.body_stored)
        .sum();
    assert_eq!(stored, LEN as u64, "{outcome:?} {log:?}");
}
