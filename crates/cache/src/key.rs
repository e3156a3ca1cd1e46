//! Namespaced, hashed keys: no raw key material ever reaches a backend.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::error::Error;

/// A validated namespace name (`a-z 0-9 - _ .`, 1–64 characters). Namespaces
/// appear in clear in file paths and Redis keys, so they must not be secret.
///
/// ```
/// assert!(cache::Namespace::new("http").is_ok());
/// assert!(cache::Namespace::new("Has Spaces").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Namespace(String);

impl Namespace {
    /// Validates a namespace name.
    pub fn new(name: &str) -> Result<Namespace, Error> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
            })
            && !name.starts_with('.');
        if ok {
            Ok(Namespace(name.to_owned()))
        } else {
            Err(Error::InvalidNamespace(name.to_owned()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key for `raw` (any bytes: a URL, a fingerprint, binary data) in this namespace.
    pub fn key(&self, raw: impl AsRef<[u8]>) -> Key {
        Key::new(self, raw.as_ref())
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Namespace({})", self.0)
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A cache key: a namespace and the SHA-256 of `namespace \0 raw`. Backends see
/// only the namespace and the hex digest.
///
/// ```
/// let ns = cache::Namespace::new("http")?;
/// let key = ns.key("GET https://api.vimeo.com/me?token=SECRET");
/// assert_eq!(key.hex().len(), 64);
/// assert!(!key.hex().contains("SECRET") && !format!("{key:?}").contains("SECRET"));
/// # Ok::<(), cache::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Key {
    namespace: Namespace,
    digest: [u8; 32],
}

impl Key {
    fn new(namespace: &Namespace, raw: &[u8]) -> Key {
        let mut hasher = Sha256::new();
        hasher.update(namespace.0.as_bytes());
        hasher.update([0u8]);
        hasher.update(raw);
        Key {
            namespace: namespace.clone(),
            digest: hasher.finalize().into(),
        }
    }

    /// The namespace.
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// The digest.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// The digest as 64 lower-case hex characters (file names, Redis keys).
    pub fn hex(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(64);
        for byte in self.digest {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        out
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({}:{})", self.namespace.0, &self.hex()[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_namespace_and_raw_bytes() {
        let a = Namespace::new("a").unwrap();
        let b = Namespace::new("b").unwrap();
        assert_eq!(a.key("x"), a.key("x"));
        assert_ne!(a.key("x"), a.key("y"));
        assert_ne!(a.key("x"), b.key("x"));
        // The separator keeps ("a", "bx") apart from ("ab", "x").
        assert_ne!(
            Namespace::new("ab").unwrap().key("x").digest(),
            a.key("bx").digest()
        );
        let key = a.key([0u8, 255, 1]);
        let slow: String = key.digest().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(key.hex(), slow);
    }

    #[test]
    fn namespaces_are_validated() {
        for good in ["http", "tus-resume", "a.b_c-1", "0"] {
            assert!(Namespace::new(good).is_ok(), "{good}");
        }
        let long = "a".repeat(65);
        for bad in [
            "",
            "UPPER",
            "a b",
            "a/b",
            "..",
            ".hidden",
            "é",
            long.as_str(),
        ] {
            assert!(Namespace::new(bad).is_err(), "{bad}");
        }
    }
}
