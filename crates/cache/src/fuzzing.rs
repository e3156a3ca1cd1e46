//! Entry points for the fuzz targets in `fuzz/` and for the property tests:
//! stored entries decoded from arbitrary bytes, and their round trips. Compiled for tests and with the `fuzzing` feature.

use bytes::Bytes;

use crate::entry;

/// Decodes `data` as a stored entry; whatever decodes encodes back to the
/// same bytes.
pub fn decode(data: &[u8]) {
    let bytes = Bytes::copy_from_slice(data);
    if let Some(decoded) = entry::decode(bytes.clone()) {
        assert_eq!(
            entry::encode(&decoded.value, decoded.expires_at_ms),
            data,
            "a decoded entry re-encodes to its bytes"
        );
    }
}

/// An entry round-trips.
pub fn entry_round_trip(value: &[u8], expires_at_ms: Option<u64>) {
    let expires_at_ms = expires_at_ms.filter(|at| *at != 0); // 0 stores "never"
    let encoded = entry::encode(value, expires_at_ms);
    let decoded = entry::decode(Bytes::from(encoded)).expect("an encoded entry decodes");
    assert_eq!(decoded.value.as_ref(), value);
    assert_eq!(decoded.expires_at_ms, expires_at_ms);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decoding_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            super::decode(&data);
        }

        #[test]
        fn damaged_entries_never_panic(
            value in proptest::collection::vec(any::<u8>(), 0..100),
            at in any::<u64>(),
            cut in any::<usize>(),
            flip in any::<(usize, u8)>(),
        ) {
            let mut encoded = super::entry::encode(&value, Some(at));
            encoded.truncate(cut % (encoded.len() + 1));
            if !encoded.is_empty() {
                let i = flip.0 % encoded.len();
                encoded[i] ^= flip.1;
            }
            super::decode(&encoded);
        }

        #[test]
        fn entries_round_trip(value in proptest::collection::vec(any::<u8>(), 0..100), at in any::<Option<u64>>()) {
            super::entry_round_trip(&value, at);
        }
    }
}
