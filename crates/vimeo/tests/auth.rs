//! OAuth 2 flows against the sandbox.

use serde_json::Value;
use vimeo::{Error, User, codes};

use crate::support;

/// Follows the sandbox's authorize URL (it approves at once) and returns the
/// redirect's query parameters.
async fn visit(url: &str) -> Vec<(String, String)> {
    let (status, location, _) = support::browse(url).await;
    assert_eq!(status, 302);
    let location = location.expect("a redirect");
    let query = location.split_once('?').unwrap().1;
    query
        .split('&')
        .map(|pair| {
            let (n, v) = pair.split_once('=').unwrap();
            (
                n.to_owned(),
                percent_encoding::percent_decode_str(v)
                    .decode_utf8()
                    .unwrap()
                    .into_owned(),
            )
        })
        .collect()
}

fn value<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    &pairs.iter().find(|(n, _)| n == name).unwrap().1
}

#[tokio::test]
async fn the_authorization_code_flow_yields_a_user_token() {
    let sandbox = sandbox::Sandbox::start().await.unwrap();
    let credentials = sandbox.credentials();
    let client = support::builder(&sandbox)
        .app(
            credentials.client_id.as_str(),
            credentials.client_secret.as_str(),
        )
        .build()
        .unwrap();
    let request = client
        .authorization_request("http://127.0.0.1:9/callback", &["public", "upload"])
        .unwrap();
    assert!(
        request.url.contains("scope=public%20upload"),
        "{}",
        request.url
    );
    let redirect = visit(&request.url).await;
    assert_eq!(value(&redirect, "state"), request.state);

    // A forged state is refused before the code is spent.
    let forged = client
        .exchange_code(&request, "forged", value(&redirect, "code"))
        .await;
    assert!(matches!(forged, Err(Error::StateMismatch)));

    let grant = client
        .exchange_code(
            &request,
            value(&redirect, "state"),
            value(&redirect, "code"),
        )
        .await
        .unwrap();
    assert_eq!(grant.scope.as_deref(), Some("public upload"));
    assert_eq!(
        grant.user.as_ref().unwrap().uri.as_deref(),
        Some("/users/1000")
    );
    let me: User = client.get("/me").await.unwrap();
    assert_eq!(me.name.as_deref(), Some("Sandbox User"));

    // A code works once.
    let again = client
        .exchange_code(&request, &request.state, value(&redirect, "code"))
        .await
        .unwrap_err();
    assert_eq!(again.api().unwrap().error.as_deref(), Some("invalid_grant"));
    // The token endpoint's answer (holding the token) never reaches Debug output.
    assert!(!format!("{grant:?}").contains(grant.access_token.expose()));
}

#[tokio::test]
async fn client_credentials_give_an_app_token_that_cannot_act_as_a_user() {
    let sandbox = sandbox::Sandbox::start().await.unwrap();
    let credentials = sandbox.credentials();
    let client = support::builder(&sandbox)
        .app(
            credentials.client_id.as_str(),
            credentials.client_secret.as_str(),
        )
        .build()
        .unwrap();
    let grant = client.client_credentials(&[]).await.unwrap();
    assert_eq!(grant.scope.as_deref(), Some("public"));
    assert!(grant.user.is_none());
    let error = client.get::<Value>("/me").await.unwrap_err();
    assert_eq!(
        error.api().unwrap().error_code,
        Some(codes::NO_USER_FOR_TOKEN)
    );

    // A wrong secret is a typed 401 with Vimeo's code, and the secret is not in it.
    let wrong = support::builder(&sandbox)
        .app(credentials.client_id.as_str(), "not-the-secret")
        .build()
        .unwrap();
    let error = wrong.client_credentials(&["public"]).await.unwrap_err();
    assert_eq!(
        error.api().unwrap().error_code,
        Some(codes::INVALID_CLIENT_SECRET)
    );
    assert!(!format!("{error} {error:?}").contains("not-the-secret"));
    // Token calls send Basic auth with the app credentials, never a bearer token.
    let last = sandbox.requests().pop().unwrap();
    assert!(last.authorization.unwrap().starts_with("Basic "));
}

#[tokio::test]
async fn flows_need_app_credentials() {
    let sandbox = sandbox::Sandbox::start().await.unwrap();
    let client = support::builder(&sandbox).build().unwrap();
    assert!(matches!(
        client.authorization_request("http://x/cb", &["public"]),
        Err(Error::MissingCredentials(_))
    ));
    assert!(matches!(
        client.client_credentials(&[]).await,
        Err(Error::MissingCredentials(_))
    ));
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_through_the_callback() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    let sandbox = sandbox::Sandbox::start().await.unwrap();
    let good = sandbox.credentials().personal_token.clone();
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let client = crate::support::builder(&sandbox)
        .token("expired-token")
        .on_unauthorized(move || {
            let (good, counted) = (good.clone(), counted.clone());
            Box::pin(async move {
                counted.fetch_add(1, Ordering::SeqCst);
                Some(vimeo::AccessToken::from(good.as_str()))
            })
        })
        .build()
        .unwrap();
    // A POST too: a 401 means nothing was done, so sending it again is safe.
    let me: serde_json::Value = client.get("/me").await.unwrap();
    assert_eq!(me["uri"], "/users/1000");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        client.token().map(|t| t.expose().to_owned()),
        Some(sandbox.credentials().personal_token.clone()),
        "the refreshed token is kept"
    );
    client.get::<serde_json::Value>("/me/videos").await.unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "no refresh while the token works"
    );

    // A callback with nothing new: the 401 comes back.
    let stuck = crate::support::builder(&sandbox)
        .token("expired-token")
        .on_unauthorized(|| Box::pin(async { None }))
        .build()
        .unwrap();
    let error = stuck.get::<serde_json::Value>("/me").await.unwrap_err();
    assert_eq!(error.api().map(|a| a.status), Some(401), "{error:?}");
}
