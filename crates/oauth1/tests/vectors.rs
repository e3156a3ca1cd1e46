//! Every published example in `data/oauth1-public-vectors.json` (a copy of
//! `shared/oauth1-public-vectors.json`), reproduced exactly.

use oauth1::{Request, SignatureMethod, Signer};
use serde_json::Value;

const VECTORS: &str = include_str!("data/oauth1-public-vectors.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("vector file is JSON")
}

fn text(value: &Value) -> Option<&str> {
    value.as_str()
}

/// Builds the signer a case describes: every `oauth_*` it lists, nothing more.
fn signer_for(case: &Value) -> Signer {
    let mut consumer_key = "";
    let mut token = None;
    let mut method = SignatureMethod::HmacSha1;
    let mut timestamp = 0;
    let mut nonce = "";
    let mut version = false;
    let mut callback = None;
    let mut verifier = None;
    for pair in case["oauth_params"].as_array().unwrap() {
        let (name, value) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        match name {
            "oauth_consumer_key" => consumer_key = value,
            "oauth_token" => token = Some(value),
            "oauth_signature_method" => method = value.parse().unwrap(),
            "oauth_timestamp" => timestamp = value.parse().unwrap(),
            "oauth_nonce" => nonce = value,
            "oauth_version" => {
                assert_eq!(value, "1.0");
                version = true;
            }
            "oauth_callback" => callback = Some(value),
            "oauth_verifier" => verifier = Some(value),
            other => panic!("vector uses unexpected parameter {other}"),
        }
    }
    let consumer_secret = text(&case["consumer_secret"]).unwrap_or("");
    let mut signer = Signer::new(consumer_key, consumer_secret)
        .signature_method(method)
        .timestamp(timestamp)
        .nonce(nonce);
    if let Some(token) = token {
        signer = signer.token(token, text(&case["token_secret"]).unwrap_or(""));
    }
    if !version {
        signer = signer.omit_version();
    }
    if let Some(callback) = callback {
        signer = signer.callback(callback);
    }
    if let Some(verifier) = verifier {
        signer = signer.verifier(verifier);
    }
    if let Some(realm) = text(&case["realm"]) {
        signer = signer.realm(realm);
    }
    signer
}

#[test]
fn every_public_vector_reproduces_base_string_and_signature() {
    let all = vectors();
    let cases = all["cases"].as_array().unwrap();
    assert!(cases.len() >= 7, "the vector file lost cases");
    let mut signatures_checked = 0;
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let mut request = Request::new(
            case["method"].as_str().unwrap(),
            case["url"].as_str().unwrap(),
        );
        if let (Some(content_type), Some(body)) = (text(&case["content_type"]), text(&case["body"]))
        {
            request = request.body(content_type, body.as_bytes());
        }
        let signed = signer_for(case)
            .sign(&request)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(
            signed.base_string(),
            case["expected"]["base_string"].as_str().unwrap(),
            "{id}: base string"
        );
        if let Some(signature) = text(&case["expected"]["signature"]) {
            assert_eq!(signed.signature(), signature, "{id}: signature");
            signatures_checked += 1;
        }
    }
    assert_eq!(signatures_checked, 6);
}

#[test]
fn rfc_section_1_2_requests_produce_the_rfc_authorization_headers() {
    // RFC 5849 §1.2 prints the temporary-credentials request header in full.
    let all = vectors();
    let case = &all["cases"][0];
    assert_eq!(case["id"], "rfc5849-1.2-temporary-credentials");
    let signed = signer_for(case)
        .sign(&Request::new("POST", "https://photos.example.net/initiate"))
        .unwrap();
    assert_eq!(
        signed.authorization_header(),
        "OAuth realm=\"Photos\", oauth_consumer_key=\"dpf43f3p2l4k3l03\", \
         oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"137131200\", \
         oauth_nonce=\"wIjqoS\", oauth_callback=\"http%3A%2F%2Fprinter.example.com%2Fready\", \
         oauth_signature=\"74KNZJeDHnMBp0EMJ9ZHt%2FXKycU%3D\""
    );
}

#[test]
fn adding_oauth_version_changes_the_rfc_signature() {
    let all = vectors();
    let case = &all["cases"][2];
    assert_eq!(case["id"], "rfc5849-1.2-protected-resource");
    let request = Request::new("GET", case["url"].as_str().unwrap());
    let without = signer_for(case).sign(&request).unwrap();
    let with = Signer::new("dpf43f3p2l4k3l03", "kd94hf93k423kf44")
        .token("nnch734d00sl2jdk", "pfkkdhi9sl3r4s00")
        .timestamp(137131202)
        .nonce("chapoH")
        .sign(&request)
        .unwrap();
    assert_eq!(without.signature(), "MdpQcU8iPSUjWoN/UDMsK2sui9I=");
    assert_ne!(with.signature(), without.signature());
    assert!(with.base_string().contains("oauth_version%3D1.0"));
}

#[test]
fn base_string_uri_examples() {
    // The base string's second part is the encoded base string URI.
    let all = vectors();
    for example in all["base_string_uri_examples"].as_array().unwrap() {
        let url = example["url"].as_str().unwrap();
        let signed = Signer::new("k", "s")
            .nonce("n")
            .timestamp(1)
            .sign(&Request::new("GET", url))
            .unwrap();
        let encoded_uri = signed.base_string().split('&').nth(1).unwrap();
        assert_eq!(
            encoded_uri,
            oauth1::percent_encode(example["expected"].as_str().unwrap()),
            "{url}"
        );
    }
}

#[test]
fn the_copied_vector_file_matches_shared_when_present() {
    // The repository carries a copy so tests run anywhere; when the project's
    // shared/ folder sits beside the checkout, the copy must not have drifted.
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/oauth1-public-vectors.json");
    match std::fs::read_to_string(&shared) {
        Ok(original) => assert_eq!(original, VECTORS, "tests/data copy differs from shared/"),
        Err(_) => eprintln!(
            "note: {} not found; checked the bundled copy only",
            shared.display()
        ),
    }
}

/// The OAuth wiki's RSA-SHA1 test case (wiki.oauth.net/TestCases §9.3), as
/// liboauth, oauthlib, signet and others reproduce it.
#[cfg(feature = "rsa")]
#[test]
fn rsa_sha1_matches_the_published_test_case_and_verifies() {
    use oauth1::{
        MemoryNonceStore, ReceivedRequest, Request, RsaPrivateKey, RsaPublicKey, Signer,
        VerifyError, VerifyOptions,
    };
    const EXPECTED: &str = "jvTp/wX1TYtByB1m+Pbyo0lnCOLIsyGCH7wke8AUs3BpnwZJtAuEJkvQL2/9n4s5wUmUl4aCI4BwpraNx4RtEXMe5qg5T1LVTGliMRpKasKsW//e+RinhejgCuzoH26dyF8iY2ZZ/5D1ilgeijhV/vBka5twt399mXwaYdCwFYE=";
    let key = RsaPrivateKey::from_pem(include_str!("data/rsa-test-key.pem")).unwrap();
    let url = "http://photos.example.net/photos?file=vacaction.jpg&size=original";
    let signed = Signer::rsa("dpf43f3p2l4k3l03", key.clone())
        .nonce("13917289812797014437")
        .timestamp(1_196_666_512)
        .sign(&Request::new("GET", url))
        .unwrap();
    assert_eq!(
        signed.base_string(),
        "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacaction.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3D13917289812797014437%26oauth_signature_method%3DRSA-SHA1%26oauth_timestamp%3D1196666512%26oauth_version%3D1.0%26size%3Doriginal"
    );
    assert_eq!(signed.signature(), EXPECTED);
    assert!(
        !format!("{key:?}").contains("MII"),
        "the key stays out of Debug"
    );

    // The server side, with the public key as a PEM (SubjectPublicKeyInfo).
    let public = RsaPublicKey::from_pem(include_str!("data/rsa-test-key.pub.pem")).unwrap();
    assert_eq!(public, key.public_key());
    let header = signed.authorization_header();
    let received =
        ReceivedRequest::parse(&Request::new("GET", url).authorization(&header)).unwrap();
    let options = VerifyOptions::new(1_196_666_512);
    received
        .verify_rsa(&public, &options, &mut MemoryNonceStore::new())
        .unwrap();
    // The same header against another URL, or checked as HMAC, is refused.
    let other = "http://photos.example.net/photos?file=vacaction.jpg&size=small";
    let tampered =
        ReceivedRequest::parse(&Request::new("GET", other).authorization(&header)).unwrap();
    assert_eq!(
        tampered.verify_rsa(&public, &options, &mut MemoryNonceStore::new()),
        Err(VerifyError::InvalidSignature)
    );
    assert!(matches!(
        received.verify("", None, &options, &mut MemoryNonceStore::new()),
        Err(VerifyError::SignatureMethodNotAllowed { .. })
    ));
    // Keys that are not keys are refused without echoing them.
    let error = RsaPrivateKey::from_pem(
        "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----",
    )
    .unwrap_err();
    assert!(!error.to_string().contains("not a key"));
}
