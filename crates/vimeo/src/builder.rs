//! [`ClientBuilder`]: everything a [`VimeoClient`] is configured with,
//! checked in `build()`; and the API [`Origin`], the only place the bearer
//! token goes.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use cache::Cache;
use http::{HeaderValue, Uri};

use crate::auth::{AccessToken, AppCredentials};
use crate::client::VimeoClient;
use crate::client::{Inner, RequestCache};
use crate::error::Error;
use crate::http::Http;
use crate::request::{DEFAULT_API_URL, RateLimitPolicy};
use crate::request_cache::CachePolicy;

/// A token-refresh callback (see [`ClientBuilder::on_unauthorized`]).
pub type RefreshFn = Arc<dyn Fn() -> tus::BoxFuture<'static, Option<AccessToken>> + Send + Sync>;

/// The API origin: bearer tokens go here and nowhere else.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub(crate) scheme: String,
    pub(crate) authority: String,
    /// Base path without trailing slash (usually empty).
    pub(crate) path: String,
    /// The host is this machine (`localhost`, 127.0.0.0/8, `::1`), and so
    /// is the proxy in between, if any: plain HTTP never leaves the machine.
    pub(crate) loopback: bool,
    /// The proxy (`host:port`) API calls go through, if any.
    pub(crate) proxy: Option<String>,
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
    pub(crate) fn parse(url: &str) -> Result<Origin, Error> {
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
            proxy: None,
            authority: authority.as_str().to_ascii_lowercase(),
            path: uri.path().trim_end_matches('/').to_owned(),
        })
    }

    pub(crate) fn url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.path)
    }

    /// Whether `uri` is on this origin (same scheme, host and port).
    pub(crate) fn owns(&self, uri: &Uri) -> bool {
        uri.scheme_str() == Some(self.scheme.as_str())
            && uri
                .authority()
                .is_some_and(|a| a.as_str().eq_ignore_ascii_case(&self.authority))
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
    upload_stall_timeout: Duration,
    rate_limit: RateLimitPolicy,
    retry: tus::RetryPolicy,
    cache: Option<(Arc<dyn Cache>, CachePolicy)>,
    resume: Option<Arc<dyn Cache>>,
    chunk_size: u64,
    connector: tus::ConnectorBuilder,
    allow_insecure_http: bool,
    on_unauthorized: Option<RefreshFn>,
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
            upload_stall_timeout: Duration::from_secs(60),
            rate_limit: RateLimitPolicy::default(),
            retry: tus::RetryPolicy::default(),
            cache: None,
            resume: None,
            chunk_size: 128 << 20,
            connector: tus::ConnectorBuilder::default(),
            allow_insecure_http: false,
            on_unauthorized: None,
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
        self.connector = self.connector.connect_timeout(timeout);
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

    /// An async callback for a fresh OAuth 2 token when the API answers 401
    /// (an expired or revoked token): with `Some(token)` the client uses it
    /// from then on and sends the refused call once more; with `None` the
    /// 401 is returned. Bounded by the call timeout.
    ///
    /// ```
    /// let client = vimeo::VimeoClient::builder()
    ///     .token("short-lived")
    ///     .on_unauthorized(|| Box::pin(async {
    ///         // ask the app's backend for a new token
    ///         Some(vimeo::AccessToken::from("renewed"))
    ///     }))
    ///     .build()?;
    /// # let _ = client;
    /// # Ok::<(), vimeo::Error>(())
    /// ```
    pub fn on_unauthorized(
        mut self,
        refresh: impl Fn() -> tus::BoxFuture<'static, Option<AccessToken>> + Send + Sync + 'static,
    ) -> Self {
        self.on_unauthorized = Some(Arc::new(refresh));
        self
    }

    /// Trusts one more root certificate (DER), for API and upload hosts.
    pub fn add_root_certificate(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.connector = self.connector.add_root_certificate(der);
        self
    }

    /// Sends API calls and uploads through this `http://` proxy instead of the
    /// environment's `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` (which are read by
    /// default; the rules are [`tus::ConnectorBuilder`]'s). HTTPS goes through
    /// a `CONNECT` tunnel, so the proxy never sees the token or the upload
    /// link; `http://user:password@host:port` authenticates to the proxy.
    ///
    /// ```
    /// let client = vimeo::VimeoClient::builder()
    ///     .token("your-access-token")
    ///     .proxy("http://proxy.internal:3128")
    ///     .build()?;
    /// # let _ = client;
    /// # Ok::<(), vimeo::Error>(())
    /// ```
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.connector = self.connector.proxy(url);
        self
    }

    /// Hosts reached directly, in `NO_PROXY` syntax, instead of the
    /// environment's `NO_PROXY`.
    pub fn no_proxy(mut self, hosts: impl Into<String>) -> Self {
        self.connector = self.connector.no_proxy(hosts);
        self
    }

    /// Whether proxy variables are read from the environment (default true).
    pub fn proxy_env(mut self, read: bool) -> Self {
        self.connector = self.connector.proxy_env(read);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<VimeoClient, Error> {
        let mut origin = Origin::parse(&self.api_url)?;
        let user_agent = HeaderValue::from_str(&self.user_agent).map_err(|_| {
            Error::InvalidInput("the user agent is not a valid header value".into())
        })?;
        // One connector (TLS roots, proxies) for the API and the upload links.
        let connector = self.connector.build()?;
        if let Ok(uri) = origin.url().parse::<Uri>() {
            origin.proxy = connector.proxy_for(&uri);
        }
        if let Some(proxy) = &origin.proxy {
            // A loopback API behind a proxy on another machine is not local.
            let host = proxy
                .rsplit_once(':')
                .map_or(proxy.as_str(), |(host, _)| host);
            origin.loopback &= is_loopback(host);
        }
        let http = Http::new(connector.clone(), self.timeout);
        // The upload client is separate and carries no credentials: upload links
        // are their own credential, and the bearer token must never reach them.
        let tus = tus::Client::builder()
            .retry_policy(self.retry.clone())
            .stall_timeout(self.upload_stall_timeout)
            .connector(connector);
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
                on_unauthorized: self.on_unauthorized,
            }),
        })
    }
}
