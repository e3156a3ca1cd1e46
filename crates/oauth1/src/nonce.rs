//! Nonces (RFC 5849 §3.3): the identity of one use of a nonce, the
//! [`NonceStore`] that remembers them, and an in-memory store that expires
//! them with the timestamp window.

use std::collections::{HashSet, VecDeque};

use crate::VerifyOptions;

/// The identity of one use of a nonce: RFC 5849 §3.3 makes a nonce unique per
/// timestamp, consumer key and token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct NonceKey<'a> {
    /// The request's consumer key.
    pub consumer_key: &'a str,
    /// The request's token, if any.
    pub token: Option<&'a str>,
    /// The request's timestamp (0 for PLAINTEXT requests without one).
    pub timestamp: u64,
    /// The nonce.
    pub nonce: &'a str,
}

impl<'a> NonceKey<'a> {
    /// A key (for a custom [`NonceStore`]'s tests, or a store of your own).
    pub fn new(
        consumer_key: &'a str,
        token: Option<&'a str>,
        timestamp: u64,
        nonce: &'a str,
    ) -> Self {
        NonceKey {
            consumer_key,
            token,
            timestamp,
            nonce,
        }
    }
}

/// Remembers used nonces so a replayed request is refused. Implement it over a
/// shared store (Redis, a database) when several servers verify requests.
pub trait NonceStore {
    /// Records `key` and returns `true` if it had not been seen; returns `false`
    /// for a replay. Entries older than `options.timestamp_window` may be forgotten,
    /// since such requests fail the timestamp check anyway.
    fn check_and_remember(&mut self, key: &NonceKey<'_>, options: &VerifyOptions) -> bool;
}

/// Consumer key, token, timestamp and nonce in one buffer (each text
/// length-prefixed, so no two keys share an encoding), shared between the
/// set and the age queue: one allocation per remembered nonce.
type OwnedNonceKey = std::sync::Arc<[u8]>;

fn owned_key(key: &NonceKey<'_>) -> OwnedNonceKey {
    let token = key.token.unwrap_or("");
    let mut bytes = Vec::with_capacity(key.consumer_key.len() + token.len() + key.nonce.len() + 33);
    for text in [key.consumer_key, token] {
        bytes.extend_from_slice(&(text.len() as u64).to_le_bytes());
        bytes.extend_from_slice(text.as_bytes());
    }
    // "No token" and "an empty token" are different requests.
    bytes.push(u8::from(key.token.is_some()));
    bytes.extend_from_slice(&key.timestamp.to_le_bytes());
    bytes.extend_from_slice(key.nonce.as_bytes());
    bytes.into()
}

/// An in-memory [`NonceStore`] that forgets nonces once their timestamp leaves
/// the window, so it stays small; [`MemoryNonceStore::with_limit`] also caps
/// it (a flood of requests then fails closed rather than growing memory).
#[derive(Default)]
pub struct MemoryNonceStore {
    seen: HashSet<OwnedNonceKey>,
    by_age: VecDeque<(u64, OwnedNonceKey)>,
    limit: Option<usize>,
}

impl MemoryNonceStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryNonceStore::default()
    }

    /// A store that remembers at most `entries` nonces within the window; once
    /// full, new requests are refused (as replays) until old nonces expire.
    ///
    /// ```
    /// use oauth1::{NonceKey, NonceStore, MemoryNonceStore, VerifyOptions};
    /// let mut store = MemoryNonceStore::with_limit(1);
    /// let options = VerifyOptions::new(100);
    /// let key = |nonce| NonceKey::new("ck", None, 100, nonce);
    /// assert!(store.check_and_remember(&key("a"), &options));
    /// assert!(!store.check_and_remember(&key("b"), &options), "full: fails closed");
    /// // Once "a" is out of the window, there is room again.
    /// assert!(store.check_and_remember(&key("c"), &VerifyOptions::new(1_000)));
    /// ```
    pub fn with_limit(entries: usize) -> Self {
        MemoryNonceStore {
            limit: Some(entries),
            ..MemoryNonceStore::default()
        }
    }

    /// How many nonces are remembered now.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// Counts only: the remembered keys hold tokens.
impl std::fmt::Debug for MemoryNonceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryNonceStore")
            .field("remembered", &self.seen.len())
            .field("limit", &self.limit)
            .finish()
    }
}

impl NonceStore for MemoryNonceStore {
    fn check_and_remember(&mut self, key: &NonceKey<'_>, options: &VerifyOptions) -> bool {
        let oldest_useful = options.now.saturating_sub(options.timestamp_window);
        while let Some((timestamp, _)) = self.by_age.front() {
            if *timestamp >= oldest_useful {
                break;
            }
            if let Some((_, old)) = self.by_age.pop_front() {
                self.seen.remove(&old);
            }
        }
        let owned = owned_key(key);
        if self.limit.is_some_and(|limit| self.seen.len() >= limit) {
            return false;
        }
        // One lookup (hashing the key once) both checks and remembers.
        if !self.seen.insert(owned.clone()) {
            return false;
        }
        // Kept in arrival order; timestamps are close to it, which is all pruning needs.
        self.by_age.push_back((key.timestamp, owned));
        true
    }
}
