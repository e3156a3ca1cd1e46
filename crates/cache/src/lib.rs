//! One cache abstraction with time-based expiry and four backends.
//!
//! - [`Cache`]: an object-safe async trait (`Arc<dyn Cache>` works; see its docs
//!   for why) with get, put with a [`Ttl`], remove, clear (per namespace) and
//!   purge of expired entries. Values are bytes; [`CacheExt`] adds JSON helpers.
//! - Keys are namespaced and hashed ([`Namespace`], [`Key`]): backends see only
//!   a SHA-256 hex digest, never a URL, token or other raw key material.
//! - Backends: [`MemoryCache`] (bounded, LRU, sharded), [`FileCache`] (atomic
//!   writes, 0600/0700, corruption = miss), `SledCache` (feature `sled`) and
//!   `RedisCache` (feature `redis`, for fleets). Every backend passes the same
//!   conformance suite (`tests/conformance.rs`).
//! - Keys ([`Namespace`], [`Key`]) are digests: nothing a caller puts in a
//!   key (a URL, a token) is readable in the store. What a key is made of —
//!   an API request, its credential — is the caller's business (the `vimeo`
//!   facade's request cache keeps those rules).
//!
//! Clock semantics: expiry is wall-clock time in milliseconds since the Unix
//! epoch, read from a [`Clock`] (the system clock unless replaced), because
//! entries outlive processes and cross machines. An entry whose expiry has
//! passed on the reading machine's clock is never returned.
//!
//! Degrading: backends return typed [`Error`]s; a caller that must not fail
//! because of its cache (like the request cache in the `vimeo` facade) treats a
//! failed get as a miss and a failed put as "not stored".
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cache::Error> {
//! use std::time::Duration;
//! use cache::{Cache, ManualClock, MemoryCache, Namespace, Ttl};
//!
//! let clock = ManualClock::new(0);
//! let cache = MemoryCache::builder().clock(std::sync::Arc::new(clock.clone())).build();
//! let key = Namespace::new("demo")?.key("k");
//! cache.put(&key, "v".into(), Ttl::After(Duration::from_secs(10))).await?;
//! assert!(cache.get(&key).await?.is_some());
//! clock.advance(Duration::from_secs(10));
//! assert!(cache.get(&key).await?.is_none()); // stale entries are never returned
//! # Ok(()) }
//! ```

mod backend;
mod clock;
mod entry;
mod error;
mod file;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod key;
mod memory;
#[cfg(feature = "redis")]
mod redis_backend;
#[cfg(feature = "sled")]
mod sled_backend;
mod typed;

pub use backend::{Cache, CacheFuture, Ttl};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::Error;
pub use file::FileCache;
pub use key::{Key, Namespace};
pub use memory::{MemoryCache, MemoryCacheBuilder};
#[cfg(feature = "redis")]
pub use redis_backend::RedisCache;
#[cfg(feature = "sled")]
pub use sled_backend::SledCache;
pub use typed::CacheExt;
