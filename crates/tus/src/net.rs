//! How requests reach servers: TCP with a connect timeout, TLS through rustls
//! (verification always on), and HTTP proxies. The tus [`Client`](crate::Client)
//! and the Vimeo facade share this one connector.
//!
//! Proxies: plain-HTTP targets are sent to the proxy in absolute form (the
//! proxy sees the request); HTTPS targets go through a `CONNECT` tunnel and TLS
//! runs end to end with the target, whose certificate is verified as on a
//! direct connection (the proxy sees only the host and port). Credentials in
//! the proxy URL's userinfo become a `Proxy-Authorization: Basic` header sent
//! to the proxy only: on the `CONNECT`, or on each absolute-form request (see
//! [`Connector::add_proxy_headers`]). hyper-util's proxy matcher and tunnel
//! connector do the matching and the `CONNECT`.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, Uri};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use crate::core::proxy::{ProxySettings, resolve};
use crate::error::{BoxError, Error};

mod tunnel;
pub use tunnel::ProxyRefused;
use tunnel::ThroughProxy;

/// Configures a [`Connector`]: connect timeout, extra root certificates and
/// proxies.
///
/// By default proxies come from the environment, read as curl reads it:
/// `HTTP_PROXY` for `http://` targets, `HTTPS_PROXY` for `https://` targets,
/// `ALL_PROXY` for both when the specific one is unset (each also in lower
/// case; upper case wins; an empty value is unset; under CGI, where
/// `REQUEST_METHOD` is set, upper-case `HTTP_PROXY` is ignored), and `NO_PROXY`
/// for hosts reached directly: comma-separated domains (`example.com` also
/// matches its subdomains, a leading dot is the same), IP addresses, CIDR
/// networks (`10.0.0.0/8`), or `*` for every host. Only `http://` proxies are
/// supported; any other kind is an error from [`build`](Self::build) rather
/// than a silent direct connection.
///
/// ```
/// let connector = tus::Connector::builder()
///     .proxy("http://user:secret@proxy.internal:3128")
///     .no_proxy("localhost, 10.0.0.0/8")
///     .build()?;
/// let client = tus::Client::builder().connector(connector).build()?;
/// # let _ = client;
/// # Ok::<(), tus::Error>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct ConnectorBuilder {
    connect_timeout: Duration,
    extra_roots: Vec<Vec<u8>>,
    proxy: ProxySettings,
}

impl Default for ConnectorBuilder {
    fn default() -> Self {
        ConnectorBuilder {
            connect_timeout: Duration::from_secs(10),
            extra_roots: Vec::new(),
            proxy: ProxySettings::default(),
        }
    }
}

impl ConnectorBuilder {
    /// TCP connect timeout (to the server, or to the proxy). Default 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Trusts one more certificate authority (DER), on top of the Mozilla
    /// roots. Verification itself can never be turned off.
    pub fn add_root_certificate(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.extra_roots.push(der.into());
        self
    }

    /// Sends every request through this `http://` proxy, in place of the
    /// environment's `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY` (the environment's
    /// `NO_PROXY` still applies unless [`no_proxy`](Self::no_proxy) is set, as
    /// with curl's `--proxy`). `http://user:password@host:port` authenticates
    /// to the proxy; percent-encode `@`, `:` and `%` in them.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy.url = Some(url.into());
        self
    }

    /// Hosts reached directly, in `NO_PROXY` syntax, in place of the
    /// environment's `NO_PROXY`. An empty list proxies every host.
    pub fn no_proxy(mut self, hosts: impl Into<String>) -> Self {
        self.proxy.no_proxy = Some(hosts.into());
        self
    }

    /// Whether proxy variables are read from the environment (default true).
    /// With `false` and no [`proxy`](Self::proxy), every connection is direct.
    pub fn proxy_env(mut self, read: bool) -> Self {
        self.proxy.env = read;
        self
    }

    /// Builds the connector, reading the environment now (not per request).
    pub fn build(self) -> Result<Connector, Error> {
        let routes = resolve(&self.proxy, &|name| std::env::var(name).ok())?.map(Arc::new);
        tracing::debug!(proxy = ?self.proxy, proxied = routes.is_some(), "connector settings");
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(self.connect_timeout));
        let dialer = Dialer {
            http,
            routes: routes.clone(),
        };
        Ok(Connector {
            inner: tls(dialer, self.extra_roots)?,
            routes,
        })
    }
}

#[cfg(feature = "rustls")]
type Inner = hyper_rustls::HttpsConnector<Dialer>;
#[cfg(not(feature = "rustls"))]
type Inner = Dialer;

/// What a [`Connector`] connects: a TCP stream, wrapped in TLS for `https://`.
#[cfg(feature = "rustls")]
pub type Io = hyper_rustls::MaybeHttpsStream<Stream>;
/// What a [`Connector`] connects: a TCP stream.
#[cfg(not(feature = "rustls"))]
pub type Io = Stream;

#[cfg(feature = "rustls")]
fn tls(dialer: Dialer, extra_roots: Vec<Vec<u8>>) -> Result<Inner, Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for der in extra_roots {
        roots
            .add(rustls::pki_types::CertificateDer::from(der))
            .map_err(|e| Error::Tls {
                context: "bad root certificate",
                source: Box::new(e),
            })?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::Tls {
        context: "TLS setup failed",
        source: Box::new(e),
    })?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .wrap_connector(dialer))
}

#[cfg(not(feature = "rustls"))]
fn tls(dialer: Dialer, extra_roots: Vec<Vec<u8>>) -> Result<Inner, Error> {
    if !extra_roots.is_empty() {
        return Err(Error::Tls {
            context: "built without the `rustls` feature",
            source: "no TLS support".into(),
        });
    }
    Ok(dialer)
}

/// Opens connections for hyper's client: directly, or through the proxy the
/// settings choose for each target. Cheap to clone.
///
/// Build one with [`Connector::builder`]; hand it to
/// [`ClientBuilder::connector`](crate::ClientBuilder::connector), or to your own
/// `hyper_util` client (then call [`add_proxy_headers`](Self::add_proxy_headers)
/// on each request yourself).
///
/// ```
/// let connector = tus::Connector::builder().proxy_env(false).build()?;
/// let target: http::Uri = "http://127.0.0.1:1080/files/".parse().unwrap();
/// assert_eq!(connector.proxy_for(&target), None);
/// # Ok::<(), tus::Error>(())
/// ```
#[derive(Clone)]
pub struct Connector {
    inner: Inner,
    routes: Option<Arc<Matcher>>,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("proxied", &self.routes.is_some())
            .finish_non_exhaustive()
    }
}

impl Connector {
    /// Starts configuring a connector (see [`ConnectorBuilder`]).
    pub fn builder() -> ConnectorBuilder {
        ConnectorBuilder::default()
    }

    /// The proxy (`host:port`) a request to `target` goes through, or `None`
    /// when it goes directly.
    pub fn proxy_for(&self, target: &Uri) -> Option<String> {
        self.intercept(target)
            .and_then(|proxy| proxy.uri().authority().map(ToString::to_string))
    }

    /// Adds what a request to `target` must carry for its proxy, if it goes
    /// through one as a plain-HTTP request: `Proxy-Authorization` when the
    /// proxy URL has credentials (marked sensitive), and `Connection: close`,
    /// because forward proxies such as tinyproxy close the connection after
    /// each answer without saying so, and a request sent on such a connection
    /// fails (a `POST` that cannot safely be repeated). HTTPS requests get
    /// nothing: the tunnel's `CONNECT` carried the credentials, and the
    /// target never sees them.
    ///
    /// ```
    /// let connector = tus::Connector::builder()
    ///     .proxy("http://me:secret@127.0.0.1:3128")
    ///     .no_proxy("")
    ///     .build()?;
    /// let mut headers = http::HeaderMap::new();
    /// connector.add_proxy_headers(&"http://example.com/".parse().unwrap(), &mut headers);
    /// assert!(headers.contains_key(http::header::PROXY_AUTHORIZATION));
    /// let mut tunnelled = http::HeaderMap::new();
    /// connector.add_proxy_headers(&"https://example.com/".parse().unwrap(), &mut tunnelled);
    /// assert!(tunnelled.is_empty());
    /// # Ok::<(), tus::Error>(())
    /// ```
    pub fn add_proxy_headers(&self, target: &Uri, headers: &mut http::HeaderMap) {
        if target.scheme() != Some(&http::uri::Scheme::HTTP) {
            return;
        }
        let Some(proxy) = self.intercept(target) else {
            return;
        };
        if let Some(auth) = proxy.basic_auth() {
            headers.insert(http::header::PROXY_AUTHORIZATION, auth.clone());
        }
        headers.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }

    fn intercept(&self, target: &Uri) -> Option<Intercept> {
        self.routes.as_ref()?.intercept(target)
    }
}

type Connecting<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

impl Service<Uri> for Connector {
    type Response = Io;
    type Error = BoxError;
    type Future = Connecting<Io>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, target: Uri) -> Self::Future {
        let connecting = self.inner.call(target);
        Box::pin(connecting)
    }
}

/// The TCP step: to the target, or to its proxy (and through a `CONNECT`
/// tunnel when the target is HTTPS).
#[derive(Clone)]
pub(crate) struct Dialer {
    http: HttpConnector,
    routes: Option<Arc<Matcher>>,
}

impl Service<Uri> for Dialer {
    type Response = Stream;
    type Error = BoxError;
    type Future = Connecting<Stream>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, target: Uri) -> Self::Future {
        let proxy = self.routes.as_ref().and_then(|m| m.intercept(&target));
        let mut http = self.http.clone();
        Box::pin(async move {
            let Some(proxy) = proxy else {
                let io = http.call(target).await?;
                return Ok(Stream {
                    io,
                    via_proxy: false,
                });
            };
            let name = proxy
                .uri()
                .authority()
                .map(ToString::to_string)
                .unwrap_or_default();
            if target.scheme() == Some(&http::uri::Scheme::HTTPS) {
                let tcp = tunnel::open(http, &proxy, target, name).await?;
                Ok(Stream {
                    io: TokioIo::new(tcp),
                    via_proxy: false,
                })
            } else {
                let io = http
                    .call(proxy.uri().clone())
                    .await
                    .map_err(|error| -> BoxError {
                        Box::new(ThroughProxy {
                            proxy: name,
                            source: Box::new(error),
                        })
                    })?;
                Ok(Stream {
                    io,
                    via_proxy: true,
                })
            }
        })
    }
}

/// A TCP connection, to the target or to a proxy that forwards plain-HTTP
/// requests (which hyper then writes in absolute form).
#[derive(Debug)]
pub struct Stream {
    io: TokioIo<TcpStream>,
    via_proxy: bool,
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.via_proxy)
    }
}

impl Read for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl Write for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
}
