//! The facade through a real forward proxy (tinyproxy): API calls and the
//! upload link both go through it; its credentials reach it alone.

use sandbox::{TempDir, Tinyproxy};
use serde_json::Value;
use vimeo::{Error, UploadOptions};

use crate::support::{builder, sample_file, stored_bytes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_calls_and_the_upload_link_go_through_the_proxy() {
    let proxy = Tinyproxy::with_auth("bob", "pr0xy-s3cret");
    let sandbox = sandbox::Sandbox::start().await.unwrap();
    let token = sandbox.credentials().personal_token.clone();
    let client = builder(&sandbox)
        .token(token.as_str())
        .proxy(proxy.url_with_credentials())
        .no_proxy("")
        .build()
        .unwrap();
    let dir = TempDir::new("vimeo-proxy").unwrap();
    let (path, bytes) = sample_file(dir.path(), "clip.mp4", 300_000);
    let video = client
        .upload(path.as_path(), &UploadOptions::new().chunk_size(100_000))
        .await
        .unwrap();
    assert_eq!(stored_bytes(&sandbox, video.id), bytes);
    let me: Value = client.get("/me").await.unwrap();
    assert!(me["uri"].is_string());

    let seen = proxy.requests();
    let api = sandbox.api_url();
    let upload_origin = format!("http://{}", sandbox.uploads().addr());
    assert!(
        seen.iter()
            .any(|r| r.starts_with(&format!("POST {api}/me/videos"))),
        "the creation call went through the proxy: {seen:?}"
    );
    assert!(
        seen.iter()
            .any(|r| r.starts_with(&format!("GET {api}/me ")))
    );
    let patches = seen
        .iter()
        .filter(|r| r.starts_with(&format!("PATCH {upload_origin}/")))
        .count();
    assert_eq!(patches, 3, "{seen:?}");

    // Proxy credentials reached neither server; the token reached the API only.
    let api_log = sandbox.requests();
    let upload_log = sandbox.uploads().requests();
    assert!(api_log.iter().all(|r| r.proxy_authorization.is_none()));
    assert!(upload_log.iter().all(|r| r.proxy_authorization.is_none()));
    assert!(upload_log.iter().all(|r| r.authorization.is_none()));
    assert!(api_log.iter().any(|r| r.authorization.is_some()));
    let log = proxy.log();
    assert!(
        !log.contains(token.as_str()),
        "the proxy's log holds the token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_that_wants_credentials_is_a_proxy_error() {
    let proxy = Tinyproxy::with_auth("bob", "pr0xy-s3cret");
    let sandbox = sandbox::Sandbox::start().await.unwrap();
    let client = builder(&sandbox)
        .token(sandbox.credentials().personal_token.as_str())
        .proxy(proxy.url())
        .no_proxy("")
        .build()
        .unwrap();
    let error = client.get::<Value>("/me").await.unwrap_err();
    assert!(
        matches!(&error, Error::Proxy(text) if text.contains("requires authentication")),
        "{error:?}"
    );
    assert!(sandbox.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_api_behind_a_remote_proxy_is_not_local() {
    let sandbox = sandbox::Sandbox::start().await.unwrap();
    let client = builder(&sandbox)
        .token(sandbox.credentials().personal_token.as_str())
        .proxy("http://192.0.2.1:3128")
        .no_proxy("")
        .build()
        .unwrap();
    let error = client.get::<Value>("/me").await.unwrap_err();
    assert!(
        matches!(&error, Error::InsecureHttp(text) if text.contains("through the proxy 192.0.2.1:3128")),
        "{error:?}"
    );
    let bad = vimeo::VimeoClient::builder()
        .proxy("socks5://u:hunter2@127.0.0.1:1")
        .build()
        .unwrap_err();
    assert!(
        matches!(&bad, Error::Proxy(text) if !text.contains("hunter2")),
        "{bad:?}"
    );
}
