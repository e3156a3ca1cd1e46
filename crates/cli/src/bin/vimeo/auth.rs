//! `vimeo auth`: the OAuth 2 authorization-code and client-credentials
//! flows, and legacy OAuth 1.0a.

use std::io::BufRead as _;

use clap::{Args, Subcommand};
use cli::{Failure, parse};
use serde_json::json;
use vimeo::{LegacyClient, LegacyEndpoints, Permission};

use crate::{ClientSettings, Global, client};

#[derive(Debug, Subcommand)]
pub(crate) enum Auth {
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
pub(crate) struct App {
    /// The app's client id.
    #[arg(long, env = "VIMEO_CLIENT_ID", hide_env_values = true)]
    pub(crate) client_id: String,
    /// The app's client secret.
    #[arg(long, env = "VIMEO_CLIENT_SECRET", hide_env_values = true)]
    pub(crate) client_secret: String,
}

pub(crate) async fn auth(global: &Global, flow: Auth) -> Result<(), Failure> {
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
            let legacy = LegacyClient::new(consumer_key, consumer_secret)?
                .connector(global.legacy_connector()?)
                .endpoints(endpoints);
            let url = legacy.auth(permission, callback.as_deref()).await?;
            eprintln!("Open this URL and approve:\n\n  {url}\n");
            let verifier = read_line("verifier (or the callback address): ")?;
            let verifier = query_value(&verifier, "oauth_verifier").unwrap_or(verifier);
            let token = legacy.access_token(&verifier).await?;
            let credentials =
                json!({"oauth_token": token.token, "oauth_token_secret": token.secret.expose()});
            // Kept (0600) for `vimeo call`; printed for the caller's own use.
            let path = crate::legacy::token_path();
            cli::write_private(&path, credentials.to_string().as_bytes()).map_err(|e| {
                Failure::failed(format!("cannot keep the token at {}: {e}", path.display()))
            })?;
            println!("{credentials}");
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
