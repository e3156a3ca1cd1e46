//! Strict parsing of the tus headers. Each parser returns a [`ProtocolError`] on
//! anything a conforming server would not send.

use std::time::Duration;

use crate::error::ProtocolError;

/// The protocol version this client speaks.
pub const TUS_VERSION: &str = "1.0.0";

/// Parses a non-negative decimal integer header (`Upload-Offset`, `Upload-Length`,
/// `Tus-Max-Size`): digits only, no sign, no spaces inside, fits in `u64`.
pub(crate) fn parse_u64(name: &'static str, value: &[u8]) -> Result<u64, ProtocolError> {
    let text = std::str::from_utf8(value)
        .map_err(|_| ProtocolError::MalformedHeader { name })?
        .trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ProtocolError::MalformedHeader { name });
    }
    text.parse()
        .map_err(|_| ProtocolError::MalformedHeader { name })
}

/// Parses a comma-separated list (`Tus-Version`, `Tus-Extension`,
/// `Tus-Checksum-Algorithm`), trimming spaces and dropping empty items.
pub(crate) fn parse_list(value: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(value)
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parses `Retry-After`: delay-seconds or an HTTP date (relative to `now`).
/// A date in the past means "now"; anything unparsable is `None`.
pub(crate) fn parse_retry_after(value: &[u8], now: std::time::SystemTime) -> Option<Duration> {
    let text = std::str::from_utf8(value).ok()?.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok().map(Duration::from_secs);
    }
    let when = httpdate::parse_http_date(text).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Resolves a `Location` header against the URL of the request that returned it:
/// absolute URLs stay, `//host/path`, `/path` and `relative/path` are resolved.
pub(crate) fn resolve_location(
    base: &http::Uri,
    location: &[u8],
) -> Result<http::Uri, ProtocolError> {
    let bad = || ProtocolError::MalformedHeader { name: "Location" };
    let text = std::str::from_utf8(location).map_err(|_| bad())?.trim();
    if text.is_empty() {
        return Err(bad());
    }
    let scheme = base.scheme_str().ok_or_else(bad)?;
    let authority = base.authority().ok_or_else(bad)?.as_str();
    let resolved = if text.contains("://") {
        text.to_owned()
    } else if let Some(rest) = text.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if text.starts_with('/') {
        format!("{scheme}://{authority}{text}")
    } else {
        let path = base.path();
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        let dir = if dir.is_empty() { "/" } else { dir };
        format!("{scheme}://{authority}{dir}{text}")
    };
    let uri: http::Uri = resolved.parse().map_err(|_| bad())?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.authority().is_some() => Ok(uri),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn offsets_are_strict_decimal() {
        assert_eq!(parse_u64("Upload-Offset", b"0"), Ok(0));
        assert_eq!(parse_u64("Upload-Offset", b" 42 "), Ok(42));
        assert_eq!(
            parse_u64("Upload-Offset", b"18446744073709551615"),
            Ok(u64::MAX)
        );
        for bad in [
            &b""[..],
            b"-1",
            b"+1",
            b"1.0",
            b"0x10",
            b"1 2",
            b"18446744073709551616",
            b"\xff",
            b"abc",
        ] {
            assert_eq!(
                parse_u64("Upload-Offset", bad),
                Err(ProtocolError::MalformedHeader {
                    name: "Upload-Offset"
                }),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn lists_are_trimmed() {
        assert_eq!(
            parse_list(b"creation, creation-with-upload,,termination "),
            ["creation", "creation-with-upload", "termination"]
        );
        assert!(parse_list(b"").is_empty());
    }

    #[test]
    fn retry_after_takes_seconds_or_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after(b"3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(b"Sun, 09 Sep 2001 01:46:50 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after(b"Sun, 09 Sep 2001 01:40:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after(b"soon", now), None);
        assert_eq!(parse_retry_after(b"-5", now), None);
    }

    #[test]
    fn locations_resolve_like_a_browser() {
        let base: http::Uri = "http://127.0.0.1:1080/files/".parse().unwrap();
        let check = |location: &str, expected: &str| {
            assert_eq!(
                resolve_location(&base, location.as_bytes())
                    .unwrap()
                    .to_string(),
                expected,
                "{location}"
            );
        };
        check("http://other:9/up/1", "http://other:9/up/1");
        check("/files/abc", "http://127.0.0.1:1080/files/abc");
        check("abc", "http://127.0.0.1:1080/files/abc");
        check("//cdn.example/x", "http://cdn.example/x");
        let no_slash: http::Uri = "http://h/files".parse().unwrap();
        assert_eq!(
            resolve_location(&no_slash, b"abc").unwrap().to_string(),
            "http://h/abc"
        );
        for bad in ["", "ftp://h/x", "http://", "http://h/a b"] {
            assert!(resolve_location(&base, bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
