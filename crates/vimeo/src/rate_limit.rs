//! `X-RateLimit-*` headers, parsed leniently: a header that cannot be read
//! leaves its field empty and never fails a request.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;

/// The rate-limit snapshot of one API answer.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-ratelimit-limit", "2500".parse().unwrap());
/// headers.insert("x-ratelimit-remaining", "0".parse().unwrap());
/// headers.insert("x-ratelimit-reset", "2016-08-12T10:00:00+00:00".parse().unwrap());
/// let snapshot = vimeo::RateLimit::from_headers(&headers).unwrap();
/// assert_eq!(snapshot.remaining, Some(0));
/// assert_eq!(snapshot.reset_unix, Some(1_470_996_000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RateLimit {
    /// Requests allowed in the window.
    pub limit: Option<u64>,
    /// Requests left in the window.
    pub remaining: Option<u64>,
    /// When the window resets, seconds since the Unix epoch.
    pub reset_unix: Option<u64>,
}

impl RateLimit {
    /// Reads the headers; `None` when none of them is present.
    pub fn from_headers(headers: &HeaderMap) -> Option<RateLimit> {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let number = |name: &str| text(name).and_then(|t| t.trim().parse::<u64>().ok());
        let snapshot = RateLimit {
            limit: number("x-ratelimit-limit"),
            remaining: number("x-ratelimit-remaining"),
            reset_unix: text("x-ratelimit-reset").and_then(parse_reset),
        };
        (snapshot != RateLimit::default()).then_some(snapshot)
    }

    /// How long until the reset, from `now` (zero if it has passed).
    pub fn until_reset(&self, now: SystemTime) -> Option<Duration> {
        let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
        self.reset_unix
            .map(|reset| Duration::from_secs(reset.saturating_sub(now)))
    }
}

/// Unix seconds from either format Vimeo has used: an epoch integer, or an
/// ISO-8601 date-time with `Z` or a `±hh:mm` offset.
pub(crate) fn parse_reset(text: &str) -> Option<u64> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    parse_iso8601(text)
}

fn parse_iso8601(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if bytes.len() < 19
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b'T' | b't' | b' ')
    {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // Skip fractional seconds, then read the offset.
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let end = fraction
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        rest = &fraction[end..];
    }
    let offset_seconds = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            // `±HH`, `±HHMM` or `±HH:MM`, digits only: a sign or a long
            // number where the minutes go is no offset (it overflowed).
            let tail = rest.get(1..)?;
            let (hours, minutes) = match tail.len() {
                2 => (tail, "00"),
                4 => (tail.get(..2)?, tail.get(2..)?),
                5 if tail.as_bytes()[2] == b':' => (tail.get(..2)?, tail.get(3..)?),
                _ => return None,
            };
            let two_digits = |part: &str| -> Option<i64> {
                part.bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| part.parse().ok())?
            };
            let (hours, minutes) = (two_digits(hours)?, two_digits(minutes)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            sign * (hours * 3600 + minutes * 60)
        }
    };
    // days_from_civil (Howard Hinnant).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    u64::try_from(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_offsets_are_refused_not_overflowed() {
        // Found by the vimeo_json fuzz target: the minutes were parsed as any
        // i64 and multiplied, which overflowed.
        assert_eq!(
            parse_reset("2026-11-26T12:00:00-11-291461462134621391"),
            None
        );
        for offset in [
            "+1", "+-1:00", "+05:3x", "+24:00", "+05:60", "+0530x", "-05:", "+",
        ] {
            let text = format!("2016-08-12T10:00:00{offset}");
            assert_eq!(parse_reset(&text), None, "{text}");
        }
        assert_eq!(parse_reset("2016-08-12T15:30:00+0530"), Some(1_470_996_000));
        assert_eq!(parse_reset("2016-08-12T05:00:00-05"), Some(1_470_996_000));
    }

    #[test]
    fn both_reset_formats_parse() {
        assert_eq!(parse_reset("1470996000"), Some(1_470_996_000));
        assert_eq!(
            parse_reset("2016-08-12T10:00:00+00:00"),
            Some(1_470_996_000)
        );
        assert_eq!(parse_reset("2016-08-12T10:00:00Z"), Some(1_470_996_000));
        assert_eq!(
            parse_reset("2016-08-12T12:00:00+02:00"),
            Some(1_470_996_000)
        );
        assert_eq!(parse_reset("2016-08-12T05:30:00-0430"), Some(1_470_996_000));
        assert_eq!(parse_reset("2016-08-12T10:00:00.123Z"), Some(1_470_996_000));
        assert_eq!(parse_reset("2000-02-29T00:00:00Z"), Some(951_782_400));
    }

    #[test]
    fn garbage_is_none_not_a_failure() {
        for text in [
            "",
            "soon",
            "2016-13-01T00:00:00Z",
            "2016-08-12",
            "-5",
            "2016-08-12T10:00:00+xx",
            "٣",
        ] {
            assert_eq!(parse_reset(text), None, "{text:?}");
        }
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-reset", "tomorrow".parse().unwrap());
        headers.insert("x-ratelimit-limit", "100".parse().unwrap());
        let snapshot = RateLimit::from_headers(&headers).unwrap();
        assert_eq!((snapshot.limit, snapshot.reset_unix), (Some(100), None));
        assert_eq!(RateLimit::from_headers(&HeaderMap::new()), None);
    }
}
