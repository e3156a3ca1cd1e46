//! The hyper driver: a pooled HTTP(S) client that sends tus requests with a
//! stall timeout and cancellation, and maps answers to typed errors.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use http::header::{CONTENT_LENGTH, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client as HyperClient;
use tracing::Instrument as _;

use crate::body::{Meter, RequestBody, read_limited};
use crate::core::capabilities::Capabilities;
use crate::core::headers::{TUS_VERSION, parse_retry_after, parse_u64};
use crate::error::{StatusError, body_excerpt, redact_url};
use crate::net::{Connector, ProxyRefused};

mod builder;
use crate::core::retry::RetryPolicy;
use crate::error::{Error, ProtocolError};
use crate::progress::CancelToken;
pub use builder::ClientBuilder;

type RequestHook = Arc<dyn Fn(&mut http::request::Parts) + Send + Sync>;

/// A tus client. Cheap to clone; clones share one connection pool.
///
/// The client adds `Tus-Resumable: 1.0.0` to every request and never adds
/// credentials of its own: use [`ClientBuilder::header`] or a request hook for
/// servers that need them.
///
/// ```
/// let client = tus::Client::builder()
///     .header("X-Api-Key", "abc")?
///     .stall_timeout(std::time::Duration::from_secs(20))
///     .build()?;
/// # let _ = client;
/// # Ok::<(), tus::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    http: HyperClient<Connector, RequestBody>,
    connector: Connector,
    headers: HeaderMap,
    pub(crate) retry: RetryPolicy,
    pub(crate) stall_timeout: Duration,
    hook: Option<RequestHook>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field(
                "header_names",
                &self.inner.headers.keys().collect::<Vec<_>>(),
            )
            .field("retry", &self.inner.retry)
            .field("stall_timeout", &self.inner.stall_timeout)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with default settings.
    pub fn new() -> Result<Client, Error> {
        Client::builder().build()
    }

    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }
}

/// A failed request, with the server's `Retry-After` when it gave one.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: Error,
    pub(crate) retry_after: Option<Duration>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            error,
            retry_after: None,
        }
    }
}

/// An answered request.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Incoming,
}

/// The headers of a `HEAD`: no cache between us and the server's offset.
pub(crate) fn head_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    headers
}

pub(crate) fn parse_uri(url: &str) -> Result<Uri, Error> {
    let uri: Uri = url.trim().parse().map_err(|_| Error::InvalidUrl {
        reason: "not a valid URL".into(),
    })?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some() => Ok(uri),
        Some("http" | "https") => Err(Error::InvalidUrl {
            reason: "the URL has no host".into(),
        }),
        _ => Err(Error::InvalidUrl {
            reason: "the URL must start with http:// or https://".into(),
        }),
    }
}

impl Client {
    /// Sends one request, watching for stalls and cancellation. The client's
    /// own headers go along only with `credentials` (the upload's trusted
    /// origins decide; see [`crate::UploadOptions::trust_origin`]).
    #[allow(clippy::too_many_arguments)] // internal; each is a distinct part of the request
    pub(crate) async fn send(
        &self,
        method: Method,
        uri: &Uri,
        mut headers: HeaderMap,
        body: RequestBody,
        meter: Option<&Arc<Meter>>,
        cancel: Option<&CancelToken>,
        credentials: bool,
    ) -> Result<Answer, Failure> {
        let span = tracing::debug_span!("tus_request", method = %method, url = %redact_url(uri));
        async move {
            // A token cancelled before this request never lets it start, whatever
            // order `select!` below happens to poll its branches in.
            if cancel.is_some_and(CancelToken::is_cancelled) {
                return Err(Error::Cancelled.into());
            }
            for (name, value) in self.inner.headers.iter().filter(|_| credentials) {
                if !headers.contains_key(name) {
                    headers.insert(name, value.clone());
                }
            }
            headers.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
            let mut request = Request::new(body);
            *request.method_mut() = method.clone();
            *request.uri_mut() = uri.clone();
            *request.headers_mut() = headers;
            if let Some(hook) = &self.inner.hook {
                let (mut parts, body) = request.into_parts();
                hook(&mut parts);
                request = Request::from_parts(parts, body);
            }
            // Last, so no hook sees them: for the proxy of a plain-HTTP request only.
            self.inner
                .connector
                .add_proxy_headers(uri, request.headers_mut());
            let stalled = || Error::Timeout {
                method: method.to_string(),
                url: redact_url(uri),
                after: self.inner.stall_timeout,
            };

            let response = self.inner.http.request(request);
            tokio::pin!(response);
            let stall = self.inner.stall_timeout;
            let tick = (stall / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
            let mut last_sent = meter.map_or(0, |m| m.sent.load(Ordering::Relaxed));
            let mut last_change = tokio::time::Instant::now();
            let never = CancelToken::new();
            let cancel = cancel.unwrap_or(&never);
            let result = loop {
                tokio::select! {
                    result = &mut response => break result,
                    () = cancel.cancelled() => return Err(Error::Cancelled.into()),
                    () = tokio::time::sleep(tick) => {
                        let sent = meter.map_or(0, |m| m.sent.load(Ordering::Relaxed));
                        if sent != last_sent {
                            last_sent = sent;
                            last_change = tokio::time::Instant::now();
                        } else if last_change.elapsed() >= stall {
                            tracing::debug!("request stalled");
                            return Err(stalled().into());
                        }
                    }
                }
            };
            match result {
                Ok(response) => {
                    let (parts, body) = response.into_parts();
                    tracing::debug!(status = parts.status.as_u16(), "answered");
                    Ok(Answer {
                        status: parts.status,
                        headers: parts.headers,
                        body,
                    })
                }
                Err(error) => {
                    if let Some(source_error) =
                        meter.and_then(|m| m.source_error.lock().ok()?.take())
                    {
                        return Err(source_failure(source_error).into());
                    }
                    if let Some(refused) = ProxyRefused::find(&error) {
                        // The proxy said no to the tunnel; asking again will not change that.
                        return Err(refused.to_error().into());
                    }
                    if let Some(source) = certificate_failure(&error) {
                        // A certificate problem will not go away by retrying.
                        return Err(Error::Tls {
                            context: "the server's certificate was rejected",
                            source,
                        }
                        .into());
                    }
                    Err(Error::Transport {
                        method: method.to_string(),
                        url: redact_url(uri),
                        connect: error.is_connect(),
                        source: Box::new(error),
                    }
                    .into())
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Turns a non-success answer into a typed failure (reading a body excerpt).
    pub(crate) async fn status_failure(
        &self,
        method: &Method,
        uri: &Uri,
        answer: Answer,
    ) -> Failure {
        if answer.status == StatusCode::PROXY_AUTHENTICATION_REQUIRED
            && let Some(proxy) = self.inner.connector.proxy_for(uri)
        {
            // The proxy of a plain-HTTP request refused it; retrying cannot help.
            return Error::ProxyAuth { proxy }.into();
        }
        let retry_after = answer
            .headers
            .get(http::header::RETRY_AFTER)
            .and_then(|v| parse_retry_after(v.as_bytes(), SystemTime::now()));
        let body = tokio::time::timeout(self.inner.stall_timeout, read_limited(answer.body, 4096))
            .await
            .unwrap_or_default();
        Failure {
            error: Error::Status(StatusError {
                status: answer.status.as_u16(),
                method: method.to_string(),
                url: redact_url(uri),
                body_excerpt: body_excerpt(&body),
            }),
            retry_after,
        }
    }

    /// Discovers a server's capabilities with `OPTIONS` (no retries).
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), tus::Error> {
    /// let caps = tus::Client::new()?.options("http://127.0.0.1:1080/files/").await?;
    /// println!("extensions: {:?}", caps.extensions);
    /// # Ok(()) }
    /// ```
    /// (Runs against a live server in `tests/`.)
    pub async fn options(&self, endpoint: &str) -> Result<Capabilities, Error> {
        let uri = parse_uri(endpoint)?;
        let answer = self
            .send(
                Method::OPTIONS,
                &uri,
                HeaderMap::new(),
                RequestBody::Empty,
                None,
                None,
                true,
            )
            .await
            .map_err(|f| f.error)?;
        if !answer.status.is_success() {
            return Err(self
                .status_failure(&Method::OPTIONS, &uri, answer)
                .await
                .error);
        }
        Capabilities::from_headers(&answer.headers).map_err(|error| Error::Protocol {
            url: redact_url(&uri),
            error,
        })
    }

    /// Discovery for an upload: advisory, so a server without `OPTIONS` still
    /// gets a plain `POST`; but a failure that every later request would meet
    /// too (a refused certificate, a proxy that wants credentials) ends it here.
    pub(crate) async fn discover(&self, url: &str) -> Result<Capabilities, Error> {
        match self.options(url).await {
            Ok(capabilities) => Ok(capabilities),
            Err(
                error @ (Error::ProxyAuth { .. }
                | Error::ProxyRefused { .. }
                | Error::Tls { .. }
                | Error::Cancelled),
            ) => Err(error),
            Err(_) => Ok(Capabilities::default()),
        }
    }

    /// Reads an upload's offset and length with `HEAD` (no retries).
    pub(crate) async fn head_once(
        &self,
        uri: &Uri,
        cancel: Option<&CancelToken>,
    ) -> Result<UploadStatus, Failure> {
        let answer = self.head_request(uri, cancel, true).await?;
        let protocol = |error| {
            Failure::from(Error::Protocol {
                url: redact_url(uri),
                error,
            })
        };
        let offset = answer
            .headers
            .get("upload-offset")
            .ok_or(ProtocolError::MissingHeader {
                name: "Upload-Offset",
            })
            .and_then(|v| parse_u64("Upload-Offset", v.as_bytes()))
            .map_err(protocol)?;
        let length = match answer.headers.get("upload-length") {
            Some(v) => Some(parse_u64("Upload-Length", v.as_bytes()).map_err(protocol)?),
            None => None,
        };
        // An unparsable date is ignored rather than fatal: it is advisory.
        let expires_at = answer
            .headers
            .get("upload-expires")
            .and_then(|v| v.to_str().ok())
            .and_then(|text| httpdate::parse_http_date(text).ok());
        Ok(UploadStatus {
            offset,
            length,
            expires_at,
        })
    }

    /// `HEAD` with `Cache-Control: no-store`; a non-2xx answer is a failure.
    pub(crate) async fn head_request(
        &self,
        uri: &Uri,
        cancel: Option<&CancelToken>,
        credentials: bool,
    ) -> Result<Answer, Failure> {
        let answer = self
            .send_head(uri, head_headers(), cancel, credentials)
            .await?;
        if !answer.status.is_success() {
            return Err(self.status_failure(&Method::HEAD, uri, answer).await);
        }
        Ok(answer)
    }

    /// Sends `HEAD uri` with `headers` (see [`head_headers`]); the answer
    /// whatever its status.
    pub(crate) async fn send_head(
        &self,
        uri: &Uri,
        headers: HeaderMap,
        cancel: Option<&CancelToken>,
        credentials: bool,
    ) -> Result<Answer, Failure> {
        self.send(
            Method::HEAD,
            uri,
            headers,
            RequestBody::Empty,
            None,
            cancel,
            credentials,
        )
        .await
    }

    /// Terminates (deletes) an upload with `DELETE` (tus termination extension).
    pub async fn terminate(&self, url: &str) -> Result<(), Error> {
        let uri = parse_uri(url)?;
        let answer = self
            .send(
                Method::DELETE,
                &uri,
                HeaderMap::new(),
                RequestBody::Empty,
                None,
                None,
                true,
            )
            .await
            .map_err(|f| f.error)?;
        if answer.status.is_success() {
            Ok(())
        } else {
            Err(self
                .status_failure(&Method::DELETE, &uri, answer)
                .await
                .error)
        }
    }
}

/// What `HEAD` says about an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadStatus {
    /// `Upload-Offset`: bytes the server has.
    pub offset: u64,
    /// `Upload-Length`, when known.
    pub length: Option<u64>,
    /// `Upload-Expires` (tus expiration), when the server sends one.
    pub expires_at: Option<std::time::SystemTime>,
}

pub(crate) fn source_failure(error: std::io::Error) -> Error {
    if error.kind() == std::io::ErrorKind::UnexpectedEof {
        Error::SourceChanged {
            expected: 0,
            found: 0,
        }
    } else {
        Error::Source {
            path: None,
            source: error,
        }
    }
}

/// A TLS certificate rejection somewhere in the error's source chain. The
/// rustls error sits inside nested `io::Error`s, whose `source()` skips their
/// payload, so each `io::Error` is opened with `get_ref`.
fn certificate_failure(
    error: &(dyn std::error::Error + 'static),
) -> Option<crate::error::BoxError> {
    #[cfg(feature = "rustls")]
    {
        let mut pending: Vec<&(dyn std::error::Error + 'static)> = vec![error];
        while let Some(current) = pending.pop() {
            if let Some(rejected @ rustls::Error::InvalidCertificate(_)) =
                current.downcast_ref::<rustls::Error>()
            {
                return Some(Box::new(rejected.clone()));
            }
            if let Some(inner) = current
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
            {
                pending.push(inner);
            }
            if let Some(next) = current.source() {
                pending.push(next);
            }
        }
    }
    #[cfg(not(feature = "rustls"))]
    let _ = error;
    None
}

pub(crate) const CONTENT_LENGTH_HEADER: HeaderName = CONTENT_LENGTH;
