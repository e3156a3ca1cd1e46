//! `vimeo upload`: files (one, or a batch with --jobs), or a URL Vimeo pulls;
//! optionally waiting for transcoding.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use cli::batch;
use cli::progress::{Board, Reporter, Style};
use cli::{Failure, parse};
use serde_json::{Value, json};
use vimeo::{UploadOptions, VimeoClient};

use crate::{ClientSettings, Global, client};

#[derive(Debug, Args)]
pub(crate) struct UploadArgs {
    /// Video files.
    #[arg(required_unless_present = "from_url", value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Let Vimeo fetch the video from this URL instead (pull upload).
    #[arg(long, value_name = "URL", value_parser = parse::http_url, conflicts_with_all = ["files", "replace", "jobs", "resume_store"])]
    from_url: Option<String>,
    /// Return when the video is transcoded, not when its bytes arrived.
    #[arg(long)]
    wait: bool,
    /// How long --wait waits, e.g. 2h.
    #[arg(long, default_value = "1h", value_parser = parse::duration, requires = "wait")]
    wait_timeout: Duration,
    /// The title (one file only; default: the file name).
    #[arg(long)]
    name: Option<String>,
    /// The description.
    #[arg(long)]
    description: Option<String>,
    /// privacy.view: anybody, nobody, unlisted, ...
    #[arg(long)]
    privacy: Option<String>,
    /// Upload a new version of this video (one file only).
    #[arg(long, value_name = "ID")]
    replace: Option<String>,
    /// Bytes per PATCH, e.g. 128MiB.
    #[arg(long, value_parser = parse::chunk_size)]
    chunk_size: Option<u64>,
    /// Failed attempts in a row before giving up.
    #[arg(long)]
    retries: Option<u32>,
    /// Give up on a request with no progress for this long, e.g. 30s.
    #[arg(long, value_parser = parse::duration)]
    stall_timeout: Option<Duration>,
    /// Upload N files at once.
    #[arg(short, long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
    /// Keep resume state in Redis (redis://host:port/db) so any machine can resume.
    #[arg(long, env = "VIMEO_RESUME_STORE", hide_env_values = true, value_parser = parse::resume_store)]
    resume_store: Option<String>,
    /// One JSON object per file on stdout.
    #[arg(long)]
    json: bool,
    /// No progress or messages on stderr.
    #[arg(short, long)]
    quiet: bool,
}

pub(crate) async fn upload(global: &Global, args: UploadArgs) -> Result<(), Failure> {
    if args.files.len() > 1 && (args.replace.is_some() || args.name.is_some()) {
        return Err(Failure::usage(
            "--replace and --name take one FILE (each file becomes its own video)",
        ));
    }
    let resume = match &args.resume_store {
        Some(url) => Some(cli::shared_store(url, "vimeo-cli").await?),
        None => None,
    };
    let shared = resume.is_some();
    let client = client(
        global,
        ClientSettings {
            need_token: true,
            retries: args.retries,
            stall: args.stall_timeout,
            resume,
            ..ClientSettings::default()
        },
    )?;
    let mut options = UploadOptions::new().fingerprint_content(shared);
    if let Some(name) = &args.name {
        options = options.name(name);
    }
    if let Some(description) = &args.description {
        options = options.description(description);
    }
    if let Some(privacy) = &args.privacy {
        options = options.privacy(privacy);
    }
    if let Some(bytes) = args.chunk_size {
        options = options.chunk_size(bytes);
    }
    let run = Arc::new(Run {
        client,
        options,
        replace: args.replace.clone(),
        json: args.json,
        wait: args.wait.then_some(args.wait_timeout),
    });
    let board = Board::new(Style::pick(args.quiet));
    let wait = args.wait.then_some(args.wait_timeout);
    if let Some(url) = &args.from_url {
        return pull(&run, url, wait, &board).await;
    }
    if args.files.len() == 1 {
        let file = args.files.into_iter().next().expect("one file");
        let reporter = Arc::new(board.reporter(""));
        return upload_one(run, file, reporter).await.map(drop);
    }
    batch::upload_all(
        args.files,
        usize::from(args.jobs),
        &board,
        args.quiet,
        |file, reporter| upload_one(run.clone(), file, reporter),
    )
    .await
}

/// What every upload of a run shares.
struct Run {
    client: VimeoClient,
    options: UploadOptions,
    replace: Option<String>,
    json: bool,
    /// `--wait`: how long to wait for transcoding.
    wait: Option<Duration>,
}

/// `--wait`: polls until the video is transcoded; its final state.
async fn wait_for(
    run: &Run,
    uri: &str,
    timeout: Duration,
    board: &Board,
) -> Result<Value, Failure> {
    board.println("waiting for transcoding…");
    let options = vimeo::WaitOptions::new(timeout).interval(wait_interval());
    let video = run.client.wait_for_transcode(uri, options).await?;
    Ok(json!({"status": video.status, "transcode": "complete"}))
}

/// Between `--wait` polls: 5 s, kind to the rate limit (`VIMEO_WAIT_INTERVAL`
/// shortens it against the sandbox).
fn wait_interval() -> Duration {
    std::env::var("VIMEO_WAIT_INTERVAL")
        .ok()
        .and_then(|v| parse::duration(&v).ok())
        .unwrap_or(Duration::from_secs(5))
}

/// `--from-url`: Vimeo fetches the file itself.
async fn pull(run: &Run, url: &str, wait: Option<Duration>, board: &Board) -> Result<(), Failure> {
    let video = run.client.upload_from_url(url, &run.options).await?;
    let uri = video.uri.clone().unwrap_or_default();
    let mut result = json!({
        "uri": uri,
        "id": video.id(),
        "link": video.link,
        "upload": video.upload.as_ref().and_then(|u| u.status.clone()),
    });
    if let Some(timeout) = wait {
        let done = wait_for(run, &uri, timeout, board).await?;
        result["status"] = done["status"].clone();
        result["transcode"] = done["transcode"].clone();
    }
    if run.json {
        println!("{result}");
    } else {
        println!("{uri}");
    }
    Ok(())
}

/// Uploads one file; returns the offset it resumed from.
async fn upload_one(run: Arc<Run>, file: PathBuf, reporter: Arc<Reporter>) -> Result<u64, Failure> {
    let events = reporter.clone();
    let options = run
        .options
        .clone()
        .on_event(move |event| events.event(event));
    let result = match &run.replace {
        Some(video) => run.client.replace(video, file.as_path(), &options).await,
        None => run.client.upload(file.as_path(), &options).await,
    };
    reporter.finish();
    let video = result?;
    let transcoded = match run.wait {
        Some(timeout) => {
            Some(wait_for(&run, &video.uri, timeout, &Board::new(Style::Quiet)).await?)
        }
        None => None,
    };
    if run.json {
        let mut result = json!({
            "file": file.to_string_lossy(),
            "uri": video.uri,
            "id": video.id,
            "link": video.link,
            "size": video.size,
            "resumed_from": video.resumed_from,
            "bytes_sent": video.bytes_sent,
            "retries": video.retries,
            "verified": video.verification.is_complete(),
        });
        if let Some(done) = transcoded {
            result["transcode"] = done["transcode"].clone();
        }
        println!("{result}");
    } else {
        println!("{}", video.uri);
        reporter.line(&format!(
            "uploaded {} and verified (resumed from byte {}); {}",
            cli::size::human(video.size),
            video.resumed_from,
            video.link.as_deref().unwrap_or("")
        ));
    }
    Ok(video.resumed_from)
}
