//! `VimeoClient`: API v3 calls with bearer auth scoped to the API host,
//! version pinning, rate-limit handling, retries of idempotent calls,
//! optional response caching and paging.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use cache::{Cache, Namespace, Ttl};
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use http_body_util::Full;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use crate::answer::api_error;
use crate::auth::{AccessToken, AppCredentials};
use crate::builder::Origin;
use crate::error::Error;
use crate::http::Http;
use crate::page::Paginator;
use crate::rate_limit::RateLimit;
use crate::request::{ACCEPT_VERSION, ApiRequest, ApiResponse, Body, RateLimitPolicy, form_encode};
use crate::request_cache::{
    CachePolicy, CachedResponse, Freshness, credential_identity, request_key,
};

pub(crate) struct RequestCache {
    pub(crate) cache: Arc<dyn Cache>,
    pub(crate) policy: CachePolicy,
}

pub(crate) struct Inner {
    pub(crate) http: Http,
    pub(crate) origin: Origin,
    pub(crate) token: RwLock<Option<AccessToken>>,
    pub(crate) app: Option<AppCredentials>,
    pub(crate) user_agent: HeaderValue,
    pub(crate) rate_limit: RateLimitPolicy,
    pub(crate) retry: tus::RetryPolicy,
    pub(crate) cache: RwLock<Option<Arc<RequestCache>>>,
    pub(crate) last_rate_limit: Mutex<Option<RateLimit>>,
    pub(crate) tus: tus::Client,
    pub(crate) resume: Arc<dyn Cache>,
    pub(crate) chunk_size: u64,
    /// Plain HTTP is allowed for credentials and upload links.
    pub(crate) insecure_http: bool,
    /// Called on a 401 from the API for a fresh token (one retry per call).
    pub(crate) on_unauthorized: Option<crate::builder::RefreshFn>,
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
    pub(crate) fn check_plain_http(&self, what: &str) -> Result<(), Error> {
        let origin = &self.inner.origin;
        if origin.scheme == "http" && !origin.loopback && !self.inner.insecure_http {
            let via = origin
                .proxy
                .as_ref()
                .map(|proxy| format!(" through the proxy {proxy}"))
                .unwrap_or_default();
            return Err(Error::InsecureHttp(format!(
                "{what} would go to {}{via} unencrypted; use https, or ClientBuilder::allow_insecure_http(true)",
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
    pub(crate) fn resolve(&self, path: &str, query: &[(String, String)]) -> Result<Uri, Error> {
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
        let mut token = self.token_read().filter(|_| on_api_host);
        let mut refreshed = false;
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
            // A 401 refused the call: with a refresh callback, get a fresh
            // token and send it once more (any method: nothing was done).
            if response.status == 401
                && on_api_host
                && !refreshed
                && let Some(refresh) = &self.inner.on_unauthorized
            {
                refreshed = true;
                let fresh = tokio::time::timeout(self.inner.http.timeout(), refresh())
                    .await
                    .ok()
                    .flatten();
                if let Some(fresh) = fresh {
                    tracing::info!("the token was refused; retrying with a refreshed one");
                    self.set_token(fresh.clone());
                    token = Some(fresh);
                    continue;
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
