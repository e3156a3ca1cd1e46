//! Entry points for the fuzz targets in `fuzz/` and for the property tests:
//! each feeds arbitrary bytes to the header parsers and panics only when an
//! invariant breaks (a parser panicking, a round trip that does not hold).
//! Compiled for tests and with the `fuzzing` feature; not a public API.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue};

use crate::core::capabilities::Capabilities;
use crate::core::headers::{parse_list, parse_retry_after, parse_u64, resolve_location};
use crate::core::metadata;

/// `Upload-Offset`, `Upload-Length`, `Upload-Metadata`, `Upload-Expires`,
/// `Retry-After`, `Tus-Extension` (and the other discovery headers) and
/// `Location`, all from the same bytes.
pub fn headers(data: &[u8]) {
    for name in ["Upload-Offset", "Upload-Length"] {
        if let Ok(n) = parse_u64(name, data) {
            // Whatever parses prints back to something that parses the same.
            assert_eq!(parse_u64(name, n.to_string().as_bytes()), Ok(n));
        }
    }
    let list = parse_list(data);
    assert!(
        list.iter()
            .all(|item| !item.is_empty() && !item.contains(','))
    );
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let _ = parse_retry_after(data, now);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = httpdate::parse_http_date(text);
    }
    if let Ok(pairs) = metadata::decode(data)
        && let Ok(encoded) = metadata::encode(&pairs)
    {
        assert_eq!(metadata::decode(encoded.as_bytes()), Ok(pairs));
    }
    if let Ok(value) = HeaderValue::from_bytes(data) {
        let mut map = HeaderMap::new();
        for name in [
            "tus-version",
            "tus-extension",
            "tus-max-size",
            "tus-checksum-algorithm",
        ] {
            map.insert(name, value.clone());
        }
        let _ = Capabilities::from_headers(&map);
    }
    let base: http::Uri = "http://127.0.0.1:1080/files/"
        .parse()
        .expect("a valid base");
    if let Ok(uri) = resolve_location(&base, data) {
        assert!(matches!(uri.scheme_str(), Some("http" | "https")));
        assert!(uri.authority().is_some());
    }
}

/// Metadata pairs survive encoding then decoding, or are refused by the encoder.
pub fn metadata_round_trip(pairs: &[(String, Vec<u8>)]) {
    let mut unique: Vec<(String, Vec<u8>)> = Vec::new();
    for (key, value) in pairs {
        if !unique.iter().any(|(k, _)| k == key) {
            unique.push((key.clone(), value.clone()));
        }
    }
    if let Ok(encoded) = metadata::encode(&unique) {
        assert_eq!(metadata::decode(encoded.as_bytes()), Ok(unique));
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn header_parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            super::headers(&data);
        }

        #[test]
        fn header_parsers_on_header_like_text(text in "[ -~]{0,80}") {
            super::headers(text.as_bytes());
        }

        #[test]
        fn offsets_round_trip(n in any::<u64>()) {
            super::headers(n.to_string().as_bytes());
            prop_assert_eq!(super::parse_u64("Upload-Offset", n.to_string().as_bytes()), Ok(n));
        }

        #[test]
        fn metadata_round_trips(pairs in proptest::collection::vec(
            ("[!-+--~]{1,12}", proptest::collection::vec(any::<u8>(), 0..40)), 0..6)
        ) {
            super::metadata_round_trip(&pairs);
        }
    }
}
