//! `vimeo`: upload to Vimeo (resuming on rerun), read the API, authorize,
//! and run the offline sandbox or the demo.

mod auth;
mod legacy;
mod media;
mod upload;

use std::sync::Arc;
use std::time::Duration;

use clap::{CommandFactory as _, Parser, Subcommand};
use cli::progress::Style;
use cli::proxy::ProxyArgs;
use cli::{Failure, parse};
use serde_json::{Value, json};
use vimeo::{ApiRequest, VimeoClient};

use auth::{App, Auth};
use media::{PictureCommand, TextTrackCommand};
use upload::UploadArgs;

const AFTER_HELP: &str = "\
App credentials may also come from VIMEO_CLIENT_ID / VIMEO_CLIENT_SECRET.
Rerunning an interrupted `vimeo upload` of the same file resumes it (state in
$VIMEO_STATE_DIR, else $XDG_STATE_HOME/vimeo-rs or ~/.local/state/vimeo-rs; with
--resume-store redis://…, in Redis, shared by every machine using it).
Exit status: 0 done, 1 failed (the message says whether a rerun resumes), 2 usage error.";

/// The Vimeo API from the command line.
#[derive(Debug, Parser)]
#[command(name = "vimeo", version, after_help = AFTER_HELP, propagate_version = true, args_override_self = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// An access token.
    #[arg(long, env = "VIMEO_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// The API's base URL.
    #[arg(long, env = "VIMEO_API_URL", global = true, value_parser = parse::http_url)]
    api_url: Option<String>,
    /// Allow the token over plain HTTP to another machine (test rigs only).
    #[arg(long, global = true)]
    insecure_http: bool,
    /// More logging on stderr: -v info, -vv debug, -vvv trace (RUST_LOG wins).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(flatten)]
    proxy: ProxyArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Upload videos (tus, resumable); rerunning resumes unfinished ones.
    Upload(UploadArgs),
    /// A video's upload and transcode status.
    Status {
        /// The video id or /videos/{id} URI.
        video: String,
        /// JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// GET an API path and print the JSON.
    Get {
        /// The path, e.g. /me/videos.
        path: String,
        /// Only these fields, e.g. uri,name.
        #[arg(long)]
        fields: Option<String>,
        /// Follow `paging.next`: every item of every page, one JSON object per line.
        #[arg(long)]
        all: bool,
    },
    /// Get a token (OAuth 2) or legacy OAuth 1.0a credentials.
    #[command(subcommand)]
    Auth(Auth),
    /// A signed call to the legacy v2 API (OAuth 1.0a).
    Call(legacy::CallArgs),
    /// Text tracks (subtitles, captions) of a video.
    #[command(subcommand)]
    Texttrack(TextTrackCommand),
    /// A video's thumbnail.
    #[command(subcommand)]
    Picture(PictureCommand),
    /// Run the offline Vimeo-compatible sandbox.
    Sandbox {
        /// The API port (0: any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// The upload host's port (0: any free port).
        #[arg(long, default_value_t = 0)]
        upload_port: u16,
    },
    /// Upload, cut, resume and verify a file on the sandbox, step by step.
    Demo {
        /// The demo file's size.
        #[arg(long, default_value = "256MiB", value_parser = parse::size)]
        size: u64,
        /// Bytes per PATCH.
        #[arg(long, default_value = "32MiB", value_parser = parse::chunk_size)]
        chunk_size: u64,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// What every command may need to build a client.
pub(crate) struct Global {
    token: Option<String>,
    api_url: Option<String>,
    insecure_http: bool,
    proxy: ProxyArgs,
}

impl Global {
    /// The connector of a legacy (OAuth 1.0a) client: the proxy flags applied.
    pub(crate) fn legacy_connector(&self) -> Result<vimeo::tus::Connector, Failure> {
        Ok(self.proxy.apply(vimeo::tus::Connector::builder()).build()?)
    }
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    cli::logging::init(cli.verbose);
    let runs_offline = matches!(
        cli.command,
        Command::Completions { .. } | Command::Sandbox { .. } | Command::Demo { .. }
    );
    if !runs_offline && let Err(failure) = cli.proxy.check() {
        failure.exit();
    }
    let global = Global {
        token: cli.token.filter(|t| !t.is_empty()),
        api_url: cli.api_url,
        insecure_http: cli.insecure_http,
        proxy: cli.proxy,
    };
    let result = match cli.command {
        Command::Upload(args) => upload::upload(&global, args).await,
        Command::Status { video, json } => status(&global, &video, json).await,
        Command::Get { path, fields, all } => get(&global, &path, fields.as_deref(), all).await,
        Command::Auth(flow) => auth::auth(&global, flow).await,
        Command::Call(args) => legacy::call(&global, args).await,
        Command::Texttrack(command) => media::text_track(&global, command).await,
        Command::Picture(command) => media::picture(&global, command).await,
        Command::Sandbox { port, upload_port } => sandbox(port, upload_port).await,
        Command::Demo { size, chunk_size } => demo(size, chunk_size).await,
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "vimeo", &mut std::io::stdout());
            Ok(())
        }
    };
    if let Err(failure) = result {
        failure.exit();
    }
}

/// Settings for [`client`] beyond the global ones.
#[derive(Default)]
pub(crate) struct ClientSettings<'a> {
    pub(crate) need_token: bool,
    pub(crate) app: Option<&'a App>,
    pub(crate) retries: Option<u32>,
    pub(crate) stall: Option<Duration>,
    pub(crate) resume: Option<Arc<dyn vimeo::cache::Cache>>,
}

pub(crate) fn client(
    global: &Global,
    settings: ClientSettings<'_>,
) -> Result<VimeoClient, Failure> {
    let mut builder = global.proxy.apply(
        VimeoClient::builder()
            .user_agent(concat!("vimeo-cli/", env!("CARGO_PKG_VERSION")))
            .allow_insecure_http(global.insecure_http),
    );
    if let Some(url) = &global.api_url {
        builder = builder.api_url(url);
    }
    match &global.token {
        Some(token) => builder = builder.token(token.as_str()),
        None if settings.need_token => {
            return Err(Failure::usage(
                "a token is needed: --token T or VIMEO_TOKEN",
            ));
        }
        None => {}
    }
    if let Some(app) = settings.app {
        builder = builder.app(&app.client_id, &app.client_secret);
    } else if let (Ok(id), Ok(secret)) = (
        std::env::var("VIMEO_CLIENT_ID"),
        std::env::var("VIMEO_CLIENT_SECRET"),
    ) && !id.is_empty()
    {
        builder = builder.app(id, secret);
    }
    if let Some(retries) = settings.retries {
        builder = builder.retry_policy(vimeo::tus::RetryPolicy::default().max_attempts(retries));
    }
    if let Some(stall) = settings.stall {
        builder = builder.upload_stall_timeout(stall);
    }
    let resume = match settings.resume {
        Some(resume) => resume,
        None => {
            let dir = cli::state_dir("VIMEO_STATE_DIR", "vimeo-rs").join("resume");
            let cache = vimeo::cache::FileCache::open(&dir)
                .map_err(|e| Failure::failed(format!("resume state at {}: {e}", dir.display())))?;
            Arc::new(cache)
        }
    };
    builder = builder.resume_cache(resume);
    Ok(builder.build()?)
}

async fn status(global: &Global, video: &str, json: bool) -> Result<(), Failure> {
    let settings = ClientSettings {
        need_token: true,
        ..ClientSettings::default()
    };
    let status = client(global, settings)?.upload_status(video).await?;
    if json {
        println!(
            "{}",
            json!({"status": status.status, "upload": status.upload, "transcode": status.transcode})
        );
    } else {
        println!(
            "status {} · upload {} · transcode {}",
            status.status.as_deref().unwrap_or("?"),
            status.upload.as_deref().unwrap_or("?"),
            status.transcode.as_deref().unwrap_or("?")
        );
    }
    Ok(())
}

async fn get(global: &Global, path: &str, fields: Option<&str>, all: bool) -> Result<(), Failure> {
    if all {
        let path = match fields {
            Some(fields) => format!(
                "{path}{}fields={fields}",
                if path.contains('?') { '&' } else { '?' }
            ),
            None => path.to_owned(),
        };
        let mut items = client(global, ClientSettings::default())?.paginate::<Value>(&path);
        while let Some(item) = items.next().await {
            println!("{}", item?);
        }
        return Ok(());
    }
    let mut request = ApiRequest::get(path);
    if let Some(fields) = fields {
        request = request.fields(fields);
    }
    let value: Value = client(global, ClientSettings::default())?
        .send(request)
        .await?
        .json()?;
    println!(
        "{}",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    );
    Ok(())
}

async fn sandbox(port: u16, upload_port: u16) -> Result<(), Failure> {
    let config = sandbox::SandboxConfig::new()
        .api_port(port)
        .upload_port(upload_port);
    let sandbox = sandbox::Sandbox::start_with(config)
        .await
        .map_err(|e| Failure::failed(format!("cannot start the sandbox: {e}")))?;
    let credentials = sandbox.credentials();
    println!(
        "{}",
        json!({
            "api_url": sandbox.api_url(),
            "upload_host": sandbox.upload_host(),
            "legacy_url": sandbox.legacy_url(),
            "token": credentials.personal_token,
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "consumer_key": credentials.consumer_key,
            "consumer_secret": credentials.consumer_secret,
        })
    );
    eprintln!(
        "sandbox running (fake credentials above; nothing leaves this machine). Try:\n  VIMEO_API_URL={} VIMEO_TOKEN={} vimeo get /me\nCtrl-C stops it.",
        sandbox.api_url(),
        credentials.personal_token
    );
    let _ = tokio::signal::ctrl_c().await;
    Ok(())
}

async fn demo(size: u64, chunk: u64) -> Result<(), Failure> {
    let started = std::time::Instant::now();
    cli::demo::run(size, chunk, Style::detect())
        .await
        .map_err(Failure::failed)?;
    eprintln!("demo finished in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
