//! Legacy OAuth 1.0a with a callback: a tiny local HTTP server receives
//! `oauth_token` and `oauth_verifier` when the user approves.
//!
//! Offline (no `VIMEO_API_URL`): runs against a sandbox and plays the user.
//! Otherwise: set `VIMEO_LEGACY_URL`, `VIMEO_CONSUMER_KEY`, `VIMEO_CONSUMER_SECRET`.

mod support;

use vimeo::{LegacyClient, LegacyEndpoints, Permission};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let setting = support::Setting::from_env().await;
    let legacy_url = match &setting.sandbox {
        Some(sandbox) => sandbox.legacy_url(),
        None => std::env::var("VIMEO_LEGACY_URL").unwrap_or_else(|_| "http://vimeo.com".into()),
    };
    let key = setting.credential("VIMEO_CONSUMER_KEY", |c| c.consumer_key.clone());
    let secret = setting.credential("VIMEO_CONSUMER_SECRET", |c| c.consumer_secret.clone());
    let client = LegacyClient::new(key, secret)?.endpoints(LegacyEndpoints::at(&legacy_url));

    let (callback, received) = support::callback_server("/oauth/callback").await;
    let url = client.auth(Permission::Write, Some(&callback)).await?;
    println!("1. open this URL and approve:\n   {url}");
    if setting.sandbox.is_some() {
        support::approve_in_browser(&url).await;
    }
    let params = received.await?;
    let verifier = params
        .get("oauth_verifier")
        .ok_or("the callback had no oauth_verifier")?;
    println!("2. the callback received oauth_token and oauth_verifier");
    let token = client.access_token(verifier).await?;
    println!(
        "3. access token obtained ({} characters; store it with its secret)",
        token.token.len()
    );
    let login = client.call("vimeo.test.login", &[]).await?;
    println!("4. vimeo.test.login says user {}", login["user"]["id"]);
    Ok(())
}
