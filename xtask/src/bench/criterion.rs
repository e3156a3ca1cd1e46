//! What the criterion benchmarks measured, read back from criterion's
//! estimate files and printed as ratios to their same-run baselines.

use std::path::Path;

use super::{figure, met};

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

/// The criterion figures, then the verdicts from the paired measurement
/// (`paired`: the bench's `OAUTH1_PAIRED_OUT` file), which a drifting
/// machine moves far less than the ratio of two separate measurements.
pub(super) fn oauth1_summary(criterion: &Path, paired: &Path) -> Result<(), String> {
    let baseline = mean_ns(criterion, "oauth1_sign/baseline_hmac_sha1_only")?;
    let paired = std::fs::read_to_string(paired)
        .map_err(|e| format!("{}: {e} (the paired measurement)", paired.display()))?;
    // name -> [median, lower quartile, upper quartile], in percent.
    let paired_share = |name: &str| -> Option<Vec<f64>> {
        let line = paired
            .lines()
            .find(|line| line.split('\t').next() == Some(name))?;
        line.split('\t').skip(1).map(|n| n.parse().ok()).collect()
    };
    println!(
        "\noauth1: signing a GET with 5 query parameters, header placement, random nonce (baseline: one bare HMAC-SHA1 + base64 of the same base string)"
    );
    println!(
        "{:<22} {:>14} {:>12} {:>14} {:>24}",
        "method", "signatures/s", "ns/sig", "vs baseline", "paired: median [quartiles]"
    );
    println!(
        "{:<22} {:>14.0} {:>12.0} {:>13.0}%",
        "baseline",
        1e9 / baseline,
        baseline,
        100.0
    );
    // Signing per method, then the server side (parse + verify HMAC-SHA1),
    // with the secrets given per request and with them prepared once.
    let mut verdicts = Vec::new();
    for method in [
        "HMAC-SHA1",
        "HMAC-SHA256",
        "PLAINTEXT",
        "verify_HMAC-SHA1",
        "verify_key_HMAC-SHA1",
    ] {
        let ns = mean_ns(criterion, &format!("oauth1_sign/{method}"))?;
        let share = 100.0 * baseline / ns;
        let [median, low, high] = paired_share(method)
            .and_then(|shares| <[f64; 3]>::try_from(shares).ok())
            .ok_or_else(|| format!("no paired result for {method}"))?;
        println!(
            "{:<22} {:>14.0} {:>12.0} {:>13.1}% {:>9.1}% [{low:.1}–{high:.1}]",
            method,
            1e9 / ns,
            ns,
            share,
            median
        );
        if matches!(
            method,
            "HMAC-SHA1" | "verify_HMAC-SHA1" | "verify_key_HMAC-SHA1"
        ) {
            verdicts.push(format!(
                "target: {method} at {}% of the baseline's throughput, paired median (target >= 33%: {}); criterion alone {share:.1}%",
                figure(median, 33.0, 1),
                met(median >= 33.0)
            ));
        }
    }
    for verdict in verdicts {
        println!("{verdict}");
    }
    Ok(())
}

pub(super) fn cache_summary(criterion: &Path) -> Result<(), String> {
    println!(
        "\ncache: latency per operation (baselines in the same run: HashMap get for memory, std::fs::read for file)"
    );
    println!(
        "{:<8} {:<6} {:>12} {:>12} {:>12} {:>16}",
        "backend", "value", "get hit", "get miss", "put", "hit vs baseline"
    );
    for (label, _) in [("1KiB", 0), ("1MiB", 0)] {
        let hashmap = mean_ns(criterion, &format!("cache_baseline/hashmap_get_{label}"))?;
        let fs_read = mean_ns(criterion, &format!("cache_baseline/fs_read_{label}"))?;
        println!(
            "{:<8} {:<6} {:>10.0}ns {:>12} {:>12} {:>16}",
            "HashMap", label, hashmap, "", "", "1.00x"
        );
        println!(
            "{:<8} {:<6} {:>10.0}ns {:>12} {:>12} {:>16}",
            "fs::read", label, fs_read, "", "", "1.00x"
        );
        for backend in ["memory", "file", "sled", "redis"] {
            let Ok(hit) = mean_ns(criterion, &format!("cache_{backend}/get_hit_{label}")) else {
                continue;
            };
            let miss = mean_ns(criterion, &format!("cache_{backend}/get_miss_{label}"))?;
            let put = mean_ns(criterion, &format!("cache_{backend}/put_{label}"))?;
            let ratio = match backend {
                "memory" => format!("{:.2}x HashMap", hit / hashmap),
                "file" => format!("{:.2}x fs::read", hit / fs_read),
                _ => String::new(),
            };
            println!(
                "{backend:<8} {label:<6} {hit:>10.0}ns {miss:>10.0}ns {put:>10.0}ns {ratio:>16}"
            );
        }
    }
    println!("targets: memory hit within 3x of HashMap; file hit within 2x of fs::read");
    Ok(())
}
