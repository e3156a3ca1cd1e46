//! A verifier's secrets worked out once: [`VerifyKey`].

use std::fmt;

use crate::signature::{SignatureMethod, SigningKey};

/// The secrets requests are verified with, prepared once: the key
/// `encode(consumer_secret)&encode(token_secret)` (RFC 5849 §3.4.2, §3.4.4)
/// and its HMAC-SHA1 and HMAC-SHA256 key schedules.
///
/// [`ReceivedRequest::verify`](crate::ReceivedRequest::verify) works these out
/// for every request. A server that verifies many requests for the same
/// consumer and token can keep a `VerifyKey` beside the secrets it looks up
/// (as a [`Signer`](crate::Signer) keeps its own) and call
/// [`ReceivedRequest::verify_with`](crate::ReceivedRequest::verify_with): the
/// same checks, without encoding the secrets and hashing the key again. It
/// holds secrets: `Debug` shows only whether there is a token.
///
/// ```
/// use oauth1::{MemoryNonceStore, ReceivedRequest, Request, Signer, VerifyKey, VerifyOptions};
///
/// // Once per consumer and token, when their secrets are looked up:
/// let key = VerifyKey::new("consumer-secret", Some("token-secret"));
/// assert_eq!(format!("{key:?}"), "VerifyKey { token: true, .. }");
///
/// let url = "https://api.example.com/videos";
/// let header = Signer::new("consumer", "consumer-secret")
///     .token("token", "token-secret")
///     .timestamp(1_700_000_000)
///     .sign(&Request::new("GET", url))?
///     .authorization_header();
/// let received = ReceivedRequest::parse(&Request::new("GET", url).authorization(&header))?;
/// let options = VerifyOptions::new(1_700_000_010);
/// received.verify_with(&key, &options, &mut MemoryNonceStore::new())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct VerifyKey {
    token: bool,
    hmac_sha1: SigningKey,
    hmac_sha256: SigningKey,
    plaintext: SigningKey,
}

impl VerifyKey {
    /// Prepares `consumer_secret` and, when requests carry a token, its
    /// `token_secret` (`Some("")` for a token whose secret is empty).
    pub fn new(consumer_secret: &str, token_secret: Option<&str>) -> Self {
        let key = |method| SigningKey::new(method, consumer_secret, token_secret);
        VerifyKey {
            token: token_secret.is_some(),
            hmac_sha1: key(SignatureMethod::HmacSha1),
            hmac_sha256: key(SignatureMethod::HmacSha256),
            plaintext: key(SignatureMethod::Plaintext),
        }
    }

    /// Whether it was made with a token secret.
    pub(crate) fn has_token(&self) -> bool {
        self.token
    }

    /// The key for `method`; `None` for the RSA methods, which verify with a
    /// public key instead.
    pub(crate) fn for_method(&self, method: SignatureMethod) -> Option<&SigningKey> {
        match method {
            SignatureMethod::HmacSha1 => Some(&self.hmac_sha1),
            SignatureMethod::HmacSha256 => Some(&self.hmac_sha256),
            SignatureMethod::Plaintext => Some(&self.plaintext),
            #[cfg(feature = "rsa")]
            SignatureMethod::RsaSha1 | SignatureMethod::RsaSha256 => None,
        }
    }
}

/// Whether there is a token, never the secrets.
impl fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyKey")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}
