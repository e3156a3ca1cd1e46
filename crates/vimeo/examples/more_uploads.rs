//! Every other way in: a pull upload (Vimeo fetches a URL), create-now /
//! upload-later with a ticket, a text track and a thumbnail.
//!
//! `cargo run -p vimeo --example more_uploads`
//! Offline (no `VIMEO_API_URL`): against a sandbox, which pulls from a file
//! served on loopback. Otherwise: set `VIMEO_API_URL`, `VIMEO_TOKEN` and
//! `PULL_URL` (a public video URL).

mod support;

use std::time::Duration;

use vimeo::{TextTrackOptions, UploadOptions, UploadTicket, VimeoClient, WaitOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let setting = support::Setting::from_env().await;
    let token = setting.credential("VIMEO_TOKEN", |c| c.personal_token.clone());
    let client = VimeoClient::builder()
        .api_url(&setting.api_url)
        .token(token)
        .build()?;
    let video_bytes: Vec<u8> = (0..2u32 << 20).map(|i| (i % 251) as u8).collect();
    let wait = WaitOptions::new(Duration::from_secs(600)).interval(Duration::from_millis(200));

    // 1. Pull: Vimeo downloads the file itself.
    let url = match std::env::var("PULL_URL") {
        Ok(url) => url,
        Err(_) => sandbox::serve_file(video_bytes.clone()).await?,
    };
    let pulled = client
        .upload_from_url(&url, &UploadOptions::new().name("Pulled"))
        .await?;
    let pulled = client
        .wait_for_transcode(pulled.uri.as_deref().unwrap_or_default(), wait)
        .await?;
    println!("pulled {:?}: {:?}", pulled.uri, pulled.status);

    // 2. Create now, upload later: the ticket travels as JSON to a worker
    //    that has the file but no API token.
    let options = UploadOptions::new().name("Ticketed");
    let ticket = client
        .create_upload(video_bytes.len() as u64, &options)
        .await?;
    let json = serde_json::to_string(&ticket)?;
    println!(
        "ticket for {} ({} bytes): {ticket:?}",
        ticket.video_uri, ticket.size
    );
    let worker = VimeoClient::builder().api_url(&setting.api_url).build()?;
    let ticket: UploadTicket = serde_json::from_str(&json)?;
    let temp = sandbox::TempDir::new("more-uploads")?;
    let path = temp.path().join("ticketed.mp4");
    std::fs::write(&path, &video_bytes)?;
    let sent = worker
        .upload_to_ticket(&ticket, path.as_path(), &options)
        .await?;
    println!(
        "the worker uploaded {} bytes to {} (verified: {})",
        sent.size,
        sent.uri,
        sent.verification.is_complete()
    );

    // 3. A text track and 4. a thumbnail for it.
    let vtt = temp.path().join("en.vtt");
    std::fs::write(&vtt, "WEBVTT\n\n00:00.000 --> 00:02.000\nHello\n")?;
    let track = client
        .add_text_track(
            &sent.uri,
            &vtt,
            &TextTrackOptions::new("en").name("English"),
        )
        .await?;
    println!("text track {:?} active: {:?}", track.uri, track.active);
    let image = temp.path().join("thumb.jpg");
    std::fs::write(&image, b"\xff\xd8\xff\xe0 not a real JPEG")?;
    let picture = client.set_picture(&sent.uri, &image).await?;
    println!("thumbnail {:?} active: {:?}", picture.uri, picture.active);
    Ok(())
}
