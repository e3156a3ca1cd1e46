//! The `--parallel` benchmark over a 100 ms-RTT link. The kernels this
//! project runs on (CI included) have no `tc netem`, so the link is
//! `sandbox::LatencyLink` in user space: 50 ms each way, and a 4 MiB window
//! per connection and direction (about what Linux's default socket buffer
//! limits let TCP keep in flight), so one connection tops out near 40 MiB/s
//! over it, as one TCP stream over such a link does.

use super::{MIB, best_of_rounds, data_root, measure, start_listening};
use std::path::Path;
use std::process::{Command, Stdio};

/// Round trip of the link, in milliseconds.
const RTT_MS: u64 = 100;
/// Unacknowledged bytes one connection may have in flight each way, in KiB.
const WINDOW_KIB: u64 = 4 << 10;
/// Bytes uploaded per run.
const SIZE: u64 = 256 * MIB;
/// Rounds of one stream then 4 parts; each one's best is reported.
const ROUNDS: usize = 3;

/// What the lines of [`latency_bench`] are about.
pub(super) fn heading() -> String {
    format!(
        "upload of {} MiB to the sandbox over a {RTT_MS} ms-RTT link (sandbox::LatencyLink, \
         {} MiB window per connection), best of {ROUNDS} interleaved rounds",
        SIZE / MIB,
        WINDOW_KIB >> 10
    )
}

/// Single stream vs 4 parallel parts over a 100 ms RTT link.
pub(super) fn latency_bench(release: &Path) -> Result<Vec<String>, String> {
    let dir = data_root().join("latency-data");
    let _ = std::fs::remove_dir_all(&dir);
    let mut server = Command::new(release.join("examples/tus_server"));
    // Relative `Location`s, so every request goes through the link.
    server.arg("0").arg(&dir).env("TUS_RELATIVE_LOCATION", "1");
    let (_server, endpoint) = start_listening(server, "the sandbox")?;
    let upstream = endpoint
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .ok_or(format!("unexpected endpoint {endpoint}"))?
        .to_owned();
    let mut link = Command::new(release.join("examples/latency_link"));
    link.arg(&upstream)
        .arg(RTT_MS.to_string())
        .arg(WINDOW_KIB.to_string());
    let (_link, link_addr) = start_listening(link, "the latency link")?;
    let endpoint = endpoint.replacen(&upstream, &link_addr, 1);
    let file = data_root().join("latency-source.bin");
    let bytes: Vec<u8> = (0..SIZE)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&file, bytes).map_err(|e| e.to_string())?;
    // Rounds run one stream, then 4 parts, so a slow spell of this machine
    // weighs on both alike.
    let run = |parallel: usize| {
        let child = Command::new(release.join("examples/upload"))
            .arg(&file)
            .arg(&endpoint)
            .arg((64 * MIB).to_string())
            .arg(parallel.to_string())
            .env("UPLOAD_QUIET", "1")
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        measure(child)
    };
    let best = best_of_rounds(&[1, 4], ROUNDS, run, &dir)?;
    let (single, four) = (best[0].rate(SIZE), best[1].rate(SIZE));
    let mut lines = Vec::new();
    for (measured, label) in best
        .iter()
        .zip(["tus, one stream (baseline)", "tus, 4 parallel parts"])
    {
        lines.push(format!(
            "{:<28} {:>9.1} MiB/s {:>7.2}x {:>10} KiB",
            label,
            measured.rate(SIZE),
            measured.rate(SIZE) / single,
            measured.peak_kib
        ));
    }
    let _ = std::fs::remove_file(&file);
    lines.push(format!(
        "target: --parallel 4 over {RTT_MS} ms RTT: {}x one stream (target >= 3.00: {})",
        super::figure(four / single, 3.0, 2),
        super::met(four / single >= 3.0)
    ));
    Ok(lines)
}
