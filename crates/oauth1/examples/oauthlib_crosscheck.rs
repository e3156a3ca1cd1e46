//! Checks this crate against oauthlib, an independent OAuth 1.0a implementation.
//!
//! `cargo xtask ci` runs `crosscheck/oauthlib_cases.py` (oauthlib in a venv under
//! `target/`) to sign a few hundred randomized requests, then this program, which
//! for every case (1) signs the same inputs and compares the base string and the
//! signature with oauthlib's, and (2) verifies oauthlib's Authorization header
//! with [`oauth1::ReceivedRequest`]. It prints `N passed, N failed` and exits
//! non-zero on any mismatch.
//!
//! RSA cases (feature `rsa`) are signed with the key in `RSA_KEY.pem` and
//! verified with its public half; RSA PKCS#1 v1.5 is deterministic, so the
//! signatures are compared exactly too.
//!
//! Usage: `cargo run -p vimeo-oauth1 --features rsa --example oauthlib_crosscheck -- CASES.json RSA_KEY.pem`

use oauth1::{
    MemoryNonceStore, ReceivedRequest, Request, RsaPrivateKey, SignatureMethod, Signer,
    VerifyOptions,
};
use serde_json::Value;

fn text(value: &Value) -> Option<&str> {
    value.as_str()
}

fn check(case: &Value, rsa_key: &RsaPrivateKey) -> Result<(), String> {
    let method = text(&case["method"]).ok_or("no method")?;
    let url = text(&case["url"]).ok_or("no url")?;
    let timestamp = case["timestamp"].as_u64().ok_or("no timestamp")?;
    let signature_method: SignatureMethod = text(&case["signature_method"])
        .unwrap_or("")
        .parse()
        .map_err(|e| format!("{e}"))?;
    let consumer_key = text(&case["consumer_key"]).ok_or("no consumer key")?;
    let signer = if signature_method.is_rsa() {
        Signer::rsa(consumer_key, rsa_key.clone())
    } else {
        Signer::new(consumer_key, text(&case["consumer_secret"]).unwrap_or(""))
    };
    let mut signer = signer
        .signature_method(signature_method)
        .nonce(text(&case["nonce"]).ok_or("no nonce")?)
        .timestamp(timestamp);
    if let Some(token) = text(&case["token"]) {
        signer = signer.token(token, text(&case["token_secret"]).unwrap_or(""));
    }
    if let Some(callback) = text(&case["callback"]) {
        signer = signer.callback(callback);
    }
    if let Some(verifier) = text(&case["verifier"]) {
        signer = signer.verifier(verifier);
    }
    if let Some(realm) = text(&case["realm"]) {
        signer = signer.realm(realm);
    }
    let mut request = Request::new(method, url);
    if let (Some(content_type), Some(body)) = (text(&case["content_type"]), text(&case["body"])) {
        request = request.body(content_type, body.as_bytes());
    }

    // 1. Our signature equals oauthlib's.
    let signed = signer
        .sign(&request)
        .map_err(|e| format!("signing failed: {e}"))?;
    let expected_base = text(&case["base_string"]).ok_or("no base string")?;
    if signed.base_string() != expected_base {
        return Err(format!(
            "base string differs\n  ours:     {}\n  oauthlib: {expected_base}",
            signed.base_string()
        ));
    }
    if signed.signature() != text(&case["signature"]).ok_or("no signature")? {
        return Err("signature differs (base strings agree)".into());
    }

    // 2. Our verifier accepts oauthlib's request in the query or body placement.
    if text(&case["placement"]) != Some("header") {
        verify_placed(case, method, url, timestamp, signature_method, rsa_key)?;
    }

    // 3. Our verifier accepts oauthlib's header.
    let header = text(&case["authorization"]).ok_or("no header")?;
    let received = ReceivedRequest::parse(&request.authorization(header))
        .map_err(|e| format!("parsing oauthlib's header failed: {e}"))?;
    if signature_method.is_rsa() {
        return received
            .verify_rsa(
                &rsa_key.public_key(),
                &VerifyOptions::new(timestamp),
                &mut MemoryNonceStore::new(),
            )
            .map_err(|e| format!("verifying oauthlib's RSA header failed: {e}"));
    }
    received
        .verify(
            text(&case["consumer_secret"]).unwrap_or(""),
            text(&case["token_secret"]).or(text(&case["token"]).map(|_| "")),
            &VerifyOptions::new(timestamp),
            &mut MemoryNonceStore::new(),
        )
        .map_err(|e| format!("verifying oauthlib's header failed: {e}"))?;
    Ok(())
}

/// Verifies oauthlib's signature of the case in the query or body placement.
fn verify_placed(
    case: &Value,
    method: &str,
    url: &str,
    timestamp: u64,
    signature_method: SignatureMethod,
    rsa_key: &RsaPrivateKey,
) -> Result<(), String> {
    let signed_url = text(&case["signed_url"]).ok_or("no signed url")?;
    let placed = match (text(&case["placement"]), text(&case["signed_body"])) {
        (Some("body"), Some(signed_body)) => Request::new(method, url).body(
            text(&case["content_type"]).ok_or("a body placement without a form")?,
            signed_body.as_bytes(),
        ),
        _ => match (text(&case["content_type"]), text(&case["body"])) {
            (Some(content_type), Some(body)) => {
                Request::new(method, signed_url).body(content_type, body.as_bytes())
            }
            _ => Request::new(method, signed_url),
        },
    };
    let received = ReceivedRequest::parse(&placed).map_err(|e| {
        format!(
            "parsing oauthlib's {} placement failed: {e}",
            case["placement"]
        )
    })?;
    let options = VerifyOptions::new(timestamp);
    let verified = if signature_method.is_rsa() {
        received.verify_rsa(
            &rsa_key.public_key(),
            &options,
            &mut MemoryNonceStore::new(),
        )
    } else {
        received.verify(
            text(&case["consumer_secret"]).unwrap_or(""),
            text(&case["token_secret"]).or(text(&case["token"]).map(|_| "")),
            &options,
            &mut MemoryNonceStore::new(),
        )
    };
    verified.map_err(|e| {
        format!(
            "verifying oauthlib's {} placement failed: {e}",
            case["placement"]
        )
    })?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    let (Some(path), Some(key_path)) = (std::env::args().nth(1), std::env::args().nth(2)) else {
        eprintln!("usage: oauthlib_crosscheck CASES.json RSA_KEY.pem");
        return std::process::ExitCode::from(2);
    };
    let rsa_key = match std::fs::read_to_string(&key_path)
        .map_err(|e| e.to_string())
        .and_then(|pem| RsaPrivateKey::from_pem(&pem).map_err(|e| e.to_string()))
    {
        Ok(key) => key,
        Err(error) => {
            eprintln!("cannot read the RSA key {key_path}: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    let cases: Value = match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
    {
        Ok(cases) => cases,
        Err(error) => {
            eprintln!("cannot read {path}: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    let list = cases["cases"].as_array().cloned().unwrap_or_default();
    let (mut passed, mut failed) = (0, 0);
    for case in &list {
        match check(case, &rsa_key) {
            Ok(()) => passed += 1,
            Err(why) => {
                failed += 1;
                eprintln!(
                    "case {} ({} {}): {why}",
                    case["id"], case["method"], case["url"]
                );
            }
        }
    }
    println!(
        "oauthlib cross-check (seed {}): {passed} passed, {failed} failed",
        cases["seed"]
    );
    if failed == 0 && passed > 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
