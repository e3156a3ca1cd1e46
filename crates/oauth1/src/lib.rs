//! A sans-IO OAuth 1.0a signer and verifier ([RFC 5849]).
//!
//! This crate computes; it never sends. You give it the method, URL, optional
//! form body and credentials; it gives back the `Authorization` header value (or
//! the parameters for query or form placement) and, for debugging, the signature
//! base string. On the server side it parses a received request, recomputes the
//! signature, and checks the timestamp window and nonce.
//!
//! ```text
//!   method, URL, form body ──► collect & normalize ──► base string ──► HMAC / PLAINTEXT
//!   consumer + token secrets ─────────────────────────────────────────────┘      │
//!                    Authorization header / query / form ◄── SignedRequest ◄────┘
//! ```
//!
//! - Signature methods: HMAC-SHA1, HMAC-SHA256, PLAINTEXT; RSA-SHA1 and
//!   RSA-SHA256 with feature `rsa` ([`Signer::rsa`], [`ReceivedRequest::verify_rsa`]).
//! - Percent-encoding per §3.6 (UTF-8, only unreserved characters kept), parameter
//!   normalization per §3.4.1.3.2, base string URI per §3.4.1.2 (lower-case scheme
//!   and host, default port dropped, no query or fragment).
//! - The nonce is 128 bits from a per-signer generator (SHA-256 over a seed
//!   read once from the OS random source, and a counter: unpredictable, never
//!   repeated, no system call per request) and the timestamp from the clock,
//!   both replaceable ([`Signer::nonce`], [`Signer::timestamp`]) for tests.
//! - A request is a URL ([`Request::new`]) or, as a server has it, the scheme,
//!   the `Host` header and the request target ([`Request::from_parts`]: no URL
//!   written out and parsed again).
//! - Server side: [`ReceivedRequest`] with constant-time comparison, a timestamp
//!   window and a pluggable [`NonceStore`]; each rejection is its own
//!   [`VerifyError`] variant. A [`VerifyKey`] keeps a consumer's secrets
//!   prepared between requests ([`ReceivedRequest::verify_with`]).
//! - The three-legged flow as pure helpers: [`request_token_request`],
//!   [`authorize_url`], [`access_token_request`], [`parse_token_response`].
//! - No panics on any input; secrets are [`Secret`]s and never appear in `Debug`
//!   output or errors.
//!
//! Not here: an HTTP client, and OAuth 2 (which needs no signing).
//!
//! # Signing
//!
//! ```
//! use oauth1::{Request, Signer};
//!
//! let signer = Signer::new("consumer-key", "consumer-secret").token("token", "token-secret");
//! let body = b"name=My%20video&privacy=anybody";
//! let request = Request::new("POST", "https://api.example.com/videos?upload=1")
//!     .body("application/x-www-form-urlencoded", body);
//! let signed = signer.sign(&request)?;
//! let header_value = signed.authorization_header(); // send as `Authorization`
//! assert!(header_value.starts_with("OAuth oauth_consumer_key=\"consumer-key\""));
//! # Ok::<(), oauth1::Error>(())
//! ```
//!
//! # Verifying
//!
//! ```
//! use oauth1::{MemoryNonceStore, ReceivedRequest, Request, Signer, VerifyError, VerifyOptions};
//!
//! let url = "http://localhost:8080/rest?method=vimeo.videos.getInfo";
//! let header = Signer::new("key", "secret").timestamp(1_000_000)
//!     .sign(&Request::new("GET", url))?.authorization_header();
//!
//! let received = ReceivedRequest::parse(&Request::new("GET", url).authorization(&header))?;
//! let mut nonces = MemoryNonceStore::new();
//! // The server looks up the secret for `received.consumer_key()`.
//! received.verify("secret", None, &VerifyOptions::new(1_000_010), &mut nonces)?;
//! // A wrong secret is refused.
//! let wrong = received.verify("guess", None, &VerifyOptions::new(1_000_010), &mut nonces);
//! assert_eq!(wrong, Err(VerifyError::InvalidSignature));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [RFC 5849]: https://www.rfc-editor.org/rfc/rfc5849

// The docs link to the RSA items, which exist with feature `rsa` only (docs.rs
// builds with every feature).
#![cfg_attr(not(feature = "rsa"), allow(rustdoc::broken_intra_doc_links))]

mod base_string;
mod encoding;
mod error;
mod flow;
mod header;
mod nonce;
mod prepared;
mod protocol_values;
mod request;
mod request_url;
#[cfg(feature = "rsa")]
mod rsa_keys;
mod secret;
mod sent;
mod sign;
mod signature;
mod verify;
mod verify_key;

pub use encoding::percent_encode;
pub use error::{Error, VerifyError};
pub use flow::{
    PreparedRequest, TokenResponse, access_token_request, authorize_url, parse_token_response,
    request_token_request,
};
pub use header::AuthorizationHeader;
pub use nonce::{MemoryNonceStore, NonceKey, NonceStore};
pub use request::Request;
#[cfg(feature = "rsa")]
pub use rsa_keys::{RsaPrivateKey, RsaPublicKey};
pub use secret::Secret;
pub use sign::{SignedRequest, Signer};
pub use signature::SignatureMethod;
// For `secret_type!` and the sandbox: one constant-time comparison.
#[doc(hidden)]
pub use signature::constant_time_eq as __constant_time_eq;
pub use verify::{Placement, ReceivedRequest, VerifyOptions};
pub use verify_key::VerifyKey;
