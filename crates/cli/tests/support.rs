//! Spawning the binaries and waiting on them without blocking the runtime
//! that serves them.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// What a finished command printed.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

pub(crate) fn command(binary: &str, state: &Path) -> Command {
    let mut command = Command::new(binary);
    command
        .env("TUSC_STATE_DIR", state.join("tusc"))
        .env("VIMEO_STATE_DIR", state.join("vimeo"))
        .env_remove("VIMEO_TOKEN")
        .env_remove("VIMEO_API_URL")
        // Hermetic: the machine's proxy settings do not reach the tests (the
        // proxy tests set their own).
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

pub(crate) async fn run(command: &mut Command) -> Output {
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("the command finished within 2 minutes")
        .expect("the binary runs");
    Output {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub(crate) fn spawn(command: &mut Command) -> Child {
    command.spawn().expect("the binary starts")
}

/// Polls `condition` every 10 ms for up to 30 s.
pub(crate) async fn wait_until(mut condition: impl FnMut() -> bool) {
    for _ in 0..3_000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the condition did not hold within 30 s");
}

pub(crate) fn sample(dir: &Path, name: &str, len: usize) -> (std::path::PathBuf, Vec<u8>) {
    let bytes: Vec<u8> = (0..len).map(|i| (i * 17 % 253) as u8).collect();
    let path = dir.join(name);
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

/// `GET url` as a browser would: (status, `Location`, body).
pub(crate) async fn browse(url: &str) -> (u16, Option<String>, String) {
    let page = sandbox::browse(url).await.unwrap();
    (page.status, page.location, page.body)
}
