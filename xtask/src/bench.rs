//! `cargo xtask bench`: criterion benchmarks and the upload benchmark, each
//! reported as ratios against a baseline measured in the same run.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::run::{cargo, run_status, target_dir};

mod criterion;
mod latency;
mod measure;
mod peers;
mod upload;
use criterion::{cache_summary, oauth1_summary};
use latency::latency_bench;
use measure::{Measured, machine_line, measure};
use upload::upload_bench;

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;
/// Runs per row; the best time and the highest peak RSS are reported.
const RUNS: usize = 5;

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let only = args.first().map(String::as_str);
    if !matches!(
        only,
        None | Some("oauth1" | "upload" | "cache" | "peers" | "latency")
    ) {
        return Err(format!(
            "`bench` takes an optional `oauth1`, `cache`, `upload`, `latency` or `peers` (got {only:?})"
        ));
    }
    println!("{}", machine_line());
    if matches!(only, None | Some("cache")) {
        let args = [
            "bench",
            "-p",
            "vimeo-cache",
            "--features",
            "sled,redis",
            "--bench",
            "cache",
        ];
        if !run_status(cargo().args(args))? {
            return Err("the cache benchmark failed".into());
        }
        cache_summary(&target_dir().join("criterion"))?;
    }
    if matches!(only, None | Some("oauth1")) {
        let criterion = target_dir().join("criterion");
        let paired = criterion.join("oauth1_paired.tsv");
        let _ = std::fs::remove_file(&paired);
        let mut bench = cargo();
        bench
            .args(["bench", "-p", "vimeo-oauth1", "--bench", "sign"])
            .env("OAUTH1_PAIRED_OUT", &paired);
        if !run_status(&mut bench)? {
            return Err("the oauth1 benchmark failed".into());
        }
        oauth1_summary(&criterion, &paired)?;
    }
    if matches!(only, None | Some("upload")) {
        upload_bench()?;
    }
    if matches!(only, None | Some("latency")) {
        latency_section(&build_upload_binaries()?);
    }
    if matches!(only, None | Some("peers")) {
        peers::peers_bench()?;
    }
    println!("{}", machine_line());
    Ok(())
}

/// A 1 GiB source file of incompressible bytes, made once.
fn source_file() -> Result<PathBuf, String> {
    let path = target_dir().join("bench/source-1GiB.bin");
    if std::fs::metadata(&path).is_ok_and(|m| m.len() == GIB) {
        return Ok(path);
    }
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).map_err(|e| e.to_string())?;
    let mut file =
        std::io::BufWriter::new(std::fs::File::create(&path).map_err(|e| e.to_string())?);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut block = vec![0u8; MIB as usize];
    for _ in 0..GIB / MIB {
        for byte in block.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state as u8;
        }
        file.write_all(&block).map_err(|e| e.to_string())?;
    }
    file.flush().map_err(|e| e.to_string())?;
    Ok(path)
}

/// Starts one server under test.
type ServerStarter<'a> = Box<dyn Fn() -> Result<Server, String> + 'a>;

/// Where servers under test store uploads: tmpfs when there is one, so disk
/// writeback noise does not swamp the comparison (both sides hit the same server).
fn data_root() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.join("vimeo-rs-bench")
    } else {
        target_dir().join("bench")
    }
}

/// A server under test; dropping `_process` stops it.
struct Server {
    endpoint: String,
    dir: PathBuf,
    _process: Box<dyn std::any::Any>,
}

/// Kills a child process on drop.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_sandbox(release_dir: &Path) -> Result<Server, String> {
    start_sandbox_with(release_dir, false)
}

/// The sandbox; with `discard`, one that counts PATCH bytes without storing
/// them, so the client rather than the server's storage is measured.
fn start_sandbox_with(release_dir: &Path, discard: bool) -> Result<Server, String> {
    let dir = data_root().join("sandbox-data");
    let _ = std::fs::remove_dir_all(&dir);
    let mut command = Command::new(release_dir.join("examples/tus_server"));
    command.arg("0").arg(&dir);
    if discard {
        command.env("TUS_DISCARD", "1");
    }
    let (child, endpoint) = start_listening(command, "the sandbox")?;
    Ok(Server {
        endpoint,
        dir,
        _process: Box::new(child),
    })
}

/// Starts `command`, waits for its `listening on ADDR` line; the child (killed
/// on drop) and the address.
fn start_listening(mut command: Command, what: &str) -> Result<(KillOnDrop, String), String> {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let child = KillOnDrop(child);
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or(format!("{what} did not start: {line:?}"))?
        .to_owned();
    Ok((child, addr))
}

/// Creates an upload with curl and PATCHes the whole file in one streamed request.
fn curl_baseline(endpoint: &str, file: &Path) -> Result<Measured, String> {
    curl_chunked(endpoint, &[file.to_path_buf()])
}

/// Creates a 1 GiB upload with curl; its URL.
fn curl_create(endpoint: &str) -> Result<String, String> {
    let created = Command::new("curl")
        .args([
            "-sS",
            "-i",
            "-X",
            "POST",
            "-H",
            "Tus-Resumable: 1.0.0",
            "-H",
            &format!("Upload-Length: {GIB}"),
            endpoint,
        ])
        .output()
        .map_err(|e| format!("curl: {e}"))?;
    let head = String::from_utf8_lossy(&created.stdout);
    let location = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("location"))
                .map(|(_, v)| v.trim().to_owned())
        })
        .ok_or(format!("curl POST got no Location: {head}"))?;
    Ok(if location.starts_with("http") {
        location
    } else {
        let origin: String = endpoint.split('/').take(3).collect::<Vec<_>>().join("/");
        if location.starts_with('/') {
            format!("{origin}{location}")
        } else {
            format!("{}/{location}", endpoint.trim_end_matches('/'))
        }
    })
}

/// Creates an upload with curl and PATCHes `pieces` (consecutive parts of
/// the 1 GiB file) in one curl process, one streamed PATCH each over one
/// kept-alive connection (`--next`): what our client does at that chunk size.
fn curl_chunked(endpoint: &str, pieces: &[PathBuf]) -> Result<Measured, String> {
    let url = curl_create(endpoint)?;
    let mut command = Command::new("curl");
    let mut offset = 0;
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 {
            command.arg("--next");
        }
        command
            .args(["-sS", "-o", "/dev/null", "-X", "PATCH"])
            .args(["-H", "Tus-Resumable: 1.0.0"])
            .args(["-H", &format!("Upload-Offset: {offset}")])
            .args(["-H", "Content-Type: application/offset+octet-stream", "-T"])
            .arg(piece)
            .arg(&url);
        offset += std::fs::metadata(piece).map_err(|e| e.to_string())?.len();
    }
    measure(command.spawn().map_err(|e| format!("curl: {e}"))?)
}

/// The 1 GiB file cut into `chunk`-byte pieces (made once, beside it).
fn pieces_of(file: &Path, chunk: u64) -> Result<Vec<PathBuf>, String> {
    first_pieces(file, chunk, GIB.div_ceil(chunk))
}

/// The first `count` `chunk`-byte pieces of the 1 GiB file (made once,
/// beside it).
fn first_pieces(file: &Path, chunk: u64, count: u64) -> Result<Vec<PathBuf>, String> {
    let dir = target_dir().join(format!("bench/pieces-{}k", chunk / 1024));
    let paths: Vec<PathBuf> = (0..count).map(|i| dir.join(format!("{i:05}"))).collect();
    if paths.iter().all(|p| std::fs::metadata(p).is_ok()) {
        return Ok(paths);
    }
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut input = std::fs::File::open(file).map_err(|e| e.to_string())?;
    for path in &paths {
        let mut output = std::fs::File::create(path).map_err(|e| e.to_string())?;
        std::io::copy(&mut std::io::Read::take(&mut input, chunk), &mut output)
            .map_err(|e| e.to_string())?;
    }
    Ok(paths)
}

/// Runs our upload client (the `upload` example: the tus crate in a
/// minimal binary) once.
fn run_ours(
    release: &Path,
    file: &Path,
    endpoint: &str,
    chunk: u64,
    parallel: usize,
    concurrent: Option<u64>,
) -> Result<Measured, String> {
    let mut command = Command::new(release.join("examples/upload"));
    command
        .arg(file)
        .arg(endpoint)
        .arg(chunk.to_string())
        .arg(parallel.to_string())
        .env("UPLOAD_QUIET", "1")
        .stdout(Stdio::null());
    if let Some(count) = concurrent {
        command.env("UPLOAD_CONCURRENT", count.to_string());
    }
    measure(command.spawn().map_err(|e| e.to_string())?)
}

/// Builds the release binaries the upload benchmarks run.
pub(crate) fn build_upload_binaries() -> Result<PathBuf, String> {
    if Command::new("curl").arg("--version").output().is_err() {
        return Err("curl is needed for the upload baseline".into());
    }
    if !run_status(cargo().args([
        "build",
        "--release",
        "-p",
        "vimeo-tus",
        "--example",
        "upload",
        "-p",
        "vimeo-sandbox",
        "--example",
        "tus_server",
        "--example",
        "latency_link",
    ]))? {
        return Err("building the upload benchmark failed".into());
    }
    Ok(target_dir().join("release"))
}

/// The upload table: a header, then the rows made by [`row`].
fn print_table(rows: &[String]) {
    println!(
        "{:<12} {:<24} {:>7} {:>7} {:>8} {:>7} {:>13}",
        "server", "client", "MiB/s", "speed", "CPU s/GiB", "CPU", "peak RSS"
    );
    for line in rows {
        println!("{line}");
    }
}

/// One row of the upload table.
fn row(server: &str, client: &str, m: &Measured, bytes: u64, base: Option<&Measured>) -> String {
    let gib = bytes as f64 / GIB as f64;
    let (ratio, cpu_ratio) = match base {
        Some(base) => (
            format!("{:.2}x", m.rate(bytes) / base.rate(bytes)),
            format!("{:.2}x", m.cpu / base.cpu.max(0.01)),
        ),
        None => ("1.00x".into(), "1.00x".into()),
    };
    format!(
        "{server:<12} {client:<24} {:>7.0} {:>7} {:>8.2} {:>7} {:>9.1} MiB",
        m.rate(bytes),
        ratio,
        m.cpu / gib,
        cpu_ratio,
        m.peak_kib as f64 / 1024.0
    )
}

/// `--parallel 4` against one stream over a slow link, printed.
fn latency_section(release: &Path) {
    match latency_bench(release) {
        Ok(lines) => {
            println!("\n{}", latency::heading());
            for line in lines {
                println!("{line}");
            }
        }
        Err(reason) => println!("\n!!!!!!!! LATENCY BENCH FAILED: {reason} !!!!!!!!"),
    }
}

/// Each contender's best of `rounds` (see [`Measured::best`]): every round
/// runs each contender once, in order, and empties `server_dir` (the
/// server's uploads) after every run, so a slow spell of this machine weighs
/// on every contender alike, not on the one it happened to meet.
pub(crate) fn best_of_rounds<C: Copy>(
    contenders: &[C],
    rounds: usize,
    mut run: impl FnMut(C) -> Result<Measured, String>,
    server_dir: &Path,
) -> Result<Vec<Measured>, String> {
    let mut runs = vec![Vec::new(); contenders.len()];
    for _ in 0..rounds {
        for (contender, runs) in contenders.iter().zip(&mut runs) {
            runs.push(run(*contender)?);
            empty_dir(server_dir);
        }
    }
    Ok(runs.iter().map(|runs| Measured::best(runs)).collect())
}

/// Removes what `dir` holds (a server's uploads), keeping `dir`.
pub(crate) fn empty_dir(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::create_dir_all(dir);
}

/// "met" or "NOT MET", for the target lines.
pub(crate) fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT MET" }
}

/// A figure for a target line with `decimals` decimals, or one more where
/// those would print the target itself beside a verdict that says
/// otherwise ("1.00x … NOT MET" for 0.998).
pub(crate) fn figure(value: f64, target: f64, decimals: usize) -> String {
    let short = format!("{value:.decimals$}");
    if short == format!("{target:.decimals$}") && value != target {
        format!("{value:.0$}", decimals + 1)
    } else {
        short
    }
}

#[cfg(test)]
mod tests {
    use super::figure;

    #[test]
    fn a_figure_never_prints_as_its_target_with_the_other_verdict() {
        assert_eq!(figure(0.998, 1.0, 2), "0.998");
        assert_eq!(figure(1.004, 1.0, 2), "1.004");
        assert_eq!(figure(1.0, 1.0, 2), "1.00");
        assert_eq!(figure(1.234, 1.0, 2), "1.23");
        assert_eq!(figure(0.7, 1.2, 2), "0.70");
        assert_eq!(figure(32.96, 33.0, 1), "32.96");
        assert_eq!(figure(38.64, 33.0, 1), "38.6");
    }
}
