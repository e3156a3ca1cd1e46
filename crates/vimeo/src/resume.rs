//! tus resume state in a cache.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cache::{Cache, Namespace, Ttl};
use tus::{BoxFuture, UrlStore};

/// A [`tus::UrlStore`] over any [`cache::Cache`].
///
/// Keys are the tus fingerprints hashed again into the `tus-resume` namespace,
/// so neither file paths nor URLs appear in the backend. Entries expire after
/// `ttl` (default 7 days; servers expire unfinished uploads too).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), tus::Error> {
/// use std::sync::Arc;
/// use vimeo::tus::UrlStore as _;
/// let store = vimeo::CacheUrlStore::new(Arc::new(vimeo::cache::MemoryCache::new()));
/// store.put("ab12", "https://files.example/upload/1").await?;
/// assert_eq!(store.get("ab12").await?.as_deref(), Some("https://files.example/upload/1"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct CacheUrlStore {
    cache: Arc<dyn Cache>,
    namespace: Namespace,
    ttl: Duration,
}

impl CacheUrlStore {
    /// Resume state in `cache`, namespace `tus-resume`, 7-day TTL.
    pub fn new(cache: Arc<dyn Cache>) -> Self {
        CacheUrlStore {
            cache,
            namespace: Namespace::new(NAMESPACE).expect("NAMESPACE is a valid constant (tested)"),
            ttl: Duration::from_secs(7 * 24 * 3600),
        }
    }

    /// How long an entry is kept.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }
}

/// The cache namespace of resume entries.
const NAMESPACE: &str = "tus-resume";

fn store_error(error: cache::Error) -> tus::Error {
    tus::Error::Store(Box::new(error))
}

impl UrlStore for CacheUrlStore {
    fn get<'a>(
        &'a self,
        fingerprint: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, tus::Error>> {
        Box::pin(async move {
            let value = self
                .cache
                .get(&self.namespace.key(fingerprint))
                .await
                .map_err(store_error)?;
            Ok(value.and_then(|bytes| String::from_utf8(bytes.to_vec()).ok()))
        })
    }

    fn put<'a>(
        &'a self,
        fingerprint: &'a str,
        url: &'a str,
    ) -> BoxFuture<'a, Result<(), tus::Error>> {
        Box::pin(async move {
            let key = self.namespace.key(fingerprint);
            self.cache
                .put(
                    &key,
                    Bytes::copy_from_slice(url.as_bytes()),
                    Ttl::After(self.ttl),
                )
                .await
                .map_err(store_error)
        })
    }

    fn remove<'a>(&'a self, fingerprint: &'a str) -> BoxFuture<'a, Result<(), tus::Error>> {
        Box::pin(async move {
            self.cache
                .remove(&self.namespace.key(fingerprint))
                .await
                .map(|_| ())
                .map_err(store_error)
        })
    }

    /// Writes and removes a short-lived entry, so an unwritable backend
    /// fails before an upload is created.
    fn probe(&self) -> BoxFuture<'_, Result<(), tus::Error>> {
        Box::pin(async move {
            let mut random = [0u8; 8];
            let _ = getrandom::fill(&mut random);
            let key = self
                .namespace
                .key(format!("probe-{}", u64::from_le_bytes(random)));
            let value = Bytes::from_static(b"probe");
            let ttl = Ttl::After(Duration::from_secs(60));
            self.cache
                .put(&key, value, ttl)
                .await
                .map_err(store_error)?;
            self.cache
                .remove(&key)
                .await
                .map(|_| ())
                .map_err(store_error)
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_namespace_constant_is_valid() {
        assert!(cache::Namespace::new(super::NAMESPACE).is_ok());
    }
}
