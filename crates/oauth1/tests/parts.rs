//! `Request::from_parts` (scheme, `Host`, request target) signs and verifies
//! exactly as `Request::new` with the URL those parts make.

use oauth1::{Error, ReceivedRequest, Request, Signer, VerifyError};
use proptest::prelude::*;

fn signer() -> Signer {
    Signer::new("ck", "cs")
        .token("tk", "ts")
        .timestamp(1_000)
        .nonce("n")
}

/// The base string signing gives, or the error.
fn signed(request: &Request<'_>) -> Result<String, Error> {
    signer()
        .sign(request)
        .map(|signed| signed.base_string().to_owned())
}

/// Hosts and targets, well-formed or not: upper case, ports, IPv6, userinfo,
/// paths, queries, fragments, spaces, non-ASCII.
fn hosts() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z]{1,8}(\\.[a-zA-Z]{2,4})?(:[0-9]{0,6})?",
        "\\[[0-9a-fA-F:]{2,8}\\](:[0-9]{1,5})?",
        "[a-zA-Z0-9.:@/?#\\[\\] %-]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(6).collect()),
    ]
}

fn targets() -> impl Strategy<Value = String> {
    prop_oneof![
        "(/[a-zA-Z0-9%._~-]{0,6}){0,3}(\\?([a-z]{1,4}=[a-zA-Z0-9%+]{0,5}&?){0,3})?(#[a-z?]{0,4})?",
        "[a-zA-Z0-9/?#&=%: -]{0,14}",
        any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ]
}

proptest! {
    #[test]
    fn parts_sign_and_parse_as_the_url_they_make(
        scheme in prop::sample::select(vec!["http", "https", "HTTPS", "ftp", "1x", ""]),
        host in hosts(),
        target in targets(),
    ) {
        let url = format!("{scheme}://{host}{target}");
        let parts = Request::from_parts("GET", scheme, &host, &target);
        let whole = Request::new("GET", &url);
        let from_parts = signed(&parts);
        // A host that is not host[:port], or a target not in origin form,
        // is refused from parts however the URL would read.
        let well_formed = !host.contains(['@', '/', '?', '#']) && target.starts_with('/');
        if well_formed {
            prop_assert_eq!(&from_parts, &signed(&whole));
        } else {
            prop_assert!(matches!(from_parts, Err(Error::InvalidUrl { .. })), "{:?}", from_parts);
        }
        if let Ok(base_string) = &from_parts {
            let header = signer().sign(&parts).unwrap().authorization_header();
            let received = ReceivedRequest::parse(&parts.authorization(&header)).unwrap();
            prop_assert_eq!(received.base_string(), base_string.as_str());
            let signed = signer().sign(&parts).unwrap();
            prop_assert_eq!(signed.url_with_query(), signer().sign(&whole).unwrap().url_with_query());
        }
    }
}

#[test]
fn a_server_verifies_from_the_parts_it_has() {
    let url = "https://API.Example.com:443/videos/1?fields=uri%2Cname&page=2";
    let header = signer()
        .sign(&Request::new("POST", url).body("application/x-www-form-urlencoded", b"a=1"))
        .unwrap()
        .authorization_header();
    let request = Request::from_parts(
        "POST",
        "https",
        "api.example.com",
        "/videos/1?fields=uri%2Cname&page=2",
    )
    .body("application/x-www-form-urlencoded", b"a=1")
    .authorization(&header);
    let received = ReceivedRequest::parse(&request).unwrap();
    assert_eq!(
        received.base_string(),
        "POST&https%3A%2F%2Fapi.example.com%2Fvideos%2F1&a%3D1%26fields%3Duri%252Cname%26\
         oauth_consumer_key%3Dck%26oauth_nonce%3Dn%26oauth_signature_method%3DHMAC-SHA1%26\
         oauth_timestamp%3D1000%26oauth_token%3Dtk%26oauth_version%3D1.0%26page%3D2"
    );
    assert_eq!(received.check("cs", "ts", 1_000), Ok(()));
    // The same parts with another target are another request.
    let other = Request::from_parts("POST", "https", "api.example.com", "/videos/2")
        .body("application/x-www-form-urlencoded", b"a=1")
        .authorization(&header);
    let other = ReceivedRequest::parse(&other).unwrap();
    assert_eq!(
        other.check("cs", "ts", 1_000),
        Err(VerifyError::InvalidSignature)
    );
}

#[test]
fn parts_that_are_not_a_host_and_an_origin_form_target_are_refused() {
    for (host, target) in [
        ("user@h.example", "/x"),
        ("h.example/x", "/y"),
        ("h.example?q", "/"),
        ("h.example#f", "/"),
        ("", "/x"),
        ("h.example:99999", "/x"),
        ("h.example", "x"),
        ("h.example", ""),
        ("h.example", "http://h.example/x"),
        ("h.example", "/a b"),
        ("h.example", "/caf\u{e9}"),
        ("h .example", "/"),
    ] {
        let request = Request::from_parts("GET", "https", host, target);
        assert!(
            matches!(signed(&request), Err(Error::InvalidUrl { .. })),
            "{host:?} {target:?}"
        );
    }
}

#[test]
fn debug_shows_parts_without_the_query() {
    let request = Request::from_parts("GET", "https", "h.example", "/p?secret=1");
    assert_eq!(
        format!("{request:?}"),
        r#"Request { method: "GET", url: "https://h.example/p?…" }"#
    );
}
