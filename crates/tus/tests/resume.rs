//! Uploads that stop part-way — retries given up, a cancel token, the
//! upload's future dropped mid-body — and the rerun that resumes them from
//! the server's offset, byte for byte.

use std::sync::Arc;

use http::Method;
use sandbox::Fault;
use tus::{Error, Event, FileUrlStore, UploadOptions};

use crate::support::{Events, Harness, KIB, small_chunks};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_give_up_and_a_rerun_resumes_through_the_file_store() {
    let h = Harness::start().await;
    for nth in 3..=8 {
        h.server.faults().inject(
            Method::PATCH,
            nth,
            Fault::Status {
                status: 500,
                retry_after: None,
            },
        );
    }
    let path = h.file("j.bin", 256 * KIB, 9);
    let store = Arc::new(FileUrlStore::new(h.dir.path().join("resume")));
    let options = small_chunks().store(store.clone());
    let err = h.upload(&path, &options).await.unwrap_err();
    match &err {
        Error::RetriesExhausted { attempts, last } => {
            assert_eq!(*attempts, 6);
            assert!(matches!(**last, Error::Status(ref s) if s.status == 500));
        }
        other => panic!("{other:?}"),
    }
    let stored: Vec<_> = std::fs::read_dir(h.dir.path().join("resume"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(stored.len(), 1, "one resume entry");
    let name = stored[0].to_string_lossy().into_owned();
    assert!(
        name.ends_with(".url") && name.len() == 64 + 4,
        "file named by fingerprint only: {name}"
    );

    // A new process (new client, same store directory) resumes.
    let events = Events::default();
    let fresh_store = Arc::new(FileUrlStore::new(h.dir.path().join("resume")));
    let options = events.options(small_chunks().store(fresh_store));
    let before = h.server.requests().len();
    let outcome = h.upload(&path, &options).await.unwrap();
    assert_eq!(outcome.resumed_from, 131_072);
    assert!(events.all().contains(&Event::Resumed { offset: 131_072 }));
    h.assert_stored(&outcome.url, &path);
    let rerun = &h.server.requests()[before..];
    assert!(
        rerun.iter().all(|r| r.method != Method::POST),
        "no new upload was created"
    );
    assert_eq!(
        rerun
            .iter()
            .find(|r| r.method == Method::PATCH)
            .unwrap()
            .upload_offset,
        Some(131_072)
    );
    // Success removes the entry.
    assert_eq!(
        std::fs::read_dir(h.dir.path().join("resume"))
            .unwrap()
            .count(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_keeps_the_upload_resumable() {
    let h = Harness::start().await;
    let path = h.file("k.bin", 512 * KIB, 10);
    let store = Arc::new(tus::MemoryUrlStore::new());
    let cancel = tus::CancelToken::new();
    let trigger = cancel.clone();
    let options = small_chunks()
        .store(store.clone())
        .cancel_token(cancel)
        .on_event(move |event| {
            if let Event::ChunkComplete { offset, .. } = event
                && *offset >= 196_608
            {
                trigger.cancel();
            }
        });
    let err = h.upload(&path, &options).await.unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err:?}");
    let outcome = h.upload(&path, &small_chunks().store(store)).await.unwrap();
    assert!(outcome.resumed_from >= 196_608);
    h.assert_stored(&outcome.url, &path);
}

/// Dropping the upload's future (a `select!`, a timeout, an aborted task)
/// is as safe as a cancel token: mid-body, the body stops reading the source
/// and the request ends, the server keeps what arrived, and a rerun with the
/// same store resumes that upload from the server's offset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_upload_mid_body_keeps_it_resumable() {
    const LEN: usize = 32 * 1024 * KIB;
    // Without creation-with-upload, so the body dropped is a PATCH's (a
    // creation dropped mid-body never told us its URL: nothing to resume).
    let h = Harness::with(|c| c.without_extension("creation-with-upload")).await;
    let path = h.file("drop.bin", LEN, 11);
    let store = Arc::new(tus::MemoryUrlStore::new());
    // One PATCH of the whole file, streamed in blocks: past 256 KiB the body
    // is on its way and far from finished.
    let options = UploadOptions::default()
        .chunk_size(LEN as u64)
        .store(store.clone());
    h.upload_dropped_after(&path, options, 256 * KIB as u64)
        .await;
    let events = Events::default();
    let rerun = UploadOptions::default()
        .chunk_size(1024 * KIB as u64)
        .store(store);
    let outcome = h.upload(&path, &events.options(rerun)).await.unwrap();
    let posts = h
        .server
        .requests()
        .iter()
        .filter(|r| r.method == Method::POST)
        .count();
    assert_eq!(posts, 1, "the rerun resumed the same upload");
    assert!(
        events.all().contains(&Event::Resumed {
            offset: outcome.resumed_from
        }),
        "{:?}",
        events.all()
    );
    // The dropped body stopped: the server did not get the whole file from it.
    assert!(outcome.resumed_from < LEN as u64, "{outcome:?}");
    h.assert_stored(&outcome.url, &path);
}
