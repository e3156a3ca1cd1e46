//! Fleet resume through a real redis-server: machine A starts an upload and is
//! SIGKILLed mid-way; machine B — another state dir, the file copied to
//! another path — finishes it from the server's offset: one upload (one
//! video), no acknowledged byte sent twice, byte-equal.

use std::path::Path;
use std::time::Duration;

use http::Method;
use sandbox::{Fault, LoggedRequest, RedisServer, Sandbox, TempDir, TusConfig, TusServer};
use serde_json::Value;

use crate::support::{command, run, sample, spawn, wait_until};

const CHUNK: u64 = 256 * 1024;
const SIZE: usize = 3 * 1024 * 1024;

/// A's stall: the server holds the third PATCH this long, so A is surely
/// mid-upload when it is killed.
const HOLD: Duration = Duration::from_secs(3);

fn resent(log: &[LoggedRequest]) -> u64 {
    log.iter()
        .map(LoggedRequest::resent_acknowledged_bytes)
        .sum()
}

fn acknowledged_patches(log: &[LoggedRequest]) -> usize {
    log.iter()
        .filter(|r| r.method == Method::PATCH && r.status == Some(204))
        .count()
}

/// Copies `path` to another directory, as another machine would hold it.
fn copy_elsewhere(path: &Path, dir: &Path) -> std::path::PathBuf {
    let other = dir.join("machine-b");
    std::fs::create_dir_all(&other).unwrap();
    let copy = other.join("the-same-video.mp4");
    std::fs::copy(path, &copy).unwrap();
    copy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tusc_machine_b_finishes_what_machine_a_began() {
    let redis = RedisServer::start();
    let dir = TempDir::new("fleet-tusc").unwrap();
    let server = TusServer::start(TusConfig::new(dir.path().join("server")))
        .await
        .unwrap();
    let (path, bytes) = sample(dir.path(), "a.mp4", SIZE);
    server.faults().inject(Method::PATCH, 3, Fault::Stall(HOLD));
    let upload = |state: &str, file: &Path| {
        let mut command = command(env!("CARGO_BIN_EXE_tusc"), &dir.path().join(state));
        command
            .env("TUSC_RESUME_STORE", redis.url())
            .arg("upload")
            .arg(file)
            .args(["-e", &server.endpoint(), "--chunk-size", "256KiB", "--json"]);
        command
    };
    let mut a = spawn(&mut upload("machine-a", &path));
    wait_until(|| acknowledged_patches(&server.requests()) >= 2).await;
    // The third PATCH is held in the server: A is killed mid-request.
    wait_until(|| server.requests_in_flight() == 1).await;
    a.start_kill().unwrap(); // SIGKILL
    a.wait().await.unwrap();
    let held = server
        .requests()
        .iter()
        .filter(|r| matches!(r.status, Some(201 | 204)))
        .map(|r| r.upload_offset.unwrap_or(0) + r.body_stored)
        .max()
        .unwrap();
    assert!(held >= 2 * CHUNK && held < SIZE as u64, "{held}");

    let copy = copy_elsewhere(&path, dir.path());
    let out = run(&mut upload("machine-b", &copy)).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let result: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert!(result["resumed_from"].as_u64().unwrap() >= held, "{result}");
    let url = result["url"].as_str().unwrap();
    assert_eq!(
        std::fs::read(server.stored_file(url).unwrap()).unwrap(),
        bytes
    );
    let log = server.requests();
    assert_eq!(
        log.iter().filter(|r| r.method == Method::POST).count(),
        1,
        "machine B continued A's upload instead of creating one"
    );
    assert_eq!(
        resent(&log),
        0,
        "acknowledged bytes were sent again: {log:?}"
    );
    // A finished upload is forgotten: nothing is left in Redis under our prefix.
    let keys = redis_keys(&redis.url(), "tusc:*").await;
    assert!(keys.is_empty(), "{keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vimeo_machine_b_continues_the_same_video() {
    let redis = RedisServer::start();
    let dir = TempDir::new("fleet-vimeo").unwrap();
    let sandbox = Sandbox::start().await.unwrap();
    let (path, bytes) = sample(dir.path(), "a.mp4", SIZE);
    sandbox
        .uploads()
        .faults()
        .inject(Method::PATCH, 3, Fault::Stall(HOLD));
    let upload = |state: &str, file: &Path| {
        let mut command = command(env!("CARGO_BIN_EXE_vimeo"), &dir.path().join(state));
        command
            .env("VIMEO_API_URL", sandbox.api_url())
            .env("VIMEO_TOKEN", &sandbox.credentials().personal_token)
            .env("VIMEO_RESUME_STORE", redis.url())
            .arg("upload")
            .arg(file)
            .args(["--chunk-size", "256KiB", "--json"]);
        command
    };
    let mut a = spawn(&mut upload("machine-a", &path));
    wait_until(|| acknowledged_patches(&sandbox.uploads().requests()) >= 2).await;
    // The third PATCH is held in the upload host: A is killed mid-request.
    wait_until(|| sandbox.uploads().requests_in_flight() == 1).await;
    a.start_kill().unwrap();
    a.wait().await.unwrap();
    let keys = redis_keys(&redis.url(), "vimeo-cli:*").await;
    assert_eq!(keys.len(), 1, "A's record is in Redis: {keys:?}");
    // The key is a digest: no path, URL or token in it.
    assert!(
        !keys[0].contains("mp4") && !keys[0].contains("http"),
        "{keys:?}"
    );

    let copy = copy_elsewhere(&path, dir.path());
    let out = run(&mut upload("machine-b", &copy)).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let result: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert!(
        result["resumed_from"].as_u64().unwrap() >= 2 * CHUNK,
        "{result}"
    );
    let id = result["id"].as_u64().unwrap();
    let link = sandbox.upload_link(id).unwrap();
    assert_eq!(
        std::fs::read(sandbox.uploads().stored_file(&link).unwrap()).unwrap(),
        bytes
    );
    let creates = sandbox
        .requests()
        .iter()
        .filter(|r| r.method == Method::POST && r.path == "/me/videos")
        .count();
    assert_eq!(creates, 1, "machine B continued the same video");
    assert_eq!(resent(&sandbox.uploads().requests()), 0);
    assert!(redis_keys(&redis.url(), "vimeo-cli:*").await.is_empty());
}

async fn redis_keys(url: &str, pattern: &str) -> Vec<String> {
    let client = redis::Client::open(url).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("KEYS")
        .arg(pattern)
        .query_async(&mut connection)
        .await
        .unwrap()
}
