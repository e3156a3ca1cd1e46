//! What one benchmarked process cost: wall time, CPU time and peak memory;
//! and what the machine was doing (cores, load) while it ran.

use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One finished run of a benchmarked process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Measured {
    pub(crate) wall: Duration,
    /// User + system CPU seconds of the process (and any children it reaped).
    pub(crate) cpu: f64,
    /// Peak resident set (VmHWM), KiB.
    pub(crate) peak_kib: u64,
}

impl Measured {
    /// The best of several runs: shortest wall time, least CPU, highest peak
    /// RSS (memory is reported at its worst).
    pub(crate) fn best(runs: &[Measured]) -> Measured {
        Measured {
            wall: runs.iter().map(|m| m.wall).min().unwrap_or_default(),
            cpu: runs.iter().map(|m| m.cpu).fold(f64::INFINITY, f64::min),
            peak_kib: runs.iter().map(|m| m.peak_kib).max().unwrap_or_default(),
        }
    }

    /// MiB per second for `bytes`.
    pub(crate) fn rate(&self, bytes: u64) -> f64 {
        bytes as f64 / (1 << 20) as f64 / self.wall.as_secs_f64()
    }
}

/// Waits for `child`, polling its peak RSS; its CPU time is the growth of
/// this process's reaped-children time across the wait (`/proc/self/stat`
/// cutime + cstime, in 10 ms ticks), so nothing is lost at exit.
pub(crate) fn measure(mut child: Child) -> Result<Measured, String> {
    let before = children_cpu();
    let started = Instant::now();
    let pid = child.id();
    let peak = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let poller = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Some(kib) = vm_hwm(pid) {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let status = child.wait().map_err(|e| e.to_string())?;
    let wall = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let _ = poller.join();
    if !status.success() {
        return Err(format!("benchmark process failed: {status}"));
    }
    Ok(Measured {
        wall,
        cpu: (children_cpu() - before).max(0.0),
        peak_kib: peak.load(Ordering::Relaxed),
    })
}

fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU seconds of this process's reaped children (Linux USER_HZ is 100).
fn children_cpu() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may hold
    // spaces): state is field 3, cutime 16, cstime 17.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let tick = |index: usize| {
        fields
            .get(index)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (tick(13) + tick(14)) as f64 / 100.0
}

/// A line naming the machine's cores and load, with a warning when the load
/// would distort the figures.
pub(crate) fn machine_line() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<f64>().ok());
    match load {
        Some(load) if load > 0.5 * cores as f64 => format!(
            "machine: {cores} cores, load {load:.2} — WARNING: the machine is busy; figures will be noisy (ratios less so: both sides run under the same load)"
        ),
        Some(load) => format!("machine: {cores} cores, load {load:.2}"),
        None => format!("machine: {cores} cores, load unknown"),
    }
}
