//! Project automation: `cargo xtask ci | demo | bench | soak | fuzz`.
//!
//! Std only, so a fresh clone compiles it in seconds. Every cargo call goes
//! through the `CARGO` variable cargo sets for us.

mod bench;
mod ci;
mod demo;
mod fuzz;
mod node;
mod run;
mod soak;

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <command>

commands:
  ci      every check and test CI runs; ends with `N passed, N failed`
  demo    the main job, end to end, offline
  bench   criterion benchmarks, reported as ratios against same-run baselines
  fuzz    cargo-fuzz targets for N seconds each (nightly) [--seconds N] [TARGET...]
  soak    the seeded fault campaign and kill-and-resume tests
          [--seed S] [--runs N (200)] [--legs tus,vimeo,tusc]
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(&args[1..]),
        Some("demo") => demo::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("soak") => soak::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("help" | "--help" | "-h") | None => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
