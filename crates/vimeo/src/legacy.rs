//! The legacy Advanced API (v2) over OAuth 1.0a, as the old vimeo-py-lib
//! offered it: the three-legged flow (`auth`, `request_token`,
//! `authorize_url`, `access_token`, `set_token` / `token`) and signed calls to
//! the REST endpoint (`method=vimeo.…`, `format=json`). Vimeo has shut v2
//! down; this exists for compatibility and runs against the sandbox.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::Full;
use oauth1::{Secret, Signer};
use serde_json::Value;
use tracing::Instrument as _;

use cache::{Cache, CacheExt as _, Namespace, Ttl};

use crate::error::{Error, LegacyError};
use crate::http::Http;
use crate::request_cache::{credential_identity, request_key};

/// How one legacy call is made: the original `call(method, params,
/// request_method, url, cache)`'s last three arguments.
///
/// ```
/// let options = vimeo::CallOptions::new().post().cache(false);
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct CallOptions {
    /// POST with a form body (signed with it) instead of GET with a query.
    pub post: bool,
    /// Another REST endpoint URL for this call.
    pub url: Option<String>,
    /// Use the cache for this call (`None`: when one is enabled). Only
    /// successful GET answers are ever cached.
    pub cache: Option<bool>,
}

impl CallOptions {
    /// GET, the client's endpoint, the client's cache setting.
    pub fn new() -> Self {
        CallOptions::default()
    }

    /// POST the parameters as a signed form body.
    pub fn post(mut self) -> Self {
        self.post = true;
        self
    }

    /// Sends this call to `url` instead of the client's REST endpoint.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Turns the cache on or off for this call.
    pub fn cache(mut self, use_cache: bool) -> Self {
        self.cache = Some(use_cache);
        self
    }
}

/// The cache namespace of legacy answers.
fn legacy_namespace() -> Namespace {
    Namespace::new("vimeo-legacy").expect("a valid constant namespace (tested)")
}

/// Where the legacy endpoints live.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LegacyEndpoints {
    /// The request-token URL.
    pub request_token: String,
    /// The user-authorization URL.
    pub authorize: String,
    /// The access-token URL.
    pub access_token: String,
    /// The REST endpoint.
    pub rest: String,
}

impl LegacyEndpoints {
    /// The historical vimeo.com endpoints (the service is shut down).
    pub fn vimeo() -> Self {
        LegacyEndpoints::at("http://vimeo.com")
    }

    /// `{base}/oauth/request_token`, `{base}/oauth/authorize`,
    /// `{base}/oauth/access_token` and `{base}/api/rest/v2`.
    ///
    /// ```
    /// let endpoints = vimeo::LegacyEndpoints::at("http://127.0.0.1:8080/legacy/");
    /// assert_eq!(endpoints.rest, "http://127.0.0.1:8080/legacy/api/rest/v2");
    /// ```
    pub fn at(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        LegacyEndpoints {
            request_token: format!("{base}/oauth/request_token"),
            authorize: format!("{base}/oauth/authorize"),
            access_token: format!("{base}/oauth/access_token"),
            rest: format!("{base}/api/rest/v2"),
        }
    }
}

/// What the user lets the app do (a hierarchy: read < write < delete).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Permission {
    /// Read.
    Read,
    /// Read and write.
    Write,
    /// Read, write and delete.
    Delete,
}

impl Permission {
    /// The parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Write => "write",
            Permission::Delete => "delete",
        }
    }
}

/// A token and its secret (request or access token). `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LegacyToken {
    /// The token.
    pub token: String,
    /// Its secret.
    pub secret: Secret,
}

impl LegacyToken {
    /// A token pair.
    pub fn new(token: impl Into<String>, secret: impl Into<String>) -> Self {
        LegacyToken {
            token: token.into(),
            secret: Secret::new(secret),
        }
    }
}

impl fmt::Debug for LegacyToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LegacyToken")
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// A client of the legacy Advanced API.
///
/// ```
/// let client = vimeo::LegacyClient::new("consumer-key", "consumer-secret")?
///     .endpoints(vimeo::LegacyEndpoints::at("http://127.0.0.1:8080/legacy"));
/// assert!(client.token().is_none());
/// # Ok::<(), vimeo::Error>(())
/// ```
pub struct LegacyClient {
    http: Http,
    consumer_key: String,
    consumer_secret: Secret,
    endpoints: LegacyEndpoints,
    request_token: Mutex<Option<LegacyToken>>,
    access_token: Mutex<Option<LegacyToken>>,
    clock: Option<Clock>,
    cache: Mutex<Option<(Arc<dyn Cache>, Duration)>>,
}

impl fmt::Debug for LegacyClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LegacyClient")
            .field("consumer_key", &self.consumer_key)
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl LegacyClient {
    /// A client for the app with these consumer credentials, on the historical
    /// endpoints, with 30 s timeouts.
    pub fn new(
        consumer_key: impl Into<String>,
        consumer_secret: impl Into<String>,
    ) -> Result<Self, Error> {
        Ok(LegacyClient {
            http: Http::new(tus::Connector::builder().build()?, Duration::from_secs(30)),
            consumer_key: consumer_key.into(),
            consumer_secret: Secret::new(consumer_secret),
            endpoints: LegacyEndpoints::vimeo(),
            request_token: Mutex::new(None),
            access_token: Mutex::new(None),
            clock: None,
            cache: Mutex::new(None),
        })
    }

    /// Connects through this connector (a proxy, extra root certificates)
    /// instead of the default one (Mozilla roots, proxies from the environment).
    ///
    /// ```
    /// let connector = tus::Connector::builder()
    ///     .proxy("http://proxy.internal:3128")
    ///     .build()?;
    /// let client = vimeo::LegacyClient::new("key", "secret")?.connector(connector);
    /// # let _ = client;
    /// # Ok::<(), vimeo::Error>(())
    /// ```
    pub fn connector(mut self, connector: tus::Connector) -> Self {
        self.http = Http::new(connector, self.http.timeout());
        self
    }

    /// Uses other endpoints (the sandbox's, say).
    pub fn endpoints(mut self, endpoints: LegacyEndpoints) -> Self {
        self.endpoints = endpoints;
        self
    }

    /// Replaces the clock that stamps `oauth_timestamp` (Unix seconds), for a
    /// machine whose clock is off or for tests.
    pub fn clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    fn signer(&self, token: Option<&LegacyToken>) -> Signer {
        let mut signer = Signer::new(self.consumer_key.clone(), self.consumer_secret.clone());
        if let Some(token) = token {
            signer = signer.token(token.token.clone(), token.secret.clone());
        }
        if let Some(clock) = &self.clock {
            signer = signer.timestamp(clock());
        }
        signer
    }

    /// Step 1+2 of the old `auth(permission, callback)`: fetches a request
    /// token (kept for [`LegacyClient::access_token`]) and returns the URL the
    /// user must visit. `callback` `None` means out-of-band (`oob`): the user
    /// is shown a verifier to type in.
    pub async fn auth(
        &self,
        permission: Permission,
        callback: Option<&str>,
    ) -> Result<String, Error> {
        let token = self.request_token(callback).await?;
        self.authorize_url(&token.token, permission)
    }

    /// Fetches a request token and keeps it.
    pub async fn request_token(&self, callback: Option<&str>) -> Result<LegacyToken, Error> {
        let signer = self.signer(None);
        let prepared =
            oauth1::request_token_request(&signer, &self.endpoints.request_token, callback)
                .map_err(|e| Error::InvalidInput(e.to_string()))?;
        let token = self.token_step("request_token", prepared).await?;
        *lock(&self.request_token) = Some(token.clone());
        Ok(token)
    }

    /// The URL where the user approves `request_token`.
    pub fn authorize_url(
        &self,
        request_token: &str,
        permission: Permission,
    ) -> Result<String, Error> {
        oauth1::authorize_url(
            &self.endpoints.authorize,
            request_token,
            Some(permission.as_str()),
        )
        .map_err(|e| Error::InvalidInput(e.to_string()))
    }

    /// Exchanges the kept request token and the user's `verifier` for an access
    /// token, and keeps it (see [`LegacyClient::token`]).
    pub async fn access_token(&self, verifier: &str) -> Result<LegacyToken, Error> {
        let request_token = lock(&self.request_token)
            .clone()
            .ok_or(Error::MissingCredentials(
                "a request token (call auth or request_token first)",
            ))?;
        let signer = self.signer(Some(&request_token));
        let prepared =
            oauth1::access_token_request(&signer, &self.endpoints.access_token, verifier)
                .map_err(|e| Error::InvalidInput(e.to_string()))?;
        let token = self.token_step("access_token", prepared).await?;
        *lock(&self.request_token) = None;
        *lock(&self.access_token) = Some(token.clone());
        Ok(token)
    }

    /// Uses a stored access token.
    pub fn set_token(&self, token: impl Into<String>, secret: impl Into<String>) {
        *lock(&self.access_token) = Some(LegacyToken::new(token, secret));
    }

    /// The access token in use.
    pub fn token(&self) -> Option<LegacyToken> {
        lock(&self.access_token).clone()
    }

    async fn token_step(
        &self,
        step: &str,
        prepared: oauth1::PreparedRequest,
    ) -> Result<LegacyToken, Error> {
        let span = tracing::info_span!("vimeo_legacy_token", step);
        async {
            let mut builder = Request::builder()
                .method(prepared.method.as_str())
                .uri(prepared.url.as_str());
            for (name, value) in &prepared.headers {
                let mut value = http::HeaderValue::from_str(value).map_err(|_| {
                    Error::InvalidInput("an OAuth header value is not valid".into())
                })?;
                value.set_sensitive(true);
                builder = builder.header(name.as_str(), value);
            }
            let request = builder
                .body(Full::new(Bytes::new()))
                .map_err(|e| Error::InvalidInput(format!("cannot build the request: {e}")))?;
            let response = self.http.send(request).await?;
            if response.status != 200 {
                let params = form_pairs(&response.body);
                let find = |name: &str| {
                    params
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.clone())
                };
                return Err(Error::Legacy(Box::new(LegacyError {
                    method: step.to_owned(),
                    code: find("code").and_then(|c| c.parse().ok()),
                    msg: find("oauth_problem")
                        .unwrap_or_else(|| format!("HTTP {}", response.status)),
                    expl: None,
                    status: response.status,
                })));
            }
            let answer =
                oauth1::parse_token_response(&response.body).map_err(|_| Error::Decode {
                    method: prepared.method.clone(),
                    path: step.to_owned(),
                    message:
                        "the token answer is not a form with oauth_token and oauth_token_secret"
                            .into(),
                })?;
            Ok(LegacyToken {
                token: answer.token.clone(),
                secret: answer.token_secret.clone(),
            })
        }
        .instrument(span)
        .await
    }

    /// Caches successful GET answers in `cache` for `ttl` (the original
    /// `enable_cache`). Keys hold the consumer and token only as a digest, so
    /// two users never share an answer; OAuth nonces and signatures never
    /// enter a key.
    pub fn enable_cache(&self, cache: Arc<dyn Cache>, ttl: Duration) {
        *lock(&self.cache) = Some((cache, ttl));
    }

    /// Stops caching (what is stored stays until [`LegacyClient::clear_cache`]).
    pub fn disable_cache(&self) {
        *lock(&self.cache) = None;
    }

    /// Forgets every cached legacy answer.
    pub async fn clear_cache(&self) -> Result<(), Error> {
        let cache = lock(&self.cache).clone();
        if let Some((cache, _)) = cache {
            cache.clear(&legacy_namespace()).await?;
        }
        Ok(())
    }

    /// Calls `method` (the `vimeo.` prefix is added when missing) with
    /// `params` by GET, signed with the consumer and, when set, the access
    /// token; cached when a cache is enabled. Returns the answer's JSON; a
    /// `"stat": "fail"` answer is a [`LegacyError`], whatever the HTTP status.
    pub async fn call(&self, method: &str, params: &[(&str, &str)]) -> Result<Value, Error> {
        self.call_with(method, params, &CallOptions::new()).await
    }

    /// [`LegacyClient::call`] with the original's other arguments: POST (the
    /// form body is signed), another endpoint URL, the cache on or off.
    ///
    /// ```no_run
    /// # async fn f(client: vimeo::LegacyClient) -> Result<(), vimeo::Error> {
    /// let options = vimeo::CallOptions::new().post();
    /// let answer = client
    ///     .call_with("videos.setTitle", &[("video_id", "42"), ("title", "New")], &options)
    ///     .await?;
    /// # let _ = answer; Ok(()) }
    /// ```
    pub async fn call_with(
        &self,
        method: &str,
        params: &[(&str, &str)],
        options: &CallOptions,
    ) -> Result<Value, Error> {
        let method = if method.starts_with("vimeo.") {
            method.to_owned()
        } else {
            format!("vimeo.{method}")
        };
        let span = tracing::info_span!("vimeo_legacy_call", method = %method, post = options.post);
        async {
            let endpoint = options.url.as_deref().unwrap_or(&self.endpoints.rest);
            let mut pairs: Vec<(&str, &str)> = vec![("format", "json"), ("method", &method)];
            pairs.extend_from_slice(params);
            let form = crate::request::form_encode(&pairs);
            let token = self.token();
            let cache = lock(&self.cache)
                .clone()
                .filter(|_| !options.post && options.cache != Some(false));
            let url = if options.post {
                endpoint.to_owned()
            } else {
                format!("{endpoint}?{form}")
            };
            let key = cache.as_ref().map(|_| {
                let identity = credential_identity(
                    Some(&self.consumer_key),
                    token.as_ref().map(|t| t.token.as_str()),
                );
                request_key(&legacy_namespace(), "GET", &url, &[], &identity)
            });
            if let (Some((cache, _)), Some(key)) = (&cache, &key) {
                match cache.get_json::<Value>(key).await {
                    Ok(Some(hit)) => {
                        tracing::debug!("cache hit");
                        return Ok(hit);
                    }
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, "legacy cache read failed"),
                }
            }
            let http_method = if options.post { "POST" } else { "GET" };
            let mut to_sign = oauth1::Request::new(http_method, &url);
            if options.post {
                to_sign = to_sign.body(FORM, form.as_bytes());
            }
            let signed = self
                .signer(token.as_ref())
                .sign(&to_sign)
                .map_err(|e| Error::InvalidInput(e.to_string()))?;
            let mut authorization = http::HeaderValue::from_str(&signed.authorization_header())
                .map_err(|_| Error::InvalidInput("an OAuth header value is not valid".into()))?;
            authorization.set_sensitive(true);
            let mut builder = Request::builder()
                .method(if options.post {
                    Method::POST
                } else {
                    Method::GET
                })
                .uri(url.as_str())
                .header("authorization", authorization);
            let body = if options.post {
                builder = builder.header("content-type", FORM);
                Bytes::from(form.clone())
            } else {
                Bytes::new()
            };
            let request = builder
                .body(Full::new(body))
                .map_err(|e| Error::InvalidInput(format!("cannot build the request: {e}")))?;
            let response = self.http.send(request).await?;
            let json = answer(&method, http_method, response)?;
            if let (Some((cache, ttl)), Some(key)) = (&cache, &key)
                && let Err(error) = cache.put_json(key, &json, Ttl::After(*ttl)).await
            {
                tracing::warn!(%error, "legacy cache write failed");
            }
            Ok(json)
        }
        .instrument(span)
        .await
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

/// The JSON of a legacy answer; `"stat": "fail"` is a [`LegacyError`].
fn answer(
    method: &str,
    http_method: &str,
    response: crate::http::RawResponse,
) -> Result<Value, Error> {
    let json: Value = serde_json::from_slice(&response.body).map_err(|_| Error::Decode {
        method: http_method.into(),
        path: method.to_owned(),
        message: format!("HTTP {} without a JSON body", response.status),
    })?;
    match json.get("stat").and_then(Value::as_str) {
        Some("ok") => Ok(json),
        _ => {
            let err = json.get("err");
            let field = |name: &str| err.and_then(|e| e.get(name));
            let clean = |text: &str| crate::answer::clean(text, &[]);
            Err(Error::Legacy(Box::new(LegacyError {
                method: method.to_owned(),
                code: field("code").and_then(|c| {
                    c.as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .or_else(|| c.as_str().and_then(|s| s.trim().parse().ok()))
                }),
                msg: field("msg").and_then(Value::as_str).map_or_else(
                    || "the call failed without an explanation".to_owned(),
                    clean,
                ),
                expl: field("expl").and_then(Value::as_str).map(clean),
                status: response.status,
            })))
        }
    }
}

fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            Some((decode(name), decode(value)))
        })
        .collect()
}
