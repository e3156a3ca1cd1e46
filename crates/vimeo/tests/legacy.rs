//! The legacy OAuth 1.0a flow and REST endpoint against the sandbox, which
//! verifies every signature with the `oauth1` crate.

use std::time::{SystemTime, UNIX_EPOCH};

use vimeo::{Error, LegacyClient, LegacyEndpoints, Permission};

use crate::support;

fn client(sandbox: &sandbox::Sandbox) -> LegacyClient {
    let credentials = sandbox.credentials();
    LegacyClient::new(
        credentials.consumer_key.as_str(),
        credentials.consumer_secret.as_str(),
    )
    .unwrap()
    .endpoints(LegacyEndpoints::at(&sandbox.legacy_url()))
}

use support::browse as fetch;

#[tokio::test]
async fn out_of_band_flow_then_signed_calls() {
    let sandbox = sandbox::Sandbox::start().await.unwrap();
    let legacy = client(&sandbox);
    let url = legacy.auth(Permission::Write, None).await.unwrap();
    assert!(url.contains("permission=write"), "{url}");
    // The user visits the URL and reads the verifier off the page.
    let (status, _, page) = fetch(&url).await;
    assert_eq!(status, 200);
    let verifier = page.trim().rsplit(' ').next().unwrap();
    let token = legacy.access_token(verifier).await.unwrap();
    assert_eq!(legacy.token(), Some(token.clone()));
    assert!(!format!("{token:?} {legacy:?}").contains(token.secret.expose()));

    let login = legacy.call("test.login", &[]).await.unwrap();
    assert_eq!(login["user"]["id"], "1000");
    let echo = legacy
        .call("vimeo.test.echo", &[("greeting", "hello world ~ & =")])
        .await
        .unwrap();
    assert_eq!(echo["greeting"], "hello world ~ & =");
    let quota = legacy.call("videos.upload.getQuota", &[]).await.unwrap();
    assert!(quota["user"]["upload_space"]["free"].as_str().is_some());

    // Failures come back typed from `stat: fail`, code parsed from its string.
    let error = legacy.call("vimeo.nope", &[]).await.unwrap_err();
    let failure = error.legacy().unwrap();
    assert_eq!(
        (failure.code, failure.method.as_str()),
        (Some(112), "vimeo.nope")
    );

    // The access token converts to an API v3 token.
    let credentials = sandbox.credentials();
    let v3 = support::builder(&sandbox)
        .app(
            credentials.client_id.as_str(),
            credentials.client_secret.as_str(),
        )
        .build()
        .unwrap();
    v3.convert_oauth1_token(&token.token, token.secret.expose())
        .await
        .unwrap();
    let me: vimeo::User = v3.get("/me").await.unwrap();
    assert_eq!(me.uri.as_deref(), Some("/users/1000"));
}

#[tokio::test]
async fn callback_flow_delivers_token_and_verifier_to_the_callback() {
    let sandbox = sandbox::Sandbox::start().await.unwrap();
    let legacy = client(&sandbox);
    let url = legacy
        .auth(Permission::Delete, Some("http://127.0.0.1:9/done?app=1"))
        .await
        .unwrap();
    let (status, location, _) = fetch(&url).await;
    assert_eq!(status, 302);
    let location = location.unwrap();
    assert!(
        location.starts_with("http://127.0.0.1:9/done?app=1&oauth_token="),
        "{location}"
    );
    let verifier = location.rsplit("oauth_verifier=").next().unwrap();
    legacy.access_token(verifier).await.unwrap();
    assert!(legacy.call("test.null", &[]).await.is_ok());

    // A wrong verifier is refused (a fresh request token).
    let legacy = client(&sandbox);
    let url = legacy
        .auth(Permission::Read, Some("http://127.0.0.1:9/x"))
        .await
        .unwrap();
    let _ = fetch(&url).await;
    let error = legacy.access_token("wrong").await.unwrap_err();
    assert_eq!(error.legacy().unwrap().code, Some(302));
}

#[tokio::test]
async fn wrong_signatures_and_old_timestamps_are_rejected() {
    let sandbox = sandbox::Sandbox::start().await.unwrap();
    let wrong_secret = LegacyClient::new(sandbox.credentials().consumer_key.as_str(), "guessed")
        .unwrap()
        .endpoints(LegacyEndpoints::at(&sandbox.legacy_url()));
    let error = wrong_secret.request_token(None).await.unwrap_err();
    let failure = error.legacy().unwrap();
    assert_eq!((failure.status, failure.code), (401, Some(305)));
    let error = wrong_secret.call("test.echo", &[]).await.unwrap_err();
    assert_eq!(error.legacy().unwrap().code, Some(305));
    assert!(!format!("{error} {error:?}").contains("guessed"));

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let stale = client(&sandbox).clock(move || now - 3_600);
    let error = stale.call("test.echo", &[]).await.unwrap_err();
    assert_eq!(error.legacy().unwrap().code, Some(303));

    let unknown = LegacyClient::new("who", "ever")
        .unwrap()
        .endpoints(LegacyEndpoints::at(&sandbox.legacy_url()));
    assert_eq!(
        unknown
            .call("test.echo", &[])
            .await
            .unwrap_err()
            .legacy()
            .unwrap()
            .code,
        Some(301)
    );

    // A method that needs a user refuses a consumer-only request.
    let consumer_only = client(&sandbox);
    assert_eq!(
        consumer_only
            .call("test.login", &[])
            .await
            .unwrap_err()
            .legacy()
            .unwrap()
            .code,
        Some(98)
    );
    // Without a request token there is nothing to exchange.
    assert!(matches!(
        consumer_only.access_token("v").await,
        Err(Error::MissingCredentials(_))
    ));
}

/// The number of calls the legacy REST endpoint received.
fn rest_calls(sandbox: &sandbox::Sandbox) -> usize {
    sandbox
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/api/rest/v2"))
        .count()
}

#[tokio::test]
async fn the_original_call_post_per_call_url_and_cache() {
    use std::sync::Arc;
    use std::time::Duration;
    use vimeo::CallOptions;

    let sandbox = sandbox::Sandbox::start().await.unwrap();
    let legacy = client(&sandbox);
    let url = legacy.auth(Permission::Write, None).await.unwrap();
    let (_, _, page) = fetch(&url).await;
    let verifier = page.trim().rsplit(' ').next().unwrap();
    let token = legacy.access_token(verifier).await.unwrap();

    // POST: the parameters travel in the signed form body.
    let posted = legacy
        .call_with(
            "test.echo",
            &[("greeting", "posted & signed ~")],
            &CallOptions::new().post(),
        )
        .await
        .unwrap();
    assert_eq!(posted["greeting"], "posted & signed ~");

    // A per-call URL: this client's own endpoint goes nowhere.
    let elsewhere = LegacyClient::new(
        sandbox.credentials().consumer_key.as_str(),
        sandbox.credentials().consumer_secret.as_str(),
    )
    .unwrap()
    .endpoints(LegacyEndpoints::at("http://127.0.0.1:9/nowhere"));
    elsewhere.set_token(token.token.clone(), token.secret.expose());
    let rest = format!("{}/api/rest/v2", sandbox.legacy_url());
    let login = elsewhere
        .call_with("test.login", &[], &CallOptions::new().url(&rest))
        .await
        .unwrap();
    assert_eq!(login["user"]["id"], "1000");

    // The cache: GETs once per key and credential, never POSTs.
    let cache = Arc::new(vimeo::cache::MemoryCache::new());
    legacy.enable_cache(cache.clone(), Duration::from_secs(60));
    let before = rest_calls(&sandbox);
    let first = legacy.call("test.echo", &[("a", "1")]).await.unwrap();
    let second = legacy.call("test.echo", &[("a", "1")]).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(
        rest_calls(&sandbox) - before,
        1,
        "the second GET came from the cache"
    );
    legacy
        .call_with("test.echo", &[("a", "1")], &CallOptions::new().cache(false))
        .await
        .unwrap();
    for _ in 0..2 {
        legacy
            .call_with("test.echo", &[("a", "1")], &CallOptions::new().post())
            .await
            .unwrap();
    }
    assert_eq!(
        rest_calls(&sandbox) - before,
        4,
        "cache(false) and POSTs went out"
    );
    // Another credential never sees this user's answers.
    elsewhere.enable_cache(cache.clone(), Duration::from_secs(60));
    elsewhere.set_token("someone-else", "secret");
    let refused = elsewhere
        .call_with("test.echo", &[("a", "1")], &CallOptions::new().url(&rest))
        .await
        .unwrap_err();
    assert!(refused.legacy().is_some(), "{refused:?}");
    // Failures are not cached; disable and clear work.
    let calls = rest_calls(&sandbox);
    assert!(legacy.call("vimeo.nope", &[]).await.is_err());
    assert!(legacy.call("vimeo.nope", &[]).await.is_err());
    assert_eq!(rest_calls(&sandbox) - calls, 2);
    legacy.disable_cache();
    legacy.call("test.echo", &[("a", "1")]).await.unwrap();
    legacy.enable_cache(cache.clone(), Duration::from_secs(60));
    legacy.clear_cache().await.unwrap();
    let calls = rest_calls(&sandbox);
    legacy.call("test.echo", &[("a", "1")]).await.unwrap();
    assert_eq!(rest_calls(&sandbox) - calls, 1, "cleared: asked again");
}

/// `GET url` with an `Authorization` header, raw over TCP: the status.
async fn get_with_authorization(url: &str, authorization: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let uri: http::Uri = url.parse().unwrap();
    let mut stream = tokio::net::TcpStream::connect((uri.host().unwrap(), uri.port_u16().unwrap()))
        .await
        .unwrap();
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nAuthorization: {authorization}\r\nConnection: close\r\n\r\n",
        uri.path_and_query().unwrap(),
        uri.authority().unwrap()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn the_sandbox_verifies_rsa_and_hmac_consumers_by_parse_lookup_verify() {
    use oauth1::{Request, RsaPrivateKey, Signer};
    let sandbox = sandbox::Sandbox::start().await.unwrap();
    let credentials = sandbox.credentials().clone();
    let url = format!("{}/oauth/request_token", sandbox.legacy_url());
    let key =
        RsaPrivateKey::from_pem(include_str!("../../oauth1/tests/data/rsa-test-key.pem")).unwrap();
    let rsa = Signer::rsa(credentials.rsa_consumer_key.as_str(), key.clone()).callback("oob");
    let hmac = Signer::new(
        credentials.consumer_key.as_str(),
        credentials.consumer_secret.as_str(),
    )
    .callback("oob");
    for signer in [rsa, hmac] {
        let header = signer
            .sign(&Request::new("GET", &url))
            .unwrap()
            .authorization_header();
        let (status, body) = get_with_authorization(&url, &header).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("oauth_token="), "{body}");
    }
    // RSA-SHA256 too; a signature by another key, or an RSA consumer posing
    // with HMAC, is refused.
    let sha256 = Signer::rsa(credentials.rsa_consumer_key.as_str(), key)
        .signature_method(oauth1::SignatureMethod::RsaSha256)
        .callback("oob")
        .sign(&Request::new("GET", &url))
        .unwrap()
        .authorization_header();
    assert_eq!(get_with_authorization(&url, &sha256).await.0, 200);
    let forged = sha256.replace("oauth_nonce=\"", "oauth_nonce=\"x");
    assert_eq!(get_with_authorization(&url, &forged).await.0, 401);
    let posing = Signer::new(credentials.rsa_consumer_key.as_str(), "guess")
        .callback("oob")
        .sign(&Request::new("GET", &url))
        .unwrap()
        .authorization_header();
    assert_eq!(get_with_authorization(&url, &posing).await.0, 401);
}
