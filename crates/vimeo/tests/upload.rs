//! Uploads through the facade: create + tus + verify, replace, resume after a
//! failure (same process and a "restarted" one), sources, status and transcode.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;
use sandbox::{Fault, SandboxConfig, TempDir};
use vimeo::cache::FileCache;
use vimeo::tus::{Event, RetryPolicy};
use vimeo::{Error, UploadOptions, UploadSource, WaitOptions, codes};

use crate::support::{self, posts_to, sample_file, start, start_with, stored_bytes};

const CHUNK: u64 = 64 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_uploads_verifies_and_transcodes_without_the_token_on_the_upload_host() {
    let (sandbox, client) = start().await;
    let dir = TempDir::new("vimeo-upload").unwrap();
    let (path, bytes) = sample_file(dir.path(), "clip.mp4", 300_000);
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let options = UploadOptions::new()
        .name("Clip")
        .description("A test clip")
        .privacy("unlisted")
        .chunk_size(CHUNK)
        .on_event(move |event| seen.lock().unwrap().push(event.clone()));
    let video = client.upload(path.as_path(), &options).await.unwrap();

    assert!(video.verification.is_complete());
    assert_eq!(
        (video.size, video.resumed_from, video.bytes_sent),
        (300_000, 0, 300_000)
    );
    assert_eq!(video.mime_type.as_deref(), Some("video/mp4"));
    assert_eq!(video.uri, format!("/videos/{}", video.id));
    assert!(video.link.is_some());
    assert_eq!(stored_bytes(&sandbox, video.id), bytes);

    // 300,000 bytes in 64 KiB chunks: 5 PATCHes, each acknowledged.
    let completed = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, Event::ChunkComplete { .. }))
        .count();
    assert_eq!(completed, 5);

    // The upload host saw no credentials, no creation POST, and every byte once.
    let uploads = sandbox.uploads().requests();
    assert!(
        uploads.iter().all(|r| r.authorization.is_none()),
        "{uploads:?}"
    );
    assert!(uploads.iter().all(|r| r.method != Method::POST));
    let patched: u64 = uploads.iter().map(|r| r.body_stored).sum();
    assert_eq!(patched, 300_000);

    // The link came with the creation answer: no read-back request.
    assert!(
        !sandbox
            .requests()
            .iter()
            .any(|r| r.method == Method::GET && r.path == video.uri),
        "the video was read back although its link was known"
    );
    let status = client.upload_status(&video.uri).await.unwrap();
    assert_eq!(status.upload.as_deref(), Some("complete"));
    let done = client
        .wait_for_transcode(
            &video.uri,
            WaitOptions::new(Duration::from_secs(10)).interval(Duration::from_millis(20)),
        )
        .await
        .unwrap();
    assert_eq!(done.status.as_deref(), Some("available"));
    assert_eq!(done.name.as_deref(), Some("Clip"));
    assert_eq!(done.privacy.unwrap().view.as_deref(), Some("unlisted"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_upload_resumes_from_the_server_offset_on_the_next_call() {
    let sandbox = sandbox::Sandbox::start_with(SandboxConfig::new())
        .await
        .unwrap();
    let dir = TempDir::new("vimeo-resume-run").unwrap();
    let (path, bytes) = sample_file(dir.path(), "big.mov", 500_000);
    // One resume cache on disk, two clients: the second plays a restarted process.
    let resume = Arc::new(FileCache::open(dir.path().join("resume")).unwrap());
    let fragile = support::builder(&sandbox)
        .token(sandbox.credentials().personal_token.as_str())
        .retry_policy(RetryPolicy::none())
        .resume_cache(resume.clone())
        .chunk_size(CHUNK)
        .build()
        .unwrap();
    sandbox.uploads().faults().inject(
        Method::PATCH,
        3,
        Fault::CutAfter {
            bytes: 10_000,
            lose: 0,
        },
    );
    let error = fragile
        .upload(path.as_path(), &UploadOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Upload(_)), "{error:?}");
    let acknowledged = 2 * CHUNK + 10_000;

    let restarted = support::builder(&sandbox)
        .token(sandbox.credentials().personal_token.as_str())
        .resume_cache(resume)
        .chunk_size(CHUNK)
        .build()
        .unwrap();
    let before = sandbox.uploads().requests().len();
    let video = restarted
        .upload(path.as_path(), &UploadOptions::new())
        .await
        .unwrap();
    assert_eq!(video.resumed_from, acknowledged);
    assert_eq!(video.bytes_sent, 500_000 - acknowledged);
    assert_eq!(stored_bytes(&sandbox, video.id), bytes);
    assert_eq!(
        posts_to(&sandbox, "/me/videos"),
        1,
        "the video was not created twice"
    );
    // No byte before the acknowledged offset was sent again.
    let second_run = &sandbox.uploads().requests()[before..];
    let first_patch = second_run
        .iter()
        .find(|r| r.method == Method::PATCH)
        .unwrap();
    assert_eq!(first_patch.upload_offset, Some(acknowledged));
    // Done: the resume record is gone, so the same file uploads anew.
    let again = restarted
        .upload(path.as_path(), &UploadOptions::new())
        .await
        .unwrap();
    assert_ne!(again.id, video.id);
    assert_eq!(again.resumed_from, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_upload_link_starts_over_and_deletes_the_abandoned_video() {
    let sandbox = sandbox::Sandbox::start().await.unwrap();
    let dir = TempDir::new("vimeo-vanished").unwrap();
    let (path, bytes) = sample_file(dir.path(), "v.mp4", 200_000);
    let client = support::builder(&sandbox)
        .token(sandbox.credentials().personal_token.as_str())
        .retry_policy(RetryPolicy::none())
        .chunk_size(CHUNK)
        .build()
        .unwrap();
    sandbox.uploads().faults().inject(
        Method::PATCH,
        2,
        Fault::Status {
            status: 500,
            retry_after: None,
        },
    );
    assert!(
        client
            .upload(path.as_path(), &UploadOptions::new())
            .await
            .is_err()
    );
    let first_id = {
        let me_videos: vimeo::Page<vimeo::Video> = client.get("/me/videos").await.unwrap();
        me_videos.data[0].id().unwrap()
    };
    // The link is gone when the next run asks for it.
    sandbox.uploads().faults().inject_next(
        Method::HEAD,
        Fault::Status {
            status: 404,
            retry_after: None,
        },
    );
    let video = client
        .upload(path.as_path(), &UploadOptions::new())
        .await
        .unwrap();
    assert_ne!(video.id, first_id);
    assert_eq!(video.resumed_from, 0);
    assert_eq!(stored_bytes(&sandbox, video.id), bytes);
    let gone = client
        .get::<serde_json::Value>(&format!("/videos/{first_id}"))
        .await
        .unwrap_err();
    assert_eq!(
        gone.api().unwrap().status,
        404,
        "the abandoned video was deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_that_expires_mid_upload_starts_over_in_the_same_call() {
    let sandbox = sandbox::Sandbox::start().await.unwrap();
    let dir = TempDir::new("vimeo-expired").unwrap();
    let (path, bytes) = sample_file(dir.path(), "e.mp4", 300_000);
    let client = support::builder(&sandbox)
        .token(sandbox.credentials().personal_token.as_str())
        .chunk_size(CHUNK)
        .build()
        .unwrap();
    // The upload host drops the unfinished upload before the second PATCH.
    sandbox
        .uploads()
        .faults()
        .inject(Method::PATCH, 2, Fault::Expire);
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let options = UploadOptions::new().on_event(move |event| {
        if let Event::Restarted { reason } = event {
            seen.lock().unwrap().push(reason.clone());
        }
    });
    let video = client.upload(path.as_path(), &options).await.unwrap();
    assert_eq!(stored_bytes(&sandbox, video.id), bytes);
    assert_eq!(events.lock().unwrap().len(), 1, "one restart reported");
    assert_eq!(
        posts_to(&sandbox, "/me/videos"),
        2,
        "a second video was created"
    );
    // Only the finished video is left: the abandoned one was deleted.
    let videos: vimeo::Page<vimeo::Video> = client.get("/me/videos").await.unwrap();
    let ids: Vec<u64> = videos.data.iter().filter_map(|v| v.id()).collect();
    assert_eq!(ids, vec![video.id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_uploads_a_new_version_and_refuses_foreign_videos() {
    let (sandbox, client) = start().await;
    let dir = TempDir::new("vimeo-replace").unwrap();
    let (first, _) = sample_file(dir.path(), "first.mp4", 100_000);
    let video = client
        .upload(first.as_path(), &UploadOptions::new())
        .await
        .unwrap();
    let replacement: Vec<u8> = (0..150_000u32).map(|i| (i % 7) as u8).collect();
    let second = dir.path().join("second.webm");
    std::fs::write(&second, &replacement).unwrap();
    let replaced = client
        .replace(
            &video.uri,
            second.as_path(),
            &UploadOptions::new().chunk_size(CHUNK),
        )
        .await
        .unwrap();
    assert_eq!(replaced.uri, video.uri);
    assert_eq!(replaced.mime_type.as_deref(), Some("video/webm"));
    assert_eq!(stored_bytes(&sandbox, video.id), replacement);
    assert_eq!(
        posts_to(&sandbox, &format!("/videos/{}/versions", video.id)),
        1
    );

    let foreign = sandbox.foreign_video_id().to_string();
    let error = client
        .replace(&foreign, second.as_path(), &UploadOptions::new())
        .await
        .unwrap_err();
    assert_eq!(
        error.api().unwrap().error_code,
        Some(codes::CANNOT_EDIT_VIDEO)
    );
    assert!(matches!(
        client
            .replace("not-a-video", second.as_path(), &UploadOptions::new())
            .await,
        Err(Error::InvalidInput(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_of_known_size_uploads_without_a_file() {
    let (sandbox, client) = start().await;
    let bytes: Vec<u8> = (0..123_457u32).map(|i| (i * 7 % 256) as u8).collect();
    let source = UploadSource::reader(std::io::Cursor::new(bytes.clone()), bytes.len() as u64)
        .file_name("from-a-form.mkv");
    let video = client
        .upload(source, &UploadOptions::new().chunk_size(CHUNK))
        .await
        .unwrap();
    assert_eq!(video.mime_type.as_deref(), Some("video/x-matroska"));
    assert_eq!(stored_bytes(&sandbox, video.id), bytes);
    let named: vimeo::Video = client.get(&video.uri).await.unwrap();
    assert_eq!(named.name.as_deref(), Some("from-a-form.mkv"));
}

#[tokio::test]
async fn quota_and_missing_files_fail_before_any_byte() {
    let (sandbox, client) = start_with(SandboxConfig::new().upload_space(1_000)).await;
    let dir = TempDir::new("vimeo-quota").unwrap();
    let (path, _) = sample_file(dir.path(), "big.mp4", 5_000);
    let error = client
        .upload(path.as_path(), &UploadOptions::new())
        .await
        .unwrap_err();
    assert_eq!(
        error.api().unwrap().error_code,
        Some(codes::DISK_SPACE_REACHED)
    );
    let error = client
        .upload(
            dir.path().join("missing.mp4").as_path(),
            &UploadOptions::new(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Upload(vimeo::tus::Error::Source { .. })),
        "{error:?}"
    );
    assert!(sandbox.uploads().requests().is_empty());
}

#[tokio::test]
async fn waiting_for_a_slow_transcode_times_out_with_the_last_status() {
    let (_sandbox, client) =
        start_with(SandboxConfig::new().transcode_delay(Duration::from_secs(3_600))).await;
    let source = UploadSource::reader(std::io::Cursor::new(vec![1u8; 10]), 10);
    let video = client.upload(source, &UploadOptions::new()).await.unwrap();
    let error = client
        .wait_for_transcode(
            &video.uri,
            WaitOptions::new(Duration::from_millis(200)).interval(Duration::from_millis(50)),
        )
        .await
        .unwrap_err();
    match error {
        Error::WaitTimeout { last, .. } => assert_eq!(last, "in_progress"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forward_only_stream_survives_a_cut_through_its_rewind_window() {
    use tokio::io::AsyncWriteExt as _;
    let (sandbox, client) = start().await;
    let bytes: Vec<u8> = (0..400_000u32).map(|i| (i % 241) as u8).collect();
    let (mut writer, reader) = tokio::io::duplex(16 * 1024);
    let feed = bytes.clone();
    tokio::spawn(async move {
        let _ = writer.write_all(&feed).await;
    });
    // The second chunk is cut after 10,000 bytes and 4,000 of them are lost:
    // the client must rewind to the server's offset, inside the window.
    sandbox.uploads().faults().inject(
        Method::PATCH,
        2,
        Fault::CutAfter {
            bytes: 10_000,
            lose: 4_000,
        },
    );
    let source = UploadSource::reader(
        vimeo::tus::Rewindable::new(reader, CHUNK as usize),
        bytes.len() as u64,
    );
    let video = client
        .upload(source, &UploadOptions::new().chunk_size(CHUNK))
        .await
        .unwrap();
    assert_eq!(stored_bytes(&sandbox, video.id), bytes);
    assert!(video.retries >= 1);
}
