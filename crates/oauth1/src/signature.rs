//! Signature methods (RFC 5849 §3.4.2–3.4.4) and their keys; the base string
//! they sign is built in [`crate::base_string`].

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use hmac::{Hmac, Mac};

use crate::encoding::{ascii_string, percent_encode_bytes};
use crate::error::Error;
use crate::secret::Secret;

/// How a request is signed.
///
/// ```
/// use oauth1::SignatureMethod;
/// assert_eq!("HMAC-SHA256".parse::<SignatureMethod>(), Ok(SignatureMethod::HmacSha256));
/// assert_eq!(SignatureMethod::Plaintext.to_string(), "PLAINTEXT");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureMethod {
    /// HMAC-SHA1 (RFC 5849 §3.4.2), the method most providers expect.
    HmacSha1,
    /// HMAC-SHA256, the same construction with SHA-256.
    HmacSha256,
    /// PLAINTEXT (RFC 5849 §3.4.4): the key itself; use only over TLS.
    Plaintext,
    /// RSA-SHA1 (RFC 5849 §3.4.3): PKCS#1 v1.5 with the consumer's RSA key
    /// (feature `rsa`; [`crate::Signer::rsa`], [`crate::ReceivedRequest::verify_rsa`]).
    #[cfg(feature = "rsa")]
    RsaSha1,
    /// RSA-SHA256: the same with SHA-256 (feature `rsa`).
    #[cfg(feature = "rsa")]
    RsaSha256,
}

impl SignatureMethod {
    /// The methods signed with shared secrets (consumer and token secret).
    pub const ALL: [SignatureMethod; 3] = [
        SignatureMethod::HmacSha1,
        SignatureMethod::HmacSha256,
        SignatureMethod::Plaintext,
    ];

    /// The methods signed with an RSA key (feature `rsa`).
    #[cfg(feature = "rsa")]
    pub const RSA: [SignatureMethod; 2] = [SignatureMethod::RsaSha1, SignatureMethod::RsaSha256];

    /// Every method this build implements: [`SignatureMethod::ALL`], plus the
    /// RSA ones with feature `rsa`.
    pub fn implemented() -> Vec<SignatureMethod> {
        #[allow(unused_mut)]
        let mut all = SignatureMethod::ALL.to_vec();
        #[cfg(feature = "rsa")]
        all.extend(SignatureMethod::RSA);
        all
    }

    /// Whether the method signs with an RSA key rather than shared secrets.
    pub fn is_rsa(self) -> bool {
        match self {
            #[cfg(feature = "rsa")]
            SignatureMethod::RsaSha1 | SignatureMethod::RsaSha256 => true,
            _ => false,
        }
    }

    /// The name sent as `oauth_signature_method`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureMethod::HmacSha1 => "HMAC-SHA1",
            SignatureMethod::HmacSha256 => "HMAC-SHA256",
            SignatureMethod::Plaintext => "PLAINTEXT",
            #[cfg(feature = "rsa")]
            SignatureMethod::RsaSha1 => "RSA-SHA1",
            #[cfg(feature = "rsa")]
            SignatureMethod::RsaSha256 => "RSA-SHA256",
        }
    }

    /// Computes the signature of `base_string` with the given secrets (see
    /// [`SigningKey`]); empty for the RSA methods, which sign with a key, not
    /// secrets (`Signer::sign` routes them) — an empty signature never verifies.
    #[cfg(test)]
    pub(crate) fn sign(
        self,
        base_string: &str,
        consumer_secret: &str,
        token_secret: Option<&str>,
    ) -> Secret {
        SigningKey::new(self, consumer_secret, token_secret)
            .sign(base_string.as_bytes())
            .unwrap_or_else(|| Secret::new(String::new()))
    }
}

/// A shared-secret method's key, `encode(consumer_secret)&encode(token_secret)`
/// (RFC 5849 §3.4.2, §3.4.4), with the HMAC key schedule (the padded key
/// hashed once) already done, so a signer that keeps it clones the state per
/// request instead of redoing it.
#[derive(Clone)]
pub(crate) enum SigningKey {
    HmacSha1(Hmac<sha1::Sha1>),
    HmacSha256(Hmac<sha2::Sha256>),
    Plaintext(String),
    /// The RSA methods sign with the signer's key, not with secrets.
    Rsa,
}

impl SigningKey {
    pub(crate) fn new(
        method: SignatureMethod,
        consumer_secret: &str,
        token_secret: Option<&str>,
    ) -> SigningKey {
        thread_local! {
            /// The encoded key, written here and hashed at once: a verifier
            /// makes a key per request, without allocating for it.
            static KEY: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        KEY.with_borrow_mut(|key| {
            key.clear();
            percent_encode_bytes(key, consumer_secret.as_bytes());
            key.push(b'&');
            percent_encode_bytes(key, token_secret.unwrap_or("").as_bytes());
            let signing_key = match method {
                // HMAC takes keys of any length, so `new_from_slice` cannot fail.
                SignatureMethod::HmacSha1 => {
                    Hmac::new_from_slice(key).map_or(SigningKey::Rsa, SigningKey::HmacSha1)
                }
                SignatureMethod::HmacSha256 => {
                    Hmac::new_from_slice(key).map_or(SigningKey::Rsa, SigningKey::HmacSha256)
                }
                SignatureMethod::Plaintext => SigningKey::Plaintext(ascii_string(key.clone())),
                #[cfg(feature = "rsa")]
                SignatureMethod::RsaSha1 | SignatureMethod::RsaSha256 => SigningKey::Rsa,
            };
            // Secrets do not stay behind in the buffer, and a huge one does
            // not keep its memory.
            key.fill(0);
            if key.capacity() > 4096 {
                *key = Vec::new();
            }
            signing_key
        })
    }

    /// The HMAC (base64) or PLAINTEXT signature of `base_string`; `None`
    /// for the RSA methods.
    pub(crate) fn sign(&self, base_string: &[u8]) -> Option<Secret> {
        let mut text = [0u8; HMAC_TEXT];
        let signature = self.signature_in(base_string, &mut text)?;
        Some(Secret::new(String::from_utf8_lossy(signature).into_owned()))
    }

    /// Whether `signature` is this key's signature of `base_string`,
    /// compared in constant time, computed on the stack (a verifier
    /// allocates nothing here). Never true for the RSA methods.
    pub(crate) fn verifies(&self, base_string: &[u8], signature: &[u8]) -> bool {
        let mut text = [0u8; HMAC_TEXT];
        self.signature_in(base_string, &mut text)
            .is_some_and(|expected| constant_time_eq(expected, signature))
    }

    /// The signature of `base_string`: an HMAC's base64, written into
    /// `text`, or the PLAINTEXT key; `None` for the RSA methods.
    fn signature_in<'a>(
        &'a self,
        base_string: &[u8],
        text: &'a mut [u8; HMAC_TEXT],
    ) -> Option<&'a [u8]> {
        fn hmac_base64<'t, M: Mac + Clone>(
            keyed: &M,
            message: &[u8],
            text: &'t mut [u8; HMAC_TEXT],
        ) -> Option<&'t [u8]> {
            let mut mac = keyed.clone();
            mac.update(message);
            let written = base64::engine::general_purpose::STANDARD
                .encode_slice(mac.finalize().into_bytes(), text)
                .ok()?;
            Some(&text[..written])
        }
        match self {
            SigningKey::HmacSha1(keyed) => hmac_base64(keyed, base_string, text),
            SigningKey::HmacSha256(keyed) => hmac_base64(keyed, base_string, text),
            SigningKey::Plaintext(key) => Some(key.as_bytes()),
            SigningKey::Rsa => None,
        }
    }
}

/// Base64 of the longest HMAC digest here (SHA-256, 32 bytes): 44 characters.
const HMAC_TEXT: usize = 44;

#[cfg(test)]
fn hmac<M: Mac + hmac::digest::KeyInit>(key: &str, message: &str) -> Vec<u8> {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

impl fmt::Display for SignatureMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SignatureMethod {
    type Err = Error;

    /// Parses a method name exactly as RFC 5849 spells it (case-sensitive).
    fn from_str(name: &str) -> Result<Self, Error> {
        SignatureMethod::implemented()
            .into_iter()
            .find(|method| method.as_str() == name)
            .ok_or(Error::UnsupportedSignatureMethod)
    }
}

/// The OAuth Request Body Hash of `body`: base64 of its SHA-256 for the
/// SHA-256 methods, of its SHA-1 otherwise.
pub(crate) fn body_hash(method: SignatureMethod, body: &[u8]) -> String {
    use sha2::Digest as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let sha256 = match method {
        SignatureMethod::HmacSha256 => true,
        #[cfg(feature = "rsa")]
        SignatureMethod::RsaSha256 => true,
        _ => false,
    };
    if sha256 {
        engine.encode(sha2::Sha256::digest(body))
    } else {
        engine.encode(sha1::Sha1::digest(body))
    }
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_signature_is_the_encoded_key() {
        let sig = SignatureMethod::Plaintext.sign("ignored", "a&b", Some("c d"));
        assert_eq!(sig.expose(), "a%26b&c%20d");
        let sig = SignatureMethod::Plaintext.sign("ignored", "kd94hf93k423kf44", None);
        assert_eq!(sig.expose(), "kd94hf93k423kf44&");
    }

    #[test]
    fn hmac_signatures_match_known_values() {
        // RFC 2202 test case 2 / RFC 4231 test case 2: key "Jefe".
        let message = "what do ya want for nothing?";
        let sha1 = SignatureMethod::HmacSha1.sign(message, "Jefe", None);
        // key is "Jefe&" here (empty token secret), so compute the expected MAC independently:
        let expected = base64::engine::general_purpose::STANDARD
            .encode(hmac::<Hmac<sha1::Sha1>>("Jefe&", message));
        assert_eq!(sha1.expose(), expected);
        let mac = hmac::<Hmac<sha2::Sha256>>("Jefe", message);
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let mac = hmac::<Hmac<sha1::Sha1>>("Jefe", message);
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }

    #[test]
    fn method_names_round_trip_and_are_case_sensitive() {
        for method in SignatureMethod::ALL {
            assert_eq!(method.as_str().parse::<SignatureMethod>(), Ok(method));
        }
        assert!("hmac-sha1".parse::<SignatureMethod>().is_err());
        #[cfg(not(feature = "rsa"))]
        assert!("RSA-SHA1".parse::<SignatureMethod>().is_err());
        #[cfg(feature = "rsa")]
        for method in SignatureMethod::RSA {
            assert_eq!(method.as_str().parse::<SignatureMethod>(), Ok(method));
        }
        assert!("".parse::<SignatureMethod>().is_err());
    }

    #[test]
    fn constant_time_eq_compares_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
