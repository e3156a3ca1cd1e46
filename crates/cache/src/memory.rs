//! The in-memory backend: bounded by entries and bytes, CLOCK (second-chance)
//! eviction, split into shards so concurrent callers rarely share a lock.
//!
//! CLOCK approximates LRU: a hit only sets a "referenced" bit (no reordering,
//! so hits stay O(1) and cheap); eviction walks entries in insertion order and
//! gives each referenced entry a second chance before evicting it.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;

use crate::backend::{Cache, CacheFuture, Ttl};
use crate::clock::{Clock, system};
use crate::key::{Key, Namespace};

const SHARDS: usize = 16;

/// Keys are SHA-256 digests, already uniform: the first 8 bytes are the hash.
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        if bytes.len() >= 8 {
            self.0 = u64::from_le_bytes(bytes[..8].try_into().unwrap_or([0; 8]));
        }
    }
    fn write_usize(&mut self, _: usize) {}
}

type DigestMap<V> = HashMap<[u8; 32], V, BuildHasherDefault<DigestHasher>>;

struct Slot {
    value: Bytes,
    expires_at_ms: Option<u64>,
    namespace: Arc<str>,
    /// Which insertion this is; ring entries of older insertions are stale.
    generation: u64,
    referenced: bool,
}

#[derive(Default)]
struct Shard {
    slots: DigestMap<Slot>,
    /// Insertion order as (digest, generation); entries whose slot was removed
    /// or replaced since are skipped when they come up.
    ring: VecDeque<([u8; 32], u64)>,
    generation: u64,
    bytes: usize,
}

impl Shard {
    fn remove(&mut self, digest: &[u8; 32]) -> Option<Slot> {
        let slot = self.slots.remove(digest)?;
        self.bytes -= slot.value.len();
        Some(slot)
    }

    /// Evicts one entry (second chance for referenced ones); false when empty.
    fn evict_one(&mut self) -> bool {
        while let Some((digest, generation)) = self.ring.pop_front() {
            match self.slots.get_mut(&digest) {
                Some(slot) if slot.generation == generation => {
                    if slot.referenced {
                        slot.referenced = false;
                        self.ring.push_back((digest, generation));
                    } else {
                        self.remove(&digest);
                        return true;
                    }
                }
                _ => {} // stale ring entry
            }
        }
        false
    }

    fn insert(
        &mut self,
        digest: [u8; 32],
        value: Bytes,
        expires_at_ms: Option<u64>,
        namespace: Arc<str>,
    ) {
        self.generation += 1;
        let generation = self.generation;
        self.bytes += value.len();
        self.ring.push_back((digest, generation));
        self.slots.insert(
            digest,
            Slot {
                value,
                expires_at_ms,
                namespace,
                generation,
                referenced: false,
            },
        );
        // Keep stale ring entries from piling up under overwrite-heavy loads.
        if self.ring.len() > 2 * self.slots.len() + 64 {
            let slots = &self.slots;
            self.ring
                .retain(|(d, g)| slots.get(d).is_some_and(|s| s.generation == *g));
        }
    }
}

/// The memory backend. Each of 16 shards holds at most 1/16 of the limits.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cache::Error> {
/// use cache::{Cache, MemoryCache, Namespace, Ttl};
/// let cache = MemoryCache::builder().max_entries(10_000).max_bytes(64 << 20).build();
/// let key = Namespace::new("demo")?.key("greeting");
/// cache.put(&key, "hello".into(), Ttl::Default).await?;
/// assert_eq!(cache.get(&key).await?.as_deref(), Some(&b"hello"[..]));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MemoryCache {
    inner: Arc<MemoryInner>,
}

struct MemoryInner {
    shards: Vec<Mutex<Shard>>,
    max_entries_per_shard: usize,
    max_bytes_per_shard: usize,
    default_ttl: Option<Duration>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for MemoryInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCache")
            .field("max_entries", &(self.max_entries_per_shard * SHARDS))
            .field("max_bytes", &(self.max_bytes_per_shard * SHARDS))
            .field("default_ttl", &self.default_ttl)
            .finish()
    }
}

/// Configures a [`MemoryCache`].
#[derive(Debug)]
#[must_use]
pub struct MemoryCacheBuilder {
    max_entries: usize,
    max_bytes: usize,
    default_ttl: Option<Duration>,
    clock: Arc<dyn Clock>,
}

impl MemoryCache {
    /// 10,000 entries, 256 MiB, no default TTL.
    pub fn new() -> Self {
        MemoryCache::builder().build()
    }

    /// Starts configuring.
    pub fn builder() -> MemoryCacheBuilder {
        MemoryCacheBuilder {
            max_entries: 10_000,
            max_bytes: 256 << 20,
            default_ttl: None,
            clock: system(),
        }
    }

    fn shard(&self, key: &Key) -> MutexGuard<'_, Shard> {
        let index = usize::from(key.digest()[31]) % SHARDS;
        self.inner.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Entries currently held (expired ones included until touched or purged).
    pub fn len(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|s| s.lock().map_or(0, |s| s.slots.len()))
            .sum()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for MemoryCache {
    fn default() -> Self {
        MemoryCache::new()
    }
}

impl MemoryCacheBuilder {
    /// Maximum number of entries (split across shards).
    pub fn max_entries(mut self, entries: usize) -> Self {
        self.max_entries = entries;
        self
    }

    /// Maximum total value bytes (split across shards); a value larger than a
    /// shard's share is not stored.
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// TTL for `Ttl::Default` puts (default: none).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = Some(ttl);
        self
    }

    /// The clock (tests use [`crate::ManualClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Builds the cache.
    pub fn build(self) -> MemoryCache {
        MemoryCache {
            inner: Arc::new(MemoryInner {
                shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
                max_entries_per_shard: self.max_entries.div_ceil(SHARDS).max(1),
                max_bytes_per_shard: self.max_bytes.div_ceil(SHARDS),
                default_ttl: self.default_ttl,
                clock: self.clock,
            }),
        }
    }
}

impl Cache for MemoryCache {
    fn get<'a>(&'a self, key: &'a Key) -> CacheFuture<'a, Option<Bytes>> {
        let mut shard = self.shard(key);
        let digest = key.digest();
        let Some(slot) = shard.slots.get_mut(digest) else {
            return CacheFuture::ready(Ok(None));
        };
        // The clock is read only for entries that can expire.
        if let Some(at) = slot.expires_at_ms
            && self.inner.clock.now_ms() >= at
        {
            shard.remove(digest);
            return CacheFuture::ready(Ok(None));
        }
        slot.referenced = true;
        CacheFuture::ready(Ok(Some(slot.value.clone())))
    }

    fn put<'a>(&'a self, key: &'a Key, value: Bytes, ttl: Ttl) -> CacheFuture<'a, ()> {
        let now = self.inner.clock.now_ms();
        let expires_at_ms = ttl.expires_at(now, self.inner.default_ttl);
        let mut shard = self.shard(key);
        let digest = *key.digest();
        shard.remove(&digest);
        if value.len() > self.inner.max_bytes_per_shard {
            return CacheFuture::ready(Ok(()));
        }
        while (shard.slots.len() >= self.inner.max_entries_per_shard
            || shard.bytes + value.len() > self.inner.max_bytes_per_shard)
            && shard.evict_one()
        {}
        shard.insert(
            digest,
            value,
            expires_at_ms,
            Arc::from(key.namespace().as_str()),
        );
        CacheFuture::ready(Ok(()))
    }

    fn remove<'a>(&'a self, key: &'a Key) -> CacheFuture<'a, bool> {
        let now = self.inner.clock.now_ms();
        let removed = self.shard(key).remove(key.digest());
        CacheFuture::ready(Ok(
            removed.is_some_and(|slot| slot.expires_at_ms.is_none_or(|at| now < at))
        ))
    }

    fn clear<'a>(&'a self, namespace: &'a Namespace) -> CacheFuture<'a, ()> {
        for shard in &self.inner.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            let doomed: Vec<[u8; 32]> = shard
                .slots
                .iter()
                .filter(|(_, s)| &*s.namespace == namespace.as_str())
                .map(|(d, _)| *d)
                .collect();
            for digest in doomed {
                shard.remove(&digest);
            }
        }
        CacheFuture::ready(Ok(()))
    }

    fn purge_expired(&self) -> CacheFuture<'_, u64> {
        let now = self.inner.clock.now_ms();
        let mut purged = 0;
        for shard in &self.inner.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            let doomed: Vec<[u8; 32]> = shard
                .slots
                .iter()
                .filter(|(_, s)| s.expires_at_ms.is_some_and(|at| now >= at))
                .map(|(d, _)| *d)
                .collect();
            for digest in doomed {
                shard.remove(&digest);
                purged += 1;
            }
        }
        CacheFuture::ready(Ok(purged))
    }
}
