//! Running commands, streaming their output, and counting test results.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root (the parent of `xtask/`).
pub(crate) fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// The shared target directory.
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// `cargo` as cargo itself was invoked.
pub(crate) fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root());
    // The tests talk to servers on loopback, and the clients read proxy
    // variables as curl does: a proxy in this machine's environment (a CI
    // runner's, say) must not capture them. Registries are not on loopback,
    // so cargo's own downloads still go through it. Tests that use a proxy set
    // their own NO_PROXY.
    const LOOPBACK: &str = "localhost,127.0.0.0/8,::1";
    for name in ["NO_PROXY", "no_proxy"] {
        let value = match std::env::var(name) {
            Ok(current) if !current.trim().is_empty() => format!("{current},{LOOPBACK}"),
            _ => LOOPBACK.to_owned(),
        };
        command.env(name, value);
    }
    command
}

/// Test counts parsed from a runner's output.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) passed: u64,
    pub(crate) failed: u64,
    pub(crate) skipped: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }
}

/// Runs `command`, echoing its stdout line by line (stderr passes through), and
/// returns whether it succeeded plus the test counts found in its output.
///
/// Understood lines: libtest's `test result: ok. N passed; M failed; K ignored`
/// and our own `... N passed, M failed` (optionally `, K skipped`).
pub(crate) fn run_counting(command: &mut Command) -> Result<(bool, Counts), String> {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    let mut counts = Counts::default();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            println!("{line}");
            if let Some(found) = parse_counts(&line) {
                counts += found;
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for {command:?}: {e}"))?;
    Ok((status.success(), counts))
}

/// Runs `command` with inherited output; returns whether it succeeded.
pub(crate) fn run_status(command: &mut Command) -> Result<bool, String> {
    command
        .status()
        .map(|status| status.success())
        .map_err(|e| format!("cannot start {command:?}: {e}"))
}

fn number_before(text: &str, word: &str) -> Option<u64> {
    let at = text.find(word)?;
    text[..at].split_whitespace().last()?.parse().ok()
}

pub(crate) fn parse_counts(line: &str) -> Option<Counts> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("test result: ") {
        return Some(Counts {
            passed: number_before(rest, " passed")?,
            failed: number_before(rest, " failed")?,
            skipped: number_before(rest, " ignored").unwrap_or(0),
        });
    }
    if line.contains(" passed, ") && line.contains(" failed") {
        return Some(Counts {
            passed: number_before(line, " passed")?,
            failed: number_before(line, " failed")?,
            skipped: number_before(line, " skipped").unwrap_or(0),
        });
    }
    None
}

/// A Python venv at `dir` whose interpreter can `import_check`; creates it
/// with `python` and runs `pip install pip_args` when the import fails.
/// Returns the venv's python.
pub(crate) fn ensure_venv(
    python: &str,
    dir: &Path,
    import_check: &str,
    pip_args: &[&std::ffi::OsStr],
) -> Result<PathBuf, String> {
    let venv_python = dir.join("bin/python");
    if !venv_python.exists() && !run_status(Command::new(python).args(["-m", "venv"]).arg(dir))? {
        return Err(format!("could not create a venv at {}", dir.display()));
    }
    let ready = Command::new(&venv_python)
        .args(["-c", import_check])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready
        && !run_status(
            Command::new(&venv_python)
                .args(["-m", "pip", "install", "--quiet"])
                .args(pip_args),
        )?
    {
        return Err(format!("pip could not install what `{import_check}` needs"));
    }
    Ok(venv_python)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libtest_and_plain_lines() {
        assert_eq!(
            parse_counts(
                "test result: ok. 29 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.00s"
            ),
            Some(Counts {
                passed: 29,
                failed: 0,
                skipped: 2
            })
        );
        assert_eq!(
            parse_counts("test result: FAILED. 24 passed; 2 failed; 0 ignored; 0 measured"),
            Some(Counts {
                passed: 24,
                failed: 2,
                skipped: 0
            })
        );
        assert_eq!(
            parse_counts("oauthlib cross-check (seed 1): 300 passed, 1 failed"),
            Some(Counts {
                passed: 300,
                failed: 1,
                skipped: 0
            })
        );
        assert_eq!(parse_counts("running 26 tests"), None);
        assert_eq!(parse_counts("test foo ... ok"), None);
    }
}
