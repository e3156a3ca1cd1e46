//! Sign → verify for every method and placement, and every rejection of a
//! well-formed request (changed, wrong secrets, stale, replayed, disallowed).

use oauth1::{
    MemoryNonceStore, Placement, ReceivedRequest, Request, SignatureMethod, Signer, VerifyError,
    VerifyOptions,
};

pub(crate) const NOW: u64 = 1_700_000_000;
pub(crate) const FORM: &str = "application/x-www-form-urlencoded";

pub(crate) fn signer(method: SignatureMethod) -> Signer {
    Signer::new("consumer key", "consumer&secret")
        .token("token", "tøken secret")
        .signature_method(method)
        .timestamp(NOW)
}

pub(crate) fn verify(request: &Request<'_>) -> Result<ReceivedRequest, VerifyError> {
    let received = ReceivedRequest::parse(request)?;
    received.verify(
        "consumer&secret",
        Some("tøken secret"),
        &VerifyOptions::new(NOW + 5),
        &mut MemoryNonceStore::new(),
    )?;
    Ok(received)
}

#[test]
fn every_method_verifies_in_every_placement() {
    let url = "https://API.example.com:443/videos/1?fields=uri,name&tag=a&tag=b";
    let body = "title=Caf%C3%A9+%2B+more&empty=";
    for method in SignatureMethod::ALL {
        let base = Request::new("PATCH", url).body(FORM, body.as_bytes());
        let signed = signer(method).sign(&base).unwrap();

        // Header placement.
        let header = signed.authorization_header();
        let received = verify(&base.authorization(&header)).unwrap();
        assert_eq!(received.placement(), Placement::Header);
        assert_eq!(received.signature_method(), method);
        assert_eq!(received.base_string(), signed.base_string());

        // Query placement.
        let query_url = signed.url_with_query();
        let request = Request::new("PATCH", &query_url).body(FORM, body.as_bytes());
        assert_eq!(verify(&request).unwrap().placement(), Placement::Query);

        // Form placement.
        let form = signed.form_body().expect("a form body was signed");
        let request = Request::new("PATCH", url).body(FORM, form.as_bytes());
        assert_eq!(verify(&request).unwrap().placement(), Placement::Form);
    }
}

#[test]
fn form_content_type_with_charset_is_signed_and_verified() {
    // oauthlib refuses this content type; RFC 5849 only asks for the media type.
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let request = Request::new("POST", "http://h.example/p").body(content_type, b"a=1");
    let signed = signer(SignatureMethod::HmacSha1).sign(&request).unwrap();
    assert!(signed.base_string().contains("a%3D1"));
    let header = signed.authorization_header();
    verify(&request.authorization(&header)).unwrap();
    // Verifying with a body that is not a form ignores the body: signature differs.
    let json = Request::new("POST", "http://h.example/p")
        .body("application/json", b"a=1")
        .authorization(&header);
    assert_eq!(verify(&json).err(), Some(VerifyError::InvalidSignature));
}

#[test]
fn changed_requests_fail_verification() {
    let url = "http://h.example/p?a=1";
    let request = Request::new("POST", url).body(FORM, b"b=2");
    let header = signer(SignatureMethod::HmacSha256)
        .sign(&request)
        .unwrap()
        .authorization_header();
    let tampered = [
        Request::new("PUT", url).body(FORM, b"b=2"),
        Request::new("POST", "http://h.example/p?a=2").body(FORM, b"b=2"),
        Request::new("POST", "http://h.example/q?a=1").body(FORM, b"b=2"),
        Request::new("POST", "https://h.example/p?a=1").body(FORM, b"b=2"),
        Request::new("POST", "http://h.example:81/p?a=1").body(FORM, b"b=2"),
        Request::new("POST", url).body(FORM, b"b=3"),
        Request::new("POST", url).body(FORM, b"b=2&c=3"),
    ];
    for request in tampered {
        assert_eq!(
            verify(&request.authorization(&header)).err(),
            Some(VerifyError::InvalidSignature),
            "{request:?}"
        );
    }
    // Equivalent forms of the same URL verify.
    for same in ["HTTP://H.EXAMPLE:80/p?a=1", "http://h.example/p?a=%31#frag"] {
        let request = Request::new("post", same).body(FORM, b"b=2");
        verify(&request.authorization(&header)).unwrap();
    }
}

#[test]
fn wrong_secrets_and_tokens_are_rejected() {
    let request = Request::new("GET", "http://h.example/");
    let header = signer(SignatureMethod::HmacSha1)
        .sign(&request)
        .unwrap()
        .authorization_header();
    let received = ReceivedRequest::parse(&request.authorization(&header)).unwrap();
    let options = VerifyOptions::new(NOW);
    let mut nonces = MemoryNonceStore::new();
    assert_eq!(
        received.verify("wrong", Some("tøken secret"), &options, &mut nonces),
        Err(VerifyError::InvalidSignature)
    );
    assert_eq!(
        received.verify("consumer&secret", Some("wrong"), &options, &mut nonces),
        Err(VerifyError::InvalidSignature)
    );
    assert_eq!(
        received.verify("consumer&secret", None, &options, &mut nonces),
        Err(VerifyError::TokenMismatch)
    );
    // A failed signature never uses up the nonce.
    assert!(nonces.is_empty());
    received
        .verify(
            "consumer&secret",
            Some("tøken secret"),
            &options,
            &mut nonces,
        )
        .unwrap();
    assert_eq!(nonces.len(), 1);
}

#[test]
fn timestamps_outside_the_window_are_rejected_with_the_skew() {
    let request = Request::new("GET", "http://h.example/");
    let header = signer(SignatureMethod::HmacSha1)
        .sign(&request)
        .unwrap()
        .authorization_header();
    let received = ReceivedRequest::parse(&request.authorization(&header)).unwrap();
    let check = |now: u64| {
        received.verify(
            "consumer&secret",
            Some("tøken secret"),
            &VerifyOptions::new(now).timestamp_window(60),
            &mut MemoryNonceStore::new(),
        )
    };
    assert_eq!(check(NOW + 60), Ok(()));
    assert_eq!(check(NOW - 60), Ok(()));
    assert_eq!(
        check(NOW + 61),
        Err(VerifyError::TimestampOutOfWindow {
            skew_seconds: -61,
            window_seconds: 60
        })
    );
    assert_eq!(
        check(NOW - 3600),
        Err(VerifyError::TimestampOutOfWindow {
            skew_seconds: 3600,
            window_seconds: 60
        })
    );
}

#[test]
fn replayed_nonces_are_rejected_and_old_ones_forgotten() {
    let request = Request::new("GET", "http://h.example/");
    let signer = signer(SignatureMethod::HmacSha1).nonce("fixed");
    let header = signer.sign(&request).unwrap().authorization_header();
    let received = ReceivedRequest::parse(&request.authorization(&header)).unwrap();
    let mut nonces = MemoryNonceStore::new();
    let options = VerifyOptions::new(NOW);
    received
        .verify(
            "consumer&secret",
            Some("tøken secret"),
            &options,
            &mut nonces,
        )
        .unwrap();
    assert_eq!(
        received.verify(
            "consumer&secret",
            Some("tøken secret"),
            &options,
            &mut nonces
        ),
        Err(VerifyError::NonceReused)
    );
    // Same nonce, later timestamp: a different use.
    let later = signer
        .clone()
        .timestamp(NOW + 1)
        .sign(&request)
        .unwrap()
        .authorization_header();
    ReceivedRequest::parse(&request.authorization(&later))
        .unwrap()
        .verify(
            "consumer&secret",
            Some("tøken secret"),
            &options,
            &mut nonces,
        )
        .unwrap();
    // Once the window has passed, old entries are pruned.
    let far = signer
        .timestamp(NOW + 10_000)
        .sign(&request)
        .unwrap()
        .authorization_header();
    ReceivedRequest::parse(&request.authorization(&far))
        .unwrap()
        .verify(
            "consumer&secret",
            Some("tøken secret"),
            &VerifyOptions::new(NOW + 10_000),
            &mut nonces,
        )
        .unwrap();
    assert_eq!(nonces.len(), 1);
}

#[test]
fn disallowed_methods_are_rejected() {
    let request = Request::new("GET", "http://h.example/");
    let header = signer(SignatureMethod::Plaintext)
        .sign(&request)
        .unwrap()
        .authorization_header();
    let received = ReceivedRequest::parse(&request.authorization(&header)).unwrap();
    let options = VerifyOptions::new(NOW)
        .allowed_methods(&[SignatureMethod::HmacSha1, SignatureMethod::HmacSha256]);
    assert_eq!(
        received.verify(
            "consumer&secret",
            Some("tøken secret"),
            &options,
            &mut MemoryNonceStore::new()
        ),
        Err(VerifyError::SignatureMethodNotAllowed {
            method: SignatureMethod::Plaintext
        })
    );
}

#[test]
fn a_body_that_is_not_a_form_is_covered_by_its_hash() {
    // SHA-1 of the empty string, the extension's example value.
    let empty = Signer::new("k", "s")
        .sign(&Request::new("POST", "http://h/").body("application/json", b""))
        .unwrap();
    assert!(
        empty
            .base_string()
            .contains("oauth_body_hash%3D2jmj7l5rSw0yVb%252FvlWAYkK%252FYBwk%253D"),
        "{}",
        empty.base_string()
    );
    // A form body is signed as parameters, never hashed.
    let form = Signer::new("k", "s")
        .sign(&Request::new("POST", "http://h/").body("application/x-www-form-urlencoded", b"a=1"))
        .unwrap();
    assert!(!form.base_string().contains("oauth_body_hash"));

    let json = br#"{"title":"Hello"}"#;
    let options = VerifyOptions::new(1_000);
    for method in [SignatureMethod::HmacSha1, SignatureMethod::HmacSha256] {
        let request =
            Request::new("PUT", "https://api.example.com/v/1").body("application/json", json);
        let header = Signer::new("k", "s")
            .signature_method(method)
            .timestamp(1_000)
            .sign(&request)
            .unwrap()
            .authorization_header();
        let received = ReceivedRequest::parse(&request.authorization(&header)).unwrap();
        received
            .verify("s", None, &options, &mut MemoryNonceStore::new())
            .unwrap();
        // Another body under the same header: the hash no longer matches.
        let changed = Request::new("PUT", "https://api.example.com/v/1")
            .body("application/json", br#"{"title":"Evil"}"#)
            .authorization(&header);
        assert_eq!(
            ReceivedRequest::parse(&changed).unwrap().verify(
                "s",
                None,
                &options,
                &mut MemoryNonceStore::new()
            ),
            Err(VerifyError::BodyHashMismatch)
        );
    }
    // A server that requires the hash refuses an opaque body without one.
    let unhashed = Request::new("PUT", "https://api.example.com/v/1");
    let header = Signer::new("k", "s")
        .timestamp(1_000)
        .sign(&unhashed)
        .unwrap()
        .authorization_header();
    let sent = Request::new("PUT", "https://api.example.com/v/1")
        .body("application/json", json)
        .authorization(&header);
    let received = ReceivedRequest::parse(&sent).unwrap();
    received
        .verify("s", None, &options, &mut MemoryNonceStore::new())
        .unwrap();
    assert_eq!(
        received.verify(
            "s",
            None,
            &options.clone().require_body_hash(true),
            &mut MemoryNonceStore::new()
        ),
        Err(VerifyError::MissingParameter {
            name: "oauth_body_hash"
        })
    );
}

#[test]
fn random_nonces_and_clock_time_by_default() {
    let signer = Signer::new("k", "s");
    let request = Request::new("GET", "http://h.example/");
    let a = signer.sign(&request).unwrap().oauth_params();
    let b = signer.sign(&request).unwrap().oauth_params();
    let get = |params: &[(String, String)], name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let (nonce_a, nonce_b) = (get(&a, "oauth_nonce"), get(&b, "oauth_nonce"));
    assert_eq!(nonce_a.len(), 32);
    assert_ne!(nonce_a, nonce_b);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let timestamp: u64 = get(&a, "oauth_timestamp").parse().unwrap();
    assert!(timestamp.abs_diff(now) < 5);
}

#[test]
fn debug_output_never_contains_secrets() {
    let signer = Signer::new("ck", "CONSUMER-SECRET")
        .token("TOKEN-VALUE", "TOKEN-SECRET")
        .verifier("VERIFIER");
    let signed = signer
        .sign(&Request::new("GET", "http://h.example/"))
        .unwrap();
    let printed = format!("{signer:?} {signed:?} {signer:#?} {signed:#?}");
    for secret in [
        "CONSUMER-SECRET",
        "TOKEN-VALUE",
        "TOKEN-SECRET",
        "VERIFIER",
        signed.signature(),
    ] {
        assert!(!printed.contains(secret), "{secret} leaked: {printed}");
    }
    let header = signed.authorization_header();
    let received =
        ReceivedRequest::parse(&Request::new("GET", "http://h.example/").authorization(&header))
            .unwrap();
    let printed = format!("{received:?}");
    assert!(
        !printed.contains("TOKEN-VALUE") && !printed.contains(signed.signature()),
        "{printed}"
    );
    let error = received
        .verify(
            "wrong",
            Some("x"),
            &VerifyOptions::new(NOW),
            &mut MemoryNonceStore::new(),
        )
        .unwrap_err();
    let printed = format!("{error} {error:?}");
    assert!(!printed.contains(signed.signature()), "{printed}");
}

#[test]
fn servers_read_the_header_and_extensions_before_verifying() {
    let header = Signer::new("ck", "cs")
        .token("tk", "")
        .extra_param("oauth_session_handle", "h 1")
        .nonce("n-1")
        .timestamp(1_000)
        .realm("r")
        .sign(&Request::new("GET", "https://api.example.com/x"))
        .unwrap()
        .authorization_header();
    let parsed = oauth1::AuthorizationHeader::parse(&header).unwrap();
    assert_eq!(parsed.get("oauth_consumer_key"), Some("ck"));
    assert_eq!(parsed.realm(), Some("r"));
    assert!(!format!("{parsed:?}").contains(parsed.get("oauth_signature").unwrap()));
    let received = ReceivedRequest::parse(
        &Request::new("GET", "https://api.example.com/x").authorization(&header),
    )
    .unwrap();
    assert_eq!(received.nonce(), Some("n-1"));
    assert_eq!(received.extension("oauth_session_handle"), Some("h 1"));
    assert_eq!(received.extensions().len(), 1);
    // The extension is signed: changing it breaks the signature.
    let tampered = header.replace("h%201", "h%202");
    let tampered = ReceivedRequest::parse(
        &Request::new("GET", "https://api.example.com/x").authorization(&tampered),
    )
    .unwrap();
    assert_eq!(
        tampered.verify(
            "cs",
            Some(""),
            &VerifyOptions::new(1_000),
            &mut MemoryNonceStore::new()
        ),
        Err(VerifyError::InvalidSignature)
    );
    received
        .verify(
            "cs",
            Some(""),
            &VerifyOptions::new(1_000),
            &mut MemoryNonceStore::new(),
        )
        .unwrap();
}

#[test]
fn nonces_are_128_random_bits_never_repeated_by_a_signer_or_its_clones() {
    let signer = Signer::new("k", "s");
    let clone = signer.clone();
    let other = Signer::new("k", "s");
    let nonce = |signer: &Signer| {
        signer
            .sign(&Request::new("GET", "http://h/"))
            .unwrap()
            .oauth_params()
            .into_iter()
            .find(|(name, _)| name == "oauth_nonce")
            .unwrap()
            .1
    };
    let mut seen = std::collections::HashSet::new();
    for _ in 0..500 {
        for signer in [&signer, &clone, &other] {
            let nonce = nonce(signer);
            assert_eq!(nonce.len(), 32, "{nonce}");
            assert!(nonce.bytes().all(|b| b.is_ascii_hexdigit()), "{nonce}");
            assert!(seen.insert(nonce), "a nonce repeated");
        }
    }
}
