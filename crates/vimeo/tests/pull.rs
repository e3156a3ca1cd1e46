//! Pull uploads: the sandbox fetches the file from a loopback URL itself.

use std::time::Duration;

use vimeo::{Error, UploadOptions, WaitOptions};

use crate::support::{start, stored_bytes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vimeo_fetches_the_file_itself_and_failures_show_as_upload_errors() {
    let (sandbox, client) = start().await;
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 241) as u8).collect();
    let url = sandbox::serve_file(bytes.clone()).await.unwrap();
    let options = UploadOptions::new().name("Pulled");
    let video = client.upload_from_url(&url, &options).await.unwrap();
    assert_eq!(video.name.as_deref(), Some("Pulled"));
    let uri = video.uri.clone().unwrap();
    let done = client
        .wait_for_transcode(
            &uri,
            WaitOptions::new(Duration::from_secs(10)).interval(Duration::from_millis(20)),
        )
        .await
        .unwrap();
    assert_eq!(done.uri.as_deref(), Some(uri.as_str()));
    assert_eq!(stored_bytes(&sandbox, done.id().unwrap()), bytes);
    let upload = video.upload.unwrap();
    assert_eq!(upload.approach.as_deref(), Some("pull"));
    assert_eq!(upload.upload_link, None, "no tus link for a pull");

    // A link that answers nothing: the video exists, its upload is an error.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/gone.mp4", listener.local_addr().unwrap())
    };
    let video = client.upload_from_url(&dead, &options).await.unwrap();
    let error = client
        .wait_for_transcode(
            video.uri.as_deref().unwrap(),
            WaitOptions::new(Duration::from_secs(10)).interval(Duration::from_millis(20)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Processing {
                stage: "upload",
                ..
            }
        ),
        "{error:?}"
    );
    // Not a URL Vimeo could fetch: refused before any request.
    let before = sandbox.requests().len();
    for bad in [
        "ftp://files.example/a.mp4",
        "not a url",
        "file:///etc/passwd",
    ] {
        let error = client.upload_from_url(bad, &options).await.unwrap_err();
        assert!(matches!(error, Error::InvalidInput(_)), "{bad}: {error:?}");
    }
    assert_eq!(sandbox.requests().len(), before);
    // The sandbox never reaches out beyond loopback.
    let error = client
        .upload_from_url("http://files.example.com/a.mp4", &options)
        .await
        .unwrap_err();
    assert_eq!(error.api().map(|a| a.status), Some(400), "{error:?}");
}
