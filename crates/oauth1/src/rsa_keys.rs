//! RSA-SHA1 and RSA-SHA256 (RFC 5849 §3.4.3): PKCS#1 v1.5 signatures over
//! the signature base string with the consumer's private key; the server
//! checks them with the matching public key (feature `rsa`, on RustCrypto's
//! `rsa` crate).
//!
//! Signing is deterministic (the same base string gives the same signature),
//! so it can be cross-checked exactly. The `rsa` crate's private-key
//! operation is not constant-time (RUSTSEC-2023-0071, "Marvin"): a signer
//! whose signing time an attacker can measure precisely over many requests
//! leaks key bits. Clients signing their own requests over a network are the
//! usual, low-exposure case; do not offer RSA signing as a service.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding as _, Signer as _, Verifier as _};

use crate::error::Error;
use crate::signature::SignatureMethod;

/// An RSA private key (a secret: `Debug` shows only its size).
///
/// ```
/// # #[cfg(feature = "rsa")] {
/// let pem = include_str!("../tests/data/rsa-test-key.pem");
/// let key = oauth1::RsaPrivateKey::from_pem(pem)?;
/// assert!(!format!("{key:?}").contains("BEGIN"));
/// # }
/// # Ok::<(), oauth1::Error>(())
/// ```
#[derive(Clone)]
pub struct RsaPrivateKey(Arc<rsa::RsaPrivateKey>);

/// An RSA public key, to verify RSA-signed requests.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaPublicKey(rsa::RsaPublicKey);

impl RsaPrivateKey {
    /// A key from PEM: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1
    /// (`BEGIN RSA PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        rsa::RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem))
            .map(|key| RsaPrivateKey(Arc::new(key)))
            .map_err(|_| Error::InvalidKey)
    }

    /// A key from DER: PKCS#8 or PKCS#1.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        rsa::RsaPrivateKey::from_pkcs8_der(der)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_der(der))
            .map(|key| RsaPrivateKey(Arc::new(key)))
            .map_err(|_| Error::InvalidKey)
    }

    /// The matching public key.
    pub fn public_key(&self) -> RsaPublicKey {
        RsaPublicKey(rsa::RsaPublicKey::from(self.0.as_ref()))
    }

    /// The base64 PKCS#1 v1.5 signature of `base_string`.
    pub(crate) fn sign(&self, method: SignatureMethod, base_string: &str) -> Result<String, Error> {
        let key = self.0.as_ref().clone();
        let bytes = match method {
            SignatureMethod::RsaSha1 => rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(key)
                .try_sign(base_string.as_bytes())
                .map(|s| s.to_vec()),
            SignatureMethod::RsaSha256 => rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key)
                .try_sign(base_string.as_bytes())
                .map(|s| s.to_vec()),
            _ => return Err(Error::UnsupportedSignatureMethod),
        }
        .map_err(|_| Error::InvalidKey)?;
        Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
    }
}

impl RsaPublicKey {
    /// A key from PEM: SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`) or PKCS#1
    /// (`BEGIN RSA PUBLIC KEY`).
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        rsa::RsaPublicKey::from_public_key_pem(pem)
            .or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(pem))
            .map(RsaPublicKey)
            .map_err(|_| Error::InvalidKey)
    }

    /// A key from DER: SubjectPublicKeyInfo or PKCS#1.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        rsa::RsaPublicKey::from_public_key_der(der)
            .or_else(|_| rsa::RsaPublicKey::from_pkcs1_der(der))
            .map(RsaPublicKey)
            .map_err(|_| Error::InvalidKey)
    }

    /// Whether `signature` (base64) is `method`'s signature of `base_string`.
    pub(crate) fn verifies(
        &self,
        method: SignatureMethod,
        base_string: &str,
        signature: &str,
    ) -> bool {
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(signature) else {
            return false;
        };
        let Ok(signature) = rsa::pkcs1v15::Signature::try_from(bytes.as_slice()) else {
            return false;
        };
        let message = base_string.as_bytes();
        match method {
            SignatureMethod::RsaSha1 => {
                rsa::pkcs1v15::VerifyingKey::<sha1::Sha1>::new(self.0.clone())
                    .verify(message, &signature)
                    .is_ok()
            }
            SignatureMethod::RsaSha256 => {
                rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(self.0.clone())
                    .verify(message, &signature)
                    .is_ok()
            }
            _ => false,
        }
    }
}

impl fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use rsa::traits::PublicKeyParts as _;
        write!(f, "RsaPrivateKey({} bits, redacted)", self.0.size() * 8)
    }
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use rsa::traits::PublicKeyParts as _;
        write!(f, "RsaPublicKey({} bits)", self.0.size() * 8)
    }
}
