//! Error types. Display texts are for people and not a stable contract; match on the variants.
//! No variant ever carries a secret, a token or a signature.

use crate::signature::SignatureMethod;

/// A request or response could not be signed, parsed or built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request URL cannot be used as given.
    #[error("invalid URL: {reason}")]
    InvalidUrl {
        /// Why the URL was refused.
        reason: &'static str,
    },
    /// The HTTP method is empty or not an RFC 9110 token.
    #[error("invalid HTTP method: expected a token such as GET or POST")]
    InvalidMethod,
    /// A `%` was not followed by two hex digits.
    #[error("invalid percent-encoding in the {context}")]
    InvalidPercentEncoding {
        /// Where: `query`, `form body`, `Authorization header` or `token response`.
        context: &'static str,
    },
    /// A form body is not valid UTF-8 text.
    #[error("the form body is not UTF-8 text")]
    InvalidFormBody,
    /// A protocol parameter occurs twice in one request or response.
    #[error("OAuth parameter `{name}` appears more than once")]
    DuplicateParameter {
        /// The parameter's name.
        name: String,
    },
    /// An extra `oauth_*` parameter given to the signer cannot be used.
    #[error("extra parameter `{name}` is not allowed: {reason}")]
    InvalidExtraParameter {
        /// The parameter's name.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The realm would not fit in a quoted header value.
    #[error("invalid realm: it must not contain control characters")]
    InvalidRealm,
    /// An `Authorization: OAuth ...` header could not be parsed.
    #[error("malformed OAuth Authorization header: {reason}")]
    MalformedHeader {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A signature method name is not one this crate implements.
    #[error(
        "unsupported signature method (supported: HMAC-SHA1, HMAC-SHA256, PLAINTEXT; RSA-SHA1 and RSA-SHA256 with feature `rsa`)"
    )]
    UnsupportedSignatureMethod,
    /// An RSA key could not be read (not PKCS#8 or PKCS#1, PEM or DER), or
    /// could not sign. The key itself is never part of the error.
    #[error("the RSA key is not a usable PKCS#8 or PKCS#1 key")]
    InvalidKey,
    /// An RSA method was chosen for a signer made without an RSA key.
    #[error("an RSA signature method needs a signer made with Signer::rsa")]
    MissingKey,
    /// A request-token or access-token response is not `oauth_token=...&oauth_token_secret=...`.
    #[error("malformed token response: {reason}")]
    MalformedTokenResponse {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The operating system's random source failed, so no nonce could be made.
    #[error("the operating system's random source is unavailable")]
    NoRandomSource,
    /// The provider answered with an `oauth_problem` (the OAuth problem-reporting extension).
    #[error("the provider reported an OAuth problem: {problem}")]
    ProviderProblem {
        /// The problem code, such as `signature_invalid` or `token_rejected`.
        problem: String,
    },
}

/// Why the server-side verification rejected a request.
///
/// Each variant names one reason, so a server can answer precisely (RFC 5849 §3.2
/// suggests 400 for malformed or unsupported requests and 401 for bad credentials,
/// signatures, timestamps and nonces: see [`VerifyError::http_status`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The request itself is malformed (URL, encoding, header syntax, duplicates).
    #[error(transparent)]
    Malformed(#[from] Error),
    /// A required protocol parameter is absent.
    #[error("missing OAuth parameter `{name}`")]
    MissingParameter {
        /// The missing parameter's name.
        name: &'static str,
    },
    /// Protocol parameters were spread over more than one of header, query and body.
    #[error("OAuth parameters must be sent in one place only (header, query or body)")]
    MixedPlacement,
    /// `oauth_version` is present and is not `1.0`.
    #[error("unsupported oauth_version (only 1.0 is accepted)")]
    UnsupportedVersion,
    /// `oauth_signature_method` names a method this crate does not implement.
    #[error("unsupported signature method (supported: HMAC-SHA1, HMAC-SHA256, PLAINTEXT)")]
    UnsupportedSignatureMethod,
    /// The signature method is implemented but this server does not allow it.
    #[error("signature method {method} is not allowed by this server")]
    SignatureMethodNotAllowed {
        /// The method the request used.
        method: SignatureMethod,
    },
    /// `oauth_timestamp` is not a positive integer.
    #[error("oauth_timestamp is not a positive integer")]
    InvalidTimestamp,
    /// `oauth_timestamp` is too far from the server's clock.
    #[error(
        "oauth_timestamp is {skew_seconds} s away from the server clock (allowed: {window_seconds} s)"
    )]
    TimestampOutOfWindow {
        /// Request timestamp minus server time, in seconds.
        skew_seconds: i64,
        /// The allowed distance either way, in seconds.
        window_seconds: u64,
    },
    /// The request carries a token but the caller knows no secret for it, or the
    /// caller expected a token and the request carries none.
    #[error("the token is unknown or does not match the expected one")]
    TokenMismatch,
    /// The signature does not match the request.
    #[error("invalid signature")]
    InvalidSignature,
    /// `oauth_body_hash` does not match the body (or was sent with a form body,
    /// which the extension forbids).
    #[error("oauth_body_hash does not match the request body")]
    BodyHashMismatch,
    /// This nonce was already used with this timestamp and credentials.
    #[error("the nonce was already used (replayed request)")]
    NonceReused,
}

impl VerifyError {
    /// The HTTP status RFC 5849 §3.2 suggests for this rejection: 400 or 401.
    ///
    /// ```
    /// assert_eq!(oauth1::VerifyError::InvalidSignature.http_status(), 401);
    /// assert_eq!(oauth1::VerifyError::MixedPlacement.http_status(), 400);
    /// ```
    pub fn http_status(&self) -> u16 {
        match self {
            VerifyError::Malformed(_)
            | VerifyError::MissingParameter { .. }
            | VerifyError::MixedPlacement
            | VerifyError::UnsupportedVersion
            | VerifyError::UnsupportedSignatureMethod
            | VerifyError::SignatureMethodNotAllowed { .. }
            | VerifyError::InvalidTimestamp => 400,
            VerifyError::TimestampOutOfWindow { .. }
            | VerifyError::TokenMismatch
            | VerifyError::InvalidSignature
            | VerifyError::BodyHashMismatch
            | VerifyError::NonceReused => 401,
        }
    }

    /// A short problem code in the style of the OAuth problem-reporting extension
    /// (`signature_invalid`, `timestamp_refused`, ...), for `oauth_problem=` answers.
    ///
    /// ```
    /// assert_eq!(oauth1::VerifyError::NonceReused.problem(), "nonce_used");
    /// ```
    pub fn problem(&self) -> &'static str {
        match self {
            VerifyError::Malformed(Error::DuplicateParameter { .. }) => "parameter_rejected",
            VerifyError::Malformed(_) => "parameter_rejected",
            VerifyError::MissingParameter { .. } => "parameter_absent",
            VerifyError::MixedPlacement => "parameter_rejected",
            VerifyError::UnsupportedVersion => "version_rejected",
            VerifyError::UnsupportedSignatureMethod
            | VerifyError::SignatureMethodNotAllowed { .. } => "signature_method_rejected",
            VerifyError::InvalidTimestamp | VerifyError::TimestampOutOfWindow { .. } => {
                "timestamp_refused"
            }
            VerifyError::TokenMismatch => "token_rejected",
            VerifyError::InvalidSignature => "signature_invalid",
            VerifyError::BodyHashMismatch => "body_hash_invalid",
            VerifyError::NonceReused => "nonce_used",
        }
    }
}
