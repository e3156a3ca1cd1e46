//! The Redis backend against a real `redis-server` on loopback, which this test
//! binary starts (and restarts) itself. Run by `cargo xtask ci`, which installs
//! Debian's redis-server when it is missing; `REDIS_SERVER` may name the binary.

#[macro_use]
mod conformance;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cache::{Cache, Error, Namespace, RedisCache, Ttl};

use sandbox::RedisServer as Server;

fn unique_prefix() -> String {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).unwrap();
    format!("test-{:016x}", u64::from_le_bytes(random))
}

/// A cache that owns its redis-server, so the server stops when the test's
/// cache is dropped (no process outlives the test binary).
#[derive(Debug)]
struct OwnedServerCache {
    cache: RedisCache,
    _server: ServerGuard,
}

struct ServerGuard(Server);

impl std::fmt::Debug for ServerGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "redis-server on port {}", self.0.port())
    }
}

impl Cache for OwnedServerCache {
    fn get<'a>(&'a self, key: &'a cache::Key) -> cache::CacheFuture<'a, Option<Bytes>> {
        self.cache.get(key)
    }
    fn put<'a>(
        &'a self,
        key: &'a cache::Key,
        value: Bytes,
        ttl: Ttl,
    ) -> cache::CacheFuture<'a, ()> {
        self.cache.put(key, value, ttl)
    }
    fn remove<'a>(&'a self, key: &'a cache::Key) -> cache::CacheFuture<'a, bool> {
        self.cache.remove(key)
    }
    fn clear<'a>(&'a self, namespace: &'a Namespace) -> cache::CacheFuture<'a, ()> {
        self.cache.clear(namespace)
    }
    fn purge_expired(&self) -> cache::CacheFuture<'_, u64> {
        self.cache.purge_expired()
    }
}

async fn owned(clock: cache::ManualClock) -> Arc<dyn Cache> {
    let server = Server::start();
    let cache = RedisCache::connect(&server.url())
        .await
        .unwrap()
        .prefix(&unique_prefix())
        .default_ttl(Duration::from_secs(60))
        .clock(Arc::new(clock));
    Arc::new(OwnedServerCache {
        cache,
        _server: ServerGuard(server),
    })
}

conformance!(
    redis_backend,
    |clock: cache::ManualClock, _dir: std::path::PathBuf| crate::owned(clock)
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_expiry_is_set_on_the_server_too() {
    let server = Server::start();
    let cache = RedisCache::connect(&server.url())
        .await
        .unwrap()
        .prefix(&unique_prefix());
    let key = Namespace::new("ttl").unwrap().key("k");
    cache
        .put(
            &key,
            Bytes::from_static(b"v"),
            Ttl::After(Duration::from_secs(100)),
        )
        .await
        .unwrap();
    let client = redis::Client::open(server.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*:ttl:*")
        .query_async(&mut connection)
        .await
        .unwrap();
    let ours: Vec<_> = keys.iter().filter(|k| k.ends_with(&key.hex())).collect();
    assert_eq!(ours.len(), 1, "{keys:?}");
    let pttl: i64 = redis::cmd("PTTL")
        .arg(ours[0])
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(pttl > 90_000 && pttl <= 100_000, "{pttl}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_a_server_restart() {
    let server = Server::start();
    let port = server.port();
    let cache = Arc::new(RedisCache::connect(&server.url()).await.unwrap());
    let key = Namespace::new("restart").unwrap().key("k");
    cache
        .put(&key, Bytes::from_static(b"before"), Ttl::Never)
        .await
        .unwrap();

    // Down: a typed error, quickly, never a hang or a wrong value.
    drop(server);
    let down = tokio::time::timeout(Duration::from_secs(20), cache.get(&key))
        .await
        .expect("no hang");
    assert!(matches!(down, Err(Error::Backend(_))), "{down:?}");
    let down = tokio::time::timeout(
        Duration::from_secs(20),
        cache.put(&key, Bytes::from_static(b"x"), Ttl::Never),
    )
    .await
    .expect("no hang");
    assert!(matches!(down, Err(Error::Backend(_))), "{down:?}");

    // Back (empty, no persistence): the same handle reconnects.
    let _server = Server::start_on(port);
    let mut reconnected = None;
    for _ in 0..100 {
        if let Ok(value) = cache.get(&key).await {
            reconnected = Some(value);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        reconnected,
        Some(None),
        "reconnected; the restarted server lost the value: a miss, not an error"
    );
    cache
        .put(&key, Bytes::from_static(b"after"), Ttl::Never)
        .await
        .unwrap();
    assert_eq!(
        cache.get(&key).await.unwrap(),
        Some(Bytes::from_static(b"after"))
    );
}

#[tokio::test]
async fn a_bad_url_is_a_typed_error() {
    assert!(matches!(
        RedisCache::connect("not-a-url").await,
        Err(Error::Backend(_))
    ));
}
