//! Typed helpers over any [`Cache`]: values as JSON.

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend::{Cache, Ttl};
use crate::error::Error;
use crate::key::Key;

/// JSON get/put for any cache (including `dyn Cache`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cache::Error> {
/// use cache::{CacheExt as _, MemoryCache, Namespace, Ttl};
/// let cache = MemoryCache::new();
/// let key = Namespace::new("users")?.key("42");
/// cache.put_json(&key, &vec![1, 2, 3], Ttl::Default).await?;
/// assert_eq!(cache.get_json::<Vec<u32>>(&key).await?, Some(vec![1, 2, 3]));
/// # Ok(()) }
/// ```
pub trait CacheExt: Cache {
    /// Gets and deserializes a value. A value that no longer deserializes
    /// (the type changed) is an error, not a miss, so it is noticed.
    fn get_json<'a, T: DeserializeOwned>(
        &'a self,
        key: &'a Key,
    ) -> impl Future<Output = Result<Option<T>, Error>> + Send + 'a {
        async move {
            match self.get(key).await? {
                Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
                None => Ok(None),
            }
        }
    }

    /// Serializes and stores a value.
    fn put_json<'a, T: Serialize + ?Sized + Sync>(
        &'a self,
        key: &'a Key,
        value: &'a T,
        ttl: Ttl,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'a {
        async move {
            let bytes = serde_json::to_vec(value)?;
            self.put(key, bytes.into(), ttl).await
        }
    }
}

impl<C: Cache + ?Sized> CacheExt for C {}
