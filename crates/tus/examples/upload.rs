//! Uploads FILE to a tus ENDPOINT with a progress line, then prints throughput
//! and this process's peak memory (used by `cargo xtask bench`).
//!
//! Usage: `cargo run --release -p vimeo-tus --example upload -- FILE ENDPOINT [CHUNK_BYTES] [PARALLEL]`
//!
//! With `UPLOAD_CONCURRENT=N`, uploads FILE N times at once through one client
//! (N separate uploads) and reports the total.

use std::io::Write as _;
use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(file), Some(endpoint)) = (args.first(), args.get(1)) else {
        eprintln!("usage: upload FILE ENDPOINT [CHUNK_BYTES] [PARALLEL]");
        std::process::exit(2);
    };
    let chunk: u64 = args
        .get(2)
        .map(|c| c.parse())
        .transpose()?
        .unwrap_or(128 << 20);
    let parallel: usize = args.get(3).map(|p| p.parse()).transpose()?.unwrap_or(1);
    let quiet = std::env::var_os("UPLOAD_QUIET").is_some();
    let concurrent: usize = std::env::var("UPLOAD_CONCURRENT")
        .ok()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(1);
    if concurrent > 1 {
        return upload_concurrently(file, endpoint, chunk, concurrent).await;
    }
    let source = tus::Source::from_path(file).await?;
    let total = source.len();
    let started = Instant::now();
    let options = tus::UploadOptions::default()
        .chunk_size(chunk)
        .parallel(parallel)
        .on_event(move |event| {
            if let (tus::Event::Progress(p), false) = (event, quiet) {
                eprint!(
                    "\r{:>6.1}% {:>8.1} MiB/s   ",
                    p.sent as f64 * 100.0 / p.total.max(1) as f64,
                    p.bytes_per_second / 1048576.0
                );
            }
        });
    let outcome = tus::Client::new()?
        .upload(endpoint, source, &options)
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    if !quiet {
        eprintln!();
    }
    let _ = std::io::stderr().flush();
    if !outcome.verification.is_complete() {
        return Err(format!("upload incomplete: {:?}", outcome.verification).into());
    }
    println!(
        "uploaded {total} bytes to {} in {seconds:.3} s: {:.1} MiB/s, peak RSS {} KiB",
        outcome.url,
        total as f64 / 1048576.0 / seconds,
        peak_rss_kib().map_or("unknown".into(), |k| k.to_string())
    );
    Ok(())
}

/// `count` uploads of `file` at once through one client.
async fn upload_concurrently(
    file: &str,
    endpoint: &str,
    chunk: u64,
    count: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let client = tus::Client::new()?;
    let started = Instant::now();
    let mut uploads = tokio::task::JoinSet::new();
    for _ in 0..count {
        let (client, file, endpoint) = (client.clone(), file.to_owned(), endpoint.to_owned());
        uploads.spawn(async move {
            let source = tus::Source::from_path(&file).await?;
            let options = tus::UploadOptions::default().chunk_size(chunk);
            client.upload(&endpoint, source, &options).await
        });
    }
    let mut total = 0;
    while let Some(done) = uploads.join_next().await {
        let outcome = done??;
        match outcome.verification {
            tus::Verification::Complete { length } => total += length,
            other => return Err(format!("upload incomplete: {other:?}").into()),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "uploaded {count} × {} bytes concurrently in {seconds:.3} s: {:.1} MiB/s, peak RSS {} KiB",
        total / count as u64,
        total as f64 / 1048576.0 / seconds,
        peak_rss_kib().map_or("unknown".into(), |k| k.to_string())
    );
    Ok(())
}

/// VmHWM from /proc/self/status (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
