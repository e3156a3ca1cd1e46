//! Create now, upload later: one client creates the ticket, another without
//! the API token sends the bytes, resuming on the same ticket after a failure.

use http::Method;
use sandbox::{Fault, TempDir};
use vimeo::{Error, UploadOptions, UploadSource, UploadTicket, VimeoClient};

use crate::support::{builder, sample_file, start, stored_bytes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_created_here_is_uploaded_there_and_resumes() {
    let (sandbox, api) = start().await;
    let dir = TempDir::new("vimeo-ticket").unwrap();
    let (path, bytes) = sample_file(dir.path(), "keynote.mp4", 300_000);
    let options = UploadOptions::new().name("Keynote").chunk_size(64 * 1024);
    let ticket = api.create_upload(300_000, &options).await.unwrap();
    assert_eq!(ticket.size, 300_000);
    assert!(!format!("{ticket:?}").contains(&ticket.upload_link));
    let sent = serde_json::to_string(&ticket).unwrap();

    // Another machine: no token, only the ticket.
    let worker: VimeoClient = builder(&sandbox)
        .retry_policy(vimeo::tus::RetryPolicy::none())
        .build()
        .unwrap();
    let received: UploadTicket = serde_json::from_str(&sent).unwrap();
    assert_eq!(received, ticket);
    let wrong_size = worker
        .upload_to_ticket(
            &received,
            UploadSource::reader(std::io::Cursor::new(vec![0u8; 10]), 10),
            &options,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(wrong_size, Error::InvalidInput(_)),
        "{wrong_size:?}"
    );
    // The second PATCH is cut: the first attempt fails, the rerun resumes.
    sandbox.uploads().faults().inject(
        Method::PATCH,
        2,
        Fault::CutAfter {
            bytes: 1_000,
            lose: 0,
        },
    );
    let failed = worker
        .upload_to_ticket(&received, path.as_path(), &options)
        .await
        .unwrap_err();
    assert!(matches!(failed, Error::Upload(_)), "{failed:?}");
    let video = worker
        .upload_to_ticket(&received, path.as_path(), &options)
        .await
        .unwrap();
    assert_eq!(video.uri, ticket.video_uri);
    assert!(video.resumed_from >= 64 * 1024, "{}", video.resumed_from);
    assert_eq!(stored_bytes(&sandbox, video.id), bytes);
    let log = sandbox.uploads().requests();
    assert!(
        log.iter().all(|r| r.authorization.is_none()),
        "a credential reached the upload host"
    );
    assert_eq!(
        log.iter()
            .map(sandbox::LoggedRequest::resent_acknowledged_bytes)
            .sum::<u64>(),
        0
    );
    let created = sandbox
        .requests()
        .iter()
        .filter(|r| r.method == Method::POST && r.path == "/me/videos")
        .count();
    assert_eq!(created, 1, "one video, made by the ticket's creator");
}
