//! OAuth 2 authorization code: send the user to Vimeo, receive the code on a
//! local redirect URI, check `state`, exchange the code, call the API.
//!
//! Offline (no `VIMEO_API_URL`): runs against a sandbox and plays the user.
//! Otherwise: set `VIMEO_API_URL`, `VIMEO_CLIENT_ID`, `VIMEO_CLIENT_SECRET`
//! (the redirect URI `http://127.0.0.1:PORT/callback` must be registered).

mod support;

use vimeo::{User, VimeoClient};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let setting = support::Setting::from_env().await;
    let client_id = setting.credential("VIMEO_CLIENT_ID", |c| c.client_id.clone());
    let client_secret = setting.credential("VIMEO_CLIENT_SECRET", |c| c.client_secret.clone());
    let client = VimeoClient::builder()
        .api_url(&setting.api_url)
        .app(client_id, client_secret)
        .build()?;

    let (redirect_uri, received) = support::callback_server("/callback").await;
    let request = client.authorization_request(&redirect_uri, &["public", "private", "upload"])?;
    println!("1. open this URL and approve:\n   {}", request.url);
    if setting.sandbox.is_some() {
        support::approve_in_browser(&request.url).await;
    }
    let params = received.await?;
    let code = params.get("code").ok_or("the redirect had no code")?;
    let state = params.get("state").map(String::as_str).unwrap_or_default();
    println!("2. the redirect URI received a code (state checked next)");
    let grant = client.exchange_code(&request, state, code).await?;
    println!(
        "3. token granted with scopes {:?}",
        grant.scope.unwrap_or_default()
    );
    let me: User = client.get("/me").await?;
    println!("4. GET /me: {}", me.name.unwrap_or_default());
    Ok(())
}
