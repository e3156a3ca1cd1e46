//! Text tracks and thumbnails: the file goes to the storage link on the
//! upload host without any credential, then the item is activated.

use http::Method;
use sandbox::TempDir;
use vimeo::{Error, TextTrackOptions, UploadOptions};

use crate::support::{sample_file, start};

const VTT: &str = "WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_tracks_and_pictures_are_stored_on_the_upload_host_and_activated() {
    let (sandbox, client) = start().await;
    let dir = TempDir::new("vimeo-media").unwrap();
    let (path, _) = sample_file(dir.path(), "v.mp4", 10_000);
    let video = client
        .upload(path.as_path(), &UploadOptions::new())
        .await
        .unwrap();
    let vtt = dir.path().join("en.vtt");
    std::fs::write(&vtt, VTT).unwrap();

    let options = TextTrackOptions::new("en")
        .kind("captions")
        .name("English (CC)");
    let track = client
        .add_text_track(&video.uri, &vtt, &options)
        .await
        .unwrap();
    assert_eq!(track.active, Some(true));
    assert_eq!(track.kind.as_deref(), Some("captions"));
    assert_eq!(track.language.as_deref(), Some("en"));
    let link = track.link.clone().unwrap();
    assert!(link.starts_with(&sandbox.upload_host()), "{link}");
    assert_eq!(sandbox.uploads().asset(&link).unwrap(), VTT.as_bytes());

    let image = dir.path().join("thumb.png");
    std::fs::write(&image, b"\x89PNG not really").unwrap();
    let picture = client
        .set_picture(&video.id.to_string(), &image)
        .await
        .unwrap();
    assert_eq!(picture.active, Some(true));
    assert_eq!(
        sandbox
            .uploads()
            .asset(picture.link.as_deref().unwrap())
            .unwrap(),
        b"\x89PNG not really"
    );

    // The token never went to the upload host.
    let puts: Vec<_> = sandbox
        .uploads()
        .requests()
        .into_iter()
        .filter(|r| r.method == Method::PUT)
        .collect();
    assert_eq!(puts.len(), 2);
    assert!(
        sandbox
            .uploads()
            .requests()
            .iter()
            .all(|r| r.authorization.is_none())
    );

    let tracks = client.text_tracks(&video.uri).await.unwrap();
    assert_eq!(tracks.len(), 1);
    client
        .delete_text_track(tracks[0].uri.as_deref().unwrap())
        .await
        .unwrap();
    assert!(client.text_tracks(&video.uri).await.unwrap().is_empty());

    // Wrong inputs fail before any request.
    let before = sandbox.requests().len();
    let missing = client
        .add_text_track(&video.uri, dir.path().join("missing.vtt"), &options)
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::Upload(_)), "{missing:?}");
    let bad = client.delete_text_track("/videos/1").await.unwrap_err();
    assert!(matches!(bad, Error::InvalidInput(_)), "{bad:?}");
    assert_eq!(sandbox.requests().len(), before);
    // The sandbox checks the type.
    let wrong = client
        .add_text_track(
            &video.uri,
            &vtt,
            &TextTrackOptions::new("en").kind("karaoke"),
        )
        .await
        .unwrap_err();
    assert_eq!(wrong.api().map(|a| a.status), Some(400), "{wrong:?}");
}
