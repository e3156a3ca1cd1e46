//! Legacy OAuth 1.0a out of band: the user approves, then types in the
//! verifier the page shows.
//!
//! Offline (no `VIMEO_API_URL`): runs against a sandbox and plays the user.
//! Otherwise: set `VIMEO_LEGACY_URL`, `VIMEO_CONSUMER_KEY`, `VIMEO_CONSUMER_SECRET`.

mod support;

use std::io::BufRead as _;

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

    let url = client.auth(Permission::Read, None).await?;
    println!("1. open this URL, approve, and type the verifier shown:\n   {url}");
    let verifier = if setting.sandbox.is_some() {
        // The sandbox's page: "Access granted. Your verifier is: XXXX".
        let (_, _, page) = support::get(&url).await;
        let verifier = page
            .trim()
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .to_owned();
        println!("   (sandbox: the user types {verifier})");
        verifier
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim().to_owned()
    };
    let token = client.access_token(&verifier).await?;
    println!(
        "2. access token obtained ({} characters)",
        token.token.len()
    );
    let quota = client.call("vimeo.videos.upload.getQuota", &[]).await?;
    println!(
        "3. free upload space: {} bytes",
        quota["user"]["upload_space"]["free"]
    );
    Ok(())
}
