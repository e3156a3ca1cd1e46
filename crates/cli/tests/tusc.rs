//! `tusc` against the sandbox's tus server.

use std::time::Duration;

use http::Method;
use sandbox::{Fault, TempDir, TusConfig, TusServer};
use serde_json::Value;

use crate::support::{command, run, sample, spawn, wait_until};

const TUSC: &str = env!("CARGO_BIN_EXE_tusc");
const CHUNK: u64 = 64 * 1024;

async fn server(dir: &TempDir) -> TusServer {
    TusServer::start(TusConfig::new(dir.path().join("server")))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_prints_plain_progress_lines_and_the_url() {
    let dir = TempDir::new("tusc-plain").unwrap();
    let server = server(&dir).await;
    let (path, bytes) = sample(dir.path(), "clip.bin", 300_000);
    let out = run(command(TUSC, dir.path())
        .args([
            "upload",
            path.to_str().unwrap(),
            "--endpoint",
            &server.endpoint(),
        ])
        .args([
            "--chunk-size",
            "64KiB",
            "--metadata",
            "title=Clip",
            "--header",
            "X-Trace: 1",
        ]))
    .await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let url = out.stdout.trim();
    assert!(url.starts_with(&server.endpoint()), "{url}");
    assert!(
        out.stderr.contains("progress 100% 300000 / 300000"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains('\r'),
        "no bar redraws when stderr is not a terminal"
    );
    assert_eq!(
        std::fs::read(server.stored_file(url).unwrap()).unwrap(),
        bytes
    );
    let metadata =
        vimeo::tus::decode_metadata(server.upload_metadata(url).unwrap().as_bytes()).unwrap();
    assert!(
        metadata.contains(&("filename".to_owned(), b"clip.bin".to_vec())),
        "{metadata:?}"
    );
    assert!(metadata.contains(&("title".to_owned(), b"Clip".to_vec())));
    // Five chunks: the first rides on the creation POST (creation-with-upload).
    let carrying: Vec<u64> = server
        .requests()
        .iter()
        .map(|r| r.body_stored)
        .filter(|n| *n > 0)
        .collect();
    assert_eq!(carrying, [CHUNK, CHUNK, CHUNK, CHUNK, 300_000 - 4 * CHUNK]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_and_the_inspection_commands() {
    let dir = TempDir::new("tusc-json").unwrap();
    let server = server(&dir).await;
    let (path, _) = sample(dir.path(), "a.bin", 1_000);
    let out = run(command(TUSC, dir.path()).args([
        "upload",
        path.to_str().unwrap(),
        "--endpoint",
        &server.endpoint(),
        "--json",
        "--checksum",
        "sha256",
    ]))
    .await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let result: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(result["length"], 1_000);
    assert_eq!(result["verified"], true);
    assert_eq!(result["resumed_from"], 0);
    let url = result["url"].as_str().unwrap().to_owned();
    assert!(server.requests().iter().any(|r| {
        r.checksum
            .as_deref()
            .is_some_and(|c| c.starts_with("sha256 "))
    }));

    let status = run(command(TUSC, dir.path()).args(["status", &url, "--json"])).await;
    let status: Value = serde_json::from_str(status.stdout.trim()).unwrap();
    assert_eq!(
        (status["offset"].as_u64(), status["complete"].as_bool()),
        (Some(1_000), Some(true))
    );

    let options =
        run(command(TUSC, dir.path()).args(["options", &server.endpoint(), "--json"])).await;
    let options: Value = serde_json::from_str(options.stdout.trim()).unwrap();
    let extensions: Vec<&str> = options["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(extensions.contains(&"termination"), "{extensions:?}");

    let deleted = run(command(TUSC, dir.path()).args(["delete", &url])).await;
    assert_eq!(deleted.code, Some(0), "{deleted:?}");
    let gone = run(command(TUSC, dir.path()).args(["status", &url])).await;
    assert_eq!(gone.code, Some(1));
    assert!(gone.stderr.starts_with("error: "), "{}", gone.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_uploads_with_a_deferred_length() {
    let dir = TempDir::new("tusc-stdin").unwrap();
    let server = server(&dir).await;
    let (path, bytes) = sample(dir.path(), "piped.bin", 200_001);
    let out = run(command(TUSC, dir.path())
        .args([
            "upload",
            "-",
            "--endpoint",
            &server.endpoint(),
            "--chunk-size",
            "64KiB",
            "--quiet",
        ])
        .stdin(std::fs::File::open(&path).unwrap()))
    .await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stderr, "", "--quiet prints nothing on stderr");
    assert_eq!(
        std::fs::read(server.stored_file(out.stdout.trim()).unwrap()).unwrap(),
        bytes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_upload_resumes_on_rerun_without_resending_acknowledged_bytes() {
    let dir = TempDir::new("tusc-kill").unwrap();
    let server = server(&dir).await;
    let (path, bytes) = sample(dir.path(), "big.bin", 1_000_000);
    // The third PATCH hangs in the server, so the process is mid-upload when
    // killed (a multi-chunk upload is created empty, so every chunk is a PATCH).
    server
        .faults()
        .inject(Method::PATCH, 3, Fault::Stall(Duration::from_secs(5)));
    let args = [
        "upload",
        path.to_str().unwrap(),
        "--endpoint",
        &server.endpoint(),
        "--chunk-size",
        "64KiB",
        "--json",
    ];
    let mut child = spawn(command(TUSC, dir.path()).args(args));
    wait_until(|| {
        server
            .requests()
            .iter()
            .filter(|r| r.method == Method::PATCH && r.status == Some(204))
            .count()
            == 2
    })
    .await;
    // The third PATCH has reached the server and hangs there.
    wait_until(|| server.requests_in_flight() == 1).await;
    child.start_kill().unwrap(); // SIGKILL
    let status = child.wait().await.unwrap();
    assert!(!status.success());
    let acknowledged = 2 * CHUNK;
    let before = server.requests().len();

    let out = run(command(TUSC, dir.path()).args(args)).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let result: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(result["resumed_from"].as_u64(), Some(acknowledged));
    assert_eq!(
        result["bytes_sent"].as_u64(),
        Some(1_000_000 - acknowledged)
    );
    assert!(
        out.stderr
            .contains(&format!("resuming from byte {acknowledged}")),
        "{}",
        out.stderr
    );
    let url = result["url"].as_str().unwrap();
    assert_eq!(
        std::fs::read(server.stored_file(url).unwrap()).unwrap(),
        bytes
    );
    let rerun = &server.requests()[before..];
    assert!(
        rerun.iter().all(|r| r.method != Method::POST),
        "no second upload was created"
    );
    assert!(
        rerun
            .iter()
            .filter(|r| r.method == Method::PATCH)
            .all(|r| r.upload_offset.unwrap() >= acknowledged),
        "a byte before the acknowledged offset was sent again: {rerun:?}"
    );
}

#[tokio::test]
async fn failures_exit_non_zero_with_a_readable_message() {
    let dir = TempDir::new("tusc-fail").unwrap();
    let (path, _) = sample(dir.path(), "a.bin", 10);
    let cases: [(&[&str], i32, &str); 6] = [
        (&[], 2, "Usage: tusc"),
        (&["upload", "x.bin"], 2, "--endpoint <ENDPOINT>"),
        (
            &[
                "upload",
                "x.bin",
                "--endpoint",
                "http://127.0.0.1:9/",
                "--chunk-size",
                "lots",
            ],
            2,
            "not a size",
        ),
        (
            &["upload", "x.bin", "--bogus"],
            2,
            "unexpected argument '--bogus'",
        ),
        (
            &[
                "upload",
                "/definitely/missing.bin",
                "--endpoint",
                "http://127.0.0.1:9/files/",
            ],
            1,
            "missing.bin",
        ),
        (&["status", "not a url"], 2, "not a URL"),
    ];
    for (args, code, message) in cases {
        let out = run(command(TUSC, dir.path()).args(args)).await;
        assert_eq!(out.code, Some(code), "{args:?}: {out:?}");
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
        // Without a command, clap shows the help; everything else is an error line.
        assert!(
            args.is_empty() || out.stderr.starts_with("error: "),
            "{args:?}: {}",
            out.stderr
        );
        if code == 1 {
            // A missing input is not something a rerun fixes: no resume hint.
            assert!(!out.stderr.contains("rerun"), "{}", out.stderr);
        }
    }
    // A server that is not there: a transport error after the retries, exit 1.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let out = run(command(TUSC, dir.path()).args([
        "upload",
        path.to_str().unwrap(),
        "--endpoint",
        &format!("http://127.0.0.1:{port}/files/"),
        "--retries",
        "1",
    ]))
    .await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("127.0.0.1"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_parts_join_into_one_upload() {
    let dir = TempDir::new("tusc-parallel").unwrap();
    let server = server(&dir).await;
    let (path, bytes) = sample(dir.path(), "p.bin", 700_000);
    let out = run(command(TUSC, dir.path()).args([
        "upload",
        path.to_str().unwrap(),
        "--endpoint",
        &server.endpoint(),
        "--parallel",
        "3",
        "--chunk-size",
        "64KiB",
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
    let posts = server
        .requests()
        .iter()
        .filter(|r| r.method == Method::POST)
        .count();
    assert_eq!(posts, 4, "three partial uploads and the final one");
    let bad = run(command(TUSC, dir.path()).args([
        "upload",
        "x",
        "--endpoint",
        "http://h/",
        "--parallel",
        "0",
    ]))
    .await;
    assert_eq!(bad.code, Some(2));
}
