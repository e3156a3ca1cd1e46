//! The Redis backend: the shared cache of a fleet.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use redis::AsyncCommands as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::backend::{Cache, CacheFuture, Ttl};
use crate::clock::{Clock, system};
use crate::entry;
use crate::error::Error;
use crate::key::{Key, Namespace};

/// The Redis backend (feature `redis`).
///
/// Keys are `PREFIX:NAMESPACE:HEXDIGEST`. Expiry uses Redis's own (`PX`), so
/// Redis removes entries by itself; the expiry is also stored in the entry and
/// checked against this machine's clock on every read, so a stale entry is never
/// returned even when clocks disagree. The tokio connection manager reconnects
/// after the server restarts; while it is down, calls fail with
/// [`Error::Backend`] within the response timeout instead of hanging.
#[derive(Clone)]
pub struct RedisCache {
    connection: ConnectionManager,
    prefix: String,
    default_ttl: Option<Duration>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache")
            .field("prefix", &self.prefix)
            .field("default_ttl", &self.default_ttl)
            .finish()
    }
}

fn backend(error: redis::RedisError) -> Error {
    Error::Backend(format!("redis: {error}"))
}

impl RedisCache {
    /// Connects to `url` (`redis://host:port/db`). Keys get the prefix `vimeo-cache`.
    pub async fn connect(url: &str) -> Result<RedisCache, Error> {
        let client = redis::Client::open(url).map_err(backend)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(backend)?;
        Ok(RedisCache {
            connection,
            prefix: "vimeo-cache".into(),
            default_ttl: None,
            clock: system(),
        })
    }

    /// Uses another key prefix (to share one Redis between applications).
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_owned();
        self
    }

    /// TTL for `Ttl::Default` puts (default: none).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = Some(ttl);
        self
    }

    /// The clock used for the stored expiry check.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn redis_key(&self, key: &Key) -> String {
        format!("{}:{}:{}", self.prefix, key.namespace(), key.hex())
    }
}

impl Cache for RedisCache {
    fn get<'a>(&'a self, key: &'a Key) -> CacheFuture<'a, Option<Bytes>> {
        CacheFuture::boxed(async move {
            let mut connection = self.connection.clone();
            let name = self.redis_key(key);
            let stored: Option<Vec<u8>> = connection.get(&name).await.map_err(backend)?;
            let Some(stored) = stored else {
                return Ok(None);
            };
            match entry::decode(Bytes::from(stored)) {
                Some(decoded) if !decoded.is_expired(self.clock.now_ms()) => {
                    Ok(Some(decoded.value))
                }
                _ => {
                    let _: () = connection.del(&name).await.map_err(backend)?;
                    Ok(None)
                }
            }
        })
    }

    fn put<'a>(&'a self, key: &'a Key, value: Bytes, ttl: Ttl) -> CacheFuture<'a, ()> {
        CacheFuture::boxed(async move {
            let now = self.clock.now_ms();
            let expires = ttl.expires_at(now, self.default_ttl);
            let stored = entry::encode(&value, expires);
            let mut connection = self.connection.clone();
            let name = self.redis_key(key);
            match expires {
                Some(at) => {
                    let millis = at.saturating_sub(now).max(1);
                    let _: () = connection
                        .pset_ex(&name, stored, millis)
                        .await
                        .map_err(backend)?;
                }
                None => {
                    let _: () = connection.set(&name, stored).await.map_err(backend)?;
                }
            }
            Ok(())
        })
    }

    fn remove<'a>(&'a self, key: &'a Key) -> CacheFuture<'a, bool> {
        CacheFuture::boxed(async move {
            let mut connection = self.connection.clone();
            let old: Option<Vec<u8>> = connection
                .get_del(self.redis_key(key))
                .await
                .map_err(backend)?;
            let now = self.clock.now_ms();
            Ok(old
                .and_then(|o| entry::decode(Bytes::from(o)))
                .is_some_and(|d| !d.is_expired(now)))
        })
    }

    fn clear<'a>(&'a self, namespace: &'a Namespace) -> CacheFuture<'a, ()> {
        CacheFuture::boxed(async move {
            let mut connection = self.connection.clone();
            let pattern = format!("{}:{}:*", self.prefix, namespace);
            let mut cursor: u64 = 0;
            loop {
                let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut connection)
                    .await
                    .map_err(backend)?;
                if !keys.is_empty() {
                    let _: () = redis::cmd("UNLINK")
                        .arg(&keys)
                        .query_async(&mut connection)
                        .await
                        .map_err(backend)?;
                }
                if next == 0 {
                    return Ok(());
                }
                cursor = next;
            }
        })
    }

    fn purge_expired(&self) -> CacheFuture<'_, u64> {
        // Redis expires entries itself (PX); reads also check the stored expiry.
        CacheFuture::ready(Ok(0))
    }
}
