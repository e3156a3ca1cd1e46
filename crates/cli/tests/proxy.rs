//! Both CLIs through a real forward proxy (tinyproxy): `--proxy`, the
//! environment as curl reads it, `NO_PROXY`, `--no-proxy`; no secret in any
//! of our output, even at -vvv.

use sandbox::{Sandbox, TempDir, Tinyproxy, TusConfig, TusServer};
use serde_json::Value;

use crate::support::{command, run, sample};

const TUSC: &str = env!("CARGO_BIN_EXE_tusc");
const VIMEO: &str = env!("CARGO_BIN_EXE_vimeo");

async fn server(dir: &TempDir) -> TusServer {
    TusServer::start(TusConfig::new(dir.path().join("server")))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tusc_goes_through_the_proxy_from_the_flag_or_the_environment() {
    let proxy = Tinyproxy::with_auth("carol", "pr0xy-pw-42");
    let dir = TempDir::new("tusc-proxy").unwrap();
    let server = server(&dir).await;
    let (path, bytes) = sample(dir.path(), "clip.bin", 200_000);
    let upload = |extra: &[&str]| {
        let mut c = command(TUSC, dir.path());
        c.args([
            "upload",
            path.to_str().unwrap(),
            "--endpoint",
            &server.endpoint(),
        ])
        .args(["--chunk-size", "64KiB", "--no-resume", "-vvv"])
        .args(extra);
        c
    };
    let origin = format!("http://{}", server.addr());
    let patches = |proxy: &Tinyproxy| {
        proxy
            .requests()
            .iter()
            .filter(|r| r.starts_with(&format!("PATCH {origin}/files/")))
            .count()
    };

    // --proxy with credentials.
    let out = run(&mut upload(&["--proxy", &proxy.url_with_credentials()])).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        std::fs::read(server.stored_file(out.stdout.trim()).unwrap()).unwrap(),
        bytes
    );
    // 200,000 bytes in 64 KiB chunks: four PATCHes.
    assert_eq!(patches(&proxy), 4, "{:?}", proxy.requests());
    assert!(
        !out.stderr.contains("pr0xy-pw-42"),
        "the password in our log"
    );
    assert!(
        !out.stderr.contains("Basic "),
        "the Proxy-Authorization value in our log"
    );
    assert!(
        out.stderr.contains("TRACE") || out.stderr.contains("DEBUG"),
        "-vvv logged"
    );

    // HTTP_PROXY from the environment.
    let mut command = upload(&[]);
    command.env("HTTP_PROXY", proxy.url_with_credentials());
    let out = run(&mut command).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(patches(&proxy), 8);
    assert!(!out.stderr.contains("pr0xy-pw-42"));

    // NO_PROXY and --no-proxy go direct.
    let mut command = upload(&[]);
    command
        .env("http_proxy", proxy.url_with_credentials())
        .env("NO_PROXY", "localhost,127.0.0.0/8");
    assert_eq!(run(&mut command).await.code, Some(0));
    let mut command = upload(&["--no-proxy"]);
    command.env("ALL_PROXY", proxy.url_with_credentials());
    assert_eq!(run(&mut command).await.code, Some(0));
    assert_eq!(patches(&proxy), 8, "both went direct");

    // Without credentials: exit 1, a clear message, no rerun-as-is hint.
    let out = run(&mut upload(&["--proxy", &proxy.url()])).await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("requires authentication"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("fix the proxy settings"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_proxy_is_a_usage_error_before_any_request() {
    let dir = TempDir::new("tusc-proxy-usage").unwrap();
    let server = server(&dir).await;
    let (path, _) = sample(dir.path(), "clip.bin", 1000);
    let out = run(command(TUSC, dir.path()).args([
        "upload",
        path.to_str().unwrap(),
        "--endpoint",
        &server.endpoint(),
        "--proxy",
        "socks5://me:hunter2@127.0.0.1:1080",
    ]))
    .await;
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("--proxy"), "{}", out.stderr);
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
    let out = run(command(VIMEO, dir.path())
        .env("HTTPS_PROXY", "https://me:hunter2@proxy:443")
        .args(["get", "/me", "--token", "t"]))
    .await;
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("HTTPS_PROXY"), "{}", out.stderr);
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
    let both = run(command(TUSC, dir.path()).args([
        "status",
        &server.endpoint(),
        "--proxy",
        "http://127.0.0.1:1",
        "--no-proxy",
    ]))
    .await;
    assert_eq!(both.code, Some(2), "{both:?}");
    assert!(server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vimeo_uploads_through_the_proxy_without_leaking_the_token() {
    let proxy = Tinyproxy::with_auth("dave", "pr0xy-pw-43");
    let sandbox = Sandbox::start().await.unwrap();
    let token = sandbox.credentials().personal_token.clone();
    let dir = TempDir::new("vimeo-proxy").unwrap();
    let (path, bytes) = sample(dir.path(), "clip.mp4", 150_000);
    let out = run(command(VIMEO, dir.path())
        .env("VIMEO_API_URL", sandbox.api_url())
        .env("VIMEO_TOKEN", &token)
        .env("HTTPS_PROXY", "http://127.0.0.1:1") // not used: the API is http
        .args([
            "upload",
            path.to_str().unwrap(),
            "--chunk-size",
            "64KiB",
            "--json",
        ])
        .args(["--proxy", &proxy.url_with_credentials(), "-vvv"]))
    .await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let result: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let id = result["id"].as_u64().unwrap();
    let link = sandbox.upload_link(id).unwrap();
    let stored = std::fs::read(sandbox.uploads().stored_file(&link).unwrap()).unwrap();
    assert_eq!(stored, bytes);
    let seen = proxy.requests();
    assert!(
        seen.iter()
            .any(|r| r.starts_with(&format!("POST {}/me/videos", sandbox.api_url()))),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|r| r.starts_with("PATCH http://")),
        "{seen:?}"
    );
    for secret in [token.as_str(), "pr0xy-pw-43"] {
        assert!(!out.stderr.contains(secret), "a secret in our log");
        assert!(!out.stdout.contains(secret), "a secret on stdout");
        assert!(
            !proxy.log().contains(token.as_str()),
            "the token in the proxy's log"
        );
    }
    assert!(
        sandbox
            .uploads()
            .requests()
            .iter()
            .all(|r| r.proxy_authorization.is_none())
            && sandbox
                .requests()
                .iter()
                .all(|r| r.proxy_authorization.is_none())
    );
}
