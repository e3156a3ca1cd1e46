//! Property tests: sign → verify always holds, and changing any byte of a
//! signed request makes verification fail.

use oauth1::{
    MemoryNonceStore, ReceivedRequest, Request, SignatureMethod, Signer, VerifyError, VerifyKey,
    VerifyOptions, percent_encode,
};
use proptest::prelude::*;

use crate::roundtrip::FORM;

const NOW: u64 = 1_600_000_000;

/// A generated request in wire form.
#[derive(Debug, Clone)]
struct Case {
    method: String,
    url: String,
    body: String,
    consumer_secret: String,
    token: Option<(String, String)>,
    signature_method: SignatureMethod,
    placement: u8,
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ._~+*%&=/?-]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ]
}

fn encoded_pairs() -> impl Strategy<Value = String> {
    prop::collection::vec(("[a-z]{1,6}", any_text(), any::<bool>()), 0..5).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(name, value, plus)| {
                let value = percent_encode(&value);
                let value = if plus {
                    value.replace("%20", "+")
                } else {
                    value
                };
                format!("{name}={value}")
            })
            .collect::<Vec<_>>()
            .join("&")
    })
}

fn cases() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE", "get"]),
        prop::sample::select(vec!["http", "https", "HTTPS"]),
        "[a-zA-Z]{1,8}(\\.[a-z]{2,5})?",
        prop::option::of(1u16..),
        prop::collection::vec(any_text(), 0..3),
        encoded_pairs(),
        encoded_pairs(),
        any_text(),
        prop::option::of((any_text(), any_text())),
        prop::sample::select(SignatureMethod::ALL.to_vec()),
        0u8..3,
    )
        .prop_map(
            |(method, scheme, host, port, segments, query, body, secret, token, sig, placement)| {
                let port = port.map(|p| format!(":{p}")).unwrap_or_default();
                let path: String = segments
                    .iter()
                    .map(|s| format!("/{}", percent_encode(s)))
                    .collect();
                let query = if query.is_empty() {
                    String::new()
                } else {
                    format!("?{query}")
                };
                Case {
                    method: method.to_owned(),
                    url: format!("{scheme}://{host}{port}{path}{query}"),
                    body,
                    consumer_secret: secret,
                    token,
                    signature_method: sig,
                    placement,
                }
            },
        )
}

/// Signs a case and returns (url, body, header) as sent on the wire.
fn sign(case: &Case) -> (String, String, Option<String>) {
    let mut signer = Signer::new("consumer", case.consumer_secret.as_str())
        .signature_method(case.signature_method)
        .timestamp(NOW);
    if let Some((token, secret)) = &case.token {
        signer = signer.token(token.as_str(), secret.as_str());
    }
    let request = Request::new(&case.method, &case.url).body(FORM, case.body.as_bytes());
    let signed = signer.sign(&request).expect("generated requests are valid");
    match case.placement {
        0 => (
            case.url.clone(),
            case.body.clone(),
            Some(signed.authorization_header()),
        ),
        1 => (signed.url_with_query(), case.body.clone(), None),
        _ => (
            case.url.clone(),
            signed.form_body().expect("a form body was signed"),
            None,
        ),
    }
}

fn verify(
    case: &Case,
    method: &str,
    url: &str,
    body: &str,
    header: Option<&str>,
) -> Result<(), VerifyError> {
    let mut request = Request::new(method, url).body(FORM, body.as_bytes());
    if let Some(header) = header {
        request = request.authorization(header);
    }
    let received = ReceivedRequest::parse(&request)?;
    received.verify(
        &case.consumer_secret,
        case.token.as_ref().map(|(_, secret)| secret.as_str()),
        &VerifyOptions::new(NOW),
        &mut MemoryNonceStore::new(),
    )
}

/// Replaces byte `index` of `text` (an ASCII string) with a character that is not
/// the same letter in any case, so the change always means something.
fn mutate(text: &str, index: usize, choice: u8) -> Option<String> {
    let bytes = text.as_bytes();
    let old = *bytes.get(index)?;
    if !old.is_ascii() {
        return None;
    }
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut new = alphabet[usize::from(choice) % alphabet.len()];
    if new.eq_ignore_ascii_case(&old) {
        new = alphabet[(usize::from(choice) + 1) % alphabet.len()];
    }
    let mut out = bytes.to_vec();
    out[index] = new;
    String::from_utf8(out).ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn sign_then_verify_always_holds(case in cases()) {
        let (url, body, header) = sign(&case);
        prop_assert_eq!(verify(&case, &case.method, &url, &body, header.as_deref()), Ok(()));
    }

    #[test]
    fn a_prepared_key_verifies_exactly_as_the_secrets_do(
        case in cases(),
        tamper in any::<Option<(prop::sample::Index, u8)>>(),
        secrets in 0u8..4,
    ) {
        let (url, mut body, header) = sign(&case);
        if let Some((position, choice)) = tamper.filter(|_| !body.is_empty()) {
            body = mutate(&body, position.index(body.len()), choice).unwrap();
        }
        let mut request = Request::new(&case.method, &url).body(FORM, body.as_bytes());
        if let Some(header) = &header {
            request = request.authorization(header);
        }
        let Ok(received) = ReceivedRequest::parse(&request) else { return Ok(()) };
        // The right secrets, a wrong consumer secret, no token secret, a
        // token secret where none was used.
        let token_secret = case.token.as_ref().map(|(_, secret)| secret.as_str());
        let (consumer_secret, token_secret) = match secrets {
            0 => (case.consumer_secret.as_str(), token_secret),
            1 => ("not the secret", token_secret),
            2 => (case.consumer_secret.as_str(), None),
            _ => (case.consumer_secret.as_str(), Some(token_secret.unwrap_or("extra"))),
        };
        let options = VerifyOptions::new(NOW);
        let with_secrets =
            received.verify(consumer_secret, token_secret, &options, &mut MemoryNonceStore::new());
        let key = VerifyKey::new(consumer_secret, token_secret);
        let with_key = received.verify_with(&key, &options, &mut MemoryNonceStore::new());
        prop_assert_eq!(with_key, with_secrets);
    }

    #[test]
    fn any_changed_byte_fails_verification(
        case in cases(),
        part in 0u8..4,
        position in any::<prop::sample::Index>(),
        choice in any::<u8>(),
    ) {
        // PLAINTEXT signs nothing of the request by design (RFC 5849 §3.4.4), so
        // tampering is only detectable under the HMAC methods.
        prop_assume!(case.signature_method != SignatureMethod::Plaintext);
        let (url, body, header) = sign(&case);
        let method = case.method.clone();
        let (method, url, body, header) = match part {
            0 => (mutate(&method, position.index(method.len()), choice).unwrap(), url, body, header),
            1 => {
                // Leave the scheme's case alone: it is case-insensitive by design.
                let at = position.index(url.len());
                match mutate(&url, at, choice) {
                    Some(changed) => (method, changed, body, header),
                    None => return Ok(()),
                }
            }
            2 if !body.is_empty() => {
                let changed = mutate(&body, position.index(body.len()), choice).unwrap();
                (method, url, changed, header)
            }
            3 if header.is_some() => {
                let header = header.unwrap();
                let changed = mutate(&header, position.index(header.len()), choice).unwrap();
                (method, url, body, Some(changed))
            }
            _ => return Ok(()),
        };
        prop_assert!(
            verify(&case, &method, &url, &body, header.as_deref()).is_err(),
            "a changed request verified: {} {} body={:?} header={:?}", method, url, body, header
        );
    }

    #[test]
    fn parsing_arbitrary_input_never_panics(
        method in "\\PC{0,6}",
        url in "\\PC{0,40}",
        body in prop::collection::vec(any::<u8>(), 0..40),
        header in "\\PC{0,60}",
    ) {
        let request = Request::new(&method, &url).body(FORM, &body).authorization(&header);
        if let Ok(received) = ReceivedRequest::parse(&request) {
            let _ = received.verify("s", None, &VerifyOptions::new(NOW), &mut MemoryNonceStore::new());
        }
        let _ = Signer::new("k", "s").sign(&request);
        let _ = oauth1::parse_token_response(&body);
    }
}

#[cfg(feature = "rsa")]
mod rsa_round_trips {
    use oauth1::{
        MemoryNonceStore, ReceivedRequest, Request, RsaPrivateKey, SignatureMethod, Signer,
        VerifyError, VerifyOptions,
    };
    use proptest::prelude::*;

    fn key() -> RsaPrivateKey {
        RsaPrivateKey::from_pem(include_str!("data/rsa-test-key.pem")).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Sign → parse → verify round-trips for both RSA methods; changing
        /// the method, a parameter or the body breaks the signature.
        #[test]
        fn rsa_signatures_round_trip_and_tampering_is_refused(
            value in "[a-zA-Z0-9 ~&=]{0,12}",
            body_value in "[a-z0-9]{1,8}",
            sha256 in any::<bool>(),
        ) {
            let method = if sha256 { SignatureMethod::RsaSha256 } else { SignatureMethod::RsaSha1 };
            let url = format!("https://api.example.com/r?q={}", oauth1::percent_encode(&value));
            let body = format!("b={body_value}");
            let form = "application/x-www-form-urlencoded";
            let request = Request::new("POST", &url).body(form, body.as_bytes());
            let header = Signer::rsa("ck", key()).signature_method(method).timestamp(1_000)
                .sign(&request).unwrap().authorization_header();
            let options = VerifyOptions::new(1_000);
            let public = key().public_key();
            let received = ReceivedRequest::parse(&request.authorization(&header)).unwrap();
            prop_assert_eq!(received.signature_method(), method);
            prop_assert!(received.verify_rsa(&public, &options, &mut MemoryNonceStore::new()).is_ok());
            let other_body = format!("b={body_value}x");
            let tampered = Request::new("POST", &url).body(form, other_body.as_bytes()).authorization(&header);
            let tampered = ReceivedRequest::parse(&tampered).unwrap();
            prop_assert_eq!(
                tampered.verify_rsa(&public, &options, &mut MemoryNonceStore::new()),
                Err(VerifyError::InvalidSignature)
            );
            let put = Request::new("PUT", &url).body(form, body.as_bytes()).authorization(&header);
            prop_assert_eq!(
                ReceivedRequest::parse(&put).unwrap().verify_rsa(&public, &options, &mut MemoryNonceStore::new()),
                Err(VerifyError::InvalidSignature)
            );
        }
    }
}

proptest! {
    /// A client may write the header's parameters in any order (oauthlib
    /// does not sort them): the verifier sorts what it receives.
    #[test]
    fn header_parameters_verify_in_any_order(
        query in encoded_pairs(),
        realm in prop::option::of("[a-zA-Z ]{0,8}"),
        seed in any::<u64>(),
    ) {
        let url = if query.is_empty() {
            "https://api.example.com/v".to_owned()
        } else {
            format!("https://api.example.com/v?{query}")
        };
        let mut signer = Signer::new("ck", "cs").token("tk", "ts").timestamp(NOW);
        if let Some(realm) = &realm {
            signer = signer.realm(realm);
        }
        let header = signer.sign(&Request::new("GET", &url)).unwrap().authorization_header();
        let mut params: Vec<&str> = header
            .strip_prefix("OAuth ")
            .unwrap()
            .split(", ")
            .collect();
        // Fisher–Yates with a small generator seeded by the case.
        let mut state = seed | 1;
        for i in (1..params.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            params.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let shuffled = format!("OAuth {}", params.join(", "));
        let received = ReceivedRequest::parse(&Request::new("GET", &url).authorization(&shuffled));
        let received = received.unwrap();
        prop_assert!(received
            .verify("cs", Some("ts"), &VerifyOptions::new(NOW), &mut MemoryNonceStore::new())
            .is_ok());
    }
}
