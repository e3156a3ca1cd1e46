//! `cargo xtask soak [--seed S] [--runs N] [--legs tus,vimeo,tusc]`: the seeded
//! fault campaign (`tests/soak/`), plus the kill-and-resume tests with more
//! kills. `cargo xtask ci` runs a short fixed-seed campaign through [`campaign`].

use crate::ci::Outcome;
use crate::run::{cargo, run_counting, run_status, target_dir};

/// Uploads per leg and SIGKILLs per kill test when `cargo xtask soak` is given no numbers.
const DEFAULT_RUNS: &str = "200";
const SOAK_KILLS: &str = "10";
/// Simulated-server schedules of the tus state machine's property test.
const SOAK_SCHEDULES: &str = "1000000";

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut args = args.to_vec();
    if !args.iter().any(|a| a == "--runs") {
        args.extend(["--runs".into(), DEFAULT_RUNS.into()]);
    }
    let (campaign_ok, counts) = match campaign(&args)? {
        Outcome::Tests(ok, counts) => (ok, counts),
        _ => (false, Default::default()),
    };
    println!("\n==> kill and resume ({SOAK_KILLS} SIGKILLs per CLI, 256 MiB)");
    let kills_ok = run_status(
        cargo()
            .args([
                "test",
                "--workspace",
                "--test",
                "cli",
                "--",
                "kill_and_resume",
            ])
            .env("KILL_ROUNDS", SOAK_KILLS),
    )?;
    println!("\n==> tus state machine vs simulated servers ({SOAK_SCHEDULES} schedules)");
    let machine_ok = run_status(
        cargo()
            .args([
                "test",
                "--workspace",
                "--lib",
                "--",
                "core::sim::the_machine_survives",
                "--nocapture",
            ])
            .env("TUS_SCHEDULES", SOAK_SCHEDULES),
    )?;
    let verdict = |ok: bool| if ok { "ok" } else { "FAILED" };
    println!(
        "\nsoak: campaign {} ({} passed, {} failed uploads), kill-and-resume {}, state machine {}",
        verdict(campaign_ok),
        counts.passed,
        counts.failed,
        verdict(kills_ok),
        verdict(machine_ok)
    );
    if campaign_ok && kills_ok && machine_ok {
        Ok(())
    } else {
        Err("the soak failed (the seed above replays it)".into())
    }
}

/// Builds the test binaries (and `tusc`), starts the Node tus server when Node
/// is there, and runs the campaign with `args`.
pub(crate) fn campaign(args: &[String]) -> Result<Outcome, String> {
    // Same feature set as `cargo test --workspace`: nothing is rebuilt in ci.
    if !run_status(cargo().args(["test", "--workspace", "--no-run", "--quiet"]))? {
        return Err("the workspace does not build".into());
    }
    let node = if crate::node::available() {
        let install_dir = crate::node::install()?;
        Some(crate::node::start(
            &install_dir,
            &target_dir().join("tus-node-soak"),
        )?)
    } else {
        eprintln!(
            "\n!!!!!!!! NODE NOT FOUND: the tusc leg of the campaign will be SKIPPED !!!!!!!!\n"
        );
        None
    };
    let mut command = cargo();
    command.args(["test", "--workspace", "--test", "soak", "--"]);
    command.args(args);
    if let Some(server) = &node {
        command
            .env("TUS_NODE_ENDPOINT", &server.endpoint)
            .env("TUS_NODE_DIR", &server.dir);
    }
    let (ok, counts) = run_counting(&mut command)?;
    Ok(Outcome::Tests(ok, counts))
}
