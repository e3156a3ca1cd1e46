//! Signatures per second for a typical GET with 5 query parameters, per method,
//! next to a baseline of one bare HMAC-SHA1 + base64 over the same base string (the
//! unavoidable cryptographic cost). `cargo xtask bench` prints the ratios.
//!
//! Each workload is measured twice: by criterion, one after another, and in
//! pairs — a short batch of the baseline, then one of the workload, again
//! and again, the workloads taking turns pair by pair — whose per-pair
//! ratios give a median. On a shared machine the speed drifts between
//! criterion's measurements by more than the ratios are meant to show; a
//! pair sees the same conditions, and every workload the same stretches. With
//! `OAUTH1_PAIRED_OUT=path` the pairs' medians are written there (one
//! `name<TAB>median<TAB>lower quartile<TAB>upper quartile` line per workload);
//! with `OAUTH1_PAIRED_ONLY=1` only the pairs are measured (a quick
//! comparison while optimizing).

use base64::Engine as _;
use criterion::Criterion;
use hmac::{Hmac, Mac};
use oauth1::{
    MemoryNonceStore, ReceivedRequest, Request, SignatureMethod, Signer, VerifyKey, VerifyOptions,
};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The consumer secret and the token secret.
const SECRETS: (&str, &str) = (
    "0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c",
    "abcdef0123456789abcdef0123456789",
);

const URL: &str = "https://api.vimeo.com/me/videos?page=2&per_page=25&sort=date&direction=desc&fields=uri%2Cname%2Cstatus";

/// The baseline's criterion name.
const BASELINE: &str = "baseline_hmac_sha1_only";

fn signer(method: SignatureMethod) -> Signer {
    Signer::new("a1b2c3d4e5f6a7b8c9d0", SECRETS.0)
        .token("8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d", SECRETS.1)
        .signature_method(method)
}

/// One measured operation, by its criterion name.
type Workload = (String, Box<dyn FnMut()>);

/// Signing per method, the server side (parse + verify HMAC-SHA1, with the
/// secrets given per request and prepared once), and the baseline last.
fn workloads(received_requests: &'static [Request<'static>]) -> Vec<Workload> {
    let request = Request::new("GET", URL);
    let mut all: Vec<Workload> = Vec::new();
    for method in SignatureMethod::ALL {
        let signer = signer(method);
        all.push((
            method.as_str().to_owned(),
            Box::new(move || {
                black_box(
                    signer
                        .sign(black_box(&request))
                        .unwrap()
                        .authorization_header(),
                );
            }),
        ));
    }
    // The server side with one long-lived nonce store, as a server keeps
    // it. Each request carries its own nonce (a replay would be refused), so
    // they were signed beforehand and are verified in turn; the store starts
    // afresh once per round of them.
    let options = VerifyOptions::new(1_000);
    let (consumer_secret, token_secret) = (SECRETS.0, Some(SECRETS.1));
    // The same with the secrets prepared once (`VerifyKey`), as a server
    // that keeps them per consumer and token does: no key encoding and no
    // HMAC key schedule per request (a signer keeps its own likewise).
    let key = VerifyKey::new(consumer_secret, token_secret);
    for kept_key in [false, true] {
        let (options, key) = (options.clone(), key.clone());
        let mut nonces = MemoryNonceStore::new();
        let mut next = 0;
        let name = if kept_key {
            "verify_key_HMAC-SHA1"
        } else {
            "verify_HMAC-SHA1"
        };
        all.push((
            name.to_owned(),
            Box::new(move || {
                if next == received_requests.len() {
                    next = 0;
                    nonces = MemoryNonceStore::new();
                }
                let received = ReceivedRequest::parse(black_box(&received_requests[next])).unwrap();
                next += 1;
                match kept_key {
                    false => received.verify(consumer_secret, token_secret, &options, &mut nonces),
                    true => received.verify_with(&key, &options, &mut nonces),
                }
                .unwrap();
            }),
        ));
    }
    // The floor: HMAC-SHA1 (key schedule included) over the same base string,
    // then base64 — what any signer must compute.
    let base_string = signer(SignatureMethod::HmacSha1)
        .sign(&request)
        .unwrap()
        .base_string()
        .to_owned();
    all.push((
        BASELINE.to_owned(),
        Box::new(move || {
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(
                b"0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c&abcdef0123456789abcdef0123456789",
            )
            .unwrap();
            mac.update(black_box(base_string.as_bytes()));
            black_box(
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()),
            );
        }),
    ));
    all
}

/// 4,096 signed requests, each with its own nonce, as a server receives them.
fn received_requests() -> &'static [Request<'static>] {
    let request = Request::new("GET", URL);
    let headers: Vec<String> = (0..4_096)
        .map(|_| {
            signer(SignatureMethod::HmacSha1)
                .timestamp(1_000)
                .sign(&request)
                .unwrap()
                .authorization_header()
        })
        .collect();
    let headers: &'static [String] = headers.leak();
    let requests: Vec<Request<'static>> = headers
        .iter()
        .map(|header| Request::new("GET", URL).authorization(header))
        .collect();
    requests.leak()
}

/// Each workload by criterion, one after another.
fn bench(c: &mut Criterion, workloads: &mut [Workload]) {
    let mut group = c.benchmark_group("oauth1_sign");
    for (name, work) in workloads {
        group.bench_function(name.as_str(), |b| b.iter(&mut *work));
    }
    group.finish();
}

/// Nanoseconds per call of `work` over a batch of `calls`.
fn batch(work: &mut dyn FnMut(), calls: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..calls {
        work();
    }
    start.elapsed().as_nanos() as f64 / f64::from(calls)
}

/// Each workload's throughput as a share of the baseline's, from `pairs`
/// adjacent batches of about 2 ms each: the median and quartiles.
///
/// The workloads take turns, one pair each, round after round: this VM's
/// speed shifts over seconds to minutes (and not alike for every workload),
/// and a workload measured all in one stretch could meet a slow stretch
/// that the others missed.
fn paired(workloads: &mut [Workload], pairs: usize) -> Vec<(String, [f64; 3])> {
    let ((_, baseline), others) = workloads.split_last_mut().expect("the baseline comes last");
    // Calls per batch: about 2 ms of each, after a warm-up.
    let calls = |work: &mut dyn FnMut()| {
        batch(work, 1_000);
        (Duration::from_millis(2).as_nanos() as f64 / batch(work, 1_000)).max(1.0) as u32
    };
    let baseline_calls = calls(baseline);
    let work_calls: Vec<u32> = others.iter_mut().map(|(_, work)| calls(work)).collect();
    let mut shares = vec![Vec::with_capacity(pairs); others.len()];
    for _ in 0..pairs {
        for ((_, work), (calls, shares)) in
            others.iter_mut().zip(work_calls.iter().zip(&mut shares))
        {
            shares.push(batch(baseline, baseline_calls) / batch(work, *calls));
        }
    }
    others
        .iter()
        .zip(shares)
        .map(|((name, _), mut shares)| {
            shares.sort_by(f64::total_cmp);
            let at = |q: f64| 100.0 * shares[((shares.len() - 1) as f64 * q).round() as usize];
            (name.clone(), [at(0.5), at(0.25), at(0.75)])
        })
        .collect()
}

fn main() {
    // Signed once, for both measurements.
    let mut workloads = workloads(received_requests());
    if std::env::var_os("OAUTH1_PAIRED_ONLY").is_none() {
        let mut criterion = Criterion::default().configure_from_args();
        bench(&mut criterion, &mut workloads);
        criterion.final_summary();
    }
    // Not when criterion was asked for some benchmarks only, or just to list them.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filtered = args.iter().any(|arg| !arg.starts_with('-'))
        || args.iter().any(|arg| arg == "--list" || arg == "--test");
    if filtered {
        return;
    }
    let results = paired(&mut workloads, 300);
    let mut lines = String::new();
    println!(
        "\noauth1_sign, paired with the baseline (share of its throughput: median [quartiles])"
    );
    for (name, [median, low, high]) in &results {
        println!("{name:<22} {median:>6.1}% [{low:.1}–{high:.1}]");
        lines.push_str(&format!("{name}\t{median}\t{low}\t{high}\n"));
    }
    if let Some(path) = std::env::var_os("OAUTH1_PAIRED_OUT") {
        std::fs::write(&path, lines).expect("writing the paired results");
    }
}
