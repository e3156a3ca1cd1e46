//! Malformed requests and input: each gets its own reason, never a panic;
//! protocol parameters in two places; headers of other schemes.

use oauth1::{
    Error, MemoryNonceStore, Placement, ReceivedRequest, Request, Signer, VerifyError,
    VerifyOptions,
};

use crate::roundtrip::{FORM, NOW};

fn parse_header(header: &str) -> Result<ReceivedRequest, VerifyError> {
    ReceivedRequest::parse(&Request::new("GET", "http://h.example/").authorization(header))
}

#[test]
fn structurally_bad_requests_get_their_own_reason() {
    let full = |extra: &str| {
        format!(
            "OAuth oauth_consumer_key=\"k\", oauth_signature_method=\"HMAC-SHA1\", \
             oauth_timestamp=\"1\", oauth_nonce=\"n\", oauth_signature=\"s\"{extra}"
        )
    };
    assert!(parse_header(&full("")).is_ok());
    let cases: Vec<(String, VerifyError)> = vec![
        ("OAuth".into(), VerifyError::MissingParameter { name: "oauth_signature" }),
        (
            "OAuth oauth_signature_method=\"HMAC-SHA1\", oauth_signature=\"s\"".into(),
            VerifyError::MissingParameter { name: "oauth_consumer_key" },
        ),
        (
            "OAuth oauth_consumer_key=\"k\", oauth_signature_method=\"HMAC-SHA1\", oauth_nonce=\"n\", oauth_signature=\"s\"".into(),
            VerifyError::MissingParameter { name: "oauth_timestamp" },
        ),
        (
            "OAuth oauth_consumer_key=\"k\", oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"1\", oauth_signature=\"s\"".into(),
            VerifyError::MissingParameter { name: "oauth_nonce" },
        ),
        (full(", oauth_version=\"2.0\""), VerifyError::UnsupportedVersion),
        (
            full("").replace("HMAC-SHA1", "RSA-SHA512"),
            VerifyError::UnsupportedSignatureMethod,
        ),
        (full("").replace("\"1\"", "\"-1\""), VerifyError::InvalidTimestamp),
        (full("").replace("\"1\"", "\"0\""), VerifyError::InvalidTimestamp),
        (full("").replace("\"1\"", "\"99999999999999999999999\""), VerifyError::InvalidTimestamp),
        (
            full(", oauth_nonce=\"m\""),
            VerifyError::Malformed(Error::DuplicateParameter { name: "oauth_nonce".into() }),
        ),
        (
            full("").replace("\"s\"", "\"%zz\""),
            VerifyError::Malformed(Error::InvalidPercentEncoding { context: "Authorization header" }),
        ),
        (
            "OAuth oauth_consumer_key=k".into(),
            VerifyError::Malformed(Error::MalformedHeader { reason: "a value is not in double quotes" }),
        ),
        (
            full(", oauth%5Fnonce=\"m\""),
            VerifyError::Malformed(Error::DuplicateParameter { name: "oauth_nonce".into() }),
        ),
        (
            full(", oauth_session=\"a\", oauth%5Fsession=\"b\""),
            VerifyError::Malformed(Error::DuplicateParameter { name: "oauth_session".into() }),
        ),
        (
            full(", realm=\"a\", realm=\"b\""),
            VerifyError::Malformed(Error::DuplicateParameter { name: "realm".into() }),
        ),
        (
            full("").replace("\"n\"", "\"%FFn\""),
            VerifyError::Malformed(Error::InvalidPercentEncoding { context: "protocol parameter (not UTF-8)" }),
        ),
        (
            full("").replace("\"k\"", "\"%C3\""),
            VerifyError::Malformed(Error::InvalidPercentEncoding { context: "protocol parameter (not UTF-8)" }),
        ),
    ];
    for (header, expected) in cases {
        assert_eq!(parse_header(&header).err(), Some(expected), "{header}");
    }
    // Escaped protocol values are read decoded, UTF-8 included.
    let escaped = full("")
        .replace("\"k\"", "\"caf%C3%A9%2B%20\"")
        .replace("\"n\"", "\"n%7E\"");
    let received = parse_header(&escaped).unwrap();
    assert_eq!(
        (received.consumer_key(), received.nonce()),
        ("café+ ", Some("n~"))
    );
}

#[test]
fn plaintext_may_omit_timestamp_and_nonce() {
    let header = "OAuth oauth_consumer_key=\"k\", oauth_signature_method=\"PLAINTEXT\", \
                  oauth_signature=\"s%26\"";
    let received = parse_header(header).unwrap();
    received
        .verify(
            "s",
            None,
            &VerifyOptions::new(NOW),
            &mut MemoryNonceStore::new(),
        )
        .unwrap();
}

#[test]
fn protocol_parameters_in_two_places_are_rejected() {
    let request = Request::new("GET", "http://h.example/?oauth_nonce=x")
        .authorization("OAuth oauth_consumer_key=\"k\", oauth_signature=\"s\"");
    assert_eq!(
        ReceivedRequest::parse(&request).err(),
        Some(VerifyError::MixedPlacement)
    );
    let request = Request::new("POST", "http://h.example/?oauth_consumer_key=k")
        .body(FORM, b"oauth_signature=s");
    assert_eq!(
        ReceivedRequest::parse(&request).err(),
        Some(VerifyError::MixedPlacement)
    );
    // Repeated within the query is a duplicate.
    let request = Request::new(
        "GET",
        "http://h.example/?oauth_nonce=x&oauth_nonce=y&oauth_consumer_key=k",
    );
    assert!(matches!(
        ReceivedRequest::parse(&request),
        Err(VerifyError::Malformed(Error::DuplicateParameter { .. }))
    ));
}

#[test]
fn non_oauth_authorization_headers_are_ignored() {
    let request = Request::new("GET", "http://h.example/?oauth_consumer_key=k&oauth_signature_method=PLAINTEXT&oauth_signature=s%26")
        .authorization("Bearer abc");
    let received = ReceivedRequest::parse(&request).unwrap();
    assert_eq!(received.placement(), Placement::Query);
}

#[test]
fn signing_rejects_bad_input_without_panicking() {
    let signer = Signer::new("k", "s").nonce("n").timestamp(1);
    let sign = |request: Request<'_>| signer.sign(&request).err();
    assert!(matches!(
        sign(Request::new("GET", "not a url")),
        Some(Error::InvalidUrl { .. })
    ));
    assert_eq!(
        sign(Request::new("", "http://h/")),
        Some(Error::InvalidMethod)
    );
    assert_eq!(
        sign(Request::new("GET", "http://h/?a=%G1")),
        Some(Error::InvalidPercentEncoding { context: "query" })
    );
    assert_eq!(
        sign(Request::new("POST", "http://h/").body(FORM, &[0xC3, 0x28])),
        Some(Error::InvalidFormBody)
    );
    assert_eq!(
        sign(Request::new("GET", "http://h/?oauth_nonce=1")),
        Some(Error::DuplicateParameter {
            name: "oauth_nonce".into()
        })
    );
    assert_eq!(
        Signer::new("k", "s")
            .realm("a\nb")
            .sign(&Request::new("GET", "http://h/"))
            .err(),
        Some(Error::InvalidRealm)
    );
    // Quotes and backslashes are escaped, and read back by the verifier.
    let header = Signer::new("k", "s")
        .realm(r#"the "photos" \ realm"#)
        .sign(&Request::new("GET", "http://h/"))
        .unwrap()
        .authorization_header();
    let received =
        ReceivedRequest::parse(&Request::new("GET", "http://h/").authorization(&header)).unwrap();
    assert_eq!(received.realm(), Some(r#"the "photos" \ realm"#));
    // The signer computes oauth_body_hash itself: as an extra it is refused.
    for name in ["x_body", "oauth_token", "oauth_body_hash"] {
        let result = Signer::new("k", "s")
            .extra_param(name, "v")
            .sign(&Request::new("GET", "http://h/"));
        assert!(
            matches!(result, Err(Error::InvalidExtraParameter { .. })),
            "{name}: {result:?}"
        );
    }
}
