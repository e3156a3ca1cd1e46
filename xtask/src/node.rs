//! The independent tus server: @tus/server + @tus/file-store from npm, installed
//! into target/tus-node and started on loopback for the interop suite and the bench.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::ci::Outcome;
use crate::run::{cargo, root, run_counting, run_status, target_dir};

/// A running Node tus server; killed on drop.
pub(crate) struct NodeServer {
    child: Child,
    pub(crate) endpoint: String,
    pub(crate) dir: PathBuf,
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `node` and `npm` are on the PATH.
pub(crate) fn available() -> bool {
    ["node", "npm"].iter().all(|tool| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Installs the server's packages (from the committed lockfile) under target/.
pub(crate) fn install() -> Result<PathBuf, String> {
    install_package(
        "tests/tus-node",
        "tus-node",
        &["package.json", "package-lock.json", "server.mjs"],
        "@tus/server",
    )
}

/// Copies `files` from `source` (under the repository root) to `dest` (under
/// target/) and runs `npm ci` there from the committed lockfile, unless
/// `node_modules/<marker>` is already installed.
pub(crate) fn install_package(
    source: &str,
    dest: &str,
    files: &[&str],
    marker: &str,
) -> Result<PathBuf, String> {
    let source = root().join(source);
    let dest = target_dir().join(dest);
    std::fs::create_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    for file in files {
        std::fs::copy(source.join(file), dest.join(file))
            .map_err(|e| format!("copying {file}: {e}"))?;
    }
    if !dest.join("node_modules").join(marker).exists()
        && !run_status(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dest),
        )?
    {
        return Err(format!("npm could not install {marker}"));
    }
    Ok(dest)
}

/// Starts the server on a free port with a fresh storage directory `dir`.
pub(crate) fn start(install_dir: &Path, dir: &Path) -> Result<NodeServer, String> {
    let dir = dir.to_path_buf();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut child = Command::new("node")
        .arg("server.mjs")
        .arg("0")
        .arg(&dir)
        .current_dir(install_dir)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start node: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout from node")?;
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .map_err(|e| e.to_string())?;
    let Some(endpoint) = first
        .trim()
        .strip_prefix("listening on ")
        .map(str::to_owned)
    else {
        let _ = child.kill();
        return Err(format!("the Node tus server did not start: {first:?}"));
    };
    Ok(NodeServer {
        child,
        endpoint,
        dir,
    })
}

/// `cargo xtask ci` step: the interop suite against the Node server.
pub(crate) fn interop_suite() -> Result<Outcome, String> {
    if !available() {
        let reason =
            "NODE NOT FOUND: the tus interop suite against @tus/server did NOT run".to_owned();
        eprintln!("\n!!!!!!!! {reason} !!!!!!!!\n");
        return Ok(Outcome::Skipped(reason));
    }
    let install_dir = install()?;
    let server = start(&install_dir, &target_dir().join("tus-node-data"))?;
    println!("Node tus server at {}", server.endpoint);
    let (ok, counts) = run_counting(
        cargo()
            // --workspace keeps the feature set of the main test build: no rebuild.
            .args(["test", "--workspace", "--test", "node_interop"])
            .env("TUS_NODE_ENDPOINT", &server.endpoint)
            .env("TUS_NODE_DIR", &server.dir),
    )?;
    Ok(Outcome::Tests(ok, counts))
}
