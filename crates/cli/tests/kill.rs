//! Kill and resume: `tusc upload` and `vimeo upload` of a 256 MiB file are
//! SIGKILLed at random points (`KILL_ROUNDS` times, 3 by default; `cargo
//! xtask soak` asks for 10) and rerun each time. Every rerun must continue from
//! the server's offset — the request log shows no acknowledged byte sent
//! twice and no second upload created — and the file must arrive byte-equal.
//! `KILL_SEED` replays a run (the seed is printed).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::Method;
use sandbox::{LoggedRequest, Sandbox, TempDir, TusConfig, TusServer};
use serde_json::Value;

use crate::support::{command, run, spawn, wait_until};

const SIZE: u64 = 256 << 20;
/// Kills stop when less than this is left, so the last kill lands mid-upload.
const MARGIN: u64 = 8 << 20;

fn rounds() -> usize {
    std::env::var("KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

fn seed() -> u64 {
    match std::env::var("KILL_SEED").ok().and_then(|v| v.parse().ok()) {
        Some(seed) => seed,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
    }
}

/// SplitMix64, for kill points a seed can replay.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 256 MiB file of seeded bytes.
fn big_file(dir: &Path, seed: u64) -> PathBuf {
    use std::io::Write;
    let path = dir.join("big.mov");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut state = seed;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..SIZE >> 20 {
        for word in block.chunks_mut(8) {
            word.copy_from_slice(&next(&mut state).to_le_bytes());
        }
        file.write_all(&block).unwrap();
    }
    file.flush().unwrap();
    path
}

fn same_bytes(a: &Path, b: &Path) -> bool {
    let (mut x, mut y) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    let (mut p, mut q) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = x.read(&mut p).unwrap();
        let mut m = 0;
        while m < n {
            match y.read(&mut q[m..n]).unwrap() {
                0 => return false,
                k => m += k,
            }
        }
        if p[..n] != q[..n] {
            return false;
        }
        if n == 0 {
            return y.read(&mut q).unwrap() == 0;
        }
    }
}

/// Bytes the server has written to disk so far (one upload in `dir`).
fn stored_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

/// Runs `make()` and SIGKILLs it at random points until `rounds()` kills have
/// landed (or too little is left), then runs it to the end. Returns the final
/// run's stdout and how many kills landed.
async fn kill_and_rerun(
    name: &str,
    make: impl Fn() -> tokio::process::Command,
    server: &TusServer,
    upload_dir: &Path,
) -> (String, usize) {
    let seed = seed();
    println!("{name}: KILL_SEED={seed}, {} rounds", rounds());
    let mut state = seed;
    let mut kills = 0;
    for round in 0..rounds() {
        let start = stored_bytes(upload_dir);
        let left = SIZE - start;
        if left < 2 * MARGIN {
            break;
        }
        // Somewhere in the next 2–8 % of what is left. Each kill also
        // overshoots its aim by what is in flight (socket buffers, the
        // server's write buffer, one polling interval): 7–14 MiB measured on
        // a 2-core VM. With both, ten kills still leave over 16 MiB.
        let point = start + left / 50 + next(&mut state) % (left * 3 / 50);
        let mut child = spawn(&mut make());
        let mut finished = None;
        for _ in 0..60_000 {
            if stored_bytes(upload_dir) >= point {
                break;
            }
            if let Some(status) = child.try_wait().unwrap() {
                finished = Some(status);
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if let Some(status) = finished {
            let mut stderr = String::new();
            if let Some(mut err) = child.stderr.take() {
                use tokio::io::AsyncReadExt as _;
                let _ = err.read_to_string(&mut stderr).await;
            }
            panic!("{name} round {round}: ended ({status}) before the kill at {point}: {stderr}");
        }
        child.start_kill().unwrap(); // SIGKILL
        child.wait().await.unwrap();
        // The killed process's last PATCH may still be arriving from the socket
        // buffer; the next run is a later run, so wait until the server has
        // closed its connections and finished its requests (otherwise the
        // rerun's HEAD can precede that PATCH's acknowledgement and its first
        // PATCH meets a 409 — handled, but counted here).
        wait_until(|| server.open_connections() == 0 && server.requests_in_flight() == 0).await;
        kills += 1;
        println!(
            "{name}: killed at {:.1} MiB (aimed at {:.1} MiB)",
            stored_bytes(upload_dir) as f64 / (1 << 20) as f64,
            point as f64 / (1 << 20) as f64
        );
    }
    let out = run(&mut make()).await;
    assert_eq!(out.code, Some(0), "{name}: the final rerun failed: {out:?}");
    (out.stdout, kills)
}

fn assert_no_acknowledged_byte_resent(name: &str, log: &[LoggedRequest]) {
    let patches: Vec<&LoggedRequest> = log.iter().filter(|r| r.method == Method::PATCH).collect();
    assert!(!patches.is_empty());
    let resent: u64 = log
        .iter()
        .map(LoggedRequest::resent_acknowledged_bytes)
        .sum();
    assert_eq!(
        resent, 0,
        "{name}: acknowledged bytes were sent again: {patches:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_and_resume_tusc_256_mib() {
    let dir = TempDir::new("kill-tusc").unwrap();
    let server_dir = dir.path().join("server");
    let server = TusServer::start(TusConfig::new(&server_dir)).await.unwrap();
    let path = big_file(dir.path(), 7);
    let endpoint = server.endpoint();
    let make = || {
        let mut command = command(env!("CARGO_BIN_EXE_tusc"), dir.path());
        command.arg("upload").arg(&path).args([
            "--endpoint",
            &endpoint,
            "--chunk-size",
            "32MiB",
            "--json",
        ]);
        command
    };
    let (stdout, kills) = kill_and_rerun("tusc", make, &server, &server_dir).await;
    assert_eq!(kills, rounds(), "every kill landed mid-upload");
    let result: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(result["verified"], Value::Bool(true));
    assert!(result["resumed_from"].as_u64().unwrap() > 0);
    let url = result["url"].as_str().unwrap();
    assert!(same_bytes(&path, &server.stored_file(url).unwrap()));
    let log = server.requests();
    assert_eq!(
        log.iter().filter(|r| r.method == Method::POST).count(),
        1,
        "one upload created, then resumed"
    );
    assert_no_acknowledged_byte_resent("tusc", &log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_and_resume_vimeo_256_mib() {
    let dir = TempDir::new("kill-vimeo").unwrap();
    let sandbox_dir = dir.path().join("sandbox");
    let sandbox = Sandbox::start_with(sandbox::SandboxConfig::new().dir(&sandbox_dir))
        .await
        .unwrap();
    let path = big_file(dir.path(), 11);
    let make = || {
        let mut command = command(env!("CARGO_BIN_EXE_vimeo"), dir.path());
        command
            .env("VIMEO_API_URL", sandbox.api_url())
            .env("VIMEO_TOKEN", &sandbox.credentials().personal_token)
            .arg("upload")
            .arg(&path)
            .args(["--chunk-size", "32MiB", "--json"]);
        command
    };
    let (stdout, kills) = kill_and_rerun("vimeo", make, sandbox.uploads(), &sandbox_dir).await;
    assert_eq!(kills, rounds(), "every kill landed mid-upload");
    let result: Value = serde_json::from_str(stdout.trim()).unwrap();
    let id = result["id"].as_u64().unwrap();
    assert!(result["resumed_from"].as_u64().unwrap() > 0);
    let link = sandbox.upload_link(id).unwrap();
    assert!(same_bytes(
        &path,
        &sandbox.uploads().stored_file(&link).unwrap()
    ));
    let creates = sandbox
        .requests()
        .iter()
        .filter(|r| r.method == Method::POST && r.path == "/me/videos")
        .count();
    assert_eq!(creates, 1, "one video created, then resumed");
    assert_no_acknowledged_byte_resent("vimeo", &sandbox.uploads().requests());
}
