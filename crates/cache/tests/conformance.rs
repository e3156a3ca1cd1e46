//! The conformance suite every backend passes. Instantiate it with
//! `conformance!(name, |clock, dir| async { ... Arc<dyn Cache> })`; the clock is
//! a `ManualClock` the backend must use, `dir` a fresh directory it may use.

/// Instantiates the conformance suite for one backend.
#[macro_export]
macro_rules! conformance {
    ($name:ident, $make:expr) => {
        mod $name {
            #![allow(unused_imports)]
            use std::sync::Arc;
            use std::time::Duration;

            use bytes::Bytes;
            use cache::{Cache, ManualClock, Namespace, Ttl};

            async fn setup() -> (Arc<dyn Cache>, ManualClock, sandbox::TempDir) {
                let dir = sandbox::TempDir::new("cache-conformance").unwrap();
                let clock = ManualClock::new(1_700_000_000_000);
                let cache = ($make)(clock.clone(), dir.path().to_path_buf()).await;
                (cache, clock, dir)
            }

            fn ns(name: &str) -> Namespace {
                Namespace::new(name).unwrap()
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn round_trip() {
                let (cache, _, _dir) = setup().await;
                let key = ns("a").key("k");
                assert_eq!(cache.get(&key).await.unwrap(), None);
                cache
                    .put(&key, Bytes::from_static(b"value"), Ttl::Never)
                    .await
                    .unwrap();
                assert_eq!(
                    cache.get(&key).await.unwrap(),
                    Some(Bytes::from_static(b"value"))
                );
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn overwrite() {
                let (cache, _, _dir) = setup().await;
                let key = ns("a").key("k");
                cache
                    .put(&key, Bytes::from_static(b"first, and longer"), Ttl::Never)
                    .await
                    .unwrap();
                cache
                    .put(&key, Bytes::from_static(b"second"), Ttl::Never)
                    .await
                    .unwrap();
                assert_eq!(
                    cache.get(&key).await.unwrap(),
                    Some(Bytes::from_static(b"second"))
                );
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn expiry() {
                let (cache, clock, _dir) = setup().await;
                let short = ns("a").key("short");
                let long = ns("a").key("long");
                let forever = ns("a").key("forever");
                cache
                    .put(
                        &short,
                        Bytes::from_static(b"s"),
                        Ttl::After(Duration::from_secs(10)),
                    )
                    .await
                    .unwrap();
                cache
                    .put(
                        &long,
                        Bytes::from_static(b"l"),
                        Ttl::After(Duration::from_secs(100)),
                    )
                    .await
                    .unwrap();
                cache
                    .put(&forever, Bytes::from_static(b"f"), Ttl::Never)
                    .await
                    .unwrap();
                clock.advance(Duration::from_millis(9_999));
                assert!(cache.get(&short).await.unwrap().is_some());
                clock.advance(Duration::from_millis(1));
                assert_eq!(
                    cache.get(&short).await.unwrap(),
                    None,
                    "stale entries are never returned"
                );
                assert!(cache.get(&long).await.unwrap().is_some());
                clock.advance(Duration::from_secs(1000));
                assert_eq!(cache.get(&long).await.unwrap(), None);
                assert!(cache.get(&forever).await.unwrap().is_some());
                // An expired entry that was never read is still never returned, and purge removes it.
                let unread = ns("a").key("unread");
                cache
                    .put(
                        &unread,
                        Bytes::from_static(b"u"),
                        Ttl::After(Duration::from_secs(1)),
                    )
                    .await
                    .unwrap();
                clock.advance(Duration::from_secs(2));
                let purged = cache.purge_expired().await.unwrap();
                assert!(purged <= 1);
                assert_eq!(cache.get(&unread).await.unwrap(), None);
                assert!(
                    cache.get(&forever).await.unwrap().is_some(),
                    "purge keeps live entries"
                );
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn remove() {
                let (cache, clock, _dir) = setup().await;
                let key = ns("a").key("k");
                assert!(!cache.remove(&key).await.unwrap());
                cache
                    .put(&key, Bytes::from_static(b"v"), Ttl::Never)
                    .await
                    .unwrap();
                assert!(cache.remove(&key).await.unwrap());
                assert_eq!(cache.get(&key).await.unwrap(), None);
                assert!(!cache.remove(&key).await.unwrap());
                cache
                    .put(
                        &key,
                        Bytes::from_static(b"v"),
                        Ttl::After(Duration::from_secs(1)),
                    )
                    .await
                    .unwrap();
                clock.advance(Duration::from_secs(5));
                assert!(
                    !cache.remove(&key).await.unwrap(),
                    "an expired entry was not present"
                );
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn clear_and_namespaces() {
                let (cache, _, _dir) = setup().await;
                let (a, b) = (ns("alpha"), ns("beta"));
                for i in 0..20 {
                    cache
                        .put(
                            &a.key(format!("{i}")),
                            Bytes::from(format!("a{i}")),
                            Ttl::Never,
                        )
                        .await
                        .unwrap();
                    cache
                        .put(
                            &b.key(format!("{i}")),
                            Bytes::from(format!("b{i}")),
                            Ttl::Never,
                        )
                        .await
                        .unwrap();
                }
                // The same raw key in two namespaces is two entries.
                assert_eq!(
                    cache.get(&a.key("3")).await.unwrap(),
                    Some(Bytes::from("a3"))
                );
                assert_eq!(
                    cache.get(&b.key("3")).await.unwrap(),
                    Some(Bytes::from("b3"))
                );
                cache.clear(&a).await.unwrap();
                for i in 0..20 {
                    assert_eq!(cache.get(&a.key(format!("{i}"))).await.unwrap(), None);
                    assert_eq!(
                        cache.get(&b.key(format!("{i}"))).await.unwrap(),
                        Some(Bytes::from(format!("b{i}")))
                    );
                }
                cache.clear(&ns("empty")).await.unwrap();
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_writers() {
                let (cache, _, _dir) = setup().await;
                let shared = ns("c").key("shared");
                let mut tasks = Vec::new();
                for writer in 0..8u8 {
                    let cache = cache.clone();
                    let shared = shared.clone();
                    tasks.push(tokio::spawn(async move {
                        for i in 0..25u32 {
                            let key = ns("c").key(format!("{writer}-{i}"));
                            cache
                                .put(&key, Bytes::from(format!("{writer}-{i}")), Ttl::Never)
                                .await
                                .unwrap();
                            // Whole-value writers: the shared value is always one writer's value.
                            cache
                                .put(&shared, Bytes::from(vec![writer; 4096]), Ttl::Never)
                                .await
                                .unwrap();
                        }
                    }));
                }
                for task in tasks {
                    task.await.unwrap();
                }
                for writer in 0..8u8 {
                    for i in 0..25u32 {
                        let key = ns("c").key(format!("{writer}-{i}"));
                        assert_eq!(
                            cache.get(&key).await.unwrap(),
                            Some(Bytes::from(format!("{writer}-{i}")))
                        );
                    }
                }
                let value = cache.get(&shared).await.unwrap().unwrap();
                assert_eq!(value.len(), 4096);
                assert!(
                    value.iter().all(|&b| b == value[0]),
                    "a value mixed from two writers"
                );
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn large_values() {
                let (cache, _, _dir) = setup().await;
                let key = ns("big").key("64MiB");
                let value: Bytes = (0..64u32 << 20)
                    .map(|i| (i % 251) as u8)
                    .collect::<Vec<u8>>()
                    .into();
                cache.put(&key, value.clone(), Ttl::Never).await.unwrap();
                let back = cache.get(&key).await.unwrap().unwrap();
                assert!(back == value, "64 MiB value differs");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn empty_values() {
                let (cache, _, _dir) = setup().await;
                let key = ns("a").key("empty");
                cache.put(&key, Bytes::new(), Ttl::Never).await.unwrap();
                assert_eq!(
                    cache.get(&key).await.unwrap(),
                    Some(Bytes::new()),
                    "empty is a hit, not a miss"
                );
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn binary_keys() {
                let (cache, _, _dir) = setup().await;
                let raw_keys: [&[u8]; 4] = [
                    &[0, 0, 0],
                    &[0xff, 0xfe],
                    b"../../etc/passwd",
                    b"key with spaces\n",
                ];
                for (i, raw) in raw_keys.iter().enumerate() {
                    cache
                        .put(&ns("bin").key(raw), Bytes::from(vec![i as u8]), Ttl::Never)
                        .await
                        .unwrap();
                }
                for (i, raw) in raw_keys.iter().enumerate() {
                    assert_eq!(
                        cache.get(&ns("bin").key(raw)).await.unwrap(),
                        Some(Bytes::from(vec![i as u8]))
                    );
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn default_ttl_applies() {
                let (cache, clock, _dir) = setup().await;
                // Backends in this suite are built with a 60 s default TTL.
                let key = ns("a").key("default");
                cache
                    .put(&key, Bytes::from_static(b"d"), Ttl::Default)
                    .await
                    .unwrap();
                clock.advance(Duration::from_secs(59));
                assert!(cache.get(&key).await.unwrap().is_some());
                clock.advance(Duration::from_secs(1));
                assert_eq!(cache.get(&key).await.unwrap(), None);
            }
        }
    };
}
