//! Typed errors. Display texts are for people; match on the variants and
//! fields. No error ever holds a token, secret, signature or verifier.

use std::fmt;
use std::time::Duration;

use crate::rate_limit::RateLimit;

/// Named Vimeo `error_code`s (from Vimeo's OpenAPI description).
pub mod codes {
    /// Invalid body parameters (see `invalid_parameters`).
    pub const INVALID_PARAMETERS: u64 = 2204;
    /// The body was not formatted properly (bad JSON).
    pub const MALFORMED_BODY: u64 = 2205;
    /// Invalid upload approach.
    pub const INVALID_UPLOAD_APPROACH: u64 = 2230;
    /// The pre-3.4 `type` field was sent instead of `upload.approach`.
    pub const LEGACY_UPLOAD_TYPE: u64 = 3116;
    /// The user cannot access or act on the resource.
    pub const FORBIDDEN: u64 = 3200;
    /// The user cannot edit the video (e.g. replace one they do not own).
    pub const CANNOT_EDIT_VIDEO: u64 = 3427;
    /// A problem initiating the upload.
    pub const UPLOAD_INITIATION_FAILED: u64 = 4003;
    /// The user's disk space is used up.
    pub const DISK_SPACE_REACHED: u64 = 4101;
    /// The user's periodic upload quota is used up.
    pub const UPLOAD_QUOTA_REACHED: u64 = 4102;
    /// No such resource.
    pub const NOT_FOUND: u64 = 5000;
    /// Invalid or revoked token.
    pub const INVALID_TOKEN: u64 = 8000;
    /// Invalid client secret.
    pub const INVALID_CLIENT_SECRET: u64 = 8001;
    /// No user is associated with the token (e.g. a client-credentials token used to upload).
    pub const NO_USER_FOR_TOKEN: u64 = 8002;
    /// No valid authenticated token was supplied.
    pub const MISSING_TOKEN: u64 = 8003;
}

/// One entry of `invalid_parameters`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[non_exhaustive]
pub struct InvalidParameter {
    /// The field, e.g. `upload.size`.
    #[serde(default)]
    pub field: Option<String>,
    /// Vimeo's code for the problem.
    #[serde(default)]
    pub error_code: Option<u64>,
    /// For end users.
    #[serde(default)]
    pub error: Option<String>,
    /// For developers.
    #[serde(default)]
    pub developer_message: Option<String>,
}

/// A non-2xx answer from the API (or from the OAuth token endpoints, whose
/// `error` / `error_description` land in `error` / `developer_message`).
/// Every field but the status may be missing: proxies answer too.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The request method.
    pub method: String,
    /// The request path (no query).
    pub path: String,
    /// Vimeo's numeric code (see [`codes`]).
    pub error_code: Option<u64>,
    /// The message for end users (or the OAuth error name).
    pub error: Option<String>,
    /// The technical explanation.
    pub developer_message: Option<String>,
    /// A link with more information.
    pub link: Option<String>,
    /// Per-field problems.
    pub invalid_parameters: Vec<InvalidParameter>,
    /// The rate-limit snapshot of the answer.
    pub rate_limit: Option<RateLimit>,
    /// The start of the raw body (for non-JSON answers such as proxy pages):
    /// at most 300 characters and `…`. Like every text field here it is
    /// cleaned of control characters and of the request's credentials
    /// (`[redacted]`); the message fields are cut at 1,000 characters.
    pub body_excerpt: String,
}

impl ApiError {
    /// Whether this is a 429 (rate limit exceeded).
    pub fn is_rate_limited(&self) -> bool {
        self.status == 429
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: HTTP {}", self.method, self.path, self.status)?;
        if let Some(code) = self.error_code {
            write!(f, " (error_code {code})")?;
        }
        match (&self.error, &self.developer_message) {
            (Some(error), Some(developer)) if error != developer => {
                write!(f, ": {error} — {developer}")?;
            }
            (Some(message), _) | (None, Some(message)) => write!(f, ": {message}")?,
            (None, None) if !self.body_excerpt.is_empty() => {
                write!(f, ": {}", self.body_excerpt)?;
            }
            (None, None) => {}
        }
        for parameter in &self.invalid_parameters {
            if let (Some(field), Some(error)) = (&parameter.field, &parameter.error) {
                write!(f, "; {field}: {error}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// A failure of the legacy Advanced API (v2): a `"stat": "fail"` answer, or a
/// refused OAuth 1.0a token request. Mirrors the old `VimeoAPIError`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LegacyError {
    /// The API method (`vimeo.test.login`) or the token step (`request_token`).
    pub method: String,
    /// The legacy code (codes arrive as strings and are parsed leniently).
    pub code: Option<u32>,
    /// The short message.
    pub msg: String,
    /// The longer explanation.
    pub expl: Option<String>,
    /// The HTTP status (legacy REST errors usually come with 200).
    pub status: u16,
}

impl fmt::Display for LegacyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.method)?;
        if let Some(code) = self.code {
            write!(f, " (code {code})")?;
        }
        write!(f, ": {}", self.msg)?;
        if let Some(expl) = &self.expl {
            write!(f, " — {expl}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LegacyError {}

/// Anything the facade can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with an error.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The legacy API answered with an error.
    #[error(transparent)]
    Legacy(Box<LegacyError>),
    /// No answer: connection refused or reset, DNS, protocol error.
    #[error("{method} {url}: {message}")]
    Transport {
        /// The method.
        method: String,
        /// The URL without query.
        url: String,
        /// What happened.
        message: String,
    },
    /// No complete answer within the timeout.
    #[error("{method} {url}: no answer within {after:?}")]
    Timeout {
        /// The method.
        method: String,
        /// The URL without query.
        url: String,
        /// The timeout.
        after: Duration,
    },
    /// The answer was larger than the client reads (32 MiB); not retried.
    #[error("{method} {url}: the answer is larger than {limit} bytes")]
    ResponseTooLarge {
        /// The method.
        method: String,
        /// The URL, without query.
        url: String,
        /// The cap.
        limit: u64,
    },
    /// Credentials would travel over plain HTTP to a host that is not this
    /// machine, or an `https` API handed out a plain-`http` upload link.
    /// Refused unless the client opted in (`ClientBuilder::allow_insecure_http`).
    #[error("refusing plain HTTP: {0}")]
    InsecureHttp(String),
    /// A proxy setting cannot be used, or the proxy refused us for want of
    /// credentials (407). Not retried.
    #[error("proxy: {0}")]
    Proxy(String),
    /// The server's certificate was refused, or the TLS setup failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// Sending the bytes failed (the tus layer). The upload can be resumed by
    /// calling the same upload again.
    #[error("upload failed")]
    Upload(#[source] tus::Error),
    /// The cache failed.
    #[error("the cache failed")]
    Cache(#[source] cache::Error),
    /// A 2xx answer that is not the JSON expected.
    #[error("{method} {path}: unexpected answer: {message}")]
    Decode {
        /// The method.
        method: String,
        /// The path.
        path: String,
        /// What did not fit.
        message: String,
    },
    /// An argument or configuration value cannot be used.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The operation needs credentials the client does not have.
    #[error("missing credentials: {0}")]
    MissingCredentials(&'static str),
    /// The upload ticket does not describe the upload asked for.
    #[error(
        "the API prepared a different upload: approach {approach:?}, size {size:?} (expected tus, {expected} bytes)"
    )]
    UploadMismatch {
        /// `upload.approach` answered.
        approach: Option<String>,
        /// `upload.size` answered.
        size: Option<u64>,
        /// The source's size.
        expected: u64,
    },
    /// The `state` returned to the redirect URI differs from the one sent.
    #[error(
        "the OAuth state returned does not match the one sent (possible CSRF); refusing the code"
    )]
    StateMismatch,
    /// The video's upload or transcode ended in an error status.
    #[error("video {uri}: {stage} failed (status {status:?})")]
    Processing {
        /// The video URI.
        uri: String,
        /// `upload` or `transcode`.
        stage: &'static str,
        /// The status seen.
        status: String,
    },
    /// Waiting for transcoding ran out of time.
    #[error("video {uri}: not transcoded after {after:?} (last transcode status {last:?})")]
    WaitTimeout {
        /// The video URI.
        uri: String,
        /// How long it waited.
        after: Duration,
        /// The last status seen.
        last: String,
    },
}

impl Error {
    /// The API error, if this is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(error) => Some(error),
            _ => None,
        }
    }

    /// The legacy API error, if this is one.
    pub fn legacy(&self) -> Option<&LegacyError> {
        match self {
            Error::Legacy(error) => Some(error),
            _ => None,
        }
    }
}

impl From<tus::Error> for Error {
    /// A facade error that went through the tus layer (an upload ticket that
    /// could not be created) comes back as itself.
    fn from(error: tus::Error) -> Self {
        match error {
            tus::Error::Creator { source } => match source.downcast::<Error>() {
                Ok(own) => *own,
                Err(source) => Error::Upload(tus::Error::Creator { source }),
            },
            error @ (tus::Error::InvalidProxy { .. }
            | tus::Error::ProxyAuth { .. }
            | tus::Error::ProxyRefused { .. }) => Error::Proxy(error.to_string()),
            error => Error::Upload(error),
        }
    }
}

impl From<cache::Error> for Error {
    fn from(error: cache::Error) -> Self {
        Error::Cache(error)
    }
}
