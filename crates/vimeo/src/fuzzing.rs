//! Entry points for the fuzz targets in `fuzz/` and for the property tests:
//! Vimeo's error bodies, list pages and rate-limit headers from arbitrary
//! bytes. Compiled for tests and with the `fuzzing` feature.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};

use crate::answer::{EXCERPT, FIELD, api_error};
use crate::http::RawResponse;
use crate::models::{Page, Video};
use crate::rate_limit::{RateLimit, parse_reset};

/// An error answer with this body: always a typed error whose text is bounded.
pub fn error_body(status: u16, data: &[u8]) {
    let response = RawResponse {
        status,
        headers: HeaderMap::new(),
        body: Bytes::copy_from_slice(data),
    };
    let error = api_error(&Method::GET, "/me", response, None, &[]);
    let api = error.api().expect("an API error");
    assert_eq!(api.status, status);
    // The excerpt and every text field are bounded, then `…`.
    assert!(api.body_excerpt.chars().count() <= EXCERPT + 1);
    let fields = [&api.error, &api.developer_message, &api.link];
    for text in fields.into_iter().flatten() {
        assert!(text.chars().count() <= FIELD + 1);
    }
    let _ = (error.to_string(), format!("{error:?}"));
}

/// A list page (`data` + `paging`), typed and untyped, and `X-RateLimit-*`
/// headers carrying the same bytes.
pub fn page(data: &[u8]) {
    let _ = serde_json::from_slice::<Page<Video>>(data);
    if let Ok(page) = serde_json::from_slice::<Page<serde_json::Value>>(data) {
        let _ = page.paging.and_then(|p| p.next);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_reset(text);
    }
    if let Ok(value) = HeaderValue::from_bytes(data) {
        let mut headers = HeaderMap::new();
        for name in [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
        ] {
            headers.insert(name, value.clone());
        }
        if let Some(limit) = RateLimit::from_headers(&headers) {
            let _ = limit.until_reset(std::time::SystemTime::UNIX_EPOCH);
        }
    }
}

/// A cached API response decoded from arbitrary bytes: whatever decodes
/// encodes back to an equal response.
pub fn cached_response(data: &[u8]) {
    use crate::request_cache::CachedResponse;
    if let Some(response) = CachedResponse::decode(&Bytes::copy_from_slice(data)) {
        let again = CachedResponse::decode(&response.encode()).expect("re-encoded decodes");
        assert_eq!(again, response);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    /// JSON-ish text: more likely to reach the decoders than random bytes.
    fn jsonish() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            any::<i64>().prop_map(|n| n.to_string()),
            "\"[ -~]{0,12}\"",
            Just("\"/videos/1?page=2\"".to_owned()),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            let key = prop_oneof![
                Just("error".to_owned()),
                Just("error_code".to_owned()),
                Just("developer_message".to_owned()),
                Just("invalid_parameters".to_owned()),
                Just("paging".to_owned()),
                Just("next".to_owned()),
                Just("data".to_owned()),
                Just("total".to_owned()),
                Just("uri".to_owned()),
                "[a-z]{1,6}",
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                proptest::collection::vec((key, inner), 0..4).prop_map(|fields| {
                    let body: Vec<String> =
                        fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!("{{{}}}", body.join(","))
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn cached_responses_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            super::cached_response(&data);
        }

        #[test]
        fn error_bodies_always_give_a_typed_error(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..600)) {
            super::error_body(status, &body);
        }

        #[test]
        fn json_error_bodies_and_pages_never_panic(status in 400u16..600, text in jsonish()) {
            super::error_body(status, text.as_bytes());
            super::page(text.as_bytes());
        }

        #[test]
        fn pages_from_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            super::page(&data);
        }
    }
}
