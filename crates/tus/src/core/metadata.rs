//! `Upload-Metadata`: comma-separated `key base64(value)` pairs.

use base64::Engine as _;

use crate::error::ProtocolError;

/// Encodes `Upload-Metadata` pairs. Keys must be non-empty, ASCII, without spaces or commas.
///
/// ```
/// let header = tus::encode_metadata(&[("filename".into(), b"a.mp4".to_vec())])?;
/// assert_eq!(header, "filename YS5tcDQ=");
/// assert_eq!(tus::decode_metadata(header.as_bytes())?, [("filename".to_string(), b"a.mp4".to_vec())]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode(pairs: &[(String, Vec<u8>)]) -> Result<String, crate::Error> {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut parts = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
            return Err(crate::Error::InvalidMetadataKey { key: key.clone() });
        }
        if value.is_empty() {
            parts.push(key.clone());
        } else {
            parts.push(format!("{key} {}", engine.encode(value)));
        }
    }
    Ok(parts.join(","))
}

/// Decodes an `Upload-Metadata` header value (see [`encode`]).
pub fn decode(value: &[u8]) -> Result<Vec<(String, Vec<u8>)>, ProtocolError> {
    let bad = || ProtocolError::MalformedHeader {
        name: "Upload-Metadata",
    };
    let text = std::str::from_utf8(value).map_err(|_| bad())?;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut pairs = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let mut words = item.split(' ').filter(|w| !w.is_empty());
        let key = words.next().ok_or_else(bad)?;
        let value = match words.next() {
            Some(encoded) => engine.decode(encoded).map_err(|_| bad())?,
            None => Vec::new(),
        };
        if words.next().is_some() || pairs.iter().any(|(k, _)| k == key) {
            return Err(bad());
        }
        pairs.push((key.to_owned(), value));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn encodes_like_the_spec_example() {
        let encoded = encode(&pairs(&[
            ("filename", "world_domination_plan.pdf"),
            ("is_confidential", ""),
        ]))
        .unwrap();
        assert_eq!(
            encoded,
            "filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential"
        );
    }

    #[test]
    fn round_trips() {
        let original = pairs(&[("name", "Café, ünïcode"), ("empty", ""), ("k", "a b,c")]);
        assert_eq!(
            decode(encode(&original).unwrap().as_bytes()).unwrap(),
            original
        );
    }

    #[test]
    fn refuses_bad_keys_and_values() {
        for key in ["", "a b", "a,b", "é"] {
            assert!(encode(&pairs(&[(key, "v")])).is_err(), "{key:?}");
        }
        for bad in ["k !!!", "k dg== extra", "k dg==,k dg=="] {
            assert!(decode(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
