//! `vimeo call`: signed calls to the legacy v2 REST API with the OAuth 1.0a
//! credentials `vimeo auth oauth1` kept (or given in the environment).

use std::path::PathBuf;

use clap::Args;
use cli::{Failure, parse};
use serde_json::Value;
use vimeo::{CallOptions, LegacyClient, LegacyEndpoints};

/// Where `vimeo auth oauth1` keeps the access token (0600).
pub(crate) fn token_path() -> PathBuf {
    cli::state_dir("VIMEO_STATE_DIR", "vimeo-rs").join("legacy-token.json")
}

#[derive(Debug, Args)]
pub(crate) struct CallArgs {
    /// The method, e.g. videos.getInfo (the `vimeo.` prefix is optional).
    method: String,
    /// Parameters, `key=value`.
    #[arg(value_name = "KEY=VALUE", value_parser = pair)]
    params: Vec<(String, String)>,
    /// POST the parameters as a signed form body instead of a GET query.
    #[arg(long)]
    post: bool,
    /// The consumer key.
    #[arg(long, env = "VIMEO_CONSUMER_KEY", hide_env_values = true)]
    consumer_key: String,
    /// The consumer secret.
    #[arg(long, env = "VIMEO_CONSUMER_SECRET", hide_env_values = true)]
    consumer_secret: String,
    /// The legacy API's base URL (default: vimeo.com's).
    #[arg(long, value_parser = parse::http_url)]
    legacy_url: Option<String>,
    /// The access token (default: the one `vimeo auth oauth1` kept).
    #[arg(
        long,
        env = "VIMEO_OAUTH_TOKEN",
        hide_env_values = true,
        requires = "oauth_token_secret"
    )]
    oauth_token: Option<String>,
    /// The access token's secret.
    #[arg(long, env = "VIMEO_OAUTH_TOKEN_SECRET", hide_env_values = true)]
    oauth_token_secret: Option<String>,
}

fn pair(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| "expected key=value".to_owned())?;
    if key.is_empty() {
        return Err("the key is empty".into());
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// The kept token, if `vimeo auth oauth1` ran.
fn kept_token() -> Option<(String, String)> {
    let text = std::fs::read_to_string(token_path()).ok()?;
    let json: Value = serde_json::from_str(&text).ok()?;
    Some((
        json["oauth_token"].as_str()?.to_owned(),
        json["oauth_token_secret"].as_str()?.to_owned(),
    ))
}

pub(crate) async fn call(global: &crate::Global, args: CallArgs) -> Result<(), Failure> {
    let endpoints = match &args.legacy_url {
        Some(url) => LegacyEndpoints::at(url),
        None => LegacyEndpoints::vimeo(),
    };
    let client = LegacyClient::new(&args.consumer_key, &args.consumer_secret)?
        .connector(global.legacy_connector()?)
        .endpoints(endpoints);
    let token = match (args.oauth_token, args.oauth_token_secret) {
        (Some(token), Some(secret)) => Some((token, secret)),
        _ => kept_token(),
    };
    if let Some((token, secret)) = token {
        client.set_token(token, secret);
    }
    let params: Vec<(&str, &str)> = args
        .params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut options = CallOptions::new();
    if args.post {
        options = options.post();
    }
    let answer = client.call_with(&args.method, &params, &options).await?;
    println!(
        "{}",
        serde_json::to_string_pretty(&answer).unwrap_or_default()
    );
    Ok(())
}
