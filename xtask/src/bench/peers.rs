//! `cargo xtask bench peers`: the same 1 GiB to the same @tus/server by curl,
//! our client, tus-js-client (Node) and tuspy (Python), at 8 MiB and 128 MiB
//! chunks, with MiB/s, CPU seconds and peak RSS per client and our ratio to
//! the best peer. The peers are installed under `target/bench-peers` from
//! the lockfiles in `tests/peers/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::measure::{Measured, measure};
use super::{GIB, MIB, RUNS, Server, build_upload_binaries, curl_baseline, data_root, met};
use super::{print_table, row};
use super::{run_ours, source_file};

/// Installs tus-js-client (npm ci) and tuspy (pip, in a venv); returns the
/// directory and the venv's python.
fn install_peers() -> Result<(PathBuf, PathBuf), String> {
    let dest = crate::node::install_package(
        "tests/peers",
        "bench-peers",
        &[
            "package.json",
            "package-lock.json",
            "upload.mjs",
            "upload.py",
            "requirements.txt",
        ],
        "tus-js-client",
    )?;
    let requirements = dest.join("requirements.txt");
    let python = crate::run::ensure_venv(
        "python3",
        &dest.join("venv"),
        "import tusclient",
        &["-r".as_ref(), requirements.as_os_str()],
    )?;
    Ok((dest, python))
}

fn run_peer(mut command: Command) -> Result<Measured, String> {
    command.stdout(Stdio::null());
    measure(command.spawn().map_err(|e| e.to_string())?)
}

pub(super) fn peers_bench() -> Result<(), String> {
    if !crate::node::available() {
        println!(
            "\n!!!!!!!! NODE NOT FOUND: the peer benchmark (@tus/server, tus-js-client) did NOT run !!!!!!!!"
        );
        return Ok(());
    }
    let release = build_upload_binaries()?;
    let file = source_file()?;
    let (peers, python) = install_peers()?;
    let install = crate::node::install()?;
    let node = crate::node::start(&install, &data_root().join("peers-node-data"))?;
    let server = Server {
        endpoint: node.endpoint.clone(),
        dir: node.dir.clone(),
        _process: Box::new(node),
    };
    let clear = || {
        let _ = std::fs::remove_dir_all(&server.dir);
        let _ = std::fs::create_dir_all(&server.dir);
    };
    let best_of = |run: &dyn Fn() -> Result<Measured, String>| -> Result<Measured, String> {
        let mut runs = Vec::new();
        for _ in 0..RUNS {
            runs.push(run()?);
            clear();
        }
        Ok(Measured::best(&runs))
    };
    let curl = best_of(&|| curl_baseline(&server.endpoint, &file))?;
    let mut lines = vec![row("@tus/server", "curl (baseline)", &curl, GIB, None)];
    let mut verdicts = Vec::new();
    for chunk in [8 * MIB, 128 * MIB] {
        let ours = best_of(&|| run_ours(&release, &file, &server.endpoint, chunk, 1, None))?;
        let js = best_of(&|| run_peer(node_peer(&peers, &file, &server.endpoint, chunk)))?;
        let py =
            best_of(&|| run_peer(python_peer(&python, &peers, &file, &server.endpoint, chunk)))?;
        let size = chunk / MIB;
        lines.push(row(
            "@tus/server",
            &format!("ours, {size} MiB"),
            &ours,
            GIB,
            Some(&curl),
        ));
        lines.push(row(
            "@tus/server",
            &format!("tus-js-client, {size} MiB"),
            &js,
            GIB,
            Some(&curl),
        ));
        lines.push(row(
            "@tus/server",
            &format!("tuspy, {size} MiB"),
            &py,
            GIB,
            Some(&curl),
        ));
        let best_peer = js.rate(GIB).max(py.rate(GIB));
        let ratio = ours.rate(GIB) / best_peer;
        verdicts.push(format!(
            "{size} MiB chunks: ours {ratio:.2}x the best peer (target >= 1.50: {}); peak RSS ours {:.1} MiB, tus-js-client {:.1}, tuspy {:.1}",
            met(ratio >= 1.5),
            ours.peak_kib as f64 / 1024.0,
            js.peak_kib as f64 / 1024.0,
            py.peak_kib as f64 / 1024.0
        ));
    }
    println!(
        "\nthe same 1 GiB to the same @tus/server, best of {RUNS} runs (speed and CPU as ratios to a single curl PATCH)"
    );
    print_table(&lines);
    for verdict in verdicts {
        println!("target: {verdict}");
    }
    Ok(())
}

fn node_peer(peers: &Path, file: &Path, endpoint: &str, chunk: u64) -> Command {
    let mut command = Command::new("node");
    command
        .arg(peers.join("upload.mjs"))
        .arg(file)
        .arg(endpoint)
        .arg(chunk.to_string())
        .current_dir(peers);
    command
}

fn python_peer(python: &Path, peers: &Path, file: &Path, endpoint: &str, chunk: u64) -> Command {
    let mut command = Command::new(python);
    command
        .arg(peers.join("upload.py"))
        .arg(file)
        .arg(endpoint)
        .arg(chunk.to_string());
    command
}
