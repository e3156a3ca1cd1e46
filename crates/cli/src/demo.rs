//! The offline demo behind `vimeo demo` and `cargo xtask demo`: a sandbox,
//! a generated sample video, an upload through the facade that is interrupted
//! part-way and resumed by a "restarted process", verification, transcode.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Method;
use sandbox::{Fault, Sandbox, SandboxConfig, TempDir};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use vimeo::cache::FileCache;
use vimeo::{UploadOptions, VimeoClient, WaitOptions};

use crate::progress::{Reporter, Style};
use crate::size::human;

/// Runs the demo with a sample of `size` bytes sent in `chunk` byte chunks.
pub async fn run(size: u64, chunk: u64, style: Style) -> Result<(), String> {
    let started = Instant::now();
    let chunk = chunk.max(1);
    let step = |n: u32, text: &str| println!("\n[{n}/7] {text}");

    step(
        1,
        "start the offline sandbox (Vimeo API + tus upload host on loopback)",
    );
    let sandbox =
        Sandbox::start_with(SandboxConfig::new().transcode_delay(Duration::from_millis(500)))
            .await
            .map_err(|e| format!("cannot start the sandbox: {e}"))?;
    println!("      API      {}", sandbox.api_url());
    println!(
        "      uploads  {} (another port: the token never goes there)",
        sandbox.upload_host()
    );

    let work = TempDir::new("vimeo-demo").map_err(|e| e.to_string())?;
    let path = work.path().join("sample.mp4");
    step(2, &format!("generate a sample video of {}", human(size)));
    let t = Instant::now();
    let digest = write_sample(&path, size)
        .await
        .map_err(|e| format!("cannot write the sample: {e}"))?;
    println!(
        "      {} in {:.1} s, SHA-256 {}…",
        path.display(),
        t.elapsed().as_secs_f64(),
        &digest[..16]
    );

    // Resume state on disk, shared by both "processes".
    let resume = Arc::new(FileCache::open(work.path().join("resume")).map_err(|e| e.to_string())?);
    let token = sandbox.credentials().personal_token.clone();
    let client = |retries: vimeo::tus::RetryPolicy| {
        VimeoClient::builder()
            .api_url(sandbox.api_url())
            // The sandbox runs in this process: no proxy of the environment's.
            .proxy_env(false)
            .token(token.as_str())
            .resume_cache(resume.clone())
            .chunk_size(chunk)
            .retry_policy(retries)
            .build()
            .map_err(|e| e.to_string())
    };
    let options = |reporter: &Arc<Reporter>| {
        let reporter = reporter.clone();
        UploadOptions::new()
            .name("Demo video")
            .description("Uploaded by `cargo xtask demo`")
            .privacy("unlisted")
            .on_event(move |event| reporter.event(event))
    };

    let chunks = size.div_ceil(chunk);
    let cut_chunk = (chunks / 2).max(1) + 1;
    let cut_after = (chunk / 3).min(size.saturating_sub((cut_chunk - 1) * chunk) / 2);
    step(
        3,
        &format!(
            "upload, first attempt: the sandbox cuts the connection {} into chunk {cut_chunk} of {chunks}, and this process gives up (no retries), as if it had died",
            human(cut_after)
        ),
    );
    sandbox.uploads().faults().inject(
        Method::PATCH,
        cut_chunk,
        Fault::CutAfter {
            bytes: cut_after,
            lose: 0,
        },
    );
    let reporter = Arc::new(Reporter::new(style));
    let first = client(vimeo::tus::RetryPolicy::none())?
        .upload(path.as_path(), &options(&reporter))
        .await;
    reporter.finish();
    let held = match first {
        Ok(_) => {
            return Err("the fault did not fire: the first attempt was expected to fail".into());
        }
        Err(error) => {
            println!("      interrupted: {}", crate::error_chain(&error));
            let link = latest_link(&sandbox).ok_or("no upload link was handed out")?;
            let (offset, _) = sandbox
                .uploads()
                .upload_state(&link)
                .ok_or("the upload vanished")?;
            println!(
                "      the server holds {} ({offset} bytes); the resume record is on disk",
                human(offset)
            );
            offset
        }
    };

    step(
        4,
        "upload, second attempt (a fresh client, as after a restart): resumes from the server's offset; one more 503 on the way is retried automatically",
    );
    let patches_so_far = sandbox
        .uploads()
        .requests()
        .iter()
        .filter(|r| r.method == Method::PATCH)
        .count() as u64;
    sandbox.uploads().faults().inject(
        Method::PATCH,
        patches_so_far + 2,
        Fault::Status {
            status: 503,
            retry_after: Some(0),
        },
    );
    let reporter = Arc::new(Reporter::new(style));
    let second_client = client(
        vimeo::tus::RetryPolicy::default()
            .backoff(Duration::from_millis(100), Duration::from_secs(2)),
    )?;
    let before = sandbox.uploads().requests().len();
    let video = second_client
        .upload(path.as_path(), &options(&reporter))
        .await;
    reporter.finish();
    let video =
        video.map_err(|e| format!("the resumed upload failed: {}", crate::error_chain(&e)))?;
    if video.resumed_from != held {
        return Err(format!(
            "resumed from {} but the server held {held}",
            video.resumed_from
        ));
    }
    let resent: u64 = sandbox.uploads().requests()[before..]
        .iter()
        .filter(|r| r.method == Method::PATCH)
        .filter_map(|r| r.upload_offset)
        .filter(|offset| *offset < held)
        .count() as u64;
    println!(
        "      resumed from byte {} — sent {} in this run, {} retried request(s), {} PATCH(es) below the acknowledged offset",
        video.resumed_from,
        human(video.bytes_sent),
        video.retries,
        resent
    );

    step(5, "verify");
    let status = sandbox
        .uploads()
        .upload_state(&latest_link(&sandbox).ok_or("no link")?)
        .ok_or("no upload")?;
    println!(
        "      HEAD: Upload-Offset {} = Upload-Length {} ({:?})",
        status.0, status.1, video.verification
    );
    let stored = sandbox
        .uploads()
        .stored_file(&latest_link(&sandbox).ok_or("no link")?)
        .ok_or("no stored file")?;
    if !same_content(&path, &stored)
        .await
        .map_err(|e| e.to_string())?
    {
        return Err("the stored file differs from the source".into());
    }
    println!("      the sandbox's stored file is byte-for-byte equal to the source");

    step(6, "wait for transcoding");
    let t = Instant::now();
    let done = second_client
        .wait_for_transcode(
            &video.uri,
            WaitOptions::new(Duration::from_secs(30)).interval(Duration::from_millis(100)),
        )
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "      status {:?} after {:.1} s",
        done.status.as_deref().unwrap_or("?"),
        t.elapsed().as_secs_f64()
    );

    step(7, "done");
    println!(
        "      video {}  {}",
        video.uri,
        video.link.as_deref().unwrap_or("")
    );
    println!(
        "      {} uploaded and verified in {:.1} s (whole demo)",
        human(video.size),
        started.elapsed().as_secs_f64()
    );
    println!(
        "\nThe same from the command line (`cargo build -p vimeo-cli`, binaries in target/debug):\n\
         \x20 vimeo sandbox --port 8080      # an offline Vimeo; prints fake credentials\n\
         \x20 export VIMEO_API_URL=http://127.0.0.1:8080 VIMEO_TOKEN=<token printed>\n\
         \x20 vimeo upload clip.mp4 --json             # Ctrl-C it, rerun: it resumes\n\
         \x20 vimeo upload *.mp4 --jobs 4              # a batch, 4 at once\n\
         \x20 vimeo --help · tusc --help               # every command and option"
    );
    Ok(())
}

fn latest_link(sandbox: &Sandbox) -> Option<String> {
    // Video ids start at 100000 and grow; the demo makes exactly one.
    (100_000..100_010)
        .rev()
        .find_map(|id| sandbox.upload_link(id))
}

/// Writes `size` bytes of pseudo-random data behind an MP4 `ftyp` box.
async fn write_sample(path: &Path, size: u64) -> std::io::Result<String> {
    let mut file = tokio::io::BufWriter::new(tokio::fs::File::create(path).await?);
    let mut hasher = Sha256::new();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut block = vec![0u8; 1 << 20];
    let header = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom";
    let mut written = 0u64;
    while written < size {
        for word in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        if written == 0 {
            block[..header.len()].copy_from_slice(header);
        }
        let n = (size - written).min(block.len() as u64) as usize;
        file.write_all(&block[..n]).await?;
        hasher.update(&block[..n]);
        written += n as u64;
    }
    file.flush().await?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

async fn same_content(a: &Path, b: &Path) -> std::io::Result<bool> {
    let (mut a, mut b) = (
        tokio::fs::File::open(a).await?,
        tokio::fs::File::open(b).await?,
    );
    if a.metadata().await?.len() != b.metadata().await?.len() {
        return Ok(false);
    }
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = a.read(&mut x).await?;
        if n == 0 {
            return Ok(true);
        }
        b.read_exact(&mut y[..n]).await?;
        if x[..n] != y[..n] {
            return Ok(false);
        }
    }
}
