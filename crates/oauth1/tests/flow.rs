//! The three-legged flow helpers, checked against a verifier playing the provider.

use oauth1::{
    Error, MemoryNonceStore, ReceivedRequest, Request, SignatureMethod, Signer, VerifyOptions,
    access_token_request, authorize_url, parse_token_response, request_token_request,
};

fn received(prepared: &oauth1::PreparedRequest) -> ReceivedRequest {
    let header = &prepared
        .headers
        .iter()
        .find(|(n, _)| n == "Authorization")
        .unwrap()
        .1;
    ReceivedRequest::parse(&Request::new(&prepared.method, &prepared.url).authorization(header))
        .unwrap()
}

#[test]
fn the_whole_three_legged_flow_verifies_at_each_step() {
    let consumer = Signer::new("consumer", "c-secret");
    let mut nonces = MemoryNonceStore::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let options = VerifyOptions::new(now);

    // 1. Temporary credentials, default callback "oob".
    let step1 = request_token_request(
        &consumer,
        "https://provider.example/oauth/request_token",
        None,
    )
    .unwrap();
    assert_eq!(step1.method, "POST");
    let provider_view = received(&step1);
    assert_eq!(provider_view.callback(), Some("oob"));
    assert_eq!(provider_view.token(), None);
    provider_view
        .verify("c-secret", None, &options, &mut nonces)
        .unwrap();
    let temporary = parse_token_response(
        b"oauth_token=req%20token&oauth_token_secret=req-secret&oauth_callback_confirmed=true",
    )
    .unwrap();

    // 2. The user authorizes.
    let url = authorize_url(
        "https://provider.example/oauth/authorize",
        &temporary.token,
        Some("delete"),
    )
    .unwrap();
    assert_eq!(
        url,
        "https://provider.example/oauth/authorize?oauth_token=req%20token&permission=delete"
    );

    // 3. Token credentials with the verifier.
    let with_request_token = consumer
        .clone()
        .token(temporary.token.clone(), temporary.token_secret.clone());
    let step3 = access_token_request(
        &with_request_token,
        "https://provider.example/oauth/access_token",
        "v3r1f13r",
    )
    .unwrap();
    let provider_view = received(&step3);
    assert_eq!(provider_view.verifier(), Some("v3r1f13r"));
    assert_eq!(provider_view.token(), Some("req token"));
    provider_view
        .verify("c-secret", Some("req-secret"), &options, &mut nonces)
        .unwrap();
    assert!(!format!("{step3:?}").contains("oauth_signature"));
}

#[test]
fn request_token_request_carries_a_given_callback() {
    let signer = Signer::new("k", "s");
    let prepared = request_token_request(
        &signer,
        "http://127.0.0.1:9/rt",
        Some("http://127.0.0.1:8000/cb?x=1"),
    )
    .unwrap();
    assert_eq!(
        received(&prepared).callback(),
        Some("http://127.0.0.1:8000/cb?x=1")
    );
    assert!(request_token_request(&signer, "no url", None).is_err());
}

#[test]
fn authorize_url_keeps_existing_query_and_fragment() {
    assert_eq!(
        authorize_url("https://p.example/auth?lang=en#top", "t", None).unwrap(),
        "https://p.example/auth?lang=en&oauth_token=t#top"
    );
    assert_eq!(
        authorize_url("https://p.example/auth?", "t", None).unwrap(),
        "https://p.example/auth?oauth_token=t"
    );
    assert!(matches!(
        authorize_url("p.example/auth", "t", None),
        Err(Error::InvalidUrl { .. })
    ));
}

#[test]
fn token_responses_are_parsed_strictly() {
    let ok = parse_token_response(b"oauth_token=a&oauth_token_secret=&user_id=42\n").unwrap();
    assert_eq!(ok.token, "a");
    assert_eq!(ok.token_secret.expose(), "");
    assert_eq!(ok.callback_confirmed, None);
    assert_eq!(ok.extra, vec![("user_id".to_owned(), "42".to_owned())]);

    let malformed = |body: &[u8]| match parse_token_response(body) {
        Err(Error::MalformedTokenResponse { reason }) => reason,
        other => panic!(
            "{:?}: expected malformed, got {other:?}",
            String::from_utf8_lossy(body)
        ),
    };
    assert_eq!(malformed(b""), "the body is empty");
    assert_eq!(malformed(b"oauth_token_secret=x"), "oauth_token is missing");
    assert_eq!(malformed(b"oauth_token=x"), "oauth_token_secret is missing");
    assert_eq!(
        malformed(b"oauth_token=&oauth_token_secret=x"),
        "oauth_token is empty"
    );
    assert_eq!(malformed(&[0xFF, 0xFE]), "the body is not UTF-8 text");
    assert_eq!(malformed(b"{\"error\":\"nope\"}"), "oauth_token is missing");
    assert_eq!(
        malformed(b"oauth_token=a&oauth_token_secret=b&oauth_callback_confirmed=yes"),
        "oauth_callback_confirmed is neither true nor false"
    );
    assert_eq!(
        parse_token_response(b"oauth_token=a&oauth_token=b&oauth_token_secret=c"),
        Err(Error::DuplicateParameter {
            name: "oauth_token".into()
        })
    );
    assert_eq!(
        parse_token_response(b"oauth_problem=signature_invalid"),
        Err(Error::ProviderProblem {
            problem: "signature_invalid".into()
        })
    );
    assert!(matches!(
        parse_token_response(b"oauth_token=%zz&oauth_token_secret=b"),
        Err(Error::InvalidPercentEncoding { .. })
    ));
    let printed = format!(
        "{:?}",
        parse_token_response(b"oauth_token=TOK&oauth_token_secret=SEC").unwrap()
    );
    assert!(
        !printed.contains("TOK") && !printed.contains("SEC"),
        "{printed}"
    );
}

/// A signer prepares its parameters and key on the first signature; a clone
/// changed afterwards must sign as a signer built that way from scratch.
#[test]
fn a_signer_changed_after_signing_signs_with_its_new_settings() {
    let request = Request::new("GET", "https://h.example/p?a=1");
    let base = || Signer::new("ck", "cs").nonce("n").timestamp(7);
    let first = base();
    let _ = first.sign(&request).unwrap();
    type Change = Box<dyn Fn(Signer) -> Signer>;
    let changes: Vec<(&str, Change)> = vec![
        ("token", Box::new(|s| s.token("tk", "ts"))),
        (
            "method",
            Box::new(|s| s.signature_method(SignatureMethod::HmacSha256)),
        ),
        ("realm", Box::new(|s| s.realm("R"))),
        ("callback", Box::new(|s| s.callback("oob"))),
        ("verifier", Box::new(|s| s.verifier("v"))),
        ("version", Box::new(|s| s.omit_version())),
        ("extra", Box::new(|s| s.extra_param("oauth_x", "1"))),
    ];
    for (what, change) in changes {
        let changed = change(first.clone()).sign(&request).unwrap();
        let fresh = change(base()).sign(&request).unwrap();
        assert_eq!(
            changed.authorization_header(),
            fresh.authorization_header(),
            "{what}"
        );
        assert_ne!(
            changed.authorization_header(),
            first.sign(&request).unwrap().authorization_header(),
            "{what} changed nothing"
        );
    }
}
