//! `tusc`: upload to any tus 1.0 server, resume on rerun, inspect and delete uploads.

use std::sync::Arc;

use cli::args::{Args, Spec};
use cli::progress::{Reporter, Style};
use cli::{EXIT_FAILURE, EXIT_USAGE, fail};
use serde_json::json;

const USAGE: &str = "\
tusc: a resumable tus 1.0 upload client

usage:
  tusc upload FILE --endpoint URL [--header 'K: V']... [--metadata k=v]...
              [--chunk-size 128MiB] [--parallel N] [--checksum sha1|sha256] [--retries 10]
              [--stall-timeout 30s] [--no-resume] [--json] [--quiet]
  tusc upload - --endpoint URL ...      (stdin; needs creation-defer-length)
  tusc status URL [--header 'K: V']... [--json]
  tusc delete URL [--header 'K: V']...
  tusc options URL [--header 'K: V']... [--json]

--parallel N uploads N parts over N connections and joins them (tus
concatenation); servers without it get one stream.
Rerunning an interrupted `tusc upload` of the same file resumes it (state in
$TUSC_STATE_DIR, else $XDG_STATE_HOME/tusc or ~/.local/state/tusc).
Progress goes to stderr: a bar on a terminal, plain lines otherwise.
Exit status: 0 done, 1 failed (the upload can be resumed by rerunning), 2 usage error.";

const UPLOAD: Spec = Spec {
    values: &[
        "endpoint",
        "header",
        "metadata",
        "chunk-size",
        "checksum",
        "retries",
        "stall-timeout",
        "parallel",
    ],
    flags: &["json", "quiet", "no-resume"],
};
const INSPECT: Spec = Spec {
    values: &["header"],
    flags: &["json"],
};

#[tokio::main]
async fn main() {
    let mut raw = std::env::args().skip(1);
    let command = raw.next().unwrap_or_default();
    let rest: Vec<String> = raw.collect();
    let spec = match command.as_str() {
        "upload" => UPLOAD,
        "status" | "delete" | "options" => INSPECT,
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            return;
        }
        "" => fail(EXIT_USAGE, &format!("missing command\n\n{USAGE}")),
        other => fail(EXIT_USAGE, &format!("unknown command {other:?}\n\n{USAGE}")),
    };
    let args = Args::parse(rest, spec).unwrap_or_else(|e| fail(EXIT_USAGE, &e));
    let client = client(&args).unwrap_or_else(|e| fail(EXIT_USAGE, &e));
    let result = match command.as_str() {
        "upload" => upload(&client, &args).await,
        "status" => status(&client, &args).await,
        "delete" => delete(&client, &args).await,
        _ => options(&client, &args).await,
    };
    if let Err(failure) = result {
        fail(failure.code, &failure.message);
    }
}

struct Failure {
    code: i32,
    message: String,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: EXIT_USAGE,
        message: message.into(),
    }
}

impl From<tus::Error> for Failure {
    fn from(error: tus::Error) -> Self {
        let code = match error {
            // The caller's mistakes, found before any request.
            tus::Error::InvalidUrl { .. }
            | tus::Error::InvalidHeader { .. }
            | tus::Error::InvalidChunkSize { .. }
            | tus::Error::InvalidMetadataKey { .. } => EXIT_USAGE,
            _ => EXIT_FAILURE,
        };
        let mut message = cli::error_chain(&error);
        if code == EXIT_FAILURE {
            message.push_str(match error {
                tus::Error::CreationUncertain { .. } => "",
                tus::Error::SourceChanged { .. } => {
                    "\n(the file changed: a rerun uploads the new version as a new upload)"
                }
                _ => "\n(rerun the same command to resume)",
            });
        }
        Failure { code, message }
    }
}

fn client(args: &Args) -> Result<tus::Client, String> {
    let mut builder = tus::Client::builder();
    if let Some(retries) = args.value("retries") {
        let retries: u32 = retries
            .parse()
            .map_err(|_| format!("--retries wants a number, got {retries:?}"))?;
        builder = builder.retry_policy(tus::RetryPolicy::default().max_attempts(retries));
    }
    if let Some(timeout) = args.value("stall-timeout") {
        builder = builder.stall_timeout(cli::size::parse_duration(timeout)?);
    }
    for header in args.all("header") {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| format!("--header wants `Name: value`, got {header:?}"))?;
        builder = builder
            .header(name.trim(), value.trim())
            .map_err(|e| format!("--header {name:?}: {e}"))?;
    }
    builder.build().map_err(|e| e.to_string())
}

async fn upload(client: &tus::Client, args: &Args) -> Result<(), Failure> {
    let file = args.single("FILE (or - for stdin)").map_err(usage)?;
    let endpoint = args
        .value("endpoint")
        .ok_or_else(|| usage("--endpoint URL is required"))?;
    let mut options = tus::UploadOptions::default();
    if let Some(size) = args.value("chunk-size") {
        // Files stream any chunk size; stdin holds one chunk in memory.
        let max = if file == "-" {
            tus::MAX_STREAM_CHUNK_SIZE
        } else {
            tus::MAX_CHUNK_SIZE
        };
        let bytes = cli::size::parse(size).map_err(usage)?;
        if bytes == 0 || bytes > max {
            return Err(usage(format!(
                "--chunk-size must be between 1 byte and {} (got {size:?})",
                cli::size::human(max)
            )));
        }
        options = options.chunk_size(bytes);
    }
    if let Some(parts) = args.value("parallel") {
        let parts: usize = parts
            .parse()
            .ok()
            .filter(|n| (1..=64).contains(n))
            .ok_or_else(|| usage(format!("--parallel wants 1 to 64 parts, got {parts:?}")))?;
        options = options.parallel(parts);
    }
    if let Some(name) = args.value("checksum") {
        let algorithm = tus::ChecksumAlgorithm::from_name(name).ok_or_else(|| {
            usage(format!(
                "--checksum: unknown algorithm {name:?} (sha1, sha256)"
            ))
        })?;
        options = options.checksum(algorithm);
    }
    let mut named = false;
    for pair in args.all("metadata") {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| usage(format!("--metadata wants key=value, got {pair:?}")))?;
        named |= key == "filename";
        options = options.metadata(key, value.as_bytes().to_vec());
    }
    if !named
        && file != "-"
        && let Some(name) = std::path::Path::new(file).file_name()
    {
        options = options.metadata("filename", name.to_string_lossy().as_bytes().to_vec());
    }
    let quiet = args.flag("quiet");
    let reporter = Arc::new(Reporter::new(if quiet {
        Style::Quiet
    } else {
        Style::detect()
    }));
    let events = reporter.clone();
    options = options.on_event(move |event| events.event(event));
    let outcome = if file == "-" {
        client
            .upload_stream(endpoint, tokio::io::stdin(), &options)
            .await
    } else {
        if !args.flag("no-resume") {
            let dir = cli::state_dir("TUSC_STATE_DIR", "tusc");
            options = options.store(Arc::new(tus::FileUrlStore::new(dir)));
        }
        let source = tus::Source::from_path(file).await?;
        client.upload(endpoint, source, &options).await
    };
    reporter.finish();
    let outcome = outcome?;
    let length = match outcome.verification {
        tus::Verification::Complete { length } => length,
        other => {
            return Err(Failure {
                code: EXIT_FAILURE,
                message: format!("the server does not hold every byte: {other:?}"),
            });
        }
    };
    if args.flag("json") {
        println!(
            "{}",
            json!({
                "url": outcome.url,
                "length": length,
                "resumed_from": outcome.resumed_from,
                "bytes_sent": outcome.bytes_sent,
                "retries": outcome.retries,
                "verified": true,
            })
        );
    } else {
        println!("{}", outcome.url);
        if !quiet {
            eprintln!(
                "uploaded {} and verified (resumed from byte {}, {} retries)",
                cli::size::human(length),
                outcome.resumed_from,
                outcome.retries
            );
        }
    }
    Ok(())
}

async fn status(client: &tus::Client, args: &Args) -> Result<(), Failure> {
    let url = args.single("URL").map_err(usage)?;
    let status = client.status(url).await?;
    let complete = status.length.is_some_and(|l| l == status.offset);
    if args.flag("json") {
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

async fn delete(client: &tus::Client, args: &Args) -> Result<(), Failure> {
    let url = args.single("URL").map_err(usage)?;
    client.terminate(url).await?;
    eprintln!("deleted");
    Ok(())
}

async fn options(client: &tus::Client, args: &Args) -> Result<(), Failure> {
    let url = args.single("URL").map_err(usage)?;
    let capabilities = client.options(url).await?;
    if args.flag("json") {
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
