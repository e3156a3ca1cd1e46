//! What a [`crate::Signer`] works out once instead of per request: its nonce
//! generator, its HMAC key schedule, its own protocol parameters (raw and
//! percent-encoded) and the fixed parts of its `Authorization` header.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::encoding::percent_encode_bytes;
use crate::error::Error;
use crate::header;
use crate::secret::Secret;
use crate::signature::{SignatureMethod, SigningKey};

/// The nonces of one signer (and its clones): SHA-256 over a 256-bit seed
/// read once from the operating system's random source, and a counter. As
/// unpredictable as the seed, never repeated (the counter only grows), and one
/// system call per signer instead of one per request. A process that forks
/// after signing should make new signers in the child.
#[derive(Default)]
pub(crate) struct NonceGenerator {
    seed: OnceLock<Option<[u8; 32]>>,
    counter: AtomicU64,
}

impl NonceGenerator {
    /// 128 bits, hex-encoded (32 unreserved characters).
    pub(crate) fn next(&self) -> Result<InlineText, Error> {
        use sha2::Digest as _;
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let seed = self
            .seed
            .get_or_init(|| {
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).ok().map(|()| seed)
            })
            .as_ref()
            .ok_or(Error::NoRandomSource)?;
        let count = self.counter.fetch_add(1, Ordering::Relaxed);
        let digest = sha2::Sha256::new()
            .chain_update(seed)
            .chain_update(count.to_le_bytes())
            .finalize();
        let mut nonce = InlineText::EMPTY;
        for (i, byte) in digest[..16].iter().enumerate() {
            nonce.bytes[2 * i] = HEX[usize::from(byte >> 4)];
            nonce.bytes[2 * i + 1] = HEX[usize::from(byte & 0x0F)];
        }
        nonce.len = 32;
        Ok(nonce)
    }
}

/// ASCII text of at most 32 bytes kept inline (a timestamp, a random nonce):
/// no allocation per signature.
#[derive(Clone, Copy)]
pub(crate) struct InlineText {
    bytes: [u8; 32],
    len: u8,
}

impl InlineText {
    const EMPTY: InlineText = InlineText {
        bytes: [0; 32],
        len: 0,
    };

    /// `n` in decimal (without the formatting machinery).
    pub(crate) fn decimal(mut n: u64) -> InlineText {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let mut text = InlineText::EMPTY;
        let len = digits.len() - at;
        text.bytes[..len].copy_from_slice(&digits[at..]);
        text.len = len as u8;
        text
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only ever ASCII digits and hex.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

/// The signer's own protocol parameters other than `oauth_timestamp`,
/// `oauth_nonce`, `oauth_body_hash` and `oauth_signature`, prepared once.
pub(crate) struct Prepared {
    /// Sent before the timestamp: consumer key, token, signature method.
    pub(crate) before: Vec<(String, String)>,
    /// Sent after the nonce: version, callback, verifier, extensions.
    pub(crate) after: Vec<(String, String)>,
    /// All of them percent-encoded, with the per-request ones as slots, in
    /// normalized order (by encoded name; the names are distinct).
    pub(crate) sorted: Vec<Own>,
    /// `OAuth realm="…", oauth_consumer_key="…", …, oauth_signature_method="…"`.
    header_head: Vec<u8>,
    /// `, oauth_version="1.0", …` (the parameters of `after`).
    header_tail: Vec<u8>,
    key: SigningKey,
}

/// One of a signer's own parameters, in normalized order.
pub(crate) enum Own {
    /// Encoded once: name, value, and whether each holds a `%`.
    Fixed(Vec<u8>, Vec<u8>, (bool, bool)),
    /// `oauth_timestamp`, `oauth_nonce`, `oauth_body_hash`: per request.
    Timestamp,
    Nonce,
    BodyHash,
}

impl Own {
    fn name(&self) -> &[u8] {
        match self {
            Own::Fixed(name, ..) => name,
            Own::Timestamp => b"oauth_timestamp",
            Own::Nonce => b"oauth_nonce",
            Own::BodyHash => b"oauth_body_hash",
        }
    }
}

/// Everything of a signer that [`Prepared`] depends on.
pub(crate) struct SignerParts<'a> {
    pub(crate) consumer_key: &'a str,
    pub(crate) consumer_secret: &'a str,
    pub(crate) token: Option<(&'a str, &'a str)>,
    pub(crate) method: SignatureMethod,
    pub(crate) realm: Option<&'a str>,
    pub(crate) callback: Option<&'a str>,
    pub(crate) verifier: Option<&'a str>,
    pub(crate) send_version: bool,
    pub(crate) extra: &'a [(String, String)],
}

impl Prepared {
    /// Checks and prepares a signer's parameters. Errors: a realm with control
    /// characters (it cannot be quoted), a bad extension parameter.
    pub(crate) fn new(parts: &SignerParts<'_>) -> Result<Prepared, Error> {
        if parts
            .realm
            .is_some_and(|realm| realm.chars().any(char::is_control))
        {
            return Err(Error::InvalidRealm);
        }
        let mut before = vec![(
            "oauth_consumer_key".to_owned(),
            parts.consumer_key.to_owned(),
        )];
        if let Some((token, _)) = parts.token {
            before.push(("oauth_token".to_owned(), token.to_owned()));
        }
        before.push((
            "oauth_signature_method".to_owned(),
            parts.method.as_str().to_owned(),
        ));
        let mut after = Vec::new();
        if parts.send_version {
            after.push(("oauth_version".to_owned(), "1.0".to_owned()));
        }
        if let Some(callback) = parts.callback {
            after.push(("oauth_callback".to_owned(), callback.to_owned()));
        }
        if let Some(verifier) = parts.verifier {
            after.push(("oauth_verifier".to_owned(), verifier.to_owned()));
        }
        for (name, value) in parts.extra {
            let invalid = |reason| Error::InvalidExtraParameter {
                name: name.clone(),
                reason,
            };
            if !name.starts_with("oauth_") {
                return Err(invalid("extension parameters must start with `oauth_`"));
            }
            if crate::sign::PROTOCOL_PARAMS.contains(&name.as_str()) {
                return Err(invalid("the signer sets this parameter itself"));
            }
            if after.iter().any(|(existing, _)| existing == name) {
                return Err(Error::DuplicateParameter { name: name.clone() });
            }
            after.push((name.clone(), value.clone()));
        }
        let mut sorted: Vec<Own> = before
            .iter()
            .chain(&after)
            .map(|(name, value)| {
                let (name, value) = (encode(name), encode(value));
                let escaped = (name.contains(&b'%'), value.contains(&b'%'));
                Own::Fixed(name, value, escaped)
            })
            .chain([Own::Timestamp, Own::Nonce, Own::BodyHash])
            .collect();
        sorted.sort_by(|a, b| a.name().cmp(b.name()));
        let header_head = header::format(
            parts.realm,
            before.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        )
        .into_bytes();
        let mut header_tail = Vec::new();
        for (name, value) in &after {
            header::push_param(&mut header_tail, name, value);
        }
        let key = SigningKey::new(
            parts.method,
            parts.consumer_secret,
            parts.token.map(|(_, secret)| secret),
        );
        Ok(Prepared {
            before,
            after,
            sorted,
            header_head,
            header_tail,
            key,
        })
    }

    /// The HMAC or PLAINTEXT signature of `base_string`; `None` for the RSA
    /// methods (the signer's key signs those).
    pub(crate) fn sign(&self, base_string: &[u8]) -> Option<Secret> {
        self.key.sign(base_string)
    }

    /// The `Authorization` header around the per-request parameters.
    pub(crate) fn header(
        &self,
        timestamp: &str,
        nonce: &str,
        body_hash: Option<&str>,
        signature: &str,
    ) -> String {
        // Room for the worst case of the encoded values: no regrowth.
        let mut out = Vec::with_capacity(
            self.header_head.len()
                + self.header_tail.len()
                + 80
                + 3 * (timestamp.len()
                    + nonce.len()
                    + signature.len()
                    + body_hash.map_or(0, str::len)),
        );
        out.extend_from_slice(&self.header_head);
        header::push_protocol_param(&mut out, "oauth_timestamp", timestamp);
        header::push_protocol_param(&mut out, "oauth_nonce", nonce);
        out.extend_from_slice(&self.header_tail);
        if let Some(hash) = body_hash {
            header::push_protocol_param(&mut out, "oauth_body_hash", hash);
        }
        header::push_protocol_param(&mut out, "oauth_signature", signature);
        // The realm is UTF-8 and everything else ASCII.
        String::from_utf8(out).unwrap_or_default()
    }
}

fn encode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    percent_encode_bytes(&mut out, text.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::InlineText;

    #[test]
    fn decimal_matches_to_string() {
        for n in [0, 7, 10, 99, 1_000, 137_131_202, u64::MAX] {
            assert_eq!(InlineText::decimal(n).as_str(), n.to_string());
        }
    }
}
