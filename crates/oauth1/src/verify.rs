//! Server-side verification (RFC 5849 §3.2): parse a received request, look up
//! its secrets, recompute the signature, compare in constant time, check the
//! timestamp window and the nonce.

use std::fmt;

use crate::base_string::EncodedParams;
use crate::error::{Error, VerifyError};
use crate::header;
use crate::nonce::{MemoryNonceStore, NonceKey, NonceStore};
use crate::protocol_values::{Found, Kept};
use crate::request::Request;
use crate::sign::PROTOCOL_PARAMS;
use crate::signature::{SignatureMethod, SigningKey, constant_time_eq};
use crate::verify_key::VerifyKey;

/// A received request whose OAuth parameters have been parsed but not yet verified.
///
/// Parse it first to learn the consumer key and token, look up their secrets,
/// then call [`ReceivedRequest::verify`].
///
/// ```
/// use oauth1::{MemoryNonceStore, ReceivedRequest, Request, Signer, VerifyOptions};
///
/// // A client signs...
/// let url = "https://api.example.com/videos?page=2";
/// let signed = Signer::new("consumer", "consumer-secret")
///     .token("token", "token-secret")
///     .timestamp(1_700_000_000)
///     .sign(&Request::new("GET", url))?;
/// let header = signed.authorization_header();
///
/// // ...and the server verifies.
/// let received = ReceivedRequest::parse(&Request::new("GET", url).authorization(&header))?;
/// assert_eq!(received.consumer_key(), "consumer");
/// assert_eq!(received.token(), Some("token"));
/// let mut nonces = MemoryNonceStore::new();
/// let options = VerifyOptions::new(1_700_000_030);
/// received.verify("consumer-secret", Some("token-secret"), &options, &mut nonces)?;
///
/// // The same request again is a replay.
/// assert_eq!(
///     received.verify("consumer-secret", Some("token-secret"), &options, &mut nonces),
///     Err(oauth1::VerifyError::NonceReused)
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ReceivedRequest {
    /// Consumer key, token, signature, nonce, callback and verifier.
    kept: Kept,
    method: SignatureMethod,
    timestamp: Option<u64>,
    realm: Option<String>,
    /// ASCII: kept as bytes (the HMAC's input), read as text only on request.
    base_string: Vec<u8>,
    placement: Placement,
    /// Extension parameters (`oauth_*` names this crate does not define), signed.
    extensions: Vec<(String, String)>,
    /// `oauth_body_hash` matched the body (`None`: none was sent).
    body_hash_matches: Option<bool>,
    /// The body is not a form (so only a body hash can cover it).
    opaque_body: bool,
}

/// Where a request carried its protocol parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Placement {
    /// The `Authorization: OAuth ...` header.
    Header,
    /// The URL's query.
    Query,
    /// An `application/x-www-form-urlencoded` body.
    Form,
}

impl ReceivedRequest {
    /// Parses the protocol parameters of `request` from its `Authorization` header,
    /// query or form body (exactly one of them) and builds the base string.
    ///
    /// Rejects: malformed URLs, headers or encodings; protocol parameters in more
    /// than one place or repeated; missing required parameters; an `oauth_version`
    /// other than `1.0`; unknown signature methods; non-numeric timestamps.
    pub fn parse(request: &Request<'_>) -> Result<Self, VerifyError> {
        let http_method = request.checked_method()?;
        let url = request.url()?;
        let header = request.authorization.filter(|value| is_oauth_scheme(value));
        // One pass over the header's parameters, then the query's and the
        // form's, as sent: each protocol parameter into its slot, every
        // signed one (all but oauth_signature) into this thread's scratch
        // buffer for the base string (§3.4.1.3.1), which is written at once.
        let mut found = Found::default();
        let (realm, base_string) = EncodedParams::with_scratch(|signed| {
            let realm = match header {
                Some(value) => {
                    let copy = signed.copy_source(value.as_bytes());
                    header::for_each_param(value, |name, value| {
                        found.take(Placement::Header, name, value, signed, &copy)
                    })?
                }
                None => None,
            };
            let header_run = signed.len();
            request.for_each_param_copied(url.query, signed, |in_query, pair, signed, copy| {
                let from = if in_query {
                    Placement::Query
                } else {
                    Placement::Form
                };
                found.take(from, &pair.name, pair.value, signed, copy)
            })?;
            let base_string =
                signed.base_string_presorted(http_method, &url.base_uri, (header_run, false));
            Ok::<_, Error>((realm, base_string))
        })?;
        // Borrowed where it lies: moving the slots out would copy them all.
        let Found {
            protocol,
            placement,
            mixed,
            problem,
            extensions,
            ..
        } = &mut found;
        let placement = match (*placement, *mixed) {
            (None, _) => {
                return Err(VerifyError::MissingParameter {
                    name: "oauth_signature",
                });
            }
            (Some(_), true) => return Err(VerifyError::MixedPlacement),
            (Some(one), false) => one,
        };
        if let Some(problem) = problem.take() {
            return Err(problem.into());
        }
        // By a literal name: the compiler finds the slot, no search at run time.
        let get = |name: &'static str| {
            PROTOCOL_PARAMS
                .iter()
                .position(|p| *p == name)
                .and_then(|index| protocol[index].as_ref())
        };
        let consumer_key = get("oauth_consumer_key").ok_or(VerifyError::MissingParameter {
            name: "oauth_consumer_key",
        })?;
        let method = get("oauth_signature_method")
            .ok_or(VerifyError::MissingParameter {
                name: "oauth_signature_method",
            })?
            .with_text(str::parse::<SignatureMethod>)
            .map_err(|_| VerifyError::UnsupportedSignatureMethod)?;
        let signature = get("oauth_signature").ok_or(VerifyError::MissingParameter {
            name: "oauth_signature",
        })?;
        if get("oauth_version").is_some_and(|version| version.with_text(|text| text != "1.0")) {
            return Err(VerifyError::UnsupportedVersion);
        }
        let timestamp = get("oauth_timestamp")
            .map(|text| text.with_text(parse_timestamp))
            .transpose()?;
        let nonce = get("oauth_nonce");
        // RFC 5849 §3.1: only PLAINTEXT may omit the timestamp and nonce.
        if method != SignatureMethod::Plaintext {
            if timestamp.is_none() {
                return Err(VerifyError::MissingParameter {
                    name: "oauth_timestamp",
                });
            }
            if nonce.is_none() {
                return Err(VerifyError::MissingParameter {
                    name: "oauth_nonce",
                });
            }
        }
        if nonce.is_some_and(|nonce| nonce.raw().is_empty()) {
            return Err(VerifyError::MissingParameter {
                name: "oauth_nonce",
            });
        }

        // The Request Body Hash extension: checked after the signature.
        let opaque_body = request.content_type.is_some() && !request.has_form_body();
        let body_hash_matches = get("oauth_body_hash").map(|sent| {
            opaque_body
                && sent.with_text(|sent| {
                    let expected = crate::signature::body_hash(method, request.body);
                    constant_time_eq(sent.as_bytes(), expected.as_bytes())
                })
        });

        Ok(ReceivedRequest {
            kept: Kept::new([
                Some(consumer_key),
                get("oauth_token"),
                Some(signature),
                nonce,
                get("oauth_callback"),
                get("oauth_verifier"),
            ]),
            method,
            timestamp,
            realm: realm.map(std::borrow::Cow::into_owned),
            base_string,
            placement,
            body_hash_matches,
            opaque_body,
            extensions: std::mem::take(extensions),
        })
    }

    /// `oauth_nonce` (absent only for PLAINTEXT requests that omit it).
    pub fn nonce(&self) -> Option<&str> {
        self.kept.get(Kept::NONCE)
    }

    /// Extension parameters: `oauth_*` names RFC 5849 does not define (such
    /// as a provider's `oauth_session_handle`), decoded, in arrival order.
    /// They are covered by the signature.
    pub fn extensions(&self) -> &[(String, String)] {
        &self.extensions
    }

    /// One extension parameter's value.
    pub fn extension(&self, name: &str) -> Option<&str> {
        self.extensions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `oauth_consumer_key`.
    pub fn consumer_key(&self) -> &str {
        self.kept.get(Kept::CONSUMER_KEY).unwrap_or_default()
    }

    /// `oauth_token`, if the request carries one.
    pub fn token(&self) -> Option<&str> {
        self.kept.get(Kept::TOKEN)
    }

    /// `oauth_signature_method`.
    pub fn signature_method(&self) -> SignatureMethod {
        self.method
    }

    /// `oauth_callback`, if present (temporary-credentials requests).
    pub fn callback(&self) -> Option<&str> {
        self.kept.get(Kept::CALLBACK)
    }

    /// `oauth_verifier`, if present (token-credentials requests).
    pub fn verifier(&self) -> Option<&str> {
        self.kept.get(Kept::VERIFIER)
    }

    /// `oauth_timestamp`, if present.
    pub fn timestamp(&self) -> Option<u64> {
        self.timestamp
    }

    /// The header's `realm`, if any.
    pub fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    /// Where the protocol parameters were found.
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// The base string the server computed (compare with the client's when debugging).
    pub fn base_string(&self) -> &str {
        std::str::from_utf8(&self.base_string).unwrap_or_default()
    }

    /// Verifies the signature with the secrets the caller looked up, then the
    /// timestamp window, then the nonce (so an unsigned request cannot use up a
    /// nonce).
    ///
    /// Pass `token_secret` exactly when a token is expected: a request with a
    /// token checked without a secret, or without a token checked with one, is
    /// [`VerifyError::TokenMismatch`].
    pub fn verify(
        &self,
        consumer_secret: &str,
        token_secret: Option<&str>,
        options: &VerifyOptions,
        nonces: &mut dyn NonceStore,
    ) -> Result<(), VerifyError> {
        self.check_method(options, token_secret.is_some())?;
        let key = SigningKey::new(self.method, consumer_secret, token_secret);
        self.check_signature_then_freshness(&key, options, nonces)
    }

    /// [`verify`](Self::verify) with secrets prepared once ([`VerifyKey`]):
    /// the same checks in the same order, without encoding the secrets and
    /// hashing the key for each request.
    pub fn verify_with(
        &self,
        key: &VerifyKey,
        options: &VerifyOptions,
        nonces: &mut dyn NonceStore,
    ) -> Result<(), VerifyError> {
        self.check_method(options, key.has_token())?;
        let key = key
            .for_method(self.method)
            .ok_or(VerifyError::SignatureMethodNotAllowed {
                method: self.method,
            })?;
        self.check_signature_then_freshness(key, options, nonces)
    }

    /// The method is allowed and verified with secrets (not RSA), and a
    /// token secret is given exactly when the request names a token.
    fn check_method(&self, options: &VerifyOptions, token_secret: bool) -> Result<(), VerifyError> {
        if !options.allowed_methods.contains(&self.method) {
            return Err(VerifyError::SignatureMethodNotAllowed {
                method: self.method,
            });
        }
        if self.method.is_rsa() {
            // Signed with a key, not with these secrets: `verify_rsa`.
            return Err(VerifyError::SignatureMethodNotAllowed {
                method: self.method,
            });
        }
        if self.token().is_some() != token_secret {
            return Err(VerifyError::TokenMismatch);
        }
        Ok(())
    }

    /// The signature (so an unsigned request cannot use up a nonce), then
    /// the timestamp window and the nonce.
    fn check_signature_then_freshness(
        &self,
        key: &SigningKey,
        options: &VerifyOptions,
        nonces: &mut dyn NonceStore,
    ) -> Result<(), VerifyError> {
        if !key.verifies(&self.base_string, self.signature().as_bytes()) {
            return Err(VerifyError::InvalidSignature);
        }
        self.check_freshness(options, nonces)
    }

    /// The common case in one call: default [`VerifyOptions`] at `now`, and
    /// nonces remembered in a process-wide [`MemoryNonceStore`] (expiring
    /// with the timestamp window, so it stays small). `token_secret` is used
    /// only when the request names a token — pass `""` for a token whose
    /// secret is empty, and anything when no token is expected.
    ///
    /// ```
    /// use oauth1::{ReceivedRequest, Request, Signer, VerifyError};
    /// let url = "https://api.example.com/x";
    /// let header = Signer::new("ck", "cs").token("tk", "").timestamp(500)
    ///     .sign(&Request::new("GET", url))?.authorization_header();
    /// let received = ReceivedRequest::parse(&Request::new("GET", url).authorization(&header))?;
    /// received.check("cs", "", 510)?;
    /// assert_eq!(received.check("cs", "", 510), Err(VerifyError::NonceReused));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check(
        &self,
        consumer_secret: &str,
        token_secret: &str,
        now: u64,
    ) -> Result<(), VerifyError> {
        static NONCES: std::sync::Mutex<Option<MemoryNonceStore>> = std::sync::Mutex::new(None);
        let mut nonces = NONCES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let nonces = nonces.get_or_insert_with(MemoryNonceStore::new);
        let token_secret = self.token().is_some().then_some(token_secret);
        self.verify(
            consumer_secret,
            token_secret,
            &VerifyOptions::new(now),
            nonces,
        )
    }

    /// Verifies an RSA-SHA1 or RSA-SHA256 signature with the consumer's
    /// public key (looked up by [`ReceivedRequest::consumer_key`]), then the
    /// timestamp window and the nonce (feature `rsa`).
    ///
    /// ```
    /// use oauth1::{MemoryNonceStore, ReceivedRequest, Request, RsaPrivateKey, Signer, VerifyOptions};
    /// let key = RsaPrivateKey::from_pem(include_str!("../tests/data/rsa-test-key.pem"))?;
    /// let url = "https://jira.example.com/rest/api/2/issue/1";
    /// let header = Signer::rsa("jira-app", key.clone()).timestamp(1_000)
    ///     .sign(&Request::new("GET", url))?.authorization_header();
    /// let received = ReceivedRequest::parse(&Request::new("GET", url).authorization(&header))?;
    /// assert_eq!(received.consumer_key(), "jira-app");
    /// received.verify_rsa(&key.public_key(), &VerifyOptions::new(1_010), &mut MemoryNonceStore::new())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "rsa")]
    pub fn verify_rsa(
        &self,
        key: &crate::RsaPublicKey,
        options: &VerifyOptions,
        nonces: &mut dyn NonceStore,
    ) -> Result<(), VerifyError> {
        if !options.allowed_methods.contains(&self.method) || !self.method.is_rsa() {
            return Err(VerifyError::SignatureMethodNotAllowed {
                method: self.method,
            });
        }
        if !key.verifies(self.method, self.base_string(), self.signature()) {
            return Err(VerifyError::InvalidSignature);
        }
        self.check_freshness(options, nonces)
    }

    /// The timestamp window, then the nonce (only for a request whose
    /// signature was already checked, so a forgery cannot use up a nonce).
    fn check_freshness(
        &self,
        options: &VerifyOptions,
        nonces: &mut dyn NonceStore,
    ) -> Result<(), VerifyError> {
        match self.body_hash_matches {
            Some(false) => return Err(VerifyError::BodyHashMismatch),
            None if self.opaque_body && options.require_body_hash => {
                return Err(VerifyError::MissingParameter {
                    name: "oauth_body_hash",
                });
            }
            _ => {}
        }
        if let Some(timestamp) = self.timestamp {
            let skew = i128::from(timestamp) - i128::from(options.now);
            if skew.unsigned_abs() > u128::from(options.timestamp_window) {
                return Err(VerifyError::TimestampOutOfWindow {
                    skew_seconds: i64::try_from(skew).unwrap_or(i64::MAX),
                    window_seconds: options.timestamp_window,
                });
            }
        }
        if let Some(nonce) = self.nonce() {
            let key = NonceKey {
                consumer_key: self.consumer_key(),
                token: self.token(),
                timestamp: self.timestamp.unwrap_or(0),
                nonce,
            };
            if !nonces.check_and_remember(&key, options) {
                return Err(VerifyError::NonceReused);
            }
        }
        Ok(())
    }
}

impl ReceivedRequest {
    /// `oauth_signature`, as sent.
    fn signature(&self) -> &str {
        self.kept.get(Kept::SIGNATURE).unwrap_or_default()
    }
}

fn is_oauth_scheme(header_value: &str) -> bool {
    let scheme = header_value
        .trim_start()
        .split([' ', '\t'])
        .next()
        .unwrap_or("");
    scheme.eq_ignore_ascii_case("OAuth")
}

fn parse_timestamp(text: &str) -> Result<u64, VerifyError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::InvalidTimestamp);
    }
    match text.parse::<u64>() {
        Ok(0) | Err(_) => Err(VerifyError::InvalidTimestamp),
        Ok(seconds) => Ok(seconds),
    }
}

impl fmt::Debug for ReceivedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivedRequest")
            .field("consumer_key", &self.consumer_key())
            .field("has_token", &self.token().is_some())
            .field("method", &self.method)
            .field("timestamp", &self.timestamp)
            .field("placement", &self.placement)
            .finish_non_exhaustive()
    }
}

/// What [`ReceivedRequest::verify`] checks against.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// The server's current time, seconds since the Unix epoch.
    pub now: u64,
    /// How far (either way) a request's timestamp may be from `now`. Default 300 s.
    pub timestamp_window: u64,
    /// The signature methods this server accepts. Default: every implemented one. RFC 5849
    /// advises PLAINTEXT only over TLS; remove it where requests may arrive in clear.
    pub allowed_methods: Vec<SignatureMethod>,
    /// Refuse a request whose body is not a form and carries no
    /// `oauth_body_hash` (such a body is otherwise unsigned). Default false:
    /// many clients never send one; a hash that is sent is always checked.
    pub require_body_hash: bool,
}

impl VerifyOptions {
    /// Options for a server whose clock reads `now`, with the defaults above.
    pub fn new(now: u64) -> Self {
        VerifyOptions {
            now,
            timestamp_window: 300,
            allowed_methods: SignatureMethod::implemented(),
            require_body_hash: false,
        }
    }

    /// Sets the allowed timestamp distance, in seconds.
    pub fn timestamp_window(mut self, seconds: u64) -> Self {
        self.timestamp_window = seconds;
        self
    }

    /// Requires `oauth_body_hash` on requests whose body is not a form.
    pub fn require_body_hash(mut self, require: bool) -> Self {
        self.require_body_hash = require;
        self
    }

    /// Sets the accepted signature methods.
    pub fn allowed_methods(mut self, methods: &[SignatureMethod]) -> Self {
        self.allowed_methods = methods.to_vec();
        self
    }
}
