//! `cargo xtask bench peers`: the same 1 GiB to the same @tus/server by curl,
//! our client, tus-js-client (Node) and tuspy (Python), at 8 MiB and 128 MiB
//! chunks, with MiB/s, CPU seconds and peak RSS per client and our ratio to
//! the best peer; then the same race against the sandbox, a server fast
//! enough not to be the limit. The peers are installed under `target/bench-peers` from
//! the lockfiles in `tests/peers/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::measure::{Measured, measure};
use super::start_sandbox;
use super::{GIB, MIB, RUNS, Server, best_of_rounds, build_upload_binaries, curl_baseline};
use super::{data_root, met};
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
    let node = Server {
        endpoint: node.endpoint.clone(),
        dir: node.dir.clone(),
        _process: Box::new(node),
    };
    let mut lines = Vec::new();
    let mut verdicts = Vec::new();
    // @tus/server is the issue's server; it caps every client near curl's
    // speed, so the same race is run again against the sandbox, which does
    // not, to show the clients' own limits.
    for (name, server) in [("@tus/server", node), ("sandbox", start_sandbox(&release)?)] {
        let clients = Clients {
            release: &release,
            file: &file,
            peers: &peers,
            python: &python,
            server: &server,
        };
        clients.race(name, &mut lines, &mut verdicts)?;
    }
    println!(
        "\nthe same 1 GiB to the same server, best of {RUNS} interleaved rounds (speed and CPU as ratios to a single curl PATCH to that server)"
    );
    print_table(&lines);
    for verdict in verdicts {
        println!("target: {verdict}");
    }
    Ok(())
}

/// One client of a race, with its chunk size.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Client {
    /// curl, the whole file in one PATCH: the baseline.
    Curl,
    Ours(u64),
    TusJs(u64),
    Tuspy(u64),
}

/// Everything one race needs: our binary, the peers, the file, the server.
struct Clients<'a> {
    release: &'a Path,
    file: &'a Path,
    peers: &'a Path,
    python: &'a Path,
    server: &'a Server,
}

impl Clients<'_> {
    /// curl, then ours and both peers at 8 and 128 MiB chunks: table rows
    /// and a verdict per chunk size. Rounds interleave the clients (the
    /// server's files cleared after each run), the best of [`RUNS`] kept.
    fn race(
        &self,
        name: &str,
        lines: &mut Vec<String>,
        verdicts: &mut Vec<String>,
    ) -> Result<(), String> {
        let (file, endpoint) = (self.file, self.server.endpoint.as_str());
        const CHUNKS: [u64; 2] = [8 * MIB, 128 * MIB];
        let mut clients = vec![Client::Curl];
        for chunk in CHUNKS {
            clients.extend([
                Client::Ours(chunk),
                Client::TusJs(chunk),
                Client::Tuspy(chunk),
            ]);
        }
        let run = |client| match client {
            Client::Curl => curl_baseline(endpoint, file),
            Client::Ours(chunk) => run_ours(self.release, file, endpoint, chunk, 1, None),
            Client::TusJs(chunk) => run_peer(node_peer(self.peers, file, endpoint, chunk)),
            Client::Tuspy(chunk) => {
                run_peer(python_peer(self.python, self.peers, file, endpoint, chunk))
            }
        };
        let best = best_of_rounds(&clients, RUNS, run, &self.server.dir)?;
        let of = |wanted: Client| {
            let at = clients.iter().position(|c| *c == wanted);
            best[at.expect("every client is in the race")]
        };
        let curl = of(Client::Curl);
        lines.push(row(name, "curl (baseline)", &curl, GIB, None));
        for chunk in CHUNKS {
            let (ours, js, py) = (
                of(Client::Ours(chunk)),
                of(Client::TusJs(chunk)),
                of(Client::Tuspy(chunk)),
            );
            let size = chunk / MIB;
            for (client, measured) in [("ours", &ours), ("tus-js-client", &js), ("tuspy", &py)] {
                let label = format!("{client}, {size} MiB");
                lines.push(row(name, &label, measured, GIB, Some(&curl)));
            }
            let best_peer = js.rate(GIB).max(py.rate(GIB));
            let ratio = ours.rate(GIB) / best_peer;
            verdicts.push(format!(
                "{name}, {size} MiB chunks: ours {}x the best peer (target >= 1.50: {}; curl itself {:.2}x the best peer); peak RSS ours {:.1} MiB, tus-js-client {:.1}, tuspy {:.1}",
                super::figure(ratio, 1.5, 2),
                met(ratio >= 1.5),
                curl.rate(GIB) / best_peer,
                ours.peak_kib as f64 / 1024.0,
                js.peak_kib as f64 / 1024.0,
                py.peak_kib as f64 / 1024.0
            ));
        }
        Ok(())
    }
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
