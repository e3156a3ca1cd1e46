//! Both CLIs as a new user meets them: usage errors exit 2 before any request,
//! help and completions, non-UTF-8 file names, batches, and progress on a
//! terminal versus a pipe.

use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;

use http::Method;
use sandbox::{Sandbox, TempDir, TusConfig, TusServer};
use serde_json::Value;

use crate::support::{command, run, sample};

const TUSC: &str = env!("CARGO_BIN_EXE_tusc");
const VIMEO: &str = env!("CARGO_BIN_EXE_vimeo");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_usage_error_exits_2_before_any_request() {
    let dir = TempDir::new("cli-usage").unwrap();
    let server = TusServer::start(TusConfig::new(dir.path().join("server")))
        .await
        .unwrap();
    let sandbox = Sandbox::start().await.unwrap();
    let (file, _) = sample(dir.path(), "a.bin", 1_000);
    let file = file.to_str().unwrap().to_owned();
    let endpoint = server.endpoint();
    let upload = |extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            "upload".to_owned(),
            file.clone(),
            "-e".into(),
            endpoint.clone(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };
    let tusc_cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "upload".into(),
                file.clone(),
                "-e".into(),
                "ftp://h/".into(),
            ],
            "http",
        ),
        (upload(&["--metadata", "bad key=x"]), "metadata key"),
        (upload(&["--metadata", "novalue"]), "key=value"),
        (upload(&["--chunk-size", "0"]), "between 1 byte"),
        (upload(&["--chunk-size", "65GiB"]), "between 1 byte"),
        (upload(&["--parallel", "0"]), "--parallel"),
        (upload(&["--jobs", "0"]), "--jobs"),
        (upload(&["--header", "Bad Name: x"]), "header name"),
        (upload(&["--stall-timeout", "soon"]), "--stall-timeout"),
        (upload(&["--checksum", "md5"]), "--checksum"),
        (upload(&["--resume-store", "http://h/"]), "redis://"),
        (upload(&["-q", "--bogus"]), "--bogus"),
        (
            vec![
                "upload".into(),
                "-".into(),
                file.clone(),
                "-e".into(),
                endpoint.clone(),
            ],
            "only FILE",
        ),
        (
            vec![
                "upload".into(),
                "-".into(),
                "-e".into(),
                endpoint.clone(),
                "--chunk-size".into(),
                "2GiB".into(),
            ],
            "stdin holds one chunk",
        ),
        (vec!["status".into(), "ftp://h/x".into()], "http"),
        (
            vec!["completions".into(), "tcsh-ish".into()],
            "invalid value",
        ),
    ];
    for (args, message) in &tusc_cases {
        let out = run(command(TUSC, dir.path()).args(args)).await;
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    assert!(
        server.requests().is_empty(),
        "a usage error reached the server: {:?}",
        server.requests()
    );

    let token = sandbox.credentials().personal_token.clone();
    let vimeo_cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["upload", &file], "token"),
        (
            vec!["upload", &file, "--token", &token, "--chunk-size", "0"],
            "between 1 byte",
        ),
        (
            vec!["upload", &file, &file, "--token", &token, "--replace", "5"],
            "one FILE",
        ),
        (
            vec!["upload", &file, "--token", &token, "--jobs", "0"],
            "--jobs",
        ),
        (
            vec!["upload", &file, "--token", &token, "--api-url", "ftp://x/"],
            "http",
        ),
        (
            vec![
                "upload",
                &file,
                "--token",
                &token,
                "--resume-store",
                "redis:",
            ],
            "redis://",
        ),
        (vec!["status"], "VIDEO"),
        (
            vec!["auth", "oauth1", "--consumer-key", "k"],
            "--consumer-secret",
        ),
        (
            vec![
                "auth",
                "oauth1",
                "--consumer-key",
                "k",
                "--consumer-secret",
                "s",
                "--permission",
                "all",
            ],
            "--permission",
        ),
        (vec!["frobnicate"], "frobnicate"),
    ];
    for (args, message) in &vimeo_cases {
        let out = run(command(VIMEO, dir.path())
            .env("VIMEO_API_URL", sandbox.api_url())
            .args(args))
        .await;
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains(&token), "the token was echoed");
    }
    assert!(sandbox.requests().is_empty(), "{:?}", sandbox.requests());
    assert!(sandbox.uploads().requests().is_empty());
}

#[tokio::test]
async fn help_version_and_completions_for_both_tools() {
    let dir = TempDir::new("cli-help").unwrap();
    for (binary, name, commands) in [
        (
            TUSC,
            "tusc",
            &["upload", "status", "delete", "options", "completions"][..],
        ),
        (
            VIMEO,
            "vimeo",
            &[
                "upload",
                "status",
                "get",
                "auth",
                "call",
                "texttrack",
                "picture",
                "sandbox",
                "demo",
                "completions",
            ][..],
        ),
    ] {
        let version = run(command(binary, dir.path()).arg("--version")).await;
        assert_eq!(version.code, Some(0), "{version:?}");
        assert_eq!(
            version.stdout.trim(),
            format!("{name} {}", env!("CARGO_PKG_VERSION"))
        );
        for sub in commands {
            let help = run(command(binary, dir.path()).args([sub, "--help"])).await;
            assert_eq!(help.code, Some(0), "{name} {sub} --help: {help:?}");
            assert!(
                help.stdout.contains(&format!("Usage: {name} {sub}")),
                "{name} {sub}: {}",
                help.stdout
            );
        }
        for shell in ["bash", "zsh", "fish"] {
            let script = run(command(binary, dir.path()).args(["completions", shell])).await;
            assert_eq!(script.code, Some(0), "{name} {shell}: {script:?}");
            // Each script names the tool and completes its subcommands.
            assert!(script.stdout.contains(name), "{name} {shell}");
            assert!(script.stdout.contains("upload"), "{name} {shell}");
        }
    }
    let typo = run(command(TUSC, dir.path()).arg("uplod")).await;
    assert_eq!(typo.code, Some(2));
    assert!(typo.stderr.contains("'upload'"), "{}", typo.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_utf8_file_name_uploads_with_a_lossy_filename() {
    let dir = TempDir::new("cli-non-utf8").unwrap();
    let server = TusServer::start(TusConfig::new(dir.path().join("server")))
        .await
        .unwrap();
    let name = std::ffi::OsStr::from_bytes(b"clip\xff.mp4");
    let path = dir.path().join(name);
    let bytes: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    let out = run(command(TUSC, dir.path()).arg("upload").arg(&path).args([
        "--endpoint",
        &server.endpoint(),
        "--json",
    ]))
    .await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let result: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let url = result["url"].as_str().unwrap();
    assert_eq!(
        std::fs::read(server.stored_file(url).unwrap()).unwrap(),
        bytes
    );
    let metadata =
        vimeo::tus::decode_metadata(server.upload_metadata(url).unwrap().as_bytes()).unwrap();
    assert!(
        metadata.contains(&(
            "filename".to_owned(),
            "clip\u{FFFD}.mp4".as_bytes().to_vec()
        )),
        "{metadata:?}"
    );
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_three_with_one_failing_file() {
    let dir = TempDir::new("cli-batch").unwrap();
    let server = TusServer::start(TusConfig::new(dir.path().join("server")))
        .await
        .unwrap();
    let (a, a_bytes) = sample(dir.path(), "a.bin", 200_000);
    let (b, b_bytes) = sample(dir.path(), "b.bin", 300_000);
    let missing = dir.path().join("missing.bin");
    let out = run(command(TUSC, dir.path())
        .arg("upload")
        .args([&a, &missing, &b])
        .args([
            "-e",
            &server.endpoint(),
            "-j",
            "2",
            "--json",
            "--chunk-size",
            "64KiB",
        ]))
    .await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("3 files: 2 done (0 resumed), 1 failed"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("missing.bin"), "{}", out.stderr);
    let results = json_lines(&out.stdout);
    assert_eq!(results.len(), 2, "{}", out.stdout);
    for (path, bytes) in [(&a, &a_bytes), (&b, &b_bytes)] {
        let result = results
            .iter()
            .find(|r| r["file"] == path.to_str().unwrap())
            .unwrap_or_else(|| panic!("no result for {path:?}: {}", out.stdout));
        let url = result["url"].as_str().unwrap();
        assert_eq!(
            &std::fs::read(server.stored_file(url).unwrap()).unwrap(),
            bytes
        );
    }

    // The same batch through `vimeo upload`.
    let sandbox = Sandbox::start().await.unwrap();
    let out = run(command(VIMEO, dir.path())
        .env("VIMEO_API_URL", sandbox.api_url())
        .env("VIMEO_TOKEN", &sandbox.credentials().personal_token)
        .arg("upload")
        .args([&a, &b, &missing])
        .args(["--jobs", "3", "--json"]))
    .await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("3 files: 2 done (0 resumed), 1 failed"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("rerun the same command to resume)"),
        "{}",
        out.stderr
    );
    let videos = json_lines(&out.stdout);
    assert_eq!(videos.len(), 2);
    let creates = sandbox
        .requests()
        .iter()
        .filter(|r| r.method == Method::POST && r.path == "/me/videos")
        .count();
    assert_eq!(creates, 2, "the missing file created no video");
}

/// Runs `binary args` on a pseudo-terminal through util-linux `script`, which
/// every Debian has; returns what the terminal showed.
async fn on_a_terminal(binary: &str, state: &Path, args: &[&str]) -> String {
    let mut line = shell_quote(binary);
    for arg in args {
        line.push(' ');
        line.push_str(&shell_quote(arg));
    }
    let out = run(command("script", state).args(["-qfec", &line, "/dev/null"])).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    out.stdout
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_is_a_bar_on_a_terminal_and_lines_on_a_pipe() {
    let dir = TempDir::new("cli-pty").unwrap();
    let server = TusServer::start(TusConfig::new(dir.path().join("server")))
        .await
        .unwrap();
    let (path, _) = sample(dir.path(), "p.bin", 2_000_000);
    let path = path.to_str().unwrap();
    let args = [
        "upload",
        path,
        "-e",
        &server.endpoint(),
        "--chunk-size",
        "64KiB",
        "--no-resume",
    ];
    let terminal = on_a_terminal(TUSC, dir.path(), &args).await;
    // indicatif draws the bar and redraws it in place.
    assert!(terminal.contains("[#"), "{terminal}");
    assert!(terminal.contains("ETA"), "{terminal}");
    assert!(
        terminal.contains('\r') || terminal.contains("\u{1b}["),
        "{terminal}"
    );
    assert!(!terminal.contains("progress 10%"), "{terminal}");
    assert!(
        terminal.contains("uploaded 1.9 MiB and verified"),
        "{terminal}"
    );
    let piped = run(command(TUSC, dir.path()).args(args)).await;
    assert_eq!(piped.code, Some(0), "{piped:?}");
    assert!(piped.stderr.contains("progress 100%"), "{}", piped.stderr);
    assert!(!piped.stderr.contains('\r') && !piped.stderr.contains("\u{1b}["));
    assert!(!piped.stderr.contains("[#"));
    let quiet = run(command(TUSC, dir.path()).args(args).arg("-q")).await;
    assert_eq!(quiet.code, Some(0), "{quiet:?}");
    assert_eq!(quiet.stderr, "");
    let quiet_terminal = on_a_terminal(TUSC, dir.path(), &[&args[..], &["-q"]].concat()).await;
    assert!(!quiet_terminal.contains("[#"), "{quiet_terminal}");
    // --parallel: a bar per part under the file's bar.
    let parts = on_a_terminal(
        TUSC,
        dir.path(),
        &[&args[..], &["--parallel", "3"]].concat(),
    )
    .await;
    for part in ["part 1/3", "part 2/3", "part 3/3"] {
        assert!(parts.contains(part), "{part}: {parts}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_of_both_tools_carry_no_secrets() {
    let dir = TempDir::new("cli-trace").unwrap();
    let (path, _) = sample(dir.path(), "t.mp4", 600_000);
    let sandbox = Sandbox::start().await.unwrap();
    let token = sandbox.credentials().personal_token.clone();
    let out = run(command(VIMEO, dir.path())
        .env_remove("RUST_LOG")
        .env("VIMEO_API_URL", sandbox.api_url())
        .env("VIMEO_TOKEN", &token)
        .arg("upload")
        .arg(&path)
        .args(["-vvv", "--chunk-size", "256KiB", "--json"]))
    .await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.contains("TRACE"), "-vvv logs at trace level");
    let id = serde_json::from_str::<Value>(out.stdout.trim()).unwrap()["id"]
        .as_u64()
        .unwrap();
    let link = sandbox.upload_link(id).unwrap();
    assert!(!out.stderr.contains(&token), "the token was logged");
    assert!(!out.stderr.contains(&link), "the upload link was logged");

    let server = TusServer::start(TusConfig::new(dir.path().join("server")))
        .await
        .unwrap();
    let secret = "Bearer tusc-secret-5849";
    let out = run(command(TUSC, dir.path())
        .env("RUST_LOG", "trace")
        .arg("upload")
        .arg(&path)
        .args([
            "-e",
            &server.endpoint(),
            "-H",
            &format!("Authorization: {secret}"),
        ])
        .args(["--chunk-size", "256KiB"]))
    .await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stderr.contains("TRACE"),
        "RUST_LOG=trace logs at trace level"
    );
    let url = out.stdout.trim();
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.authorization.as_deref() == Some(secret))
    );
    assert!(
        !out.stderr.contains("tusc-secret-5849"),
        "the header was logged"
    );
    assert!(!out.stderr.contains(url), "the upload URL was logged");
}
