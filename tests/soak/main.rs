//! `cargo xtask soak [--seed S] [--runs N] [--legs tus,vimeo,tusc]`: the fault
//! campaign. Each leg uploads the same seeded plan of sizes and faults through
//! one client stack, checks every upload byte for byte, and prints a report
//! ending in `N passed, N failed`. Exit status 1 if any upload failed.
//!
//! Legs: `tus` (the tus client vs the sandbox's tus server), `vimeo` (the
//! facade vs the sandbox: create, tus, verify) and `tusc` (the CLI vs the
//! Node tus server behind our fault-injecting TCP proxy; needs
//! `TUS_NODE_ENDPOINT`/`TUS_NODE_DIR`, which `cargo xtask` provides).

mod common;
mod proxy;
mod tus_leg;
mod tusc_leg;
mod vimeo_leg;

use integration_tests::soak::{Report, plan};

const USAGE: &str = "usage: soak [--seed S] [--runs N] [--legs tus,vimeo,tusc]";

struct Args {
    seed: u64,
    runs: usize,
    legs: Vec<String>,
}

fn parse(mut raw: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        seed: 1,
        runs: 200,
        legs: vec!["tus".into(), "vimeo".into(), "tusc".into()],
    };
    while let Some(flag) = raw.next() {
        let mut value = || {
            raw.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--seed" => {
                args.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?;
            }
            "--runs" => {
                args.runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?;
            }
            "--legs" => {
                args.legs = value()?.split(',').map(str::to_owned).collect();
            }
            // libtest flags cargo may pass along (`--nocapture` and the like).
            other if other.starts_with("--") && !other.contains('=') => {}
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let plans = plan(args.seed, args.runs);
    let mut reports: Vec<Report> = Vec::new();
    let mut broken = false;
    for leg in &args.legs {
        println!(
            "\n--- soak leg {leg}: {} uploads, seed {}",
            plans.len(),
            args.seed
        );
        let result = match leg.as_str() {
            "tus" => tus_leg::run(args.seed, &plans).await,
            "vimeo" => vimeo_leg::run(args.seed, &plans).await,
            "tusc" if tusc_leg::node_server().is_none() => {
                let reason = "SKIPPED: the tusc leg needs the Node tus server \
                              (TUS_NODE_ENDPOINT/TUS_NODE_DIR; cargo xtask soak starts it)";
                println!("{reason}");
                continue;
            }
            "tusc" => tusc_leg::run(args.seed, &plans).await,
            other => Err(format!("unknown leg {other:?}")),
        };
        match result {
            Ok(report) => {
                println!("{report}");
                reports.push(report);
            }
            Err(error) => {
                eprintln!("soak leg {leg} could not run: {error}");
                broken = true;
            }
        }
    }
    let passed: usize = reports.iter().map(Report::passed).sum();
    let failed: usize = reports.iter().map(Report::failed).sum::<usize>() + usize::from(broken);
    if failed > 0 {
        println!(
            "\nreplay with: cargo xtask soak --seed {} --runs {}",
            args.seed, args.runs
        );
    }
    println!("\nsoak total: {passed} passed, {failed} failed");
    std::process::exit(i32::from(failed > 0));
}
