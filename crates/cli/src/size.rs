//! Byte sizes such as `128MiB`, `1.5GB` or `4096`, and durations such as `30s`.

/// Parses a size: a number with an optional unit (B, KB, MB, GB, TB powers of
/// 1000; KiB, MiB, GiB, TiB powers of 1024; case-insensitive; `k`/`m`/`g`
/// alone mean KiB/MiB/GiB).
///
/// ```
/// assert_eq!(cli::size::parse("128MiB"), Ok(128 << 20));
/// assert_eq!(cli::size::parse("1.5 GB"), Ok(1_500_000_000));
/// assert_eq!(cli::size::parse("4096"), Ok(4096));
/// assert!(cli::size::parse("lots").is_err());
/// ```
pub fn parse(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("not a size: {text:?} (try 128MiB)"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown size unit {other:?} (use B, KiB, MiB, GiB, KB, MB, GB)"
            ));
        }
    };
    let bytes = number * multiplier as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("size out of range: {text:?}"));
    }
    Ok(bytes.round() as u64)
}

/// Parses a duration: a number with `ms`, `s` (the default), `m` or `h`.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(cli::size::parse_duration("30s"), Ok(Duration::from_secs(30)));
/// assert_eq!(cli::size::parse_duration("400ms"), Ok(Duration::from_millis(400)));
/// assert_eq!(cli::size::parse_duration("1.5"), Ok(Duration::from_millis(1500)));
/// assert_eq!(cli::size::parse_duration("2h"), Ok(Duration::from_secs(7200)));
/// assert!(cli::size::parse_duration("soon").is_err());
/// assert!(cli::size::parse_duration("-1s").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("not a duration: {text:?} (try 30s or 400ms)"))?;
    let seconds = match unit.trim() {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        other => {
            return Err(format!(
                "unknown duration unit {other:?} (use ms, s, m or h)"
            ));
        }
    };
    std::time::Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("duration out of range: {text:?}"))
}

/// A size for people: `1.5 GiB`, `300.0 MiB`, `12 B`.
///
/// ```
/// assert_eq!(cli::size::human(1536 << 20), "1.5 GiB");
/// assert_eq!(cli::size::human(12), "12 B");
/// ```
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
