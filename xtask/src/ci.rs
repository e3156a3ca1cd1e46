//! `cargo xtask ci`: every check and test, then one totals line.

use std::process::Command;
use std::time::Instant;

use crate::run::{Counts, cargo, root, run_counting, run_status, target_dir};

/// How many randomized requests oauthlib signs for the cross-check, and its seed.
const CROSSCHECK_CASES: &str = "400";
const CROSSCHECK_SEED: &str = "5849";

struct Step {
    name: &'static str,
    outcome: Outcome,
    seconds: f64,
}

pub(crate) enum Outcome {
    /// A check without test counts (fmt, clippy): counts as one test.
    Check(bool),
    /// A test step with the counts it reported.
    Tests(bool, Counts),
    /// Not run, with the reason.
    Skipped(String),
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(extra) = args.first() {
        return Err(format!("`ci` takes no arguments (got `{extra}`)"));
    }
    let mut steps = Vec::new();
    let mut step = |name: &'static str, body: &mut dyn FnMut() -> Result<Outcome, String>| {
        println!("\n==> {name}");
        let started = Instant::now();
        let outcome = body().unwrap_or_else(|error| {
            eprintln!("{name}: {error}");
            Outcome::Check(false)
        });
        steps.push(Step {
            name,
            outcome,
            seconds: started.elapsed().as_secs_f64(),
        });
    };

    step("fmt", &mut || {
        run_status(cargo().args(["fmt", "--all", "--check"])).map(Outcome::Check)
    });
    step("clippy", &mut || {
        run_status(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
        .map(Outcome::Check)
    });
    // Every library's docs build without a warning: a broken intra-doc link
    // is an error (examples run as doctests in the test step).
    step("doc (libraries, warnings are errors)", &mut || {
        run_status(
            cargo()
                .args(["doc", "--workspace", "--no-deps", "--lib"])
                .env("RUSTDOCFLAGS", "-D warnings"),
        )
        .map(Outcome::Check)
    });
    // Before the workspace tests: the CLIs' fleet-resume tests start their
    // own redis-server.
    step("redis-server (for the Redis suites)", &mut || {
        if ensure_redis_server() {
            return Ok(Outcome::Check(true));
        }
        let reason = "NO redis-server (and it could not be installed): the CLIs' fleet-resume tests will FAIL".to_owned();
        eprintln!("\n!!!!!!!! {reason} !!!!!!!!\n");
        Ok(Outcome::Check(false))
    });
    step("tinyproxy (for the proxy suites)", &mut || {
        if ensure_tinyproxy() {
            return Ok(Outcome::Check(true));
        }
        let reason =
            "NO tinyproxy (and it could not be installed): the proxy tests will FAIL".to_owned();
        eprintln!("\n!!!!!!!! {reason} !!!!!!!!\n");
        Ok(Outcome::Check(false))
    });
    step("test (workspace, unit + integration + doc)", &mut || {
        // Every test binary runs even after one fails, so the totals count
        // them all and one flaky failure does not hide the rest.
        let (ok, counts) = run_counting(cargo().args(["test", "--workspace", "--no-fail-fast"]))?;
        Ok(Outcome::Tests(ok, counts))
    });
    step("cache conformance vs redis-server", &mut redis_suite);
    step("oauth1 vs oauthlib cross-check", &mut oauthlib_crosscheck);
    step(
        "tus interop vs @tus/server (Node)",
        &mut crate::node::interop_suite,
    );
    step("fault campaign (seed 1, 20 uploads per leg)", &mut || {
        crate::soak::campaign(&["--seed".into(), "1".into(), "--runs".into(), "20".into()])
    });

    print_summary(&steps)
}

fn print_summary(steps: &[Step]) -> Result<(), String> {
    println!("\n==> summary");
    let mut total = Counts::default();
    let mut all_ok = true;
    for step in steps {
        let (status, detail) = match &step.outcome {
            Outcome::Check(ok) => {
                if *ok {
                    total.passed += 1
                } else {
                    total.failed += 1
                }
                all_ok &= ok;
                (if *ok { "ok" } else { "FAILED" }, String::new())
            }
            Outcome::Tests(ok, counts) => {
                let mut counts = *counts;
                // A runner that failed without reporting a failed test (a build
                // error, a crash) still counts as one failure.
                if !ok && counts.failed == 0 {
                    counts.failed = 1;
                }
                total += counts;
                all_ok &= ok;
                (
                    if *ok { "ok" } else { "FAILED" },
                    format!(
                        "{} passed, {} failed, {} skipped",
                        counts.passed, counts.failed, counts.skipped
                    ),
                )
            }
            Outcome::Skipped(reason) => {
                total.skipped += 1;
                ("SKIPPED", reason.clone())
            }
        };
        println!(
            "{:<7} {:<45} {:>7.1}s  {detail}",
            status, step.name, step.seconds
        );
    }
    if total.skipped > 0 {
        println!("skipped: {} (see the SKIPPED lines above)", total.skipped);
    }
    // The last line, alone: the totals over every test step.
    println!("{} passed, {} failed", total.passed, total.failed);
    if all_ok {
        Ok(())
    } else {
        Err("some steps failed (see above)".into())
    }
}

/// Installs oauthlib into a venv under target/ and compares signatures both ways.
fn oauthlib_crosscheck() -> Result<Outcome, String> {
    let python = ["python3", "python"].into_iter().find(|candidate| {
        Command::new(candidate)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(python) = python else {
        let reason = "NO PYTHON FOUND: the oauthlib cross-check did NOT run".to_owned();
        eprintln!("\n!!!!!!!! {reason} !!!!!!!!\n");
        return Ok(Outcome::Skipped(reason));
    };
    let venv_python = crate::run::ensure_venv(
        python,
        &target_dir().join("oauthlib-venv"),
        "import oauthlib, jwt, cryptography",
        &[
            "oauthlib>=3.2,<5".as_ref(),
            // oauthlib's RSA-SHA1/RSA-SHA256 signing goes through PyJWT and cryptography.
            "pyjwt>=2,<3".as_ref(),
            "cryptography>=41".as_ref(),
        ],
    )?;
    let cases = target_dir().join("oauthlib-cases.json");
    let script = root().join("crates/oauth1/crosscheck/oauthlib_cases.py");
    // The OAuth wiki's published RSA test key: signatures are deterministic.
    let rsa_key = root().join("crates/oauth1/tests/data/rsa-test-key.pem");
    if !run_status(
        Command::new(&venv_python)
            .arg(&script)
            .args([CROSSCHECK_SEED, CROSSCHECK_CASES])
            .arg(&cases)
            .arg(&rsa_key),
    )? {
        return Err("the oauthlib case generator failed".into());
    }
    // `cargo test --workspace` already built the example; building it again
    // with `cargo run -p` would use another feature set and recompile.
    let built = target_dir().join("debug/examples/oauthlib_crosscheck");
    let mut command = if built.exists() {
        Command::new(built)
    } else {
        let mut command = cargo();
        command.args([
            "run",
            "--quiet",
            "-p",
            "vimeo-oauth1",
            "--features",
            "rsa",
            "--example",
            "oauthlib_crosscheck",
            "--",
        ]);
        command
    };
    let (ok, counts) = run_counting(command.arg(&cases).arg(&rsa_key))?;
    Ok(Outcome::Tests(ok, counts))
}

/// The Redis conformance suite (a test target of its own, behind the cache's
/// `redis` feature); the test binary starts its own servers.
fn redis_suite() -> Result<Outcome, String> {
    if !ensure_redis_server() {
        let reason =
            "NO redis-server (and it could not be installed): the Redis cache suite did NOT run"
                .to_owned();
        eprintln!("\n!!!!!!!! {reason} !!!!!!!!\n");
        return Ok(Outcome::Skipped(reason));
    }
    let (ok, counts) = run_counting(cargo().args(["test", "--workspace", "--test", "redis"]))?;
    Ok(Outcome::Tests(ok, counts))
}

/// Whether `redis-server` runs; if not, installs Debian's package when we can.
fn ensure_redis_server() -> bool {
    ensure_debian_tool("redis-server", &["--version"], "redis-server")
}

/// Whether `tinyproxy` (the real forward proxy of the proxy tests) runs; if
/// not, installs Debian's package when we can.
fn ensure_tinyproxy() -> bool {
    ensure_debian_tool("tinyproxy", &["-v"], "tinyproxy")
}

/// Whether `binary args` runs; if not, installs `package` with apt-get (the
/// CI machine and a fresh Debian box; elsewhere it says what is missing).
fn ensure_debian_tool(binary: &str, args: &[&str], package: &str) -> bool {
    let works = || {
        Command::new(binary)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works() {
        return true;
    }
    if Command::new("apt-get").arg("--version").output().is_err() {
        return false;
    }
    println!("{binary} not found: installing Debian's {package}");
    let quiet = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    quiet(&["update", "-qq"])
        && quiet(&["install", "-y", "-qq", "--no-install-recommends", package])
        && works()
}
