//! The `--parallel` benchmark over a 100 ms-RTT link: a network namespace
//! joined by a veth pair with netem delay, a tus server inside it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::measure::Measured;
use super::{KillOnDrop, MIB, data_root, measure};

/// A network namespace joined to the host by a veth pair with 50 ms of netem
/// delay each way; removed on drop.
struct Netns;

const NETNS: &str = "vimeo-rs-bench";

fn ip(args: &[&str]) -> Result<(), String> {
    let status = Command::new("ip")
        .args(args)
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("ip: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed (needs root and netns support)",
            args.join(" ")
        ))
    }
}

fn in_ns(args: &[&str]) -> Result<(), String> {
    let mut full = vec!["netns", "exec", NETNS];
    full.extend_from_slice(args);
    ip(&full)
}

impl Netns {
    fn create() -> Result<Netns, String> {
        let _ = ip(&["netns", "del", NETNS]);
        ip(&["netns", "add", NETNS])?;
        let netns = Netns;
        ip(&[
            "link", "add", "vrs-host", "type", "veth", "peer", "name", "vrs-ns",
        ])?;
        ip(&["link", "set", "vrs-ns", "netns", NETNS])?;
        ip(&["addr", "add", "10.231.0.1/24", "dev", "vrs-host"])?;
        ip(&["link", "set", "vrs-host", "up"])?;
        in_ns(&["ip", "addr", "add", "10.231.0.2/24", "dev", "vrs-ns"])?;
        in_ns(&["ip", "link", "set", "vrs-ns", "up"])?;
        in_ns(&["ip", "link", "set", "lo", "up"])?;
        let tc = |ns: bool, dev: &str| -> Result<(), String> {
            let mut command = if ns {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", NETNS, "tc"]);
                c
            } else {
                Command::new("tc")
            };
            let status = command
                .args(["qdisc", "add", "dev", dev, "root", "netem", "delay", "50ms"])
                .stderr(Stdio::null())
                .status()
                .map_err(|e| format!("tc: {e}"))?;
            if status.success() {
                Ok(())
            } else {
                Err("tc netem is not available".into())
            }
        };
        tc(false, "vrs-host")?;
        tc(true, "vrs-ns")?;
        Ok(netns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["link", "del", "vrs-host"]);
        let _ = ip(&["netns", "del", NETNS]);
    }
}

/// Single stream vs 4 parallel parts over a 100 ms RTT link.
pub(super) fn netem_bench(release: &Path) -> Result<Vec<String>, String> {
    const SIZE: u64 = 256 * MIB;
    let _netns = Netns::create()?;
    let dir = data_root().join("netem-data");
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = Command::new("ip")
        .args(["netns", "exec", NETNS])
        .arg(release.join("examples/tus_server"))
        .arg("0")
        .arg(&dir)
        .env("TUS_HOST", "10.231.0.2")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the sandbox in the namespace: {e}"))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let _server = KillOnDrop(child);
    let endpoint = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or(format!("the sandbox did not start: {line:?}"))?
        .to_owned();
    let file = data_root().join("netem-source.bin");
    let bytes: Vec<u8> = (0..SIZE)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&file, bytes).map_err(|e| e.to_string())?;
    let mut lines = Vec::new();
    let mut single = 0.0;
    let mut last_rate = None;
    for parallel in [1usize, 4] {
        let mut best = Duration::MAX;
        let mut rss = 0;
        for _ in 0..2 {
            let child = Command::new(release.join("examples/upload"))
                .arg(&file)
                .arg(&endpoint)
                .arg((64 * MIB).to_string())
                .arg(parallel.to_string())
                .env("UPLOAD_QUIET", "1")
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| e.to_string())?;
            let Measured { wall, peak_kib, .. } = measure(child)?;
            let _ = std::fs::remove_dir_all(&dir);
            let _ = std::fs::create_dir_all(&dir);
            best = best.min(wall);
            rss = rss.max(peak_kib);
        }
        let rate = SIZE as f64 / MIB as f64 / best.as_secs_f64();
        if parallel == 1 {
            single = rate;
        } else {
            last_rate = Some(rate);
        }
        lines.push(format!(
            "{:<28} {:>9.1} MiB/s {:>7.2}x {:>10} KiB",
            if parallel == 1 {
                "tus, one stream (baseline)".to_owned()
            } else {
                format!("tus, {parallel} parallel parts")
            },
            rate,
            rate / single,
            rss
        ));
    }
    let _ = std::fs::remove_file(&file);
    if let Some(four) = last_rate.filter(|_| single > 0.0) {
        lines.push(format!(
            "target: --parallel 4 over 100 ms RTT: {:.2}x one stream (target >= 3.00: {})",
            four / single,
            super::met(four / single >= 3.0)
        ));
    }
    Ok(lines)
}
