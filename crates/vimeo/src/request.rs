//! One API call and its answer: [`ApiRequest`] (method, path, query, body,
//! cache switch), [`ApiResponse`], the pinned API version, and how 429s are
//! waited out ([`RateLimitPolicy`]).

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::rate_limit::RateLimit;

/// The real API.
pub const DEFAULT_API_URL: &str = "https://api.vimeo.com";
/// Pins API version 3.4 (the tus upload flow) on every call.
pub const ACCEPT_VERSION: &str = "application/vnd.vimeo.*+json;version=3.4";

/// How 429 answers are handled: idempotent calls wait for `Retry-After` (or the
/// rate-limit reset) and try again, at most `max_attempts` times and only when
/// the wait is at most `max_wait`; everything else returns the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitPolicy {
    /// Retries after 429, per call.
    pub max_attempts: u32,
    /// The longest wait accepted.
    pub max_wait: Duration,
}

impl Default for RateLimitPolicy {
    /// 2 retries, waiting at most 60 s.
    fn default() -> Self {
        RateLimitPolicy {
            max_attempts: 2,
            max_wait: Duration::from_secs(60),
        }
    }
}

impl RateLimitPolicy {
    /// Never wait: every 429 is returned.
    pub fn never() -> Self {
        RateLimitPolicy {
            max_attempts: 0,
            max_wait: Duration::ZERO,
        }
    }

    /// Retries at most `attempts` times, waiting at most `max_wait` each time.
    pub fn new(attempts: u32, max_wait: Duration) -> Self {
        RateLimitPolicy {
            max_attempts: attempts,
            max_wait,
        }
    }
}

pub(crate) enum Body {
    Empty,
    Json(Vec<u8>),
    Form(String),
}

/// One API call, built step by step.
///
/// ```
/// let request = vimeo::ApiRequest::get("/me/videos")
///     .query("per_page", "50")
///     .fields("uri,name")
///     .no_cache();
/// # let _ = request;
/// ```
#[must_use]
pub struct ApiRequest {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Body,
    pub(crate) bypass_cache: bool,
}

impl std::fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ApiRequest {
    /// A call with `method` to `path` (relative to the API URL, or absolute).
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        ApiRequest {
            method,
            path: path.into(),
            query: Vec::new(),
            body: Body::Empty,
            bypass_cache: false,
        }
    }

    /// `GET path`.
    pub fn get(path: impl Into<String>) -> Self {
        ApiRequest::new(Method::GET, path)
    }

    /// `POST path`.
    pub fn post(path: impl Into<String>) -> Self {
        ApiRequest::new(Method::POST, path)
    }

    /// `PATCH path`.
    pub fn patch(path: impl Into<String>) -> Self {
        ApiRequest::new(Method::PATCH, path)
    }

    /// `PUT path`.
    pub fn put(path: impl Into<String>) -> Self {
        ApiRequest::new(Method::PUT, path)
    }

    /// `DELETE path`.
    pub fn delete(path: impl Into<String>) -> Self {
        ApiRequest::new(Method::DELETE, path)
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Asks for these (dotted) fields only: `uri,name,upload.status`. Smaller
    /// answers, and Vimeo grants a higher rate limit for them.
    pub fn fields(self, fields: &str) -> Self {
        self.query("fields", fields)
    }

    /// A JSON body.
    pub fn json(mut self, body: &impl Serialize) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::InvalidInput(format!("the body does not serialize: {e}")))?;
        self.body = Body::Json(bytes);
        Ok(self)
    }

    /// A form body (`application/x-www-form-urlencoded`).
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        self.body = Body::Form(form_encode(pairs));
        self
    }

    /// Skips the response cache for this call (neither read nor written).
    pub fn no_cache(mut self) -> Self {
        self.bypass_cache = true;
        self
    }
}

pub(crate) fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(n, v)| {
            format!(
                "{}={}",
                oauth1::percent_encode(n),
                oauth1::percent_encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A successful answer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiResponse {
    /// The HTTP status (2xx).
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// The rate-limit snapshot.
    pub rate_limit: Option<RateLimit>,
    /// Whether it came from the response cache.
    pub from_cache: bool,
    pub(crate) method: String,
    pub(crate) path: String,
}

impl ApiResponse {
    /// Decodes the body as JSON (`T` may be `serde_json::Value`). An empty body
    /// (204) decodes as JSON `null`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let body: &[u8] = if self.body.is_empty() {
            b"null"
        } else {
            &self.body
        };
        serde_json::from_slice(body).map_err(|e| Error::Decode {
            method: self.method.clone(),
            path: self.path.clone(),
            message: e.to_string(),
        })
    }
}
