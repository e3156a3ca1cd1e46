//! Client-side signing: [`Signer`] turns a [`Request`] into a [`SignedRequest`].

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::base_string::EncodedParams;
use crate::encoding::{RawPair, is_unreserved_text, percent_encode};
use crate::error::Error;
use crate::prepared::{InlineText, NonceGenerator, Own, Prepared, SignerParts};
use crate::request::Request;
use crate::secret::Secret;
use crate::signature::SignatureMethod;

/// The protocol parameters this crate sets itself; extras may not reuse them.
pub(crate) const PROTOCOL_PARAMS: [&str; 10] = [
    "oauth_consumer_key",
    "oauth_token",
    "oauth_signature_method",
    "oauth_signature",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_version",
    "oauth_callback",
    "oauth_verifier",
    // The Request Body Hash extension: signed like the others.
    "oauth_body_hash",
];

/// The slot of `oauth_signature` in [`PROTOCOL_PARAMS`] (the one parameter
/// not signed).
pub(crate) const SIGNATURE: usize = 3;

/// The slot of a protocol parameter's name in [`PROTOCOL_PARAMS`].
#[inline]
pub(crate) fn protocol_index(name: &[u8]) -> Option<usize> {
    // Length and the byte after `oauth_` tell the ten apart, so one full
    // comparison settles it (this runs for every parameter a verifier reads).
    let key = (name.len(), *name.get(6)?);
    let index = PROTOCOL_PARAMS
        .iter()
        .position(|p| (p.len(), p.as_bytes()[6]) == key)?;
    (PROTOCOL_PARAMS[index].as_bytes() == name).then_some(index)
}

/// Where the nonce comes from.
#[derive(Clone)]
enum NonceSource {
    /// 128 bits from the signer's generator, hex-encoded.
    Random(Arc<NonceGenerator>),
    Fixed(String),
}

/// One request's nonce: from the generator (inline, no allocation) or fixed.
enum Nonce {
    Random(InlineText),
    Fixed(String),
}

impl Nonce {
    fn as_str(&self) -> &str {
        match self {
            Nonce::Random(text) => text.as_str(),
            Nonce::Fixed(text) => text,
        }
    }
}

/// Where the timestamp comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Clock {
    System,
    Fixed(u64),
}

/// Signs requests for one consumer and, optionally, one token.
///
/// Build it once and sign many requests. The nonce comes from the OS random
/// source and the timestamp from the system clock unless fixed with
/// [`Signer::nonce`] and [`Signer::timestamp`] (for tests and reproducible
/// examples). `oauth_version="1.0"` is sent by default; [`Signer::omit_version`]
/// leaves it out (RFC 5849 makes it optional, and its §1.2 examples omit it).
///
/// ```
/// use oauth1::{Request, SignatureMethod, Signer};
///
/// let signer = Signer::new("dpf43f3p2l4k3l03", "kd94hf93k423kf44")
///     .token("nnch734d00sl2jdk", "pfkkdhi9sl3r4s00")
///     .signature_method(SignatureMethod::HmacSha1)
///     .realm("Photos")
///     .omit_version()
///     .nonce("chapoH")
///     .timestamp(137131202);
/// let request = Request::new("GET", "http://photos.example.net/photos?file=vacation.jpg&size=original");
/// let signed = signer.sign(&request)?;
///
/// assert_eq!(signed.signature(), "MdpQcU8iPSUjWoN/UDMsK2sui9I=");
/// assert!(signed.authorization_header().starts_with(r#"OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03""#));
/// # Ok::<(), oauth1::Error>(())
/// ```
#[derive(Clone)]
pub struct Signer {
    consumer_key: String,
    consumer_secret: Secret,
    token: Option<(String, Secret)>,
    method: SignatureMethod,
    realm: Option<String>,
    callback: Option<String>,
    verifier: Option<String>,
    send_version: bool,
    extra: Vec<(String, String)>,
    nonce: NonceSource,
    clock: Clock,
    /// The consumer's private key, for the RSA methods.
    #[cfg(feature = "rsa")]
    rsa_key: Option<crate::RsaPrivateKey>,
    /// Worked out on the first signature; every builder method clears it.
    prepared: OnceLock<Arc<Prepared>>,
}

impl Signer {
    /// A signer for a consumer that signs with an RSA key, using RSA-SHA1
    /// (feature `rsa`; `.signature_method(SignatureMethod::RsaSha256)` for
    /// SHA-256). A token's secret, if any, plays no part in RSA signatures.
    ///
    /// ```
    /// use oauth1::{Request, RsaPrivateKey, Signer};
    /// let key = RsaPrivateKey::from_pem(include_str!("../tests/data/rsa-test-key.pem"))?;
    /// let signed = Signer::rsa("dpf43f3p2l4k3l03", key)
    ///     .nonce("13917289812797014437")
    ///     .timestamp(1196666512)
    ///     .sign(&Request::new("GET", "http://photos.example.net/photos?file=vacaction.jpg&size=original"))?;
    /// // The OAuth wiki's RSA-SHA1 test case (RSA PKCS#1 v1.5 is deterministic).
    /// assert!(signed.signature().starts_with("jvTp/wX1TYtByB1m+Pbyo0lnCOLIsyGCH7wke8AUs3Bpnw"));
    /// # Ok::<(), oauth1::Error>(())
    /// ```
    #[cfg(feature = "rsa")]
    pub fn rsa(consumer_key: impl Into<String>, key: crate::RsaPrivateKey) -> Self {
        let mut signer = Signer::new(consumer_key, "");
        signer.method = SignatureMethod::RsaSha1;
        signer.rsa_key = Some(key);
        signer
    }

    /// A signer for a consumer (client) key and secret, using HMAC-SHA1.
    pub fn new(consumer_key: impl Into<String>, consumer_secret: impl Into<Secret>) -> Self {
        Signer {
            consumer_key: consumer_key.into(),
            consumer_secret: consumer_secret.into(),
            token: None,
            method: SignatureMethod::HmacSha1,
            realm: None,
            callback: None,
            verifier: None,
            send_version: true,
            extra: Vec::new(),
            nonce: NonceSource::Random(Arc::default()),
            clock: Clock::System,
            #[cfg(feature = "rsa")]
            rsa_key: None,
            prepared: OnceLock::new(),
        }
    }

    /// Signs on behalf of a token (temporary or access credentials).
    pub fn token(mut self, token: impl Into<String>, token_secret: impl Into<Secret>) -> Self {
        self.token = Some((token.into(), token_secret.into()));
        self.prepared = OnceLock::new();
        self
    }

    /// Chooses the signature method (default HMAC-SHA1).
    pub fn signature_method(mut self, method: SignatureMethod) -> Self {
        self.method = method;
        self.prepared = OnceLock::new();
        self
    }

    /// Sets the `realm` of the Authorization header (never signed).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self.prepared = OnceLock::new();
        self
    }

    /// Sets `oauth_callback` (for a temporary-credentials request).
    pub fn callback(mut self, callback: impl Into<String>) -> Self {
        self.callback = Some(callback.into());
        self.prepared = OnceLock::new();
        self
    }

    /// Sets `oauth_verifier` (for a token-credentials request).
    pub fn verifier(mut self, verifier: impl Into<String>) -> Self {
        self.verifier = Some(verifier.into());
        self.prepared = OnceLock::new();
        self
    }

    /// Leaves out `oauth_version` (which is optional; default: sent as `1.0`).
    pub fn omit_version(mut self) -> Self {
        self.send_version = false;
        self.prepared = OnceLock::new();
        self
    }

    /// Adds an extension parameter such as `oauth_body_hash`. Its name must start
    /// with `oauth_` and must not be one of the parameters this signer sets.
    pub fn extra_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((name.into(), value.into()));
        self.prepared = OnceLock::new();
        self
    }

    /// Uses this nonce for every request instead of a random one (tests only:
    /// a real server rejects a reused nonce).
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = NonceSource::Fixed(nonce.into());
        self
    }

    /// Uses this timestamp (seconds since the Unix epoch) instead of the clock.
    pub fn timestamp(mut self, seconds: u64) -> Self {
        self.clock = Clock::Fixed(seconds);
        self
    }

    /// The consumer key this signer signs for.
    pub fn consumer_key(&self) -> &str {
        &self.consumer_key
    }

    /// The signature method in use.
    pub fn method(&self) -> SignatureMethod {
        self.method
    }

    /// Signs `request`. The result can be placed in a header, the query or a form body.
    ///
    /// Errors: a malformed URL, method or percent-encoding, a realm that cannot
    /// be quoted, a bad extra parameter, or no random source for the nonce.
    pub fn sign(&self, request: &Request<'_>) -> Result<SignedRequest, Error> {
        let method = request.checked_method()?;
        let (base_string, prepared, timestamp, nonce, body_hash) =
            EncodedParams::with_scratch(|signed| {
                let url = request.url()?;
                request.for_each_param_copied(url.query, signed, |_, pair, signed, copy| {
                    // The request already carrying protocol parameters would
                    // sign them twice.
                    if pair.name.with_decoded(protocol_index).is_some() {
                        return Err(Error::DuplicateParameter {
                            name: String::from_utf8_lossy(&pair.name.decoded()).into_owned(),
                        });
                    }
                    signed.push_sent(copy, &pair.name, &pair.value);
                    Ok(())
                })?;
                let base_uri = url.base_uri;
                let prepared = self.prepared()?;
                let timestamp = InlineText::decimal(self.timestamp_now());
                let nonce = self.nonce_now()?;
                // OAuth Request Body Hash: a body that is not a form is not
                // signed by the base string, so its digest is (never for a form body).
                let body_hash = (request.content_type.is_some() && !request.has_form_body())
                    .then(|| crate::signature::body_hash(self.method, request.body));
                // The signer's own parameters go in already in order.
                let own_from = signed.len();
                for own in &prepared.sorted {
                    match own {
                        Own::Fixed(name, value, escaped) => {
                            signed.push_encoded_known(name, value, *escaped);
                        }
                        Own::Timestamp => signed.push_encoded_known(
                            b"oauth_timestamp",
                            timestamp.as_str().as_bytes(),
                            (false, false),
                        ),
                        Own::Nonce if is_unreserved_text(nonce.as_str().as_bytes()) => signed
                            .push_encoded_known(
                                b"oauth_nonce",
                                nonce.as_str().as_bytes(),
                                (false, false),
                            ),
                        Own::Nonce => signed.push(b"oauth_nonce", nonce.as_str().as_bytes()),
                        Own::BodyHash => {
                            if let Some(hash) = &body_hash {
                                signed.push(b"oauth_body_hash", hash.as_bytes());
                            }
                        }
                    }
                }
                let base_string = signed.base_string_presorted(method, &base_uri, (own_from, true));
                Ok::<_, Error>((base_string, prepared, timestamp, nonce, body_hash))
            })?;
        let signature = match prepared.sign(&base_string) {
            Some(signature) => signature,
            None => self.rsa_signature(std::str::from_utf8(&base_string).unwrap_or_default())?,
        };
        Ok(SignedRequest {
            prepared,
            timestamp,
            nonce,
            body_hash,
            signature,
            base_string,
            url: request.whole_url(),
            form_body: request
                .has_form_body()
                .then(|| String::from_utf8_lossy(request.body).into_owned()),
        })
    }

    /// An RSA method's signature of `base_string` with this signer's key.
    fn rsa_signature(&self, base_string: &str) -> Result<Secret, Error> {
        #[cfg(feature = "rsa")]
        {
            let key = self.rsa_key.as_ref().ok_or(Error::MissingKey)?;
            key.sign(self.method, base_string).map(Secret::new)
        }
        #[cfg(not(feature = "rsa"))]
        {
            let _ = base_string;
            Err(Error::MissingKey)
        }
    }

    /// This signer's prepared parameters and key, worked out once.
    fn prepared(&self) -> Result<Arc<Prepared>, Error> {
        if let Some(prepared) = self.prepared.get() {
            return Ok(Arc::clone(prepared));
        }
        let prepared = Arc::new(Prepared::new(&SignerParts {
            consumer_key: &self.consumer_key,
            consumer_secret: self.consumer_secret.expose(),
            token: self
                .token
                .as_ref()
                .map(|(token, secret)| (token.as_str(), secret.expose())),
            method: self.method,
            realm: self.realm.as_deref(),
            callback: self.callback.as_deref(),
            verifier: self.verifier.as_deref(),
            send_version: self.send_version,
            extra: &self.extra,
        })?);
        // A race with another thread preparing the same signer is harmless:
        // both computed the same thing.
        let _ = self.prepared.set(Arc::clone(&prepared));
        Ok(prepared)
    }

    fn timestamp_now(&self) -> u64 {
        match self.clock {
            Clock::Fixed(seconds) => seconds,
            // A clock before 1970 is a broken machine; 0 will be refused by the server
            // with a clear timestamp error rather than panicking here.
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_secs()),
        }
    }

    fn nonce_now(&self) -> Result<Nonce, Error> {
        match &self.nonce {
            NonceSource::Fixed(nonce) => Ok(Nonce::Fixed(nonce.clone())),
            NonceSource::Random(generator) => generator.next().map(Nonce::Random),
        }
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("consumer_key", &self.consumer_key)
            .field("consumer_secret", &self.consumer_secret)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("method", &self.method)
            .field("realm", &self.realm)
            .field("send_version", &self.send_version)
            .finish_non_exhaustive()
    }
}

/// A signed request: the protocol parameters with their signature, ready to be
/// placed in an `Authorization` header, the query string or a form body.
///
/// The `Debug` output hides the signature and the token.
pub struct SignedRequest {
    prepared: Arc<Prepared>,
    timestamp: InlineText,
    nonce: Nonce,
    body_hash: Option<String>,
    signature: Secret,
    /// ASCII (the method is a token, the rest percent-encoded).
    base_string: Vec<u8>,
    /// The URL that was signed.
    url: String,
    /// The form body that was signed, when the request had one.
    form_body: Option<String>,
}

impl SignedRequest {
    /// The `Authorization` header value: `OAuth realm="...", oauth_consumer_key="...", ...`.
    pub fn authorization_header(&self) -> String {
        self.prepared.header(
            self.timestamp.as_str(),
            self.nonce.as_str(),
            self.body_hash.as_deref(),
            self.signature.expose(),
        )
    }

    /// The protocol parameters other than the signature, in the order they are sent.
    fn unsigned_params(&self) -> impl Iterator<Item = (&str, &str)> {
        fn pair((n, v): &(String, String)) -> (&str, &str) {
            (n.as_str(), v.as_str())
        }
        self.prepared
            .before
            .iter()
            .map(pair)
            .chain([
                ("oauth_timestamp", self.timestamp.as_str()),
                ("oauth_nonce", self.nonce.as_str()),
            ])
            .chain(self.prepared.after.iter().map(pair))
            .chain(
                self.body_hash
                    .as_deref()
                    .map(|hash| ("oauth_body_hash", hash)),
            )
    }

    /// The protocol parameters including `oauth_signature`, unencoded, in the
    /// order they are sent.
    pub fn oauth_params(&self) -> Vec<(String, String)> {
        self.all_params()
    }

    /// The protocol parameters as `name=value&...` with RFC 5849 encoding, for
    /// query or form placement (RFC 5849 §3.5.2 and §3.5.3).
    ///
    /// ```
    /// # use oauth1::{Request, Signer};
    /// let signed = Signer::new("key", "secret").nonce("n").timestamp(1)
    ///     .sign(&Request::new("GET", "http://h.example/"))?;
    /// assert!(signed.form_encoded().starts_with("oauth_consumer_key=key&oauth_signature_method=HMAC-SHA1&"));
    /// # Ok::<(), oauth1::Error>(())
    /// ```
    pub fn form_encoded(&self) -> String {
        self.all_params()
            .iter()
            .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The signed URL with the protocol parameters appended to its query
    /// (query placement). Any fragment stays at the end. It is the URL that
    /// was signed, so the two cannot disagree.
    ///
    /// ```
    /// # use oauth1::{Request, Signer};
    /// let signed = Signer::new("key", "secret").nonce("n").timestamp(1)
    ///     .sign(&Request::new("GET", "http://h.example/v?a=1"))?;
    /// assert!(signed.url_with_query().starts_with("http://h.example/v?a=1&oauth_consumer_key=key&"));
    /// # Ok::<(), oauth1::Error>(())
    /// ```
    pub fn url_with_query(&self) -> String {
        #[allow(deprecated)]
        self.url_with_oauth_query(&self.url)
    }

    /// The signed form body with the protocol parameters appended (form
    /// placement); `None` when the signed request had no form body.
    pub fn form_body(&self) -> Option<String> {
        #[allow(deprecated)]
        self.form_body
            .as_deref()
            .map(|body| self.form_body_with_oauth(body))
    }

    /// `url` with the protocol parameters appended to its query (query placement).
    /// Any fragment stays at the end.
    #[deprecated(
        since = "0.2.0",
        note = "use `url_with_query()`, which uses the URL that was signed"
    )]
    pub fn url_with_oauth_query(&self, url: &str) -> String {
        let (before_fragment, fragment) = match url.split_once('#') {
            Some((before, fragment)) => (before, Some(fragment)),
            None => (url, None),
        };
        let separator = match before_fragment.split_once('?') {
            None => "?",
            Some((_, "")) => "",
            Some((_, query)) if query.ends_with('&') => "",
            Some(_) => "&",
        };
        let mut out = format!("{before_fragment}{separator}{}", self.form_encoded());
        if let Some(fragment) = fragment {
            out.push('#');
            out.push_str(fragment);
        }
        out
    }

    /// `body` (a form-encoded body, possibly empty) with the protocol parameters
    /// appended (form placement).
    #[deprecated(
        since = "0.2.0",
        note = "use `form_body()`, which uses the body that was signed"
    )]
    pub fn form_body_with_oauth(&self, body: &str) -> String {
        if body.is_empty() || body.ends_with('&') {
            format!("{body}{}", self.form_encoded())
        } else {
            format!("{body}&{}", self.form_encoded())
        }
    }

    /// The signature (base64 for HMAC methods, the key for PLAINTEXT).
    pub fn signature(&self) -> &str {
        self.signature.expose()
    }

    /// The signature base string, for debugging a mismatch with a server. It
    /// holds the token but no secret.
    pub fn base_string(&self) -> &str {
        std::str::from_utf8(&self.base_string).unwrap_or_default()
    }

    fn all_params(&self) -> Vec<(String, String)> {
        self.unsigned_params()
            .chain([("oauth_signature", self.signature.expose())])
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect()
    }
}

impl fmt::Debug for SignedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let visible: Vec<(&str, &str)> = self
            .unsigned_params()
            .map(|(name, value)| match name {
                "oauth_token" | "oauth_verifier" => (name, "<redacted>"),
                _ => (name, value),
            })
            .collect();
        f.debug_struct("SignedRequest")
            .field("oauth_params", &visible)
            .field("signature", &self.signature)
            .finish_non_exhaustive()
    }
}

/// Turns raw decoded pairs back into text for callers (lossy only for non-UTF-8).
pub(crate) fn pair_to_text((name, value): &RawPair) -> (String, String) {
    (
        String::from_utf8_lossy(name).into_owned(),
        String::from_utf8_lossy(value).into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names_are_told_apart_by_length_and_seventh_byte() {
        assert_eq!(PROTOCOL_PARAMS[SIGNATURE], "oauth_signature");
        for (index, name) in PROTOCOL_PARAMS.iter().enumerate() {
            assert_eq!(protocol_index(name.as_bytes()), Some(index), "{name}");
            let key = (name.len(), name.as_bytes()[6]);
            let same_key = PROTOCOL_PARAMS
                .iter()
                .filter(|other| (other.len(), other.as_bytes()[6]) == key);
            assert_eq!(same_key.count(), 1, "{name} shares its key");
        }
        for other in [
            "",
            "oauth_",
            "oauth",
            "oauth_tokex",
            "oauth_nonce ",
            "xauth_nonce",
            "oauth_Nonce",
            "oauth_signaturx",
            "page",
        ] {
            assert_eq!(protocol_index(other.as_bytes()), None, "{other}");
        }
    }
}
