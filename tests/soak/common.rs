//! What every leg shares: source files, byte comparison, event counting, and
//! turning planned faults into the sandbox's and reading its request log.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::Method;
use integration_tests::soak::{
    FaultKind, PlannedFault, Rng, Target, UploadPlan, UploadResult, request_bound,
};
use sandbox::{Fault, LoggedRequest};

/// How long the clients wait without progress before giving up on a request;
/// stalls last longer than this.
pub(crate) const STALL_TIMEOUT: Duration = Duration::from_millis(400);
pub(crate) const STALL: Duration = Duration::from_millis(1200);

/// Calls of one upload before the campaign calls it failed.
pub(crate) const MAX_CALLS: u64 = 4;

/// Writes the plan's content (seeded, so a failure can be replayed) to `dir`.
pub(crate) fn write_source(dir: &Path, plan: &UploadPlan) -> std::io::Result<PathBuf> {
    let path = dir.join(format!("source-{}.bin", plan.index));
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
    let mut rng = Rng::new(plan.content_seed);
    let mut block = vec![0u8; 1 << 20];
    let mut left = plan.size;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        rng.fill(&mut block[..n]);
        file.write_all(&block[..n])?;
        left -= n as u64;
    }
    file.flush()?;
    Ok(path)
}

/// `None` if the two files hold the same bytes, else where they differ.
pub(crate) fn compare(source: &Path, stored: &Path) -> Option<String> {
    let open = |path: &Path| {
        std::fs::File::open(path)
            .map(|f| std::io::BufReader::with_capacity(1 << 20, f))
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    let (mut a, mut b) = match (open(source), open(stored)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Some(e),
    };
    let (mut x, mut y) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    let mut at = 0u64;
    loop {
        let n = match read_full(&mut a, &mut x) {
            Ok(n) => n,
            Err(e) => return Some(e.to_string()),
        };
        let m = match read_full(&mut b, &mut y) {
            Ok(m) => m,
            Err(e) => return Some(e.to_string()),
        };
        if n != m || x[..n] != y[..m] {
            let first = x[..n.min(m)]
                .iter()
                .zip(&y[..n.min(m)])
                .position(|(p, q)| p != q)
                .unwrap_or(n.min(m));
            return Some(format!(
                "stored bytes differ from the source at byte {}",
                at + first as u64
            ));
        }
        if n == 0 {
            return None;
        }
        at += n as u64;
    }
}

fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Retries and restarts a client reported through its events.
#[derive(Debug, Default, Clone)]
pub(crate) struct Counters {
    pub(crate) retries: Arc<AtomicU64>,
    pub(crate) restarts: Arc<AtomicU64>,
}

impl Counters {
    pub(crate) fn on_event(&self) -> impl Fn(&tus::Event) + Send + Sync + 'static {
        let counters = self.clone();
        move |event| match event {
            tus::Event::Retrying { .. } => {
                counters.retries.fetch_add(1, Ordering::Relaxed);
            }
            tus::Event::Restarted { .. } => {
                counters.restarts.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    pub(crate) fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    pub(crate) fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }
}

/// The sandbox's version of a planned fault.
pub(crate) fn sandbox_fault(kind: FaultKind) -> Fault {
    match kind {
        FaultKind::Cut { bytes, lose } => Fault::CutAfter { bytes, lose },
        FaultKind::Status {
            status,
            retry_after,
        } => Fault::Status {
            status,
            retry_after,
        },
        FaultKind::Stall => Fault::Stall(STALL),
        FaultKind::Expire => Fault::Expire,
    }
}

/// Plans the upload's faults on a sandbox tus server, relative to the
/// requests it has seen so far.
pub(crate) fn inject(faults: &sandbox::Faults, plan: &UploadPlan) {
    for PlannedFault { target, kind } in &plan.faults {
        let (method, later) = match *target {
            Target::Patch(n) => (Method::PATCH, n),
            Target::Head(n) => (Method::HEAD, n),
        };
        faults.inject_later(method, later, sandbox_fault(*kind));
    }
}

/// The name of a fault the sandbox applied.
pub(crate) fn fault_name(fault: &Fault) -> &'static str {
    match fault {
        Fault::CutAfter { .. } => "cut",
        Fault::Status { status: 500, .. } => "500",
        Fault::Status { status: 503, .. } => "503",
        Fault::Status { status: 423, .. } => "423",
        Fault::Status { status: 429, .. } => "429",
        Fault::Status { status: 409, .. } => "409",
        Fault::Stall(_) => "stall",
        Fault::Expire => "expired",
        _ => "other",
    }
}

/// Fills in what the server's log says about one upload's requests.
pub(crate) fn from_log(result: &mut UploadResult, log: &[LoggedRequest]) {
    result.requests = log.len() as u64;
    result.faults = log
        .iter()
        .filter_map(|r| r.fault.as_ref().map(fault_name))
        .collect();
    result.resent = log
        .iter()
        .map(LoggedRequest::resent_acknowledged_bytes)
        .sum();
}

/// Settles the server's log for one upload (started at log entry `before`),
/// clears its unfired faults and fills in what the log and the client's events
/// say, with the request bound.
pub(crate) async fn account(
    plan: &UploadPlan,
    result: &mut UploadResult,
    counters: &Counters,
    server: &sandbox::TusServer,
    before: usize,
) {
    if plan.faults.iter().any(|f| f.kind == FaultKind::Stall) {
        finished(server).await;
    }
    server.faults().clear();
    let log = server.requests();
    from_log(result, &log[before..]);
    if result.resent > 0 {
        print_log(plan.index, &log[before..]);
    }
    result.retries = counters.retries();
    result.restarts = counters.restarts();
    result.bound = request_bound(
        plan.chunks(),
        result.faults.len() as u64,
        result.faults.iter().filter(|f| **f == "stall").count() as u64,
        result.restarts,
        result.reruns,
    );
}

/// A request that stalled is still being handled (and logged) after the client
/// gave up on it: waits until the server handles no request.
pub(crate) async fn finished(server: &sandbox::TusServer) {
    for _ in 0..10 * STALL.as_millis() {
        if server.requests_in_flight() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("the server still handles a request 10 stalls later");
}

/// Removes the files a server kept (expired uploads included), so a long
/// campaign does not fill the disk.
pub(crate) fn empty_dir(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// The requests of an upload that re-sent acknowledged bytes, for the report.
pub(crate) fn print_log(index: usize, log: &[LoggedRequest]) {
    println!("  upload {index}: requests as the server saw them:");
    for r in log {
        println!(
            "    {} offset {:?} length {:?} acknowledged {:?} stored {} status {:?} fault {:?}",
            r.method,
            r.upload_offset,
            r.content_length,
            r.acknowledged,
            r.body_stored,
            r.status,
            r.fault
        );
    }
}
