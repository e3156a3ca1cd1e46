//! Signatures per second for a typical GET with 5 query parameters, per method,
//! next to a baseline of one bare HMAC-SHA1 + base64 over the same base string (the
//! unavoidable cryptographic cost). `cargo xtask bench` prints the ratios.

#![allow(missing_docs)] // criterion_group! generates an undocumented public function.

use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use oauth1::{
    MemoryNonceStore, ReceivedRequest, Request, SignatureMethod, Signer, VerifyError, VerifyKey,
    VerifyOptions,
};
use std::hint::black_box;

/// The consumer secret and the token secret.
const SECRETS: (&str, &str) = (
    "0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c",
    "abcdef0123456789abcdef0123456789",
);

const URL: &str = "https://api.vimeo.com/me/videos?page=2&per_page=25&sort=date&direction=desc&fields=uri%2Cname%2Cstatus";

fn signer(method: SignatureMethod) -> Signer {
    Signer::new("a1b2c3d4e5f6a7b8c9d0", SECRETS.0)
        .token("8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d", SECRETS.1)
        .signature_method(method)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("oauth1_sign");
    let request = Request::new("GET", URL);
    for method in SignatureMethod::ALL {
        let signer = signer(method);
        group.bench_function(method.as_str(), |b| {
            b.iter(|| {
                black_box(
                    signer
                        .sign(black_box(&request))
                        .unwrap()
                        .authorization_header(),
                )
            })
        });
    }
    // The server side: parse the header and verify (HMAC-SHA1) with one
    // long-lived nonce store, as a server keeps it. Each request carries its
    // own nonce (a replay would be refused), so 4,096 are signed beforehand and
    // verified in turn; the store starts afresh once per round of them.
    let headers: Vec<String> = (0..4_096)
        .map(|_| {
            signer(SignatureMethod::HmacSha1)
                .timestamp(1_000)
                .sign(&request)
                .unwrap()
                .authorization_header()
        })
        .collect();
    let received_requests: Vec<Request<'_>> = headers
        .iter()
        .map(|header| Request::new("GET", URL).authorization(header))
        .collect();
    let options = VerifyOptions::new(1_000);
    // Each verification in turn, over the signed requests, with a store that
    // starts afresh once per round of them.
    let mut bench_verify = |name: &str,
                            verify: &dyn Fn(
        &ReceivedRequest,
        &mut MemoryNonceStore,
    ) -> Result<(), VerifyError>| {
        let mut nonces = MemoryNonceStore::new();
        let mut next = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                if next == received_requests.len() {
                    next = 0;
                    nonces = MemoryNonceStore::new();
                }
                let received = ReceivedRequest::parse(black_box(&received_requests[next])).unwrap();
                next += 1;
                verify(&received, &mut nonces).unwrap();
            })
        });
    };
    let (consumer_secret, token_secret) = (SECRETS.0, Some(SECRETS.1));
    bench_verify("verify_HMAC-SHA1", &|received, nonces| {
        received.verify(consumer_secret, token_secret, &options, nonces)
    });
    // The same with the secrets prepared once (`VerifyKey`), as a server
    // that keeps them per consumer and token does: no key encoding and no
    // HMAC key schedule per request (a signer keeps its own likewise).
    let key = VerifyKey::new(consumer_secret, token_secret);
    bench_verify("verify_key_HMAC-SHA1", &|received, nonces| {
        received.verify_with(&key, &options, nonces)
    });
    let base_string = signer(SignatureMethod::HmacSha1)
        .sign(&request)
        .unwrap()
        .base_string()
        .to_owned();
    // The floor: HMAC-SHA1 (key schedule included) over the same base string,
    // then base64 — what any signer must compute.
    group.bench_function("baseline_hmac_sha1_only", |b| {
        b.iter(|| {
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(
                b"0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c&abcdef0123456789abcdef0123456789",
            )
            .unwrap();
            mac.update(black_box(base_string.as_bytes()));
            black_box(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
