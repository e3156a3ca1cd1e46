//! The stored form of an entry (file, sled, Redis): a header, then the value.
//!
//! ```text
//! "VCE1" | expires_at_ms: u64 BE (0 = never) | value_len: u64 BE | value
//! ```
//! A wrong magic or a length that does not match is a corrupted entry: a miss.

use bytes::Bytes;

const MAGIC: &[u8; 4] = b"VCE1";
pub(crate) const HEADER: usize = 4 + 8 + 8;

/// Encodes an entry.
pub(crate) fn encode(value: &[u8], expires_at_ms: Option<u64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + value.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&expires_at_ms.unwrap_or(0).to_be_bytes());
    out.extend_from_slice(&(value.len() as u64).to_be_bytes());
    out.extend_from_slice(value);
    out
}

/// A decoded entry.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Decoded {
    pub(crate) expires_at_ms: Option<u64>,
    pub(crate) value: Bytes,
}

impl Decoded {
    pub(crate) fn is_expired(&self, now_ms: u64) -> bool {
        self.expires_at_ms.is_some_and(|at| now_ms >= at)
    }
}

/// Decodes an entry; `None` if it is corrupted or truncated. Never panics.
pub(crate) fn decode(stored: Bytes) -> Option<Decoded> {
    if stored.len() < HEADER || &stored[..4] != MAGIC {
        return None;
    }
    let expires = u64::from_be_bytes(stored[4..12].try_into().ok()?);
    let len = u64::from_be_bytes(stored[12..20].try_into().ok()?);
    if (stored.len() - HEADER) as u64 != len {
        return None;
    }
    Some(Decoded {
        expires_at_ms: (expires != 0).then_some(expires),
        value: stored.slice(HEADER..),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let encoded = encode(b"value", Some(42));
        let decoded = decode(Bytes::from(encoded.clone())).unwrap();
        assert_eq!(
            decoded,
            Decoded {
                expires_at_ms: Some(42),
                value: Bytes::from_static(b"value")
            }
        );
        assert!(decoded.is_expired(42) && !decoded.is_expired(41));
        assert_eq!(
            decode(Bytes::from(encode(b"", None)))
                .unwrap()
                .expires_at_ms,
            None
        );
        // Truncated, extended, bad magic, empty.
        for damaged in [
            encoded[..encoded.len() - 1].to_vec(),
            [encoded.clone(), vec![0]].concat(),
            [b"XCE1".to_vec(), encoded[4..].to_vec()].concat(),
            Vec::new(),
            encoded[..10].to_vec(),
        ] {
            assert_eq!(decode(Bytes::from(damaged)), None);
        }
    }
}
