//! Verifying with secrets prepared once (`VerifyKey`), as a server keeps them
//! per consumer and token.

use oauth1::{
    MemoryNonceStore, ReceivedRequest, Request, SignatureMethod, Signer, VerifyError, VerifyKey,
    VerifyOptions,
};

/// A request to `url` signed by `signer` at time 1,000, as received.
fn received(signer: Signer, url: &str) -> ReceivedRequest {
    let signed = signer
        .timestamp(1_000)
        .sign(&Request::new("GET", url))
        .unwrap();
    let header = signed.authorization_header();
    ReceivedRequest::parse(&Request::new("GET", url).authorization(&header)).unwrap()
}

#[test]
fn one_key_serves_many_requests_and_every_method_it_covers() {
    let key = VerifyKey::new("consumer&secret", Some("tøken secret"));
    let mut nonces = MemoryNonceStore::new();
    let options = VerifyOptions::new(1_000);
    let url = "https://api.example.com/videos?page=2";
    for method in [
        SignatureMethod::HmacSha1,
        SignatureMethod::HmacSha256,
        SignatureMethod::Plaintext,
    ] {
        for _ in 0..3 {
            let signer = Signer::new("consumer", "consumer&secret")
                .token("token", "tøken secret")
                .signature_method(method);
            let received = received(signer, url);
            assert_eq!(
                received.verify_with(&key, &options, &mut nonces),
                Ok(()),
                "{method}"
            );
            // The same request again is a replay, whichever way it is checked.
            assert_eq!(
                received.verify_with(&key, &options, &mut nonces),
                Err(VerifyError::NonceReused)
            );
        }
    }
    assert_eq!(nonces.len(), 9);
}

#[test]
fn a_key_for_other_secrets_or_another_token_state_is_refused() {
    let received = received(
        Signer::new("consumer", "secret"),
        "https://api.example.com/videos",
    );
    let options = VerifyOptions::new(1_000);
    let check = |key: VerifyKey| received.verify_with(&key, &options, &mut MemoryNonceStore::new());
    assert_eq!(
        check(VerifyKey::new("other", None)),
        Err(VerifyError::InvalidSignature)
    );
    assert_eq!(
        check(VerifyKey::new("secret", Some(""))),
        Err(VerifyError::TokenMismatch)
    );
    assert_eq!(check(VerifyKey::new("secret", None)), Ok(()));
    // Its Debug output never shows a secret.
    let shown = format!("{:?}", VerifyKey::new("s3cr3t", Some("t0k3n")));
    assert!(
        !shown.contains("s3cr3t") && !shown.contains("t0k3n"),
        "{shown}"
    );
}
