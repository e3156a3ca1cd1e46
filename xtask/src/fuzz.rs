//! `cargo xtask fuzz [--seconds N] [TARGET...]`: runs each cargo-fuzz target
//! in `fuzz/` for N seconds (default 60) from its committed seed corpus and
//! reports executions and crashes. Needs the nightly toolchain (libFuzzer's
//! instrumentation); installs cargo-fuzz from crates.io when it is missing.
//! Not part of `cargo xtask ci`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::run::{root, run_status};

const TARGETS: [&str; 4] = ["tus_headers", "oauth1_header", "vimeo_json", "cache_entry"];

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut seconds = 60u64;
    let mut targets: Vec<String> = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--seconds wants a number")?;
            }
            name if TARGETS.contains(&name) => targets.push(name.to_owned()),
            other => {
                return Err(format!(
                    "unknown argument `{other}` (targets: {})",
                    TARGETS.join(", ")
                ));
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| (*t).to_owned()).collect();
    }
    let nightly = || {
        let mut command = Command::new("rustup");
        command
            .args(["run", "nightly", "cargo"])
            .current_dir(root());
        command
    };
    if !nightly()
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Err(
            "cargo-fuzz needs the nightly toolchain (rustup toolchain install nightly)".into(),
        );
    }
    if !nightly()
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        println!("installing cargo-fuzz from crates.io");
        if !run_status(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))? {
            return Err("could not install cargo-fuzz".into());
        }
    }
    let mut report = Vec::new();
    let mut crashed = false;
    for target in &targets {
        println!("\n==> fuzz {target} for {seconds} s");
        let mut child = nightly()
            .args(["fuzz", "run", target, "--"])
            .arg(format!("-max_total_time={seconds}"))
            .arg("-print_final_stats=1")
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start cargo fuzz: {e}"))?;
        let mut executions = None;
        let mut coverage = None;
        if let Some(stderr) = child.stderr.take() {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
                    executions = n.trim().parse::<u64>().ok();
                }
                if line.starts_with("#") && line.contains("cov:") {
                    coverage = line
                        .split_whitespace()
                        .skip_while(|w| *w != "cov:")
                        .nth(1)
                        .map(str::to_owned);
                }
                if line.contains("ERROR") || line.contains("panicked") || line.starts_with("Done") {
                    eprintln!("{line}");
                }
            }
        }
        let ok = child.wait().map(|s| s.success()).unwrap_or(false);
        crashed |= !ok;
        report.push(format!(
            "{target:<14} {:>12} executions  coverage {:>6}  {}",
            executions.map_or("?".into(), |n| n.to_string()),
            coverage.unwrap_or_else(|| "?".into()),
            if ok {
                "no crash".to_owned()
            } else {
                format!("CRASH (input in fuzz/artifacts/{target}/)")
            }
        ));
    }
    println!("\n==> fuzz summary ({seconds} s per target)");
    for line in &report {
        println!("{line}");
    }
    if crashed {
        Err("a fuzz target crashed; add the input as a regression test and fix it".into())
    } else {
        Ok(())
    }
}
