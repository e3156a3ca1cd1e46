//! Error types. Display texts are for people; match on the variants. URLs in
//! errors have their query and userinfo removed, since those may carry secrets.

use std::path::PathBuf;
use std::time::Duration;

/// A boxed error kept as a [`std::error::Error::source`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An upload or tus request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The source could not be opened or read.
    #[error("cannot read the source{}: {source}", path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Source {
        /// The file, when the source is a path.
        path: Option<PathBuf>,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The source path is not a regular file (a directory, a socket...).
    #[error("{} is not a regular file", path.display())]
    NotAFile {
        /// The path given.
        path: PathBuf,
    },
    /// The source changed size or modification time during the upload, or ended early.
    #[error("the source changed during the upload (expected {expected} bytes, found {found})")]
    SourceChanged {
        /// The length the upload started with.
        expected: u64,
        /// What was found instead.
        found: u64,
    },
    /// A URL could not be used.
    #[error("invalid URL: {reason}")]
    InvalidUrl {
        /// Why.
        reason: String,
    },
    /// A header name or value given by the caller is not valid HTTP.
    #[error("invalid header {name:?}")]
    InvalidHeader {
        /// The header's name, as given.
        name: String,
    },
    /// The chunk size is 0 or above the stated cap.
    #[error("the chunk size must be between 1 and {max} bytes (got {size})")]
    InvalidChunkSize {
        /// The size asked for.
        size: u64,
        /// The largest size allowed for this kind of source.
        max: u64,
    },
    /// A metadata key is empty or has spaces, commas or non-ASCII characters.
    #[error("invalid Upload-Metadata key {key:?}")]
    InvalidMetadataKey {
        /// The key.
        key: String,
    },
    /// The upload is larger than the server's `Tus-Max-Size`.
    #[error("the upload is {length} bytes but the server accepts at most {max}")]
    TooLarge {
        /// The upload's length.
        length: u64,
        /// The server's limit.
        max: u64,
    },
    /// The server answered with a status that retrying cannot fix.
    #[error(transparent)]
    Status(#[from] StatusError),
    /// The server broke the tus protocol.
    #[error("protocol error from {url}: {error}")]
    Protocol {
        /// The request URL, without query.
        url: String,
        /// What was wrong.
        error: ProtocolError,
    },
    /// The connection failed (refused, reset, closed mid-answer...). The cause
    /// is the [`source`](std::error::Error::source).
    #[error("{method} {url}: {}", if *connect { "could not connect" } else { "connection failed" })]
    Transport {
        /// The request method.
        method: String,
        /// The request URL, without query.
        url: String,
        /// True when no connection was established, so the request cannot
        /// have reached the server.
        connect: bool,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// No progress (bytes sent or response) for longer than the stall timeout.
    #[error("{method} {url}: no progress for {after:?}")]
    Timeout {
        /// The request method.
        method: String,
        /// The request URL, without query.
        url: String,
        /// The stall timeout.
        after: Duration,
    },
    /// Retrying gave up (see [`crate::RetryPolicy`] for the budget); the
    /// upload stays resumable. The last failure is the source.
    #[error("gave up after {attempts} failed attempts")]
    RetriesExhausted {
        /// Failed attempts counted against the budget that ran out.
        attempts: u32,
        /// The last failure.
        #[source]
        last: Box<Error>,
    },
    /// A creation request failed in a way that may have reached the server,
    /// so it was not repeated (that could leave duplicate uploads). No byte
    /// was sent to an upload this run knows of: rerunning is safe and starts a
    /// new upload; an orphan, if any, expires on the server.
    #[error(
        "the creation request may have reached the server, so it was not repeated; a rerun is safe and creates a new upload"
    )]
    CreationUncertain {
        /// Why the request failed.
        #[source]
        source: Box<Error>,
    },
    /// The caller's [`crate::Creator`] could not make a new upload; its error
    /// is the source (downcast it to get your own type back).
    #[error("creating the upload failed")]
    Creator {
        /// The creator's error.
        #[source]
        source: BoxError,
    },
    /// A request hook failed or took longer than the stall timeout (its
    /// error is the source); the upload stays resumable.
    #[error("a request hook failed")]
    Hook {
        /// What went wrong.
        #[source]
        source: BoxError,
    },
    /// The upload was cancelled; it stays resumable.
    #[error("the upload was cancelled")]
    Cancelled,
    /// The resume-state store failed (the cause is the source).
    #[error("the upload URL store failed")]
    Store(#[source] BoxError),
    /// The server does not offer an extension this operation needs.
    #[error("the server does not support the tus `{extension}` extension")]
    Unsupported {
        /// The extension's name.
        extension: &'static str,
    },
    /// A proxy setting cannot be used (not a URL, or a kind of proxy this
    /// client does not speak). Names the setting, never its value.
    #[error("{setting}: {reason}")]
    InvalidProxy {
        /// Where the value came from: an environment variable's name or
        /// "the proxy URL" for [`crate::ConnectorBuilder::proxy`].
        setting: String,
        /// Why it was refused.
        reason: String,
    },
    /// The proxy refused the request for want of credentials (407 Proxy
    /// Authentication Required): none were in the proxy URL, or the proxy
    /// rejected them. Not retried.
    #[error(
        "the proxy {proxy} requires authentication (407); put the user and password in the proxy URL"
    )]
    ProxyAuth {
        /// The proxy, as `host:port`.
        proxy: String,
    },
    /// The proxy refused to open a tunnel to the target with a 4xx status
    /// other than 401/407 (403: its rules forbid the target). Not retried.
    #[error("the proxy {proxy} refused the connection with {status}")]
    ProxyRefused {
        /// The proxy, as `host:port`.
        proxy: String,
        /// The status of its answer to `CONNECT`.
        status: u16,
    },
    /// TLS failed: the server's certificate was rejected, or the TLS
    /// configuration could not be built. Not retried.
    #[error("TLS: {context}")]
    Tls {
        /// What failed, in words.
        context: &'static str,
        /// The TLS library's error.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// Whether a retry could succeed (connection problems, timeouts, 5xx/423/429).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { .. } | Error::Timeout { .. } => true,
            Error::Status(status) => crate::core::retry::is_retryable_status(status.status),
            _ => false,
        }
    }
}

/// A non-success HTTP status, with enough context to act on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{method} {url} answered {status}{}", if body_excerpt.is_empty() { String::new() } else { format!(": {body_excerpt}") })]
#[non_exhaustive]
pub struct StatusError {
    /// The HTTP status code.
    pub status: u16,
    /// The request method.
    pub method: String,
    /// The request URL, without query or userinfo.
    pub url: String,
    /// The start of the response body, as text with control characters removed.
    pub body_excerpt: String,
}

impl StatusError {
    /// A status error without a body excerpt (for callers that classify
    /// answers of their own, such as the Vimeo facade's API calls).
    pub fn new(status: u16, method: &str, url: &str) -> Self {
        StatusError {
            status,
            method: method.to_owned(),
            url: url.to_owned(),
            body_excerpt: String::new(),
        }
    }
}

/// Ways a server can break the tus protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A required header is absent.
    #[error("missing {name} header")]
    MissingHeader {
        /// The header's name.
        name: &'static str,
    },
    /// A header's value does not parse.
    #[error("malformed {name} header")]
    MalformedHeader {
        /// The header's name.
        name: &'static str,
    },
    /// `Upload-Offset` went backwards after a successful PATCH.
    #[error("Upload-Offset went backwards from {before} to {after}")]
    OffsetBackwards {
        /// The offset before.
        before: u64,
        /// The offset the server reported.
        after: u64,
    },
    /// `Upload-Offset` is more than the client sent, or beyond `Upload-Length`.
    #[error("Upload-Offset {offset} is beyond {limit}")]
    OffsetTooLarge {
        /// The reported offset.
        offset: u64,
        /// What it may not exceed.
        limit: u64,
    },
    /// The server's `Upload-Length` differs from the source's length.
    #[error("the server expects {server} bytes but the source has {local}")]
    LengthMismatch {
        /// The server's `Upload-Length`.
        server: u64,
        /// The source's length.
        local: u64,
    },
    /// The server answered with a success status the protocol does not allow here.
    #[error("unexpected status {status} (expected {expected})")]
    UnexpectedStatus {
        /// The status received.
        status: u16,
        /// What the protocol requires.
        expected: &'static str,
    },
    /// A `Location` leads from `https` to plain `http`.
    #[error("the server sent the upload to a plain-http URL from an https endpoint")]
    InsecureLocation,
    /// After the last byte was acknowledged, the server holds less than the
    /// whole upload (it lost bytes it had acknowledged).
    #[error("the server holds {offset} of {length} bytes after the last chunk")]
    Incomplete {
        /// The server's offset.
        offset: u64,
        /// The upload's length.
        length: u64,
    },
    /// The server does not speak tus 1.0.0.
    #[error("the server does not support tus 1.0.0 (offers {offered})")]
    UnsupportedVersion {
        /// Its `Tus-Version` header.
        offered: String,
    },
}

/// A URL for messages: scheme, host, port and path; no userinfo, query or fragment.
pub(crate) fn redact_url(uri: &http::Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    let host = uri.host().unwrap_or("");
    let port = uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
    format!("{scheme}://{host}{port}{}", redact_path(uri.path()))
}

/// An upload URL is often its own credential (Vimeo's upload links are): the
/// last path segment, the upload's id, is cut to its first 6 characters,
/// enough to tell uploads apart in a log, too little to address one.
fn redact_path(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((head, id)) if id.chars().count() > 8 => {
            let short: String = id.chars().take(6).collect();
            format!("{head}/{short}…")
        }
        _ => path.to_owned(),
    }
}

/// The first bytes of a body as printable text, for error messages.
pub(crate) fn body_excerpt(body: &[u8]) -> String {
    const LIMIT: usize = 300;
    let text = String::from_utf8_lossy(&body[..body.len().min(LIMIT)]);
    let mut cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if body.len() > LIMIT {
        cleaned.push('…');
    }
    cleaned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_query_and_userinfo() {
        let uri: http::Uri = "https://user:pw@files.example:8443/up/1?token=SECRET#x"
            .parse()
            .unwrap();
        assert_eq!(redact_url(&uri), "https://files.example:8443/up/1");
    }

    #[test]
    fn excerpts_are_short_single_line_text() {
        assert_eq!(
            body_excerpt(b"<html>\n<body>Bad\tGateway</body>\n</html>"),
            "<html> <body>Bad Gateway</body> </html>"
        );
        let long = vec![b'a'; 1000];
        assert_eq!(body_excerpt(&long).chars().count(), 301);
        assert_eq!(body_excerpt(&[0xff, b'o', b'k']), "\u{fffd}ok");
    }
}
