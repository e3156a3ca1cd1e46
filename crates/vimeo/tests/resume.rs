//! Resume state kept in a cache: an interrupted upload continues from a second
//! handle on the same file cache, as a restarted process (or with Redis,
//! another machine) would.

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use sandbox::{Fault, TempDir, TusConfig, TusServer};
use vimeo::CacheUrlStore;
use vimeo::cache::FileCache;
use vimeo::tus::{self, Source, UploadOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_upload_resumes_through_a_file_cache() {
    let dir = TempDir::new("vimeo-resume").unwrap();
    let server = TusServer::start(TusConfig::new(dir.path().join("server")))
        .await
        .unwrap();
    let path = dir.path().join("video.bin");
    let bytes: Vec<u8> = (0..400_000u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    // Chunks 1 and 2 arrive; the third PATCH fails for good.
    server.faults().inject(
        Method::PATCH,
        3,
        Fault::Status {
            status: 404,
            retry_after: None,
        },
    );

    let first_store = Arc::new(CacheUrlStore::new(Arc::new(
        FileCache::open(dir.path().join("cache")).unwrap(),
    )));
    let options = UploadOptions::default()
        .chunk_size(100_000)
        .store(first_store);
    let client = tus::Client::new().unwrap();
    assert!(
        client
            .upload(
                &server.endpoint(),
                Source::from_path(&path).await.unwrap(),
                &options
            )
            .await
            .is_err()
    );

    // Nothing in the cache directory names the file or the URL.
    for entry in walk(&dir.path().join("cache")) {
        let name = entry.to_string_lossy().into_owned();
        assert!(
            !name.contains("video") && !name.contains("127.0.0.1"),
            "{name}"
        );
    }

    let second_store = Arc::new(CacheUrlStore::new(Arc::new(
        FileCache::open(dir.path().join("cache")).unwrap(),
    )));
    let options = UploadOptions::default()
        .chunk_size(100_000)
        .store(second_store);
    let outcome = client
        .upload(
            &server.endpoint(),
            Source::from_path(&path).await.unwrap(),
            &options,
        )
        .await
        .unwrap();
    assert_eq!(outcome.resumed_from, 200_000);
    assert!(outcome.verification.is_complete());
    assert_eq!(
        std::fs::read(server.stored_file(&outcome.url).unwrap()).unwrap(),
        bytes
    );
    assert_eq!(
        server
            .requests()
            .iter()
            .filter(|r| r.method == Method::POST)
            .count(),
        1,
        "no second upload created"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

/// The facade's upload future dropped mid-PATCH (a `select!`, a timeout, an
/// aborted task): the next `upload` of the same file resumes the same video
/// from the server's offset, byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_dropped_mid_patch_resumes_the_same_video() {
    const LEN: usize = 32 << 20;
    let sandbox = sandbox::Sandbox::start().await.unwrap();
    let dir = TempDir::new("vimeo-dropped").unwrap();
    let (path, bytes) = crate::support::sample_file(dir.path(), "dropped.mp4", LEN);
    let resume = Arc::new(FileCache::open(dir.path().join("resume")).unwrap());
    let client = |chunk: u64| {
        crate::support::builder(&sandbox)
            .token(sandbox.credentials().personal_token.as_str())
            .resume_cache(resume.clone())
            .chunk_size(chunk)
            .build()
            .unwrap()
    };
    let (mid_body, mut dropped) = tokio::sync::watch::channel(false);
    let options = vimeo::UploadOptions::new().on_event(move |event| {
        if let tus::Event::Progress(progress) = event
            && progress.sent >= 256 << 10
        {
            let _ = mid_body.send(true);
        }
    });
    // The whole file in one PATCH, dropped once 256 KiB are on their way.
    let first = client(LEN as u64);
    tokio::select! {
        done = first.upload(path.as_path(), &options) => {
            panic!("the upload finished before it was dropped: {done:?}")
        }
        _ = dropped.wait_for(|mid| *mid) => {}
    }
    // Bytes of the dropped request may still be landing while this run
    // starts: it must take them, not call them a protocol error.
    let video = rerun_finishes_the_one_video(&client(1 << 20), &path, &sandbox, &bytes).await;
    assert!(video.resumed_from < LEN as u64, "{video:?}");
}

/// An upload dropped while Vimeo is still creating its video (a caller's
/// timeout around `upload`): the creation finishes and its resume record is
/// written anyway, so the next run resumes that video instead of leaving it
/// behind empty and creating a second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_dropped_during_the_video_creation_resumes_that_video() {
    let sandbox = sandbox::Sandbox::start().await.unwrap();
    let dir = TempDir::new("vimeo-dropped-creation").unwrap();
    let (path, bytes) = crate::support::sample_file(dir.path(), "slow.mp4", 300_000);
    let resume_dir = dir.path().join("resume");
    let client = crate::support::builder(&sandbox)
        .token(sandbox.credentials().personal_token.as_str())
        .resume_cache(Arc::new(FileCache::open(&resume_dir).unwrap()))
        .build()
        .unwrap();
    // The creation answers after 1.5 s; the caller gives up after 0.5 s
    // (room for a slow machine to have sent the POST by then).
    sandbox
        .faults()
        .inject(Method::POST, 1, Fault::Stall(Duration::from_millis(1500)));
    let options = vimeo::UploadOptions::new();
    let upload = client.upload(path.as_path(), &options);
    let timed_out = tokio::time::timeout(Duration::from_millis(500), upload).await;
    assert!(timed_out.is_err(), "{timed_out:?}");
    // The record appears once the creation has answered (bounded wait; a
    // record file, not a `.tmp-` one being written).
    let is_record = |path: &std::path::PathBuf| {
        path.is_file()
            && !path
                .file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with(".tmp-"))
    };
    let recorded = async {
        while !walk(&resume_dir).iter().any(is_record) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    assert!(
        tokio::time::timeout(Duration::from_secs(10), recorded)
            .await
            .is_ok(),
        "no resume record was written for the created video"
    );
    rerun_finishes_the_one_video(&client, &path, &sandbox, &bytes).await;
}

/// The run after a dropped upload: `client` uploads `path` again, and the
/// sandbox then holds `bytes` under the one video it created.
async fn rerun_finishes_the_one_video(
    client: &vimeo::VimeoClient,
    path: &std::path::Path,
    sandbox: &sandbox::Sandbox,
    bytes: &[u8],
) -> vimeo::UploadedVideo {
    let video = client
        .upload(path, &vimeo::UploadOptions::new())
        .await
        .unwrap();
    assert_eq!(
        crate::support::posts_to(sandbox, "/me/videos"),
        1,
        "the video was not created twice"
    );
    assert_eq!(crate::support::stored_bytes(sandbox, video.id), bytes);
    video
}
