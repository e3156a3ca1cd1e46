//! `tusc`: upload to any tus 1.0 server, resume on rerun, inspect and delete uploads.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, CommandFactory as _, Parser, Subcommand};
use cli::batch;
use cli::progress::{Board, Reporter, Style};
use cli::proxy::ProxyArgs;
use cli::{Failure, parse};
use serde_json::{Value, json};

const AFTER_HELP: &str = "\
Rerunning an interrupted `tusc upload` of the same file resumes it (state in
$TUSC_STATE_DIR, else $XDG_STATE_HOME/tusc or ~/.local/state/tusc; with
--resume-store redis://…, in Redis, shared by every machine using it).
Exit status: 0 done, 1 failed (the message says whether a rerun resumes), 2 usage error.";

/// A resumable tus 1.0 upload client.
#[derive(Debug, Parser)]
#[command(name = "tusc", version, after_help = AFTER_HELP, propagate_version = true, args_override_self = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More logging on stderr: -v info, -vv debug, -vvv trace (RUST_LOG wins).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(flatten)]
    proxy: ProxyArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Upload files (or `-` for stdin); rerunning resumes unfinished ones.
    Upload(UploadArgs),
    /// Show how much of an upload the server holds.
    Status(InspectArgs),
    /// Delete an upload (tus termination).
    Delete(InspectArgs),
    /// Show what the server supports (OPTIONS).
    Options(InspectArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
struct UploadArgs {
    /// Files to upload; `-` reads stdin (alone; needs creation-defer-length).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The server's creation URL.
    #[arg(short, long, value_parser = parse::http_url)]
    endpoint: String,
    /// A request header, `Name: value` (sent only to the endpoint's origin).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = parse::header)]
    headers: Vec<(String, String)>,
    /// Upload metadata, `key=value` (`filename` defaults to the file's name).
    #[arg(short, long = "metadata", value_name = "KEY=VALUE", value_parser = parse::metadata)]
    metadata: Vec<(String, String)>,
    /// Bytes per PATCH, e.g. 8MiB (files stream any size; stdin holds one chunk, at most 1 GiB).
    #[arg(long, value_parser = parse::chunk_size)]
    chunk_size: Option<u64>,
    /// Upload each file in N parts over N connections (tus concatenation).
    #[arg(short, long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    parallel: u16,
    /// Upload N files at once.
    #[arg(short, long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    jobs: u16,
    /// Send Upload-Checksum with every PATCH.
    #[arg(long, value_parser = ["sha1", "sha256"])]
    checksum: Option<String>,
    /// Failed attempts in a row before giving up.
    #[arg(long)]
    retries: Option<u32>,
    /// Give up on a request with no progress for this long, e.g. 30s.
    #[arg(long, value_parser = parse::duration)]
    stall_timeout: Option<Duration>,
    /// Do not keep resume state.
    #[arg(long)]
    no_resume: bool,
    /// Keep resume state in Redis (redis://host:port/db) so any machine can resume.
    #[arg(long, env = "TUSC_RESUME_STORE", hide_env_values = true, value_parser = parse::resume_store)]
    resume_store: Option<String>,
    /// One JSON object per file on stdout.
    #[arg(long)]
    json: bool,
    /// No progress or messages on stderr.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct InspectArgs {
    /// The upload URL (or, for `options`, any URL of the server).
    #[arg(value_parser = parse::http_url)]
    url: String,
    /// A request header, `Name: value`.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = parse::header)]
    headers: Vec<(String, String)>,
    /// JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    cli::logging::init(cli.verbose);
    let proxy = &cli.proxy;
    if !matches!(cli.command, Command::Completions { .. })
        && let Err(failure) = proxy.check()
    {
        failure.exit();
    }
    let result = match cli.command {
        Command::Upload(args) => upload(args, proxy).await,
        Command::Status(args) => status(&args, proxy).await,
        Command::Delete(args) => delete(&args, proxy).await,
        Command::Options(args) => options(&args, proxy).await,
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "tusc", &mut std::io::stdout());
            Ok(())
        }
    };
    if let Err(failure) = result {
        failure.exit();
    }
}

fn client(
    headers: &[(String, String)],
    retries: Option<u32>,
    stall: Option<Duration>,
    proxy: &ProxyArgs,
) -> Result<tus::Client, Failure> {
    let mut builder = proxy.apply(tus::Client::builder());
    if let Some(retries) = retries {
        builder = builder.retry_policy(tus::RetryPolicy::default().max_attempts(retries));
    }
    if let Some(timeout) = stall {
        builder = builder.stall_timeout(timeout);
    }
    for (name, value) in headers {
        builder = builder.header(name, value)?;
    }
    Ok(builder.build()?)
}

/// What every upload of a run shares.
struct Run {
    client: tus::Client,
    endpoint: String,
    options: tus::UploadOptions,
    named: bool,
    json: bool,
}

async fn upload(args: UploadArgs, proxy: &ProxyArgs) -> Result<(), Failure> {
    let stdin = args.files.iter().any(|f| f.as_os_str() == "-");
    if stdin && args.files.len() > 1 {
        return Err(Failure::usage("`-` (stdin) must be the only FILE"));
    }
    if stdin
        && args
            .chunk_size
            .is_some_and(|c| c > tus::MAX_STREAM_CHUNK_SIZE)
    {
        return Err(Failure::usage(format!(
            "--chunk-size: stdin holds one chunk in memory, at most {}",
            cli::size::human(tus::MAX_STREAM_CHUNK_SIZE)
        )));
    }
    let client = client(&args.headers, args.retries, args.stall_timeout, proxy)?;
    let mut options = tus::UploadOptions::default().parallel(usize::from(args.parallel));
    if let Some(bytes) = args.chunk_size {
        options = options.chunk_size(bytes);
    }
    if let Some(name) = &args.checksum {
        let algorithm = tus::ChecksumAlgorithm::from_name(name).expect("clap checked the name");
        options = options.checksum(algorithm);
    }
    for (key, value) in &args.metadata {
        options = options.metadata(key, value.as_bytes().to_vec());
    }
    if !stdin && !args.no_resume {
        options = match &args.resume_store {
            // A fleet: files are known by content, so another machine's copy matches.
            Some(url) => options
                .store(Arc::new(vimeo::CacheUrlStore::new(
                    cli::shared_store(url, "tusc").await?,
                )))
                .fingerprint_content(true),
            None => {
                let dir = cli::state_dir("TUSC_STATE_DIR", "tusc");
                options.store(Arc::new(tus::FileUrlStore::new(dir)))
            }
        };
    }
    let run = Arc::new(Run {
        client,
        endpoint: args.endpoint,
        named: args.metadata.iter().any(|(k, _)| k == "filename"),
        options,
        json: args.json,
    });
    let board = Board::new(Style::pick(args.quiet));
    if stdin {
        let reporter = Arc::new(board.reporter(""));
        return upload_one(run, None, reporter).await.map(drop);
    }
    if args.files.len() == 1 {
        let reporter = Arc::new(board.reporter(""));
        return upload_one(run, args.files.into_iter().next(), reporter)
            .await
            .map(drop);
    }
    batch::upload_all(
        args.files,
        usize::from(args.jobs),
        &board,
        args.quiet,
        |file, reporter| upload_one(run.clone(), Some(file), reporter),
    )
    .await
}

/// Uploads one file (`None`: stdin); returns the offset it resumed from.
async fn upload_one(
    run: Arc<Run>,
    file: Option<PathBuf>,
    reporter: Arc<Reporter>,
) -> Result<u64, Failure> {
    let mut options = run.options.clone();
    if !run.named
        && let Some(name) = file.as_deref().and_then(Path::file_name)
    {
        // Non-UTF-8 names upload; their metadata carries the lossy name.
        options = options.metadata("filename", name.to_string_lossy().as_bytes().to_vec());
    }
    let events = reporter.clone();
    options = options.on_event(move |event| events.event(event));
    let outcome = match &file {
        None => {
            let result = run
                .client
                .upload_stream(&run.endpoint, tokio::io::stdin(), &options)
                .await;
            // A stream cannot be resumed by a rerun: no rerun hint.
            result.map_err(|error| Failure::of_upload(error, false))
        }
        Some(path) => match tus::Source::from_path(path).await {
            Ok(source) => run
                .client
                .upload(&run.endpoint, source, &options)
                .await
                .map_err(Failure::from),
            Err(error) => Err(error.into()),
        },
    };
    reporter.finish();
    let outcome = outcome?;
    let tus::Verification::Complete { length } = outcome.verification else {
        return Err(Failure::failed(format!(
            "the server does not hold every byte: {:?}",
            outcome.verification
        )));
    };
    if run.json {
        let mut result = json!({
            "url": outcome.url,
            "length": length,
            "resumed_from": outcome.resumed_from,
            "bytes_sent": outcome.bytes_sent,
            "retries": outcome.retries,
            "verified": true,
        });
        if let Some(path) = &file {
            result["file"] = Value::from(path.to_string_lossy().into_owned());
        }
        println!("{result}");
    } else {
        println!("{}", outcome.url);
        reporter.line(&format!(
            "uploaded {} and verified (resumed from byte {}, {} retries)",
            cli::size::human(length),
            outcome.resumed_from,
            outcome.retries
        ));
    }
    Ok(outcome.resumed_from)
}

async fn status(args: &InspectArgs, proxy: &ProxyArgs) -> Result<(), Failure> {
    let status = client(&args.headers, None, None, proxy)?
        .status(&args.url)
        .await?;
    let complete = status.length.is_some_and(|l| l == status.offset);
    if args.json {
        println!(
            "{}",
            json!({
                "offset": status.offset,
                "length": status.length,
                "complete": complete,
                "expires_at": status.expires_at.map(|at| at
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())),
            })
        );
    } else {
        let length = status
            .length
            .map_or_else(|| "unknown".to_owned(), |l| l.to_string());
        println!(
            "offset {} of {length} bytes{}",
            status.offset,
            if complete { " (complete)" } else { "" }
        );
    }
    Ok(())
}

async fn delete(args: &InspectArgs, proxy: &ProxyArgs) -> Result<(), Failure> {
    client(&args.headers, None, None, proxy)?
        .terminate(&args.url)
        .await?;
    eprintln!("deleted");
    Ok(())
}

async fn options(args: &InspectArgs, proxy: &ProxyArgs) -> Result<(), Failure> {
    let capabilities = client(&args.headers, None, None, proxy)?
        .options(&args.url)
        .await?;
    if args.json {
        println!(
            "{}",
            json!({
                "versions": capabilities.versions,
                "extensions": capabilities.extensions,
                "max_size": capabilities.max_size,
                "checksum_algorithms": capabilities.checksum_algorithms,
            })
        );
    } else {
        println!("versions: {}", capabilities.versions.join(", "));
        println!("extensions: {}", capabilities.extensions.join(", "));
        if let Some(max) = capabilities.max_size {
            println!("max size: {max}");
        }
        if !capabilities.checksum_algorithms.is_empty() {
            println!(
                "checksum algorithms: {}",
                capabilities.checksum_algorithms.join(", ")
            );
        }
    }
    Ok(())
}
