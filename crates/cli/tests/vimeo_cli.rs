//! `vimeo` against the in-process sandbox.

use std::time::Duration;

use http::Method;
use sandbox::{Fault, Sandbox, SandboxConfig, TempDir};
use serde_json::Value;

use crate::support::{command, run, sample, spawn, wait_until};

const VIMEO: &str = env!("CARGO_BIN_EXE_vimeo");

fn vimeo(sandbox: &Sandbox, state: &std::path::Path) -> tokio::process::Command {
    let mut command = command(VIMEO, state);
    command
        .env("VIMEO_API_URL", sandbox.api_url())
        .env("VIMEO_TOKEN", &sandbox.credentials().personal_token);
    command
}

fn stored(sandbox: &Sandbox, id: u64) -> Vec<u8> {
    let link = sandbox.upload_link(id).unwrap();
    std::fs::read(sandbox.uploads().stored_file(&link).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_status_and_get() {
    let sandbox = Sandbox::start_with(SandboxConfig::new().transcode_delay(Duration::ZERO))
        .await
        .unwrap();
    let dir = TempDir::new("vimeo-cli").unwrap();
    let (path, bytes) = sample(dir.path(), "clip.mp4", 250_000);
    let out = run(vimeo(&sandbox, dir.path())
        .args([
            "upload",
            path.to_str().unwrap(),
            "--name",
            "CLI clip",
            "--privacy",
            "nobody",
        ])
        .args(["--chunk-size", "64KiB", "--json"]))
    .await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let result: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(result["verified"], true);
    let id = result["id"].as_u64().unwrap();
    assert_eq!(stored(&sandbox, id), bytes);
    assert!(out.stderr.contains("progress 100%"), "{}", out.stderr);
    assert!(!out.stderr.contains(&sandbox.credentials().personal_token));

    let status = run(vimeo(&sandbox, dir.path()).args(["status", &id.to_string(), "--json"])).await;
    let status: Value = serde_json::from_str(status.stdout.trim()).unwrap();
    assert_eq!(status["upload"], "complete");

    let got = run(vimeo(&sandbox, dir.path()).args([
        "get",
        &format!("/videos/{id}"),
        "--fields",
        "name,privacy.view",
    ]))
    .await;
    let got: Value = serde_json::from_str(&got.stdout).unwrap();
    assert_eq!(
        got,
        serde_json::json!({"name": "CLI clip", "privacy": {"view": "nobody"}})
    );
    // Upload-host requests carried no token.
    assert!(
        sandbox
            .uploads()
            .requests()
            .iter()
            .all(|r| r.authorization.is_none())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_upload_resumes_on_rerun() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = TempDir::new("vimeo-cli-kill").unwrap();
    let (path, bytes) = sample(dir.path(), "long.mov", 700_000);
    sandbox
        .uploads()
        .faults()
        .inject(Method::PATCH, 4, Fault::Stall(Duration::from_secs(5)));
    let args = [
        "upload",
        path.to_str().unwrap(),
        "--chunk-size",
        "64KiB",
        "--json",
    ];
    let mut child = spawn(vimeo(&sandbox, dir.path()).args(args));
    let patched = || {
        sandbox
            .uploads()
            .requests()
            .iter()
            .filter(|r| r.method == Method::PATCH && r.status == Some(204))
            .count()
    };
    wait_until(|| patched() == 3).await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let before = sandbox.uploads().requests().len();

    let out = run(vimeo(&sandbox, dir.path()).args(args)).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let result: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(result["resumed_from"].as_u64(), Some(3 * 64 * 1024));
    assert_eq!(stored(&sandbox, result["id"].as_u64().unwrap()), bytes);
    let creates = sandbox
        .requests()
        .iter()
        .filter(|r| r.method == Method::POST && r.path == "/me/videos")
        .count();
    assert_eq!(creates, 1, "the rerun resumed the same video");
    assert!(
        sandbox.uploads().requests()[before..]
            .iter()
            .filter(|r| r.method == Method::PATCH)
            .all(|r| r.upload_offset.unwrap() >= 3 * 64 * 1024)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oauth1_flow_reads_the_verifier_from_stdin() {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
    let sandbox = Sandbox::start().await.unwrap();
    let dir = TempDir::new("vimeo-cli-auth").unwrap();
    let credentials = sandbox.credentials();
    let mut child = spawn(
        command(VIMEO, dir.path())
            .args([
                "auth",
                "oauth1",
                "--consumer-key",
                &credentials.consumer_key,
            ])
            .args([
                "--consumer-secret",
                &credentials.consumer_secret,
                "--legacy-url",
                &sandbox.legacy_url(),
            ])
            .stdin(std::process::Stdio::piped()),
    );
    let mut stderr = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = stderr
            .next_line()
            .await
            .unwrap()
            .expect("the URL is printed");
        if let Some(url) = line.trim().strip_prefix("http://") {
            break format!("http://{url}");
        }
    };
    // Play the user: open the URL, read the verifier off the page.
    let page = fetch(&url).await;
    let verifier = page.trim().rsplit(' ').next().unwrap().to_owned();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{verifier}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    assert!(output.status.success());
    let token: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        token["oauth_token"]
            .as_str()
            .unwrap()
            .starts_with("sbx-at-")
    );
    // The token is kept for `vimeo call`, readable by this user only.
    use std::os::unix::fs::PermissionsExt as _;
    let kept = dir.path().join("vimeo/legacy-token.json");
    let mode = std::fs::metadata(&kept).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let dir_mode = std::fs::metadata(dir.path().join("vimeo"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700, "{dir_mode:o}");
    for post in [false, true] {
        let mut call = command(VIMEO, dir.path());
        call.env("VIMEO_CONSUMER_KEY", &credentials.consumer_key)
            .env("VIMEO_CONSUMER_SECRET", &credentials.consumer_secret)
            .args(["call", "test.echo", "greeting=hello & bye", "n=1"])
            .args(["--legacy-url", &sandbox.legacy_url()]);
        if post {
            call.arg("--post");
        }
        let out = run(&mut call).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        let answer: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(answer["greeting"], "hello & bye", "{answer}");
        assert!(!out.stderr.contains(&credentials.consumer_secret));
    }
    // A failed call: exit 1 with the API's message; a bad pair: exit 2.
    let out = run(command(VIMEO, dir.path())
        .env("VIMEO_CONSUMER_KEY", &credentials.consumer_key)
        .env("VIMEO_CONSUMER_SECRET", &credentials.consumer_secret)
        .args(["call", "nope", "--legacy-url", &sandbox.legacy_url()]))
    .await;
    assert_eq!(out.code, Some(1), "{out:?}");
    let out = run(command(VIMEO, dir.path())
        .env("VIMEO_CONSUMER_KEY", &credentials.consumer_key)
        .env("VIMEO_CONSUMER_SECRET", &credentials.consumer_secret)
        .args(["call", "test.echo", "novalue"]))
    .await;
    assert_eq!(out.code, Some(2), "{out:?}");
}

async fn fetch(url: &str) -> String {
    crate::support::browse(url).await.2
}

#[tokio::test]
async fn the_demo_runs_end_to_end() {
    let dir = TempDir::new("vimeo-cli-demo").unwrap();
    let out =
        run(command(VIMEO, dir.path()).args(["demo", "--size", "6MiB", "--chunk-size", "1MiB"]))
            .await;
    assert_eq!(out.code, Some(0), "{out:?}");
    for expected in [
        "interrupted:",
        "resumed from byte",
        "byte-for-byte equal",
        "[7/7] done",
        "/videos/",
    ] {
        assert!(
            out.stdout.contains(expected),
            "missing {expected:?} in:\n{}",
            out.stdout
        );
    }
    assert!(
        out.stdout
            .contains("0 PATCH(es) below the acknowledged offset"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn failures_exit_non_zero_with_a_readable_message() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = TempDir::new("vimeo-cli-fail").unwrap();
    let (path, _) = sample(dir.path(), "a.mp4", 10);
    let no_token = run(command(VIMEO, dir.path()).args(["upload", path.to_str().unwrap()])).await;
    assert_eq!(no_token.code, Some(2), "{no_token:?}");
    assert!(no_token.stderr.contains("--token"), "{}", no_token.stderr);

    let bad = run(command(VIMEO, dir.path())
        .env("VIMEO_API_URL", sandbox.api_url())
        .env("VIMEO_TOKEN", "wrong-token")
        .args(["upload", path.to_str().unwrap()]))
    .await;
    assert_eq!(bad.code, Some(1), "{bad:?}");
    assert!(bad.stderr.contains("error_code 8000"), "{}", bad.stderr);
    assert!(!bad.stderr.contains("wrong-token"));

    let unknown = run(command(VIMEO, dir.path()).args(["frobnicate"])).await;
    assert_eq!(unknown.code, Some(2));
    let missing = run(vimeo(&sandbox, dir.path()).args(["get", "/videos/5"])).await;
    assert_eq!(missing.code, Some(1));
    assert!(missing.stderr.contains("HTTP 404"), "{}", missing.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oauth2_flow_reads_the_redirect_address_from_stdin() {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
    let sandbox = Sandbox::start().await.unwrap();
    let dir = TempDir::new("vimeo-cli-oauth2").unwrap();
    let credentials = sandbox.credentials();
    let mut child = spawn(
        command(VIMEO, dir.path())
            .env("VIMEO_API_URL", sandbox.api_url())
            .args(["auth", "oauth2", "--client-id", &credentials.client_id])
            .args(["--client-secret", &credentials.client_secret])
            .args([
                "--redirect-uri",
                "http://127.0.0.1:9/cb",
                "--scope",
                "public upload",
            ])
            .stdin(std::process::Stdio::piped()),
    );
    let mut stderr = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = stderr
            .next_line()
            .await
            .unwrap()
            .expect("the URL is printed");
        if let Some(url) = line.trim().strip_prefix("http://") {
            break format!("http://{url}");
        }
    };
    // Play the browser: the sandbox approves and redirects; the user pastes the address.
    let location = redirect_of(&url).await;
    assert!(
        location.starts_with("http://127.0.0.1:9/cb?code="),
        "{location}"
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{location}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let grant: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(grant["scope"], "public upload");
    assert_eq!(grant["user"], "/users/1000");
    let token = grant["access_token"].as_str().unwrap();
    // The printed token works.
    let me = run(command(VIMEO, dir.path())
        .env("VIMEO_API_URL", sandbox.api_url())
        .env("VIMEO_TOKEN", token)
        .args(["get", "/me", "--fields", "uri"]))
    .await;
    assert_eq!(me.code, Some(0), "{me:?}");
}

async fn redirect_of(url: &str) -> String {
    crate::support::browse(url).await.1.expect("a redirect")
}

#[tokio::test]
async fn the_sandbox_command_serves_until_stopped() {
    use tokio::io::AsyncBufReadExt as _;
    let dir = TempDir::new("vimeo-cli-sandbox").unwrap();
    let mut child = spawn(command(VIMEO, dir.path()).args(["sandbox", "--port", "0"]));
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = stdout
        .next_line()
        .await
        .unwrap()
        .expect("the settings line");
    let settings: Value = serde_json::from_str(&first).unwrap();
    let api = settings["api_url"].as_str().unwrap();
    assert_ne!(api, settings["upload_host"].as_str().unwrap());
    let me = run(command(VIMEO, dir.path())
        .env("VIMEO_API_URL", api)
        .env("VIMEO_TOKEN", settings["token"].as_str().unwrap())
        .args(["get", "/me", "--fields", "name"]))
    .await;
    assert_eq!(me.code, Some(0), "{me:?}");
    assert!(me.stdout.contains("Sandbox User"));
    child.start_kill().unwrap();
    child.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_uploads_wait_for_transcoding_and_get_all_pages() {
    let sandbox =
        Sandbox::start_with(SandboxConfig::new().transcode_delay(Duration::from_millis(100)))
            .await
            .unwrap();
    let dir = TempDir::new("vimeo-cli-pull").unwrap();
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 239) as u8).collect();
    let url = sandbox::serve_file(bytes.clone()).await.unwrap();
    let out = run(vimeo(&sandbox, dir.path())
        .env("VIMEO_WAIT_INTERVAL", "20ms")
        .args([
            "upload",
            "--from-url",
            &url,
            "--name",
            "Pulled",
            "--wait",
            "--json",
        ]))
    .await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let result: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(result["transcode"], "complete", "{result}");
    assert_eq!(stored(&sandbox, result["id"].as_u64().unwrap()), bytes);
    // A file too, waiting for transcoding.
    let (path, _) = sample(dir.path(), "w.mp4", 20_000);
    let out = run(vimeo(&sandbox, dir.path())
        .env("VIMEO_WAIT_INTERVAL", "20ms")
        .arg("upload")
        .arg(&path)
        .args(["--wait", "--json"]))
    .await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let result: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(result["transcode"], "complete", "{result}");
    // One more, then every video across pages of 2, one object per line.
    let (path, _) = sample(dir.path(), "x.mp4", 10_000);
    let out = run(vimeo(&sandbox, dir.path()).arg("upload").arg(&path)).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let out = run(vimeo(&sandbox, dir.path()).args([
        "get",
        "/me/videos?per_page=2",
        "--all",
        "--fields",
        "uri",
    ]))
    .await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let uris: Vec<Value> = out
        .stdout
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap()["uri"].clone())
        .collect();
    assert_eq!(uris.len(), 3, "{}", out.stdout);
    // --from-url with files, or a non-http URL: usage errors.
    for args in [
        vec!["upload", "--from-url", "ftp://x/a.mp4"],
        vec!["upload", "a.mp4", "--from-url", &url],
    ] {
        let out = run(vimeo(&sandbox, dir.path()).args(&args)).await;
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_tracks_and_thumbnails_from_the_command_line() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = TempDir::new("vimeo-cli-media").unwrap();
    let (path, _) = sample(dir.path(), "m.mp4", 10_000);
    let out = run(vimeo(&sandbox, dir.path())
        .arg("upload")
        .arg(&path)
        .arg("--json"))
    .await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let id = serde_json::from_str::<Value>(out.stdout.trim()).unwrap()["id"]
        .as_u64()
        .unwrap()
        .to_string();
    let vtt = dir.path().join("fr.vtt");
    std::fs::write(&vtt, "WEBVTT\n\n00:00.000 --> 00:01.000\nBonjour\n").unwrap();
    let add = run(vimeo(&sandbox, dir.path())
        .args(["texttrack", "add", &id])
        .arg(&vtt)
        .args([
            "--language",
            "fr",
            "--kind",
            "captions",
            "--name",
            "Français",
            "--json",
        ]))
    .await;
    assert_eq!(add.code, Some(0), "{add:?}");
    let track: Value = serde_json::from_str(add.stdout.trim()).unwrap();
    assert_eq!(track["active"], true);
    assert_eq!(track["language"], "fr");
    let link = track["link"].as_str().unwrap();
    assert!(
        sandbox
            .uploads()
            .asset(link)
            .unwrap()
            .starts_with(b"WEBVTT")
    );
    let list = run(vimeo(&sandbox, dir.path()).args(["texttrack", "list", &id])).await;
    assert_eq!(list.code, Some(0), "{list:?}");
    assert_eq!(list.stdout.lines().count(), 1);
    let uri = track["uri"].as_str().unwrap();
    let delete = run(vimeo(&sandbox, dir.path()).args(["texttrack", "delete", uri])).await;
    assert_eq!(delete.code, Some(0), "{delete:?}");
    let list = run(vimeo(&sandbox, dir.path()).args(["texttrack", "list", &id])).await;
    assert_eq!(list.stdout, "");

    let image = dir.path().join("t.jpg");
    std::fs::write(&image, b"\xff\xd8\xff jpeg-ish").unwrap();
    let set = run(vimeo(&sandbox, dir.path())
        .args(["picture", "set", &id])
        .arg(&image)
        .arg("--json"))
    .await;
    assert_eq!(set.code, Some(0), "{set:?}");
    assert_eq!(
        serde_json::from_str::<Value>(set.stdout.trim()).unwrap()["active"],
        true
    );
    assert!(
        sandbox
            .uploads()
            .requests()
            .iter()
            .all(|r| r.authorization.is_none())
    );
    // Usage: a bad kind exits 2 before any request.
    let before = sandbox.requests().len();
    let bad = run(vimeo(&sandbox, dir.path())
        .args(["texttrack", "add", &id])
        .arg(&vtt)
        .args(["--language", "fr", "--kind", "karaoke"]))
    .await;
    assert_eq!(bad.code, Some(2), "{bad:?}");
    assert_eq!(sandbox.requests().len(), before);
}
