//! Nonces (RFC 5849 §3.3): the identity of one use of a nonce, the
//! [`NonceStore`] that remembers them, and an in-memory store that expires
//! them with the timestamp window.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

use crate::verify::VerifyOptions;

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

/// A remembered nonce: a 128-bit fingerprint of its [`NonceKey`] under the
/// store's own random key, so remembering one allocates nothing and costs
/// the same (about 50 bytes: set entry and age queue) however long the key's
/// texts are.
///
/// The same key always gives the same fingerprint, so a replay is always
/// refused; two different keys share one with probability 2⁻¹²⁸, and the key
/// is secret to the store, so nobody can aim for a clash. A clash could only
/// refuse a fresh request, never accept a replay.
type Fingerprint = u128;

/// The lengths of consumer key and token, whether there is a token, the
/// timestamp, then consumer key, token and nonce, fed to `hasher` (no two
/// keys share an encoding), then two 64-bit outputs: the keyed hash
/// of the encoding, and of the encoding followed by one more byte. A key that
/// fits (they all do in practice) is laid out on the stack and hashed in one
/// write; a longer one is written piece by piece.
fn fingerprint(hasher: &RandomState, key: &NonceKey<'_>) -> Fingerprint {
    let token = key.token.unwrap_or("");
    let (consumer_key, nonce) = (key.consumer_key.as_bytes(), key.nonce.as_bytes());
    let mut state = hasher.build_hasher();
    // Lengths, the "has a token" flag ("no token" and "an empty token" are
    // different requests) and the timestamp: fixed-size, first.
    let mut fixed = [0u8; 25];
    fixed[..8].copy_from_slice(&(consumer_key.len() as u64).to_le_bytes());
    fixed[8..16].copy_from_slice(&(token.len() as u64).to_le_bytes());
    fixed[16] = u8::from(key.token.is_some());
    fixed[17..].copy_from_slice(&key.timestamp.to_le_bytes());
    let texts = [consumer_key, token.as_bytes(), nonce];
    let mut laid_out = [0u8; 256];
    let total = fixed.len() + texts.iter().map(|text| text.len()).sum::<usize>();
    if let Some(room) = laid_out.get_mut(..total) {
        room[..fixed.len()].copy_from_slice(&fixed);
        let mut at = fixed.len();
        for text in texts {
            room[at..at + text.len()].copy_from_slice(text);
            at += text.len();
        }
        state.write(room);
    } else {
        state.write(&fixed);
        texts.iter().for_each(|text| state.write(text));
    }
    let first = state.finish();
    state.write_u8(0xFF);
    (u128::from(first) << 64) | u128::from(state.finish())
}

/// Hashes a [`Fingerprint`] (already a keyed hash) as itself.
#[derive(Default)]
struct AsIs(u64);

impl Hasher for AsIs {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u128` is used; any other input still spreads.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u128(&mut self, value: u128) {
        self.0 = value as u64;
    }
}

/// An in-memory [`NonceStore`] that forgets nonces once their timestamp leaves
/// the window, so it stays small; [`MemoryNonceStore::with_limit`] also caps
/// it (a flood of requests then fails closed rather than growing memory).
///
/// Each nonce is kept as a 128-bit keyed fingerprint of consumer key, token,
/// timestamp and nonce (the key random per store), not as text: about 50
/// bytes and no allocation per request. A replay always matches; a fresh
/// request could be refused only on a 2⁻¹²⁸ clash.
#[derive(Default)]
pub struct MemoryNonceStore {
    hasher: RandomState,
    seen: HashSet<Fingerprint, BuildHasherDefault<AsIs>>,
    by_age: VecDeque<(u64, Fingerprint)>,
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

/// Counts only (the fingerprints are of keys that hold tokens).
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
        while let Some(&(timestamp, old)) = self.by_age.front() {
            if timestamp >= oldest_useful {
                break;
            }
            self.by_age.pop_front();
            self.seen.remove(&old);
        }
        if self.limit.is_some_and(|limit| self.seen.len() >= limit) {
            return false;
        }
        let fingerprint = fingerprint(&self.hasher, key);
        // One lookup both checks and remembers.
        if !self.seen.insert(fingerprint) {
            return false;
        }
        // Kept in arrival order; timestamps are close to it, which is all pruning needs.
        self.by_age.push_back((key.timestamp, fingerprint));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_differ_anywhere_are_different_uses() {
        let options = VerifyOptions::new(100);
        let keys = [
            NonceKey::new("ab", Some("c"), 100, "n"),
            NonceKey::new("a", Some("bc"), 100, "n"),
            NonceKey::new("a", Some(""), 100, "bcn"),
            NonceKey::new("a", None, 100, "bcn"),
            NonceKey::new("a", None, 101, "bcn"),
            NonceKey::new("a", None, 100, "bcm"),
        ];
        let mut store = MemoryNonceStore::new();
        for key in &keys {
            assert!(store.check_and_remember(key, &options), "{key:?}");
        }
        for key in &keys {
            assert!(!store.check_and_remember(key, &options), "replay {key:?}");
        }
        assert_eq!(store.len(), keys.len());
    }

    #[test]
    fn long_keys_are_told_apart_too() {
        let options = VerifyOptions::new(100);
        let long = "n".repeat(300);
        let (a, b) = (format!("{long}a"), format!("{long}b"));
        let mut store = MemoryNonceStore::new();
        for nonce in [&a, &b, &long] {
            assert!(store.check_and_remember(&NonceKey::new("k", None, 100, nonce), &options));
        }
        for nonce in [&a, &b, &long] {
            assert!(!store.check_and_remember(&NonceKey::new("k", None, 100, nonce), &options));
        }
    }

    #[test]
    fn fingerprints_depend_on_the_store_key() {
        let key = NonceKey::new("consumer", Some("token"), 1, "nonce");
        let (one, two) = (RandomState::new(), RandomState::new());
        assert_eq!(fingerprint(&one, &key), fingerprint(&one, &key));
        assert_ne!(fingerprint(&one, &key), fingerprint(&two, &key));
        let halves = fingerprint(&one, &key);
        assert_ne!(halves >> 64, halves & u128::from(u64::MAX));
    }

    #[test]
    fn expired_nonces_are_forgotten_in_arrival_order() {
        let mut store = MemoryNonceStore::new();
        let at = |now| VerifyOptions::new(now).timestamp_window(10);
        assert!(store.check_and_remember(&NonceKey::new("k", None, 100, "a"), &at(100)));
        assert!(store.check_and_remember(&NonceKey::new("k", None, 105, "b"), &at(105)));
        assert!(store.check_and_remember(&NonceKey::new("k", None, 112, "c"), &at(112)));
        assert_eq!(store.len(), 2, "the nonce at 100 left the window at 112");
        assert!(store.check_and_remember(&NonceKey::new("k", None, 100, "a"), &at(112)));
    }
}
