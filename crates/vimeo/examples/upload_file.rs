//! Upload a file with progress, then wait for transcoding.
//!
//! `cargo run -p vimeo --example upload_file [FILE]`
//! Offline (no `VIMEO_API_URL`): uploads to a sandbox (a generated 24 MiB file
//! when no FILE is given). Otherwise: set `VIMEO_API_URL` and `VIMEO_TOKEN`.

mod support;

use std::sync::Arc;
use std::time::Duration;

use vimeo::{UploadOptions, VimeoClient, WaitOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let setting = support::Setting::from_env().await;
    let token = setting.credential("VIMEO_TOKEN", |c| c.personal_token.clone());
    let temp = sandbox::TempDir::new("upload-example")?;
    let path = match std::env::args().nth(1) {
        Some(path) => path.into(),
        None => {
            let path = temp.path().join("generated.mp4");
            let bytes: Vec<u8> = (0..24u32 << 20)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
                .collect();
            std::fs::write(&path, bytes)?;
            path
        }
    };
    // Resume state on disk: rerunning after a crash continues the upload.
    let resume = vimeo::cache::FileCache::open(std::env::temp_dir().join("vimeo-example-resume"))?;
    let client = VimeoClient::builder()
        .api_url(&setting.api_url)
        .token(token)
        .resume_cache(Arc::new(resume))
        .chunk_size(8 << 20)
        .build()?;
    let options = UploadOptions::new()
        .name("Example upload")
        .on_event(|event| {
            if let vimeo::tus::Event::ChunkComplete { offset, .. } = event {
                println!("   acknowledged {offset} bytes");
            }
        });
    let video = client.upload(path.as_path(), &options).await?;
    println!(
        "uploaded {} bytes to {} (verified: {})",
        video.size,
        video.uri,
        video.verification.is_complete()
    );
    let done = client
        .wait_for_transcode(
            &video.uri,
            WaitOptions::new(Duration::from_secs(600)).interval(Duration::from_millis(200)),
        )
        .await?;
    println!(
        "transcoded: {} {}",
        done.status.unwrap_or_default(),
        done.link.unwrap_or_default()
    );
    Ok(())
}
