//! get-hit, get-miss and put latency per backend for 1 KiB and 1 MiB values,
//! next to same-run baselines: a plain `HashMap` lookup (memory) and a raw
//! `std::fs::read` of the same bytes (file). `cargo xtask bench cache` prints
//! the ratios. Redis is included when `redis-server` is on the PATH.

#![allow(missing_docs)] // criterion_group! generates an undocumented public function.

use std::collections::HashMap;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use cache::{Cache, FileCache, MemoryCache, Namespace, SledCache, Ttl};
use criterion::{Criterion, criterion_group, criterion_main};

/// Polls once with a no-op waker (ready futures allocate nothing and need no
/// runtime); falls back to the runtime for futures that do I/O.
/// The caller has entered the runtime's context once (see `bench`).
fn run<F: Future>(rt: &tokio::runtime::Runtime, future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => rt.block_on(future),
    }
}

const SIZES: [(&str, usize); 2] = [("1KiB", 1024), ("1MiB", 1 << 20)];

fn backend_benches(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    cache: Arc<dyn Cache>,
) {
    let ns = Namespace::new("bench").unwrap();
    let mut group = c.benchmark_group(format!("cache_{name}"));
    for (label, size) in SIZES {
        let value = Bytes::from(vec![7u8; size]);
        let hit = ns.key(format!("hit-{label}"));
        let miss = ns.key(format!("miss-{label}"));
        run(rt, cache.put(&hit, value.clone(), Ttl::Never)).unwrap();
        group.bench_function(format!("get_hit/{label}"), |b| {
            b.iter(|| black_box(run(rt, cache.get(black_box(&hit))).unwrap()))
        });
        group.bench_function(format!("get_miss/{label}"), |b| {
            b.iter(|| black_box(run(rt, cache.get(black_box(&miss))).unwrap()))
        });
        let put_key = ns.key(format!("put-{label}"));
        group.bench_function(format!("put/{label}"), |b| {
            b.iter(|| run(rt, cache.put(&put_key, value.clone(), Ttl::Never)).unwrap())
        });
    }
    group.finish();
}

fn baselines(c: &mut Criterion, dir: &std::path::Path) {
    let mut group = c.benchmark_group("cache_baseline");
    for (label, size) in SIZES {
        let mut map: HashMap<[u8; 32], Bytes> = HashMap::new();
        let key = *Namespace::new("bench").unwrap().key(label).digest();
        map.insert(key, Bytes::from(vec![7u8; size]));
        group.bench_function(format!("hashmap_get/{label}"), |b| {
            b.iter(|| black_box(map.get(black_box(&key)).cloned()))
        });
        let path = dir.join(format!("raw-{label}"));
        std::fs::write(&path, vec![7u8; size]).unwrap();
        group.bench_function(format!("fs_read/{label}"), |b| {
            b.iter(|| black_box(std::fs::read(black_box(&path)).unwrap()))
        });
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let _context = rt.enter();
    let dir = sandbox::TempDir::new("cache-bench").unwrap();
    baselines(c, dir.path());
    backend_benches(
        c,
        &rt,
        "memory",
        Arc::new(MemoryCache::builder().max_bytes(1 << 30).build()),
    );
    backend_benches(
        c,
        &rt,
        "file",
        Arc::new(FileCache::open(dir.path().join("file")).unwrap()),
    );
    backend_benches(
        c,
        &rt,
        "sled",
        Arc::new(SledCache::open(dir.path().join("sled")).unwrap()),
    );
    if let Ok(server) = sandbox::RedisServer::try_start() {
        let cache = rt
            .block_on(cache::RedisCache::connect(&server.url()))
            .unwrap();
        backend_benches(c, &rt, "redis", Arc::new(cache));
    } else {
        eprintln!("redis-server not found: no Redis figures");
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
