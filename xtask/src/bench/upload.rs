//! `cargo xtask bench upload`: 1 GiB over loopback to the sandbox, to the
//! sandbox discarding what it receives (so the clients are what is
//! measured) and to @tus/server, by curl and by our client at several chunk
//! sizes; the servers' own cost per PATCH; 16 uploads at once.

use std::path::Path;

use super::measure::Measured;
use super::{GIB, MIB, RUNS, Server, ServerStarter, best_of_rounds, build_upload_binaries};
use super::{curl_baseline, curl_chunked, first_pieces, pieces_of, print_table, row, run_ours};
use super::{data_root, empty_dir, figure, met};
use super::{source_file, start_sandbox, start_sandbox_with};

/// One client setup measured against a server.
#[derive(Clone, Copy)]
enum Contender {
    /// curl, the whole file in one PATCH: the baseline.
    CurlWhole,
    /// curl, the same chunks as ours, one PATCH each over one connection.
    CurlChunks(u64),
    /// Our client: chunk size and parallel parts.
    Ours(u64, usize),
}

impl Contender {
    fn label(self) -> String {
        match self {
            Contender::CurlWhole => "curl (baseline)".into(),
            Contender::CurlChunks(chunk) => format!("curl, {} MiB chunks", chunk / MIB),
            Contender::Ours(chunk, 1) => format!("tus, {} MiB chunks", chunk / MIB),
            Contender::Ours(chunk, parts) => format!("tus, {parts}×{} MiB parallel", chunk / MIB),
        }
    }
}

/// The contenders against one server, in table order: the baseline, then
/// ours at each chunk size, each followed by curl with the same chunks;
/// 4 parallel parts where the server joins them (the storing sandbox).
fn contenders(server: &str) -> Vec<Contender> {
    let mut all = vec![Contender::CurlWhole];
    for chunk in [8 * MIB, 128 * MIB] {
        all.push(Contender::Ours(chunk, 1));
        all.push(Contender::CurlChunks(chunk));
    }
    all.push(Contender::Ours(GIB, 1));
    if server == "sandbox" {
        all.push(Contender::Ours(128 * MIB, 4));
    }
    all
}

pub(super) fn upload_bench() -> Result<(), String> {
    let release = build_upload_binaries()?;
    let file = source_file()?;
    let mut report = Vec::new();
    let mut verdicts = Vec::new();
    // What each server's per-request cost leaves any client (printed, not a target).
    let mut limits = Vec::new();
    let mut servers: Vec<(&str, ServerStarter<'_>)> = vec![
        ("sandbox", Box::new(|| start_sandbox(&release))),
        (
            "discarding",
            Box::new(|| start_sandbox_with(&release, true)),
        ),
    ];
    if crate::node::available() {
        let install = crate::node::install()?;
        servers.push((
            "@tus/server",
            Box::new(move || {
                let node = crate::node::start(&install, &data_root().join("node-data"))?;
                Ok(Server {
                    endpoint: node.endpoint.clone(),
                    dir: node.dir.clone(),
                    _process: Box::new(node),
                })
            }),
        ));
    } else {
        eprintln!("!!!!!!!! NODE NOT FOUND: benchmarking against the sandbox only !!!!!!!!");
    }
    let mut worst_rss = 0;
    for (name, start) in &servers {
        let server = start()?;
        let contenders = contenders(name);
        let mut pieces = Vec::new();
        for contender in &contenders {
            if let Contender::CurlChunks(chunk) = contender {
                pieces.push((*chunk, pieces_of(&file, *chunk)?));
            }
        }
        let run = |contender: Contender| match contender {
            Contender::CurlWhole => curl_baseline(&server.endpoint, &file),
            Contender::CurlChunks(chunk) => {
                let (_, pieces) = pieces
                    .iter()
                    .find(|(c, _)| *c == chunk)
                    .ok_or("no pieces")?;
                curl_chunked(&server.endpoint, pieces)
            }
            Contender::Ours(chunk, parts) => {
                run_ours(&release, &file, &server.endpoint, chunk, parts, None)
            }
        };
        // Rounds interleave the contenders, so a server that slows down as
        // it runs (a growing heap, a filling tmpfs) weighs on each alike;
        // the best of RUNS is kept, as loopback throughput is noisy.
        let best = best_of_rounds(&contenders, RUNS, run, &server.dir)?;
        let curl = best[0];
        let of = |wanted: &dyn Fn(Contender) -> bool| {
            contenders.iter().position(|c| wanted(*c)).map(|i| best[i])
        };
        for (contender, measured) in contenders.iter().zip(&best) {
            let base = (!matches!(contender, Contender::CurlWhole)).then_some(&curl);
            report.push(row(name, &contender.label(), measured, GIB, base));
            if let Contender::Ours(..) = contender {
                worst_rss = worst_rss.max(measured.peak_kib);
            }
            if let Contender::Ours(chunk, 1) = contender {
                let Some(same) = of(&|c| matches!(c, Contender::CurlChunks(c) if c == *chunk))
                else {
                    continue;
                };
                let speed = measured.rate(GIB) / curl.rate(GIB);
                let cpu = measured.cpu / curl.cpu.max(0.01);
                verdicts.push(format!(
                    "{name}, {} MiB chunks: speed {}x curl (target >= 1.00: {}; {:.2}x curl sending the same chunks), CPU {}x curl's (target <= 1.20: {})",
                    chunk / MIB,
                    figure(speed, 1.0, 2),
                    met(speed >= 1.0),
                    measured.rate(GIB) / same.rate(GIB),
                    figure(cpu, 1.2, 2),
                    met(cpu <= 1.2)
                ));
            }
        }
        match per_request_cost(&server.endpoint, &file, &curl) {
            Ok(cost) => limits.push(bound_line(name, cost, &curl)),
            Err(reason) => limits.push(format!("{name}: per-PATCH cost NOT MEASURED: {reason}")),
        }
        empty_dir(&server.dir);
    }
    let concurrent = concurrent_row(&release, &file);
    if let Ok((line, rss)) = &concurrent {
        report.push(line.clone());
        verdicts.push(format!(
            "16 concurrent uploads through one client: peak RSS {:.1} MiB (target <= 32: {})",
            *rss as f64 / 1024.0,
            met(*rss <= 32 * 1024)
        ));
    }
    verdicts.push(format!(
        "single uploads: worst peak RSS {:.1} MiB (target <= 16 at every chunk size: {})",
        worst_rss as f64 / 1024.0,
        met(worst_rss <= 16 * 1024)
    ));
    println!(
        "\nupload of 1 GiB over loopback, best of {RUNS} interleaved rounds (ratios against a single curl PATCH to the same server in the same run)"
    );
    print_table(&report);
    println!(
        "(the parallel row includes the sandbox joining the parts: one more 1 GiB copy on the server;\n \"discarding\" is the sandbox counting PATCH bytes without storing them: the clients are what is measured)"
    );
    if let Err(reason) = concurrent {
        println!("!!!!!!!! 16-UPLOAD ROW FAILED: {reason} !!!!!!!!");
    }
    for limit in limits {
        println!("limit: {limit}");
    }
    for verdict in verdicts {
        println!("target: {verdict}");
    }
    Ok(())
}

/// PATCHes in the per-request probe, and the bytes each carries.
const PROBE_PATCHES: u64 = 256;
const PROBE_BYTES: u64 = 64 * 1024;

/// What one PATCH costs beyond its bytes at this server: curl sends
/// [`PROBE_PATCHES`] small ones over one connection (best of [`RUNS`]); the
/// time their bytes take at the whole-file rate is taken off.
fn per_request_cost(endpoint: &str, file: &Path, whole: &Measured) -> Result<f64, String> {
    let pieces = first_pieces(file, PROBE_BYTES, PROBE_PATCHES)?;
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        runs.push(curl_chunked(endpoint, &pieces)?);
    }
    let probe = Measured::best(&runs);
    let bytes_time = (PROBE_PATCHES * PROBE_BYTES) as f64 / (whole.rate(GIB) * MIB as f64);
    Ok(((probe.wall.as_secs_f64() - bytes_time) / PROBE_PATCHES as f64).max(0.0))
}

/// The server's cost per PATCH and the speed it leaves any client at each
/// chunk size, as a ratio to one PATCH of the whole file.
fn bound_line(name: &str, per_patch: f64, whole: &Measured) -> String {
    let whole_time = whole.wall.as_secs_f64();
    let bounds: Vec<String> = [8 * MIB, 128 * MIB]
        .iter()
        .map(|chunk| {
            let patches = GIB.div_ceil(*chunk) as f64;
            let bound = whole_time / (whole_time + patches * per_patch);
            format!("{:.2}x at {} MiB", bound, chunk / MIB)
        })
        .collect();
    format!(
        "{name}: {:.2} ms per PATCH beyond its bytes ({PROBE_PATCHES} PATCHes of {} KiB by curl), which leaves any client at most {} of curl's single PATCH",
        per_patch * 1e3,
        PROBE_BYTES / 1024,
        bounds.join(", ")
    )
}

/// 16 uploads of 64 MiB at once through one client (1 GiB in all) against the
/// sandbox: memory must stay flat with many uploads in flight. The row and
/// the peak RSS in KiB.
fn concurrent_row(release: &Path, big: &Path) -> Result<(String, u64), String> {
    const COUNT: u64 = 16;
    let small = data_root().join("source-64m.bin");
    if std::fs::metadata(&small).map(|m| m.len()).ok() != Some(GIB / COUNT) {
        let mut input = std::fs::File::open(big).map_err(|e| e.to_string())?;
        let mut output = std::fs::File::create(&small).map_err(|e| e.to_string())?;
        std::io::copy(
            &mut std::io::Read::take(&mut input, GIB / COUNT),
            &mut output,
        )
        .map_err(|e| e.to_string())?;
    }
    let server = start_sandbox(release)?;
    let curl = curl_baseline(&server.endpoint, big)?;
    empty_dir(&server.dir);
    let run = |count| run_ours(release, &small, &server.endpoint, 8 * MIB, 1, Some(count));
    // One contender: its best of RUNS.
    let ours = best_of_rounds(&[COUNT], RUNS, run, &server.dir)?[0];
    Ok((
        row(
            "sandbox",
            &format!("tus, {COUNT}×64 MiB at once"),
            &ours,
            GIB,
            Some(&curl),
        ),
        ours.peak_kib,
    ))
}
