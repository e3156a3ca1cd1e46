//! The three-legged flow (RFC 5849 §2) as pure helpers: each builds a request
//! for the caller's HTTP client or parses a response body. No network here.

use std::fmt;

use crate::encoding::{parse_form, percent_encode};
use crate::error::Error;
use crate::request::Request;
use crate::secret::Secret;
use crate::sign::{Signer, pair_to_text};

/// A request ready to send: method, URL and headers (the body is empty).
///
/// `Debug` hides the `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PreparedRequest {
    /// The HTTP method.
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// Headers to send, including `Authorization`.
    pub headers: Vec<(String, String)>,
}

impl fmt::Debug for PreparedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| {
                if name.eq_ignore_ascii_case("authorization") {
                    (name.as_str(), "<redacted>")
                } else {
                    (name.as_str(), value.as_str())
                }
            })
            .collect();
        f.debug_struct("PreparedRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .finish()
    }
}

fn prepare(signer: &Signer, method: &str, url: &str) -> Result<PreparedRequest, Error> {
    let signed = signer.sign(&Request::new(method, url))?;
    Ok(PreparedRequest {
        method: method.to_owned(),
        url: url.to_owned(),
        headers: vec![("Authorization".to_owned(), signed.authorization_header())],
    })
}

/// Builds the temporary-credentials (request token) request: a signed `POST` to
/// `url` with `oauth_callback` (`"oob"` when `callback` is `None`, meaning the
/// user will type the verifier in). `signer` holds the consumer credentials only.
///
/// ```
/// let signer = oauth1::Signer::new("key", "secret");
/// let request = oauth1::request_token_request(&signer, "https://vimeo.com/oauth/request_token", None)?;
/// assert_eq!(request.method, "POST");
/// assert!(request.headers[0].1.contains(r#"oauth_callback="oob""#));
/// # Ok::<(), oauth1::Error>(())
/// ```
pub fn request_token_request(
    signer: &Signer,
    url: &str,
    callback: Option<&str>,
) -> Result<PreparedRequest, Error> {
    let signer = signer.clone().callback(callback.unwrap_or("oob"));
    prepare(&signer, "POST", url)
}

/// Builds the URL the user visits to authorize the request token, with an
/// optional `permission` (Vimeo uses `read`, `write` or `delete`). Existing query
/// parameters of `authorize_endpoint` are kept.
///
/// ```
/// let url = oauth1::authorize_url("https://vimeo.com/oauth/authorize", "tok en", Some("write"))?;
/// assert_eq!(url, "https://vimeo.com/oauth/authorize?oauth_token=tok%20en&permission=write");
/// # Ok::<(), oauth1::Error>(())
/// ```
pub fn authorize_url(
    authorize_endpoint: &str,
    request_token: &str,
    permission: Option<&str>,
) -> Result<String, Error> {
    crate::request_url::parse(authorize_endpoint)?;
    let (base, fragment) = match authorize_endpoint.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (authorize_endpoint, None),
    };
    let mut url = base.to_owned();
    url.push(match base.split_once('?') {
        None => '?',
        Some(_) => '&',
    });
    if url.ends_with("?&") {
        url.pop();
    }
    url.push_str("oauth_token=");
    url.push_str(&percent_encode(request_token));
    if let Some(permission) = permission {
        url.push_str("&permission=");
        url.push_str(&percent_encode(permission));
    }
    if let Some(fragment) = fragment {
        url.push('#');
        url.push_str(fragment);
    }
    Ok(url)
}

/// Builds the token-credentials (access token) request: a signed `POST` to `url`
/// with `oauth_verifier`. `signer` must hold the request token and its secret.
///
/// ```
/// let signer = oauth1::Signer::new("key", "secret").token("request-token", "request-secret");
/// let request = oauth1::access_token_request(&signer, "https://vimeo.com/oauth/access_token", "verifier")?;
/// assert!(request.headers[0].1.contains(r#"oauth_verifier="verifier""#));
/// # Ok::<(), oauth1::Error>(())
/// ```
pub fn access_token_request(
    signer: &Signer,
    url: &str,
    verifier: &str,
) -> Result<PreparedRequest, Error> {
    let signer = signer.clone().verifier(verifier);
    prepare(&signer, "POST", url)
}

/// A parsed `oauth_token=...&oauth_token_secret=...` response.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenResponse {
    /// `oauth_token`.
    pub token: String,
    /// `oauth_token_secret`.
    pub token_secret: Secret,
    /// `oauth_callback_confirmed` (request-token responses), if present.
    pub callback_confirmed: Option<bool>,
    /// Any other parameters, such as a user id.
    pub extra: Vec<(String, String)>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token", &"<redacted>")
            .field("token_secret", &self.token_secret)
            .field("callback_confirmed", &self.callback_confirmed)
            .field("extra", &self.extra)
            .finish()
    }
}

/// Parses a request-token or access-token response body.
///
/// ```
/// let response = oauth1::parse_token_response(b"oauth_token=hh5s93j4hdidpola&oauth_token_secret=hdhd0244k9j7ao03&oauth_callback_confirmed=true")?;
/// assert_eq!(response.token, "hh5s93j4hdidpola");
/// assert_eq!(response.token_secret.expose(), "hdhd0244k9j7ao03");
/// assert_eq!(response.callback_confirmed, Some(true));
///
/// assert!(oauth1::parse_token_response(b"<html>Service Unavailable</html>").is_err());
/// # Ok::<(), oauth1::Error>(())
/// ```
pub fn parse_token_response(body: &[u8]) -> Result<TokenResponse, Error> {
    let malformed = |reason| Error::MalformedTokenResponse { reason };
    let text = std::str::from_utf8(body).map_err(|_| malformed("the body is not UTF-8 text"))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(malformed("the body is empty"));
    }
    let pairs = parse_form(text, "token response")?;
    let mut token = None;
    let mut secret = None;
    let mut confirmed = None;
    let mut extra = Vec::new();
    for pair in &pairs {
        let (name, value) = pair_to_text(pair);
        let slot = match name.as_str() {
            "oauth_problem" => return Err(Error::ProviderProblem { problem: value }),
            "oauth_token" => &mut token,
            "oauth_token_secret" => &mut secret,
            "oauth_callback_confirmed" => {
                if confirmed.is_some() {
                    return Err(Error::DuplicateParameter { name });
                }
                confirmed = Some(match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(malformed(
                            "oauth_callback_confirmed is neither true nor false",
                        ));
                    }
                });
                continue;
            }
            _ => {
                extra.push((name, value));
                continue;
            }
        };
        if slot.replace(value).is_some() {
            return Err(Error::DuplicateParameter { name });
        }
    }
    let token = token.ok_or(malformed("oauth_token is missing"))?;
    let secret = secret.ok_or(malformed("oauth_token_secret is missing"))?;
    if token.is_empty() {
        return Err(malformed("oauth_token is empty"));
    }
    Ok(TokenResponse {
        token,
        token_secret: Secret::new(secret),
        callback_confirmed: confirmed,
        extra,
    })
}
