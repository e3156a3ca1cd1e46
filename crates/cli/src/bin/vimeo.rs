//! `vimeo`: upload to Vimeo (resuming on rerun), read the API, authorize,
//! and run the offline sandbox or the demo.

use std::io::BufRead as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, CommandFactory as _, Parser, Subcommand};
use cli::batch::{self, Ended, Summary};
use cli::progress::{Board, Reporter, Style};
use cli::{Failure, parse};
use serde_json::{Value, json};
use vimeo::{ApiRequest, LegacyClient, LegacyEndpoints, Permission, UploadOptions, VimeoClient};

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

#[derive(Debug, Args)]
struct UploadArgs {
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

#[derive(Debug, Subcommand)]
enum Auth {
    /// The authorization-code flow: open a URL, paste where it redirected.
    Oauth2 {
        #[command(flatten)]
        app: App,
        /// The app's registered redirect URI.
        #[arg(long)]
        redirect_uri: String,
        /// Space-separated scopes.
        #[arg(long, default_value = "public")]
        scope: String,
    },
    /// A token for the app itself (no user).
    ClientCredentials {
        #[command(flatten)]
        app: App,
        /// Space-separated scopes.
        #[arg(long, default_value = "public")]
        scope: String,
    },
    /// Legacy OAuth 1.0a (the v2 API): request token, approve, access token.
    Oauth1 {
        /// The consumer key.
        #[arg(long, env = "VIMEO_CONSUMER_KEY", hide_env_values = true)]
        consumer_key: String,
        /// The consumer secret.
        #[arg(long, env = "VIMEO_CONSUMER_SECRET", hide_env_values = true)]
        consumer_secret: String,
        /// The legacy API's base URL.
        #[arg(long, value_parser = parse::http_url)]
        legacy_url: Option<String>,
        /// The access asked for.
        #[arg(long, default_value = "read", value_parser = ["read", "write", "delete"])]
        permission: String,
        /// Where to send the user after approval (default: out of band).
        #[arg(long)]
        callback: Option<String>,
    },
}

#[derive(Debug, Args)]
struct App {
    /// The app's client id.
    #[arg(long, env = "VIMEO_CLIENT_ID", hide_env_values = true)]
    client_id: String,
    /// The app's client secret.
    #[arg(long, env = "VIMEO_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
}

/// What every command may need to build a client.
struct Global {
    token: Option<String>,
    api_url: Option<String>,
    insecure_http: bool,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    cli::logging::init(cli.verbose);
    let global = Global {
        token: cli.token.filter(|t| !t.is_empty()),
        api_url: cli.api_url,
        insecure_http: cli.insecure_http,
    };
    let result = match cli.command {
        Command::Upload(args) => upload(&global, args).await,
        Command::Status { video, json } => status(&global, &video, json).await,
        Command::Get { path, fields, all } => get(&global, &path, fields.as_deref(), all).await,
        Command::Auth(flow) => auth(&global, flow).await,
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
struct ClientSettings<'a> {
    need_token: bool,
    app: Option<&'a App>,
    retries: Option<u32>,
    stall: Option<Duration>,
    resume: Option<Arc<dyn vimeo::cache::Cache>>,
}

fn client(global: &Global, settings: ClientSettings<'_>) -> Result<VimeoClient, Failure> {
    let mut builder = VimeoClient::builder()
        .user_agent(concat!("vimeo-cli/", env!("CARGO_PKG_VERSION")))
        .allow_insecure_http(global.insecure_http);
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

async fn upload(global: &Global, args: UploadArgs) -> Result<(), Failure> {
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
    let ended = batch::run(args.files, usize::from(args.jobs), |file: PathBuf| {
        let (run, board) = (run.clone(), board.clone());
        async move {
            let label = file.to_string_lossy().into_owned();
            let reporter = Arc::new(board.reporter(&label));
            match upload_one(run, file, reporter).await {
                Ok(0) => Ended::Done,
                Ok(_) => Ended::Resumed,
                Err(failure) => {
                    board.println(&format!("error: {label}: {}", failure.message));
                    Ended::Failed
                }
            }
        }
    })
    .await;
    let summary = Summary::of(&ended);
    if !args.quiet {
        eprintln!("{}", summary.line());
    }
    if summary.failed > 0 {
        return Err(Failure::failed(format!(
            "{} of {} uploads failed (rerun the same command: finished files are not sent again, unfinished ones resume)",
            summary.failed,
            ended.len()
        )));
    }
    Ok(())
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

async fn auth(global: &Global, flow: Auth) -> Result<(), Failure> {
    match flow {
        Auth::Oauth2 {
            app,
            redirect_uri,
            scope,
        } => {
            let settings = ClientSettings {
                app: Some(&app),
                ..ClientSettings::default()
            };
            let client = client(global, settings)?;
            let scopes: Vec<&str> = scope.split_whitespace().collect();
            let request = client.authorization_request(&redirect_uri, &scopes)?;
            eprintln!(
                "Open this URL, approve, then paste the address you were redirected to:\n\n  {}\n",
                request.url
            );
            let answer = read_line("redirected to: ")?;
            let code = query_value(&answer, "code")
                .ok_or_else(|| Failure::usage("the address has no `code`"))?;
            let state = query_value(&answer, "state").unwrap_or_default();
            let grant = client.exchange_code(&request, &state, &code).await?;
            print_grant(&grant);
        }
        Auth::ClientCredentials { app, scope } => {
            let settings = ClientSettings {
                app: Some(&app),
                ..ClientSettings::default()
            };
            let scopes: Vec<&str> = scope.split_whitespace().collect();
            let grant = client(global, settings)?
                .client_credentials(&scopes)
                .await?;
            print_grant(&grant);
        }
        Auth::Oauth1 {
            consumer_key,
            consumer_secret,
            legacy_url,
            permission,
            callback,
        } => {
            let endpoints = match &legacy_url {
                Some(url) => LegacyEndpoints::at(url),
                None => LegacyEndpoints::vimeo(),
            };
            let permission = match permission.as_str() {
                "write" => Permission::Write,
                "delete" => Permission::Delete,
                _ => Permission::Read,
            };
            let legacy = LegacyClient::new(consumer_key, consumer_secret)?.endpoints(endpoints);
            let url = legacy.auth(permission, callback.as_deref()).await?;
            eprintln!("Open this URL and approve:\n\n  {url}\n");
            let verifier = read_line("verifier (or the callback address): ")?;
            let verifier = query_value(&verifier, "oauth_verifier").unwrap_or(verifier);
            let token = legacy.access_token(&verifier).await?;
            println!(
                "{}",
                json!({"oauth_token": token.token, "oauth_token_secret": token.secret.expose()})
            );
        }
    }
    Ok(())
}

fn read_line(prompt: &str) -> Result<String, Failure> {
    eprint!("{prompt}");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::failed(format!("reading stdin: {e}")))?;
    let line = line.trim().to_owned();
    if line.is_empty() {
        return Err(Failure::failed("nothing was entered"));
    }
    Ok(line)
}

fn query_value(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1.split('#').next()?;
    query.split('&').find_map(|pair| {
        let (n, v) = pair.split_once('=')?;
        (n == name).then(|| {
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

fn print_grant(grant: &vimeo::TokenGrant) {
    // Printing the token is this command's purpose: stdout only, never logs.
    println!(
        "{}",
        json!({
            "access_token": grant.access_token.expose(),
            "token_type": grant.token_type,
            "scope": grant.scope,
            "user": grant.user.as_ref().and_then(|u| u.uri.clone()),
        })
    );
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
