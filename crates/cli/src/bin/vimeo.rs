//! `vimeo`: upload to Vimeo (resuming on rerun), read the API, authorize,
//! and run the offline sandbox or the demo.

use std::io::BufRead as _;
use std::sync::Arc;

use cli::args::{Args, Spec};
use cli::progress::{Reporter, Style};
use cli::{EXIT_FAILURE, EXIT_USAGE, fail};
use serde_json::{Value, json};
use vimeo::{ApiRequest, LegacyClient, LegacyEndpoints, Permission, UploadOptions, VimeoClient};

const USAGE: &str = "\
vimeo: the Vimeo API from the command line

usage:
  vimeo upload FILE [--name N] [--description D] [--privacy VIEW] [--replace ID]
                    [--chunk-size 128MiB] [--json] [--quiet]
  vimeo status ID [--json]
  vimeo get PATH [--fields a,b.c]
  vimeo auth oauth2 --client-id ID --client-secret S --redirect-uri URL [--scope 'public upload']
  vimeo auth client-credentials --client-id ID --client-secret S [--scope public]
  vimeo auth oauth1 --consumer-key K --consumer-secret S [--legacy-url URL] [--permission write] [--callback URL]
  vimeo sandbox [--port N] [--upload-port M]
  vimeo demo [--size 256MiB] [--chunk-size 32MiB]

Common options: --token T (or VIMEO_TOKEN), --api-url URL (or VIMEO_API_URL; default
https://api.vimeo.com). App credentials may come from VIMEO_CLIENT_ID / VIMEO_CLIENT_SECRET.
Rerunning an interrupted `vimeo upload` of the same file resumes it (state in
$VIMEO_STATE_DIR, else $XDG_STATE_HOME/vimeo-rs or ~/.local/state/vimeo-rs).
Exit status: 0 done, 1 failed, 2 usage error.";

const COMMON: [&str; 2] = ["token", "api-url"];

fn spec(command: &str) -> Option<Spec> {
    Some(match command {
        "upload" => Spec {
            values: &[
                "token",
                "api-url",
                "name",
                "description",
                "privacy",
                "replace",
                "chunk-size",
            ],
            flags: &["json", "quiet"],
        },
        "status" => Spec {
            values: &COMMON,
            flags: &["json"],
        },
        "get" => Spec {
            values: &["token", "api-url", "fields"],
            flags: &[],
        },
        "auth" => Spec {
            values: &[
                "api-url",
                "client-id",
                "client-secret",
                "redirect-uri",
                "scope",
                "consumer-key",
                "consumer-secret",
                "legacy-url",
                "permission",
                "callback",
            ],
            flags: &[],
        },
        "sandbox" => Spec {
            values: &["port", "upload-port"],
            flags: &[],
        },
        "demo" => Spec {
            values: &["size", "chunk-size"],
            flags: &[],
        },
        _ => return None,
    })
}

#[tokio::main]
async fn main() {
    let mut raw = std::env::args().skip(1);
    let command = raw.next().unwrap_or_default();
    if matches!(command.as_str(), "help" | "--help" | "-h") {
        println!("{USAGE}");
        return;
    }
    let Some(spec) = spec(&command) else {
        let what = if command.is_empty() {
            "missing command".to_owned()
        } else {
            format!("unknown command {command:?}")
        };
        fail(EXIT_USAGE, &format!("{what}\n\n{USAGE}"));
    };
    let args = Args::parse(raw, spec).unwrap_or_else(|e| fail(EXIT_USAGE, &e));
    let result = match command.as_str() {
        "upload" => upload(&args).await,
        "status" => status(&args).await,
        "get" => get(&args).await,
        "auth" => auth(&args).await,
        "sandbox" => sandbox(&args).await,
        _ => demo(&args).await,
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

impl From<vimeo::Error> for Failure {
    fn from(error: vimeo::Error) -> Self {
        let mut message = cli::error_chain(&error);
        if matches!(error, vimeo::Error::Upload(_)) {
            message.push_str("\n(rerun the same command to resume)");
        }
        Failure {
            code: EXIT_FAILURE,
            message,
        }
    }
}

fn setting(args: &Args, flag: &str, env: &str) -> Option<String> {
    args.value(flag)
        .map(str::to_owned)
        .or_else(|| std::env::var(env).ok().filter(|v| !v.is_empty()))
}

fn client(args: &Args, need_token: bool) -> Result<VimeoClient, Failure> {
    let mut builder =
        VimeoClient::builder().user_agent(concat!("vimeo-cli/", env!("CARGO_PKG_VERSION")));
    if let Some(url) = setting(args, "api-url", "VIMEO_API_URL") {
        builder = builder.api_url(url);
    }
    match setting(args, "token", "VIMEO_TOKEN") {
        Some(token) => builder = builder.token(token),
        None if need_token => return Err(usage("a token is needed: --token T or VIMEO_TOKEN")),
        None => {}
    }
    if let (Some(id), Some(secret)) = (
        setting(args, "client-id", "VIMEO_CLIENT_ID"),
        setting(args, "client-secret", "VIMEO_CLIENT_SECRET"),
    ) {
        builder = builder.app(id, secret);
    }
    let dir = cli::state_dir("VIMEO_STATE_DIR", "vimeo-rs").join("resume");
    let resume = vimeo::cache::FileCache::open(&dir).map_err(|e| Failure {
        code: EXIT_FAILURE,
        message: format!("resume state at {}: {e}", dir.display()),
    })?;
    builder = builder.resume_cache(Arc::new(resume));
    Ok(builder.build()?)
}

async fn upload(args: &Args) -> Result<(), Failure> {
    let file = args.single("FILE").map_err(usage)?;
    let client = client(args, true)?;
    let mut options = UploadOptions::new();
    if let Some(name) = args.value("name") {
        options = options.name(name);
    }
    if let Some(description) = args.value("description") {
        options = options.description(description);
    }
    if let Some(privacy) = args.value("privacy") {
        options = options.privacy(privacy);
    }
    if let Some(size) = args.value("chunk-size") {
        options = options.chunk_size(cli::size::parse(size).map_err(usage)?);
    }
    let quiet = args.flag("quiet");
    let reporter = Arc::new(Reporter::new(if quiet {
        Style::Quiet
    } else {
        Style::detect()
    }));
    let events = reporter.clone();
    options = options.on_event(move |event| events.event(event));
    let path = std::path::Path::new(file);
    let result = match args.value("replace") {
        Some(video) => client.replace(video, path, &options).await,
        None => client.upload(path, &options).await,
    };
    reporter.finish();
    let video = result?;
    if args.flag("json") {
        println!(
            "{}",
            json!({
                "uri": video.uri,
                "id": video.id,
                "link": video.link,
                "size": video.size,
                "resumed_from": video.resumed_from,
                "bytes_sent": video.bytes_sent,
                "retries": video.retries,
                "verified": video.verification.is_complete(),
            })
        );
    } else {
        println!("{}", video.uri);
        if !quiet {
            eprintln!(
                "uploaded {} and verified (resumed from byte {}); {}",
                cli::size::human(video.size),
                video.resumed_from,
                video.link.as_deref().unwrap_or("")
            );
        }
    }
    Ok(())
}

async fn status(args: &Args) -> Result<(), Failure> {
    let video = args.single("video ID").map_err(usage)?;
    let status = client(args, true)?.upload_status(video).await?;
    if args.flag("json") {
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

async fn get(args: &Args) -> Result<(), Failure> {
    let path = args.single("PATH").map_err(usage)?;
    let mut request = ApiRequest::get(path);
    if let Some(fields) = args.value("fields") {
        request = request.fields(fields);
    }
    let value: Value = client(args, false)?.send(request).await?.json()?;
    println!(
        "{}",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    );
    Ok(())
}

fn read_line(prompt: &str) -> Result<String, Failure> {
    eprint!("{prompt}");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure {
            code: EXIT_FAILURE,
            message: format!("reading stdin: {e}"),
        })?;
    let line = line.trim().to_owned();
    if line.is_empty() {
        return Err(Failure {
            code: EXIT_FAILURE,
            message: "nothing was entered".into(),
        });
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

async fn auth(args: &Args) -> Result<(), Failure> {
    let flow = args
        .single("flow (oauth2, client-credentials or oauth1)")
        .map_err(usage)?;
    match flow {
        "oauth2" => {
            let client = client(args, false)?;
            let redirect = args
                .value("redirect-uri")
                .ok_or_else(|| usage("--redirect-uri is required"))?;
            let scope = args.value("scope").unwrap_or("public");
            let scopes: Vec<&str> = scope.split_whitespace().collect();
            let request = client.authorization_request(redirect, &scopes)?;
            eprintln!(
                "Open this URL, approve, then paste the address you were redirected to:\n\n  {}\n",
                request.url
            );
            let answer = read_line("redirected to: ")?;
            let code =
                query_value(&answer, "code").ok_or_else(|| usage("the address has no `code`"))?;
            let state = query_value(&answer, "state").unwrap_or_default();
            let grant = client.exchange_code(&request, &state, &code).await?;
            print_grant(&grant);
        }
        "client-credentials" => {
            let client = client(args, false)?;
            let scope = args.value("scope").unwrap_or("public");
            let scopes: Vec<&str> = scope.split_whitespace().collect();
            let grant = client.client_credentials(&scopes).await?;
            print_grant(&grant);
        }
        "oauth1" => {
            let key = setting(args, "consumer-key", "VIMEO_CONSUMER_KEY")
                .ok_or_else(|| usage("--consumer-key is required"))?;
            let secret = setting(args, "consumer-secret", "VIMEO_CONSUMER_SECRET")
                .ok_or_else(|| usage("--consumer-secret is required"))?;
            let endpoints = match args.value("legacy-url") {
                Some(url) => LegacyEndpoints::at(url),
                None => LegacyEndpoints::vimeo(),
            };
            let permission = match args.value("permission").unwrap_or("read") {
                "read" => Permission::Read,
                "write" => Permission::Write,
                "delete" => Permission::Delete,
                other => {
                    return Err(usage(format!(
                        "--permission: {other:?} (read, write, delete)"
                    )));
                }
            };
            let legacy = LegacyClient::new(key, secret)?.endpoints(endpoints);
            let url = legacy.auth(permission, args.value("callback")).await?;
            eprintln!("Open this URL and approve:\n\n  {url}\n");
            let verifier = read_line("verifier (or the callback address): ")?;
            let verifier = query_value(&verifier, "oauth_verifier").unwrap_or(verifier);
            let token = legacy.access_token(&verifier).await?;
            println!(
                "{}",
                json!({"oauth_token": token.token, "oauth_token_secret": token.secret.expose()})
            );
        }
        other => {
            return Err(usage(format!(
                "unknown flow {other:?} (oauth2, client-credentials, oauth1)"
            )));
        }
    }
    Ok(())
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

async fn sandbox(args: &Args) -> Result<(), Failure> {
    let port = |name: &str| -> Result<u16, Failure> {
        args.value(name)
            .map(|p| {
                p.parse()
                    .map_err(|_| usage(format!("--{name}: not a port: {p:?}")))
            })
            .unwrap_or(Ok(0))
    };
    let config = sandbox::SandboxConfig::new()
        .api_port(port("port")?)
        .upload_port(port("upload-port")?);
    let sandbox = sandbox::Sandbox::start_with(config)
        .await
        .map_err(|e| Failure {
            code: EXIT_FAILURE,
            message: format!("cannot start the sandbox: {e}"),
        })?;
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

async fn demo(args: &Args) -> Result<(), Failure> {
    let size = cli::size::parse(args.value("size").unwrap_or("256MiB")).map_err(usage)?;
    let chunk = cli::size::parse(args.value("chunk-size").unwrap_or("32MiB")).map_err(usage)?;
    let started = std::time::Instant::now();
    cli::demo::run(size, chunk, Style::detect())
        .await
        .map_err(|message| Failure {
            code: EXIT_FAILURE,
            message,
        })?;
    eprintln!("demo finished in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
