//! OAuth 1.0a: an Authorization header (and URL/body) parsed and verified as a
//! server would, plus signing the same request and reading a token response;
//! the URL's text also split into a `Host` and a request target, which must
//! parse as the URL they make (`Request::from_parts`).
#![no_main]

use oauth1::{MemoryNonceStore, ReceivedRequest, Request, Signer, VerifyOptions};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // Split the input into header | url | body at the first two 0xFF bytes.
    let mut parts = data.splitn(3, |b| *b == 0xFF);
    let header = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let url = String::from_utf8_lossy(parts.next().unwrap_or(b"http://example.com/r"));
    let body = parts.next().unwrap_or_default();
    let form = "application/x-www-form-urlencoded";
    let request = Request::new("POST", &url)
        .body(form, body)
        .authorization(&header);
    if let Ok(received) = ReceivedRequest::parse(&request) {
        let _ = received.verify(
            "consumer-secret",
            Some("token-secret"),
            &VerifyOptions::new(1_318_622_958),
            &mut MemoryNonceStore::new(),
        );
    }
    let _ = Signer::new("key", "secret").sign(&request);
    let _ = oauth1::parse_token_response(data);

    let (host, target) = url.split_at(url.find('/').unwrap_or(url.len()));
    let from_parts = Request::from_parts("POST", "https", host, target)
        .body(form, body)
        .authorization(&header);
    let parsed = ReceivedRequest::parse(&from_parts).map(|r| r.base_string().to_owned());
    if !host.contains(['@', '?', '#']) && target.starts_with('/') {
        let whole = format!("https://{host}{target}");
        let whole = Request::new("POST", &whole)
            .body(form, body)
            .authorization(&header);
        let expected = ReceivedRequest::parse(&whole).map(|r| r.base_string().to_owned());
        assert_eq!(parsed, expected, "from_parts({host:?}, {target:?})");
    }
});
