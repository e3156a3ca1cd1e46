//! The campaign through the `tusc` binary against the independent Node tus
//! server (@tus/server), with our fault-injecting proxy in between.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use integration_tests::soak::{
    FaultKind, PlannedFault, Report, Target, UploadPlan, UploadResult, request_bound,
};
use sandbox::TempDir;

use crate::common::{self, MAX_CALLS};
use crate::proxy::Proxy;

/// Where the Node server listens and stores files (set by `cargo xtask`).
pub(crate) fn node_server() -> Option<(String, PathBuf)> {
    let endpoint = std::env::var("TUS_NODE_ENDPOINT").ok()?;
    let dir = std::env::var_os("TUS_NODE_DIR")?;
    Some((endpoint, PathBuf::from(dir)))
}

/// The `tusc` binary beside this test's (`target/debug/deps/soak-…` → `target/debug/tusc`).
fn tusc() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("TUSC_BIN") {
        return Ok(path.into());
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("no target directory")?;
    let path = dir.join("tusc");
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not built (cargo build -p vimeo-cli --bins)",
            path.display()
        ))
    }
}

pub(crate) async fn run(seed: u64, plans: &[UploadPlan]) -> Result<Report, String> {
    let (endpoint, node_dir) =
        node_server().ok_or("TUS_NODE_ENDPOINT/TUS_NODE_DIR not set (run through cargo xtask)")?;
    let tusc = tusc()?;
    let upstream_url: http::Uri = endpoint.parse().map_err(|e| format!("{endpoint}: {e}"))?;
    let upstream = format!(
        "{}:{}",
        upstream_url.host().unwrap_or("127.0.0.1"),
        upstream_url.port_u16().unwrap_or(80)
    )
    .parse()
    .map_err(|e| format!("{endpoint}: {e}"))?;
    let proxy = Proxy::start(upstream, common::STALL)
        .await
        .map_err(|e| e.to_string())?;
    let through_proxy = format!("http://{}{}", proxy.addr, upstream_url.path());
    let sources = TempDir::new("soak-tusc-src").map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut report = Report {
        leg: "tusc vs @tus/server behind a fault proxy".into(),
        seed,
        ..Report::default()
    };
    for plan in plans {
        let source = common::write_source(sources.path(), plan).map_err(|e| e.to_string())?;
        let state = TempDir::new("soak-tusc-state").map_err(|e| e.to_string())?;
        let before = proxy.log().len();
        for PlannedFault { target, kind } in &plan.faults {
            // The proxy cannot lose bytes the server already wrote.
            let kind = match *kind {
                FaultKind::Cut { bytes, .. } => FaultKind::Cut { bytes, lose: 0 },
                other => other,
            };
            match *target {
                Target::Patch(n) => proxy.inject_later("PATCH", n, kind),
                Target::Head(n) => proxy.inject_later("HEAD", n, kind),
            }
        }
        let mut result = UploadResult {
            size: plan.size,
            ..UploadResult::default()
        };
        let mut outcome: Result<serde_json::Value, String> = Err("not run".into());
        for call in 0..MAX_CALLS {
            result.reruns = call;
            let output = tokio::process::Command::new(&tusc)
                .arg("upload")
                .arg(&source)
                .args(["--endpoint", &through_proxy])
                .args(["--chunk-size", &plan.chunk.to_string()])
                .args([
                    "--stall-timeout",
                    &format!("{}ms", common::STALL_TIMEOUT.as_millis()),
                ])
                .args(["--json", "--quiet"])
                .env("TUSC_STATE_DIR", state.path())
                .stdin(std::process::Stdio::null())
                .kill_on_drop(true)
                .output()
                .await
                .map_err(|e| format!("cannot run tusc: {e}"))?;
            if output.status.success() {
                outcome = serde_json::from_slice(&output.stdout)
                    .map_err(|e| format!("tusc --json printed no JSON: {e}"));
                break;
            }
            let error = String::from_utf8_lossy(&output.stderr).trim().to_owned();
            eprintln!("  upload {} call {call}: {error}", plan.index);
            outcome = Err(error);
        }
        if plan.faults.iter().any(|f| f.kind == FaultKind::Stall) {
            tokio::time::sleep(common::STALL + Duration::from_millis(100)).await;
        }
        proxy.clear();
        let log = proxy.log();
        let log = &log[before..];
        result.requests = log.len() as u64;
        result.faults = log
            .iter()
            .filter_map(|s| s.fault.map(|f| f.name()))
            .collect();
        result.resent = log.iter().map(|s| s.resent_acknowledged_bytes()).sum();
        let json = outcome.as_ref().ok();
        result.retries = json.and_then(|j| j["retries"].as_u64()).unwrap_or(0);
        // tusc has no event stream here; an expiry that fired means one restart.
        result.restarts = result.faults.iter().filter(|f| **f == "expired").count() as u64;
        result.bound = request_bound(
            plan.chunks(),
            result.faults.len() as u64,
            result.faults.iter().filter(|f| **f == "stall").count() as u64,
            result.restarts,
            result.reruns,
        );
        result.failure = match outcome {
            Err(error) => Some(format!("did not complete in {MAX_CALLS} calls: {error}")),
            Ok(json) if json["verified"] != serde_json::Value::Bool(true) => {
                Some(format!("not verified: {json}"))
            }
            Ok(json) => {
                let id = json["url"]
                    .as_str()
                    .and_then(|u| u.rsplit('/').next())
                    .unwrap_or("");
                let stored = node_dir.join(id);
                let differs = common::compare(&source, &stored);
                let _ = std::fs::remove_file(&stored);
                let _ = std::fs::remove_file(node_dir.join(format!("{id}.json")));
                differs
            }
        };
        let _ = std::fs::remove_file(&source);
        report.uploads.push(result);
    }
    report.elapsed = started.elapsed();
    // The re-sent count means something only if the proxy understood the
    // server's answers: PATCHes must have seen acknowledged offsets.
    let log = proxy.log();
    let patches = log.iter().filter(|s| s.method == "PATCH").count();
    let informed = log
        .iter()
        .filter(|s| s.method == "PATCH" && s.acknowledged.is_some())
        .count();
    println!("  proxy: {patches} PATCHes, {informed} with a known acknowledged offset");
    if patches > 0 && informed == 0 {
        return Err("the proxy read no Upload-Offset from the server's answers".into());
    }
    Ok(report)
}
