//! `VimeoClient`: API v3 calls with bearer auth scoped to the API host,
//! version pinning, rate-limit handling, retries of idempotent calls,
//! optional response caching and paging.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use cache::{Cache, Namespace, Ttl};
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use http_body_util::Full;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use crate::answer::api_error;
use crate::auth::{AppCredentials, AuthorizationRequest, TokenAnswer, TokenGrant, random_state};
use crate::http::Http;
use crate::request_cache::{
    CachePolicy, CachedResponse, Freshness, credential_identity, request_key,
};
use crate::{AccessToken, Error, Page, RateLimit};

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

enum Body {
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
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Body,
    bypass_cache: bool,
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
    method: String,
    path: String,
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

struct RequestCache {
    cache: Arc<dyn Cache>,
    policy: CachePolicy,
}

/// The API origin: bearer tokens go here and nowhere else.
#[derive(Debug, Clone)]
struct Origin {
    scheme: String,
    authority: String,
    /// Base path without trailing slash (usually empty).
    path: String,
    /// The host is this machine (`localhost`, 127.0.0.0/8, `::1`).
    loopback: bool,
}

/// Whether `host` names this machine.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Origin {
    fn parse(url: &str) -> Result<Origin, Error> {
        let uri: Uri = url
            .trim()
            .parse()
            .map_err(|_| Error::InvalidInput(format!("not a URL: {url:?}")))?;
        let scheme = match uri.scheme_str() {
            Some(s @ ("http" | "https")) => s.to_owned(),
            _ => return Err(Error::InvalidInput("the API URL must be http(s)".into())),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| Error::InvalidInput("the API URL has no host".into()))?;
        if authority.as_str().contains('@') {
            return Err(Error::InvalidInput(
                "the API URL must not hold credentials".into(),
            ));
        }
        Ok(Origin {
            scheme,
            loopback: is_loopback(authority.host()),
            authority: authority.as_str().to_ascii_lowercase(),
            path: uri.path().trim_end_matches('/').to_owned(),
        })
    }

    fn url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.path)
    }

    /// Whether `uri` is on this origin (same scheme, host and port).
    fn owns(&self, uri: &Uri) -> bool {
        uri.scheme_str() == Some(self.scheme.as_str())
            && uri
                .authority()
                .is_some_and(|a| a.as_str().eq_ignore_ascii_case(&self.authority))
    }
}

pub(crate) struct Inner {
    pub(crate) http: Http,
    origin: Origin,
    token: RwLock<Option<AccessToken>>,
    app: Option<AppCredentials>,
    user_agent: HeaderValue,
    rate_limit: RateLimitPolicy,
    pub(crate) retry: tus::RetryPolicy,
    cache: RwLock<Option<Arc<RequestCache>>>,
    last_rate_limit: Mutex<Option<RateLimit>>,
    pub(crate) tus: tus::Client,
    pub(crate) resume: Arc<dyn Cache>,
    pub(crate) chunk_size: u64,
    /// Plain HTTP is allowed for credentials and upload links.
    pub(crate) insecure_http: bool,
}

/// A Vimeo API v3 client. Cheap to clone; clones share connections, token,
/// cache settings and resume state.
///
/// ```
/// let client = vimeo::VimeoClient::builder()
///     .token("personal-access-token")
///     .user_agent("my-app/1.0")
///     .build()?;
/// assert_eq!(client.api_url(), "https://api.vimeo.com");
/// # Ok::<(), vimeo::Error>(())
/// ```
#[derive(Clone)]
pub struct VimeoClient {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for VimeoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VimeoClient")
            .field("api_url", &self.inner.origin.url())
            .field("has_token", &self.token_read().is_some())
            .field("app", &self.inner.app)
            .finish_non_exhaustive()
    }
}

/// Configures a [`VimeoClient`].
#[must_use]
pub struct ClientBuilder {
    api_url: String,
    token: Option<AccessToken>,
    app: Option<AppCredentials>,
    user_agent: String,
    timeout: Duration,
    connect_timeout: Duration,
    upload_stall_timeout: Duration,
    rate_limit: RateLimitPolicy,
    retry: tus::RetryPolicy,
    cache: Option<(Arc<dyn Cache>, CachePolicy)>,
    resume: Option<Arc<dyn Cache>>,
    chunk_size: u64,
    extra_roots: Vec<Vec<u8>>,
    allow_insecure_http: bool,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

impl VimeoClient {
    /// A builder with the defaults: the real API over HTTPS, no token, 10 s
    /// connect and 30 s call timeouts, 128 MiB upload chunks, resume state in
    /// memory.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            api_url: DEFAULT_API_URL.into(),
            token: None,
            app: None,
            user_agent: format!(
                "vimeo-rs/{} (+https://developer.vimeo.com/api)",
                env!("CARGO_PKG_VERSION")
            ),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            upload_stall_timeout: Duration::from_secs(60),
            rate_limit: RateLimitPolicy::default(),
            retry: tus::RetryPolicy::default(),
            cache: None,
            resume: None,
            chunk_size: 128 << 20,
            extra_roots: Vec::new(),
            allow_insecure_http: false,
        }
    }
}

impl ClientBuilder {
    /// The API base URL (the sandbox's in tests).
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = url.into();
        self
    }

    /// A bearer token (a personal access token, say).
    pub fn token(mut self, token: impl Into<AccessToken>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The app's client id and secret, for the OAuth 2 flows.
    pub fn app(mut self, client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        self.app = Some(AppCredentials::new(client_id, client_secret));
        self
    }

    /// The `User-Agent` of API calls.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The time one API call (answer included) may take.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time a connection may take to open.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long an upload request may go without progress before it is retried.
    pub fn upload_stall_timeout(mut self, timeout: Duration) -> Self {
        self.upload_stall_timeout = timeout;
        self
    }

    /// How 429 answers are handled.
    pub fn rate_limit_policy(mut self, policy: RateLimitPolicy) -> Self {
        self.rate_limit = policy;
        self
    }

    /// Retries for idempotent API calls (5xx, connection errors) and for upload
    /// requests.
    pub fn retry_policy(mut self, policy: tus::RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Caches successful GETs in `cache` for `ttl` (see [`VimeoClient::enable_cache`]).
    pub fn cache(self, cache: Arc<dyn Cache>, ttl: Duration) -> Self {
        self.cache_policy(cache, CachePolicy::new(ttl))
    }

    /// Caches successful GETs by `policy`.
    pub fn cache_policy(mut self, cache: Arc<dyn Cache>, policy: CachePolicy) -> Self {
        self.cache = Some((cache, policy));
        self
    }

    /// Where upload resume state lives. Use a file, sled or Redis cache to
    /// resume after a restart (or on another machine); the default is memory.
    pub fn resume_cache(mut self, cache: Arc<dyn Cache>) -> Self {
        self.resume = Some(cache);
        self
    }

    /// The default upload chunk size (128 MiB; each chunk is one PATCH, streamed).
    pub fn chunk_size(mut self, bytes: u64) -> Self {
        self.chunk_size = bytes.max(1);
        self
    }

    /// Allows credentials over plain HTTP to another machine, and plain-HTTP
    /// upload links from an HTTPS API (default: refused with
    /// [`Error::InsecureHttp`]; plain HTTP to this machine — the sandbox — is
    /// always allowed). For test rigs behind a TLS-terminating proxy only.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), vimeo::Error> {
    /// let client = vimeo::VimeoClient::builder()
    ///     .api_url("http://api.example.invalid")
    ///     .token("t")
    ///     .build()?;
    /// let refused = client.get::<serde_json::Value>("/me").await.unwrap_err();
    /// assert!(matches!(refused, vimeo::Error::InsecureHttp(_)));
    /// # Ok(()) }
    /// ```
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Trusts one more root certificate (DER), for API and upload hosts.
    pub fn add_root_certificate(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.extra_roots.push(der.into());
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<VimeoClient, Error> {
        let origin = Origin::parse(&self.api_url)?;
        let user_agent = HeaderValue::from_str(&self.user_agent).map_err(|_| {
            Error::InvalidInput("the user agent is not a valid header value".into())
        })?;
        let http = Http::new(self.connect_timeout, self.timeout, &self.extra_roots)?;
        // The upload client is separate and carries no credentials: upload links
        // are their own credential, and the bearer token must never reach them.
        let mut tus = tus::Client::builder()
            .retry_policy(self.retry.clone())
            .stall_timeout(self.upload_stall_timeout)
            .connect_timeout(self.connect_timeout);
        for der in &self.extra_roots {
            tus = tus.add_root_certificate(der.clone());
        }
        let tus = tus.build()?;
        let cache = self
            .cache
            .map(|(cache, policy)| Arc::new(RequestCache { cache, policy }));
        Ok(VimeoClient {
            inner: Arc::new(Inner {
                http,
                origin,
                token: RwLock::new(self.token),
                app: self.app,
                user_agent,
                rate_limit: self.rate_limit,
                retry: self.retry,
                cache: RwLock::new(cache),
                last_rate_limit: Mutex::new(None),
                tus,
                resume: self
                    .resume
                    .unwrap_or_else(|| Arc::new(cache::MemoryCache::new())),
                chunk_size: self.chunk_size,
                insecure_http: self.allow_insecure_http,
            }),
        })
    }
}

fn cache_namespace() -> Namespace {
    Namespace::new("vimeo-api").expect("a valid constant namespace (tested)")
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes)
}

/// A transport failure as the retry policy's hook sees it (a `tus::Error`,
/// the same type uploads give it).
fn retry_view(error: &Error) -> tus::Error {
    match error {
        Error::Timeout { method, url, after } => tus::Error::Timeout {
            method: method.clone(),
            url: url.clone(),
            after: *after,
        },
        other => tus::Error::Transport {
            method: String::new(),
            url: String::new(),
            connect: false,
            source: other.to_string().into(),
        },
    }
}

fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE
    )
}

impl VimeoClient {
    /// Refuses to send `what` over plain HTTP to another machine unless the
    /// caller allowed it.
    fn check_plain_http(&self, what: &str) -> Result<(), Error> {
        let origin = &self.inner.origin;
        if origin.scheme == "http" && !origin.loopback && !self.inner.insecure_http {
            return Err(Error::InsecureHttp(format!(
                "{what} would go to {} unencrypted; use https, or ClientBuilder::allow_insecure_http(true)",
                origin.url()
            )));
        }
        Ok(())
    }

    /// Whether the API is reached over HTTPS (upload links must then be too).
    pub(crate) fn api_is_https(&self) -> bool {
        self.inner.origin.scheme == "https"
    }

    /// The API base URL.
    pub fn api_url(&self) -> String {
        self.inner.origin.url()
    }

    fn token_read(&self) -> Option<AccessToken> {
        self.inner
            .token
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Uses `token` for the calls that follow.
    pub fn set_token(&self, token: impl Into<AccessToken>) {
        *self.inner.token.write().unwrap_or_else(|e| e.into_inner()) = Some(token.into());
    }

    /// The current token, if any.
    pub fn token(&self) -> Option<AccessToken> {
        self.token_read()
    }

    /// Forgets the token.
    pub fn clear_token(&self) {
        *self.inner.token.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The rate-limit snapshot of the last API answer.
    pub fn last_rate_limit(&self) -> Option<RateLimit> {
        *self
            .inner
            .last_rate_limit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Caches successful GETs in `cache` for `ttl`. Keys hold the method, URL,
    /// sorted query and a hash of the token (never the token), so users never
    /// share entries; errors are never stored. Off by default.
    pub fn enable_cache(&self, cache: Arc<dyn Cache>, ttl: Duration) {
        self.enable_cache_policy(cache, CachePolicy::new(ttl));
    }

    /// Caches successful GETs by `policy` (per-path TTLs, never-cache paths).
    pub fn enable_cache_policy(&self, cache: Arc<dyn Cache>, policy: CachePolicy) {
        *self.inner.cache.write().unwrap_or_else(|e| e.into_inner()) =
            Some(Arc::new(RequestCache { cache, policy }));
    }

    /// Stops caching (stored entries stay until they expire or are cleared).
    pub fn disable_cache(&self) {
        *self.inner.cache.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Removes every cached API answer.
    pub async fn clear_cache(&self) -> Result<(), Error> {
        let cache = self
            .inner
            .cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(cache) = cache {
            cache.cache.clear(&cache_namespace()).await?;
        }
        Ok(())
    }

    /// `GET path`, decoded as `T` (`serde_json::Value` for anything).
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.send(ApiRequest::get(path)).await?.json()
    }

    /// `POST path` with a JSON body.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, Error> {
        self.send(ApiRequest::post(path).json(body)?).await?.json()
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, Error> {
        self.send(ApiRequest::patch(path).json(body)?).await?.json()
    }

    /// `PUT path` with a JSON body.
    pub async fn put<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, Error> {
        self.send(ApiRequest::put(path).json(body)?).await?.json()
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Result<(), Error> {
        self.send(ApiRequest::delete(path)).await.map(|_| ())
    }

    /// Every item of a list endpoint, page after page (following `paging.next`).
    ///
    /// ```no_run
    /// # async fn f(client: vimeo::VimeoClient) -> Result<(), vimeo::Error> {
    /// let mut videos = client.paginate::<vimeo::Video>("/me/videos?per_page=100");
    /// while let Some(video) = videos.next().await {
    ///     println!("{:?}", video?.uri);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn paginate<T: DeserializeOwned>(&self, path: &str) -> Paginator<T> {
        Paginator {
            client: self.clone(),
            next: Some(path.to_owned()),
            buffer: VecDeque::new(),
            pages: 0,
        }
    }

    /// Resolves `path` against the API URL.
    fn resolve(&self, path: &str, query: &[(String, String)]) -> Result<Uri, Error> {
        let mut url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            let path = path.trim_start_matches('/');
            format!("{}/{path}", self.inner.origin.url())
        };
        if !query.is_empty() {
            url.push(if url.contains('?') { '&' } else { '?' });
            let pairs: Vec<(&str, &str)> = query
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            url.push_str(&form_encode(&pairs));
        }
        url.parse()
            .map_err(|_| Error::InvalidInput(format!("not a valid API path: {path:?}")))
    }

    /// Sends one call: bearer token only to the API origin, API version pinned,
    /// idempotent calls retried after 5xx/connection errors and (within the
    /// rate-limit policy) after 429; successful GETs cached when enabled.
    pub async fn send(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        let uri = self.resolve(&request.path, &request.query)?;
        let path = uri.path().to_owned();
        let span = tracing::info_span!("vimeo_request", method = %request.method, path = %path);
        self.send_resolved(request, uri).instrument(span).await
    }

    async fn send_resolved(&self, request: ApiRequest, uri: Uri) -> Result<ApiResponse, Error> {
        let method = request.method.clone();
        let path = uri.path().to_owned();
        let on_api_host = self.inner.origin.owns(&uri);
        let token = self.token_read().filter(|_| on_api_host);
        if !on_api_host {
            tracing::debug!("not the API host: no credentials attached");
        }
        if token.is_some() {
            self.check_plain_http("the bearer token")?;
        }
        let cache = if method == Method::GET && !request.bypass_cache {
            self.inner
                .cache
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        } else {
            None
        };
        let cache_entry = cache
            .as_ref()
            .filter(|c| c.policy.ttl("GET", &path, 200).is_some())
            .map(|c| {
                let identity = credential_identity(None, token.as_ref().map(AccessToken::expose));
                (
                    c.clone(),
                    request_key(&cache_namespace(), "GET", &uri.to_string(), &[], &identity),
                )
            });
        let mut stale = None;
        if let Some((cache, key)) = &cache_entry {
            match cache.cache.get(key).await {
                Ok(Some(bytes)) => match CachedResponse::decode(&bytes) {
                    Some(hit) if hit.freshness(now_ms()) == Freshness::Fresh => {
                        tracing::debug!("cache hit");
                        return Ok(Self::cached_response(hit, &method, &path));
                    }
                    Some(hit) => stale = Some(hit),
                    None => {}
                },
                Ok(None) => {}
                // A broken cache must not break the API: log and go to the origin.
                Err(error) => tracing::warn!(%error, "response cache read failed"),
            }
        }
        // The same budget as uploads: `max_attempts` retries, the veto hook,
        // `max_retry_after` (tus::RetryBudget states the rule).
        let policy = &self.inner.retry;
        let mut budget = tus::RetryBudget::for_call(policy);
        let mut rate_limited = 0u32;
        loop {
            let http_request = self.build(&request, &uri, token.as_ref())?;
            let result = self.inner.http.send(http_request).await;
            let response = match result {
                Ok(response) => response,
                Err(error @ (Error::Transport { .. } | Error::Timeout { .. })) => {
                    if is_idempotent(&method)
                        && let Ok(retry) =
                            budget.failure(policy, retry_view(&error), None, random_u64(), false)
                    {
                        tracing::warn!(%error, delay = ?retry.delay, "retrying");
                        tokio::time::sleep(retry.delay).await;
                        continue;
                    }
                    if let Some(hit) = stale.take() {
                        tracing::warn!(%error, "origin failed; serving a stale cached answer");
                        return Ok(Self::cached_response(hit, &method, &path));
                    }
                    return Err(error);
                }
                Err(error) => return Err(error),
            };
            let rate_limit = RateLimit::from_headers(&response.headers);
            if rate_limit.is_some() {
                *self
                    .inner
                    .last_rate_limit
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = rate_limit;
            }
            tracing::debug!(status = response.status, "answered");
            if (200..300).contains(&response.status) {
                if let Some((cache, key)) = &cache_entry
                    && let Some(ttl) = cache.policy.ttl("GET", &path, response.status)
                {
                    let keep = ttl + cache.policy.stale_window().unwrap_or_default();
                    let entry = CachedResponse::new(
                        response.status,
                        kept_headers(&response.headers),
                        response.body.clone(),
                        now_ms(),
                        ttl,
                    );
                    if let Err(error) = cache.cache.put(key, entry.encode(), Ttl::After(keep)).await
                    {
                        tracing::warn!(%error, "response cache write failed");
                    }
                }
                return Ok(ApiResponse {
                    status: response.status,
                    headers: response.headers,
                    body: response.body,
                    rate_limit,
                    from_cache: false,
                    method: method.to_string(),
                    path,
                });
            }
            // A 429 refused the request, so even a POST is safe to send again.
            if response.status == 429 && rate_limited < self.inner.rate_limit.max_attempts {
                let wait = retry_after(&response.headers)
                    .or_else(|| rate_limit.and_then(|r| r.until_reset(SystemTime::now())))
                    .unwrap_or(Duration::from_secs(1));
                if wait <= self.inner.rate_limit.max_wait {
                    rate_limited += 1;
                    tracing::warn!(?wait, "rate limited; waiting for the reset");
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            if matches!(response.status, 500 | 502 | 503 | 504) && is_idempotent(&method) {
                let view = tus::Error::Status(tus::StatusError::new(
                    response.status,
                    method.as_str(),
                    &path,
                ));
                if let Ok(retry) = budget.failure(
                    policy,
                    view,
                    retry_after(&response.headers),
                    random_u64(),
                    false,
                ) {
                    tracing::warn!(status = response.status, delay = ?retry.delay, "retrying");
                    tokio::time::sleep(retry.delay).await;
                    continue;
                }
                if let Some(hit) = stale.take() {
                    tracing::warn!(
                        status = response.status,
                        "origin failed; serving a stale cached answer"
                    );
                    return Ok(Self::cached_response(hit, &method, &path));
                }
            }
            let token = token.as_ref().map(AccessToken::expose);
            return Err(api_error(
                &method,
                &path,
                response,
                rate_limit,
                &[token.unwrap_or("")],
            ));
        }
    }

    fn cached_response(hit: CachedResponse, method: &Method, path: &str) -> ApiResponse {
        let mut headers = HeaderMap::new();
        for (name, value) in &hit.headers {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.append(name, value);
            }
        }
        ApiResponse {
            status: hit.status,
            rate_limit: RateLimit::from_headers(&headers),
            headers,
            body: hit.body,
            from_cache: true,
            method: method.to_string(),
            path: path.to_owned(),
        }
    }

    fn build(
        &self,
        request: &ApiRequest,
        uri: &Uri,
        token: Option<&AccessToken>,
    ) -> Result<Request<Full<Bytes>>, Error> {
        let mut builder = Request::builder()
            .method(request.method.clone())
            .uri(uri.clone())
            .header("accept", ACCEPT_VERSION)
            .header("user-agent", self.inner.user_agent.clone());
        if let Some(token) = token {
            let mut value =
                HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                    Error::InvalidInput("the token has characters a header cannot carry".into())
                })?;
            value.set_sensitive(true);
            builder = builder.header("authorization", value);
        }
        let body = match &request.body {
            Body::Empty => Bytes::new(),
            Body::Json(bytes) => {
                builder = builder.header("content-type", "application/json");
                Bytes::from(bytes.clone())
            }
            Body::Form(text) => {
                builder = builder.header("content-type", "application/x-www-form-urlencoded");
                Bytes::from(text.clone())
            }
        };
        builder
            .body(Full::new(body))
            .map_err(|e| Error::InvalidInput(format!("cannot build the request: {e}")))
    }

    /// Calls a token endpoint with the app's Basic credentials and a form body,
    /// and uses the token granted.
    async fn token_call(&self, path: &str, form: &[(&str, &str)]) -> Result<TokenGrant, Error> {
        let app = self.inner.app.as_ref().ok_or(Error::MissingCredentials(
            "the app's client id and secret (ClientBuilder::app)",
        ))?;
        let uri = self.resolve(path, &[])?;
        self.check_plain_http("the app's client secret")?;
        let span = tracing::info_span!("vimeo_token", path = %uri.path());
        async {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                app.client_id,
                app.client_secret.expose()
            ));
            let mut authorization =
                HeaderValue::from_str(&format!("Basic {basic}")).map_err(|_| {
                    Error::InvalidInput("the client id or secret cannot go in a header".into())
                })?;
            authorization.set_sensitive(true);
            let request = Request::builder()
                .method(Method::POST)
                .uri(uri.clone())
                .header("accept", ACCEPT_VERSION)
                .header("user-agent", self.inner.user_agent.clone())
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", authorization)
                .body(Full::new(Bytes::from(form_encode(form))))
                .map_err(|e| Error::InvalidInput(format!("cannot build the request: {e}")))?;
            let response = self.inner.http.send(request).await?;
            let rate_limit = RateLimit::from_headers(&response.headers);
            if !(200..300).contains(&response.status) {
                let secrets = [app.client_secret.expose()];
                return Err(api_error(
                    &Method::POST,
                    uri.path(),
                    response,
                    rate_limit,
                    &secrets,
                ));
            }
            // Never put the body in an error: it holds the token.
            let answer: TokenAnswer =
                serde_json::from_slice(&response.body).map_err(|_| Error::Decode {
                    method: "POST".into(),
                    path: uri.path().to_owned(),
                    message: "the token answer is not the expected JSON".into(),
                })?;
            let grant = TokenGrant::from(answer);
            self.set_token(grant.access_token.clone());
            Ok(grant)
        }
        .instrument(span)
        .await
    }

    /// Starts the authorization-code flow: the URL to send the user to, with a
    /// fresh random `state`.
    pub fn authorization_request(
        &self,
        redirect_uri: &str,
        scopes: &[&str],
    ) -> Result<AuthorizationRequest, Error> {
        let app = self.inner.app.as_ref().ok_or(Error::MissingCredentials(
            "the app's client id (ClientBuilder::app)",
        ))?;
        let state = random_state()?;
        let scope = scopes.join(" ");
        let query = form_encode(&[
            ("response_type", "code"),
            ("client_id", &app.client_id),
            ("redirect_uri", redirect_uri),
            ("scope", &scope),
            ("state", &state),
        ]);
        Ok(AuthorizationRequest {
            url: format!("{}/oauth/authorize?{query}", self.inner.origin.url()),
            state,
            redirect_uri: redirect_uri.to_owned(),
        })
    }

    /// Finishes the authorization-code flow: checks `returned_state`, exchanges
    /// `code` for a token, and uses it.
    pub async fn exchange_code(
        &self,
        request: &AuthorizationRequest,
        returned_state: &str,
        code: &str,
    ) -> Result<TokenGrant, Error> {
        request.check_state(returned_state)?;
        self.token_call(
            "/oauth/access_token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &request.redirect_uri),
            ],
        )
        .await
    }

    /// Gets an app-only ("unauthenticated") token for public data, and uses it.
    /// Such tokens cannot upload (error code 8002).
    pub async fn client_credentials(&self, scopes: &[&str]) -> Result<TokenGrant, Error> {
        let scope = if scopes.is_empty() {
            "public".to_owned()
        } else {
            scopes.join(" ")
        };
        self.token_call(
            "/oauth/authorize/client",
            &[("grant_type", "client_credentials"), ("scope", &scope)],
        )
        .await
    }

    /// Exchanges a legacy OAuth 1.0a access token for an API v3 token, and uses it.
    pub async fn convert_oauth1_token(
        &self,
        token: &str,
        token_secret: &str,
    ) -> Result<TokenGrant, Error> {
        self.token_call(
            "/oauth/authorize/vimeo_oauth1",
            &[
                ("grant_type", "vimeo_oauth1"),
                ("token", token),
                ("token_secret", token_secret),
            ],
        )
        .await
    }
}

/// Headers worth keeping with a cached answer.
fn kept_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            name == "content-type" || name.starts_with("x-ratelimit-")
        })
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect()
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// Items of a list endpoint, fetched a page at a time.
#[derive(Debug)]
pub struct Paginator<T> {
    client: VimeoClient,
    next: Option<String>,
    buffer: VecDeque<T>,
    pages: u32,
}

impl<T: DeserializeOwned> Paginator<T> {
    /// The next item; `None` after the last one. After an error the paginator
    /// ends.
    pub async fn next(&mut self) -> Option<Result<T, Error>> {
        loop {
            if let Some(item) = self.buffer.pop_front() {
                return Some(Ok(item));
            }
            let path = self.next.take()?;
            let page: Page<T> = match self
                .client
                .send(ApiRequest::get(path))
                .await
                .and_then(|r| r.json())
            {
                Ok(page) => page,
                Err(error) => return Some(Err(error)),
            };
            self.pages += 1;
            // `paging.next` is relative to the API host; a page without paging ends the list.
            self.next = page
                .paging
                .and_then(|p| p.next)
                .filter(|next| !next.is_empty());
            self.buffer.extend(page.data);
        }
    }

    /// Every remaining item.
    pub async fn collect_all(mut self) -> Result<Vec<T>, Error> {
        let mut items = Vec::new();
        while let Some(item) = self.next().await {
            items.push(item?);
        }
        Ok(items)
    }

    /// Pages fetched so far.
    pub fn pages_fetched(&self) -> u32 {
        self.pages
    }
}

impl<T: DeserializeOwned + Send + 'static> Paginator<T> {
    /// The items as a [`futures_core::Stream`].
    ///
    /// ```no_run
    /// # async fn f(client: vimeo::VimeoClient) -> Result<(), vimeo::Error> {
    /// use futures_util::StreamExt as _;
    /// let stream = client.paginate::<vimeo::Video>("/me/videos").into_stream();
    /// let first_ten: Vec<_> = stream.take(10).collect().await;
    /// # Ok(()) }
    /// ```
    pub fn into_stream(self) -> impl futures_core::Stream<Item = Result<T, Error>> + Send {
        futures_util::stream::unfold(self, |mut pages| async move {
            let item = pages.next().await?;
            Some((item, pages))
        })
    }
}
