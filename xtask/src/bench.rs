//! `cargo xtask bench`: criterion benchmarks, summarized as ratios against a
//! baseline measured in the same run.

use std::path::Path;

use crate::run::{cargo, run_status, target_dir};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(extra) = args.first() {
        return Err(format!("`bench` takes no arguments (got `{extra}`)"));
    }
    if !run_status(cargo().args(["bench", "-p", "vimeo-oauth1", "--bench", "sign"]))? {
        return Err("the oauth1 benchmark failed".into());
    }
    oauth1_summary(&target_dir().join("criterion"))
}

/// Mean time per iteration in nanoseconds, from criterion's estimates file.
fn mean_ns(criterion: &Path, id: &str) -> Result<f64, String> {
    let path = criterion.join(id).join("new/estimates.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    // {"mean":{"confidence_interval":{...},"point_estimate":123.4,...},...}
    let mean = text.find("\"mean\"").ok_or("no mean in estimates")?;
    let point = text[mean..]
        .find("\"point_estimate\":")
        .ok_or("no point estimate")?
        + mean;
    let number: String = text[point + "\"point_estimate\":".len()..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        .collect();
    number
        .parse()
        .map_err(|e| format!("bad estimate {number:?}: {e}"))
}

fn oauth1_summary(criterion: &Path) -> Result<(), String> {
    let baseline = mean_ns(criterion, "oauth1_sign/baseline_hmac_sha1_only")?;
    println!(
        "\noauth1: signing a GET with 5 query parameters (baseline: one bare HMAC-SHA1 of the same base string)"
    );
    println!(
        "{:<14} {:>14} {:>12} {:>22}",
        "method", "signatures/s", "ns/sig", "time vs baseline"
    );
    println!(
        "{:<14} {:>14.0} {:>12.0} {:>22}",
        "baseline",
        1e9 / baseline,
        baseline,
        "1.00x"
    );
    for method in ["HMAC-SHA1", "HMAC-SHA256", "PLAINTEXT"] {
        let ns = mean_ns(criterion, &format!("oauth1_sign/{method}"))?;
        println!(
            "{:<14} {:>14.0} {:>12.0} {:>21.2}x",
            method,
            1e9 / ns,
            ns,
            ns / baseline
        );
    }
    Ok(())
}
