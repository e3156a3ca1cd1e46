//! [`ClientBuilder`]: headers, retries, stall timeout, request hook, and
//! the connector's settings (connect timeout, roots, proxies).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;

use super::{Client, Inner, RequestHook};
use crate::core::retry::RetryPolicy;
use crate::error::Error;
use crate::net::{Connector, ConnectorBuilder};

/// Configures a [`Client`].
#[must_use]
pub struct ClientBuilder {
    headers: HeaderMap,
    retry: RetryPolicy,
    stall_timeout: Duration,
    hook: Option<RequestHook>,
    connector: ConnectorBuilder,
    preset: Option<Connector>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    pub(super) fn new() -> ClientBuilder {
        ClientBuilder {
            headers: HeaderMap::new(),
            retry: RetryPolicy::default(),
            stall_timeout: Duration::from_secs(30),
            hook: None,
            connector: ConnectorBuilder::default(),
            preset: None,
        }
    }

    /// A header sent with every request (e.g. an API key). Its value is marked
    /// sensitive so hyper never logs it.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, Error> {
        let invalid = || Error::InvalidHeader {
            name: name.to_owned(),
        };
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let mut value = HeaderValue::from_str(value).map_err(|_| invalid())?;
        let name = header;
        value.set_sensitive(true);
        self.headers.append(name, value);
        Ok(self)
    }

    /// The retry policy (default: [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How long a request may make no progress (no byte sent, no answer) before
    /// it is abandoned and retried. Default 30 s.
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.stall_timeout = timeout;
        self
    }

    /// TCP connect timeout (to the server or the proxy). Default 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connector = self.connector.connect_timeout(timeout);
        self
    }

    /// Called on every request just before it is sent (to add auth, say).
    pub fn request_hook(
        mut self,
        hook: impl Fn(&mut http::request::Parts) + Send + Sync + 'static,
    ) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// Trusts one more certificate authority (DER), on top of the Mozilla roots.
    /// Verification itself can never be turned off.
    pub fn add_root_certificate(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.connector = self.connector.add_root_certificate(der);
        self
    }

    /// Sends every request through this `http://` proxy instead of the
    /// environment's (see [`ConnectorBuilder::proxy`] for the rules;
    /// `http://user:password@host:port` authenticates to the proxy).
    ///
    /// ```
    /// let client = tus::Client::builder()
    ///     .proxy("http://proxy.internal:3128")
    ///     .no_proxy("localhost, .internal")
    ///     .build()?;
    /// # let _ = client;
    /// # Ok::<(), tus::Error>(())
    /// ```
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.connector = self.connector.proxy(url);
        self
    }

    /// Hosts reached directly, in `NO_PROXY` syntax, instead of the
    /// environment's `NO_PROXY` (see [`ConnectorBuilder::no_proxy`]).
    pub fn no_proxy(mut self, hosts: impl Into<String>) -> Self {
        self.connector = self.connector.no_proxy(hosts);
        self
    }

    /// Whether `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` are read
    /// from the environment (default true; see [`ConnectorBuilder`]).
    pub fn proxy_env(mut self, read: bool) -> Self {
        self.connector = self.connector.proxy_env(read);
        self
    }

    /// Uses this connector (shared with another client, say) instead of one
    /// built from this builder's connect timeout, roots and proxy settings.
    pub fn connector(mut self, connector: Connector) -> Self {
        self.preset = Some(connector);
        self
    }

    /// Builds the client (reading proxy variables from the environment now,
    /// unless turned off).
    pub fn build(self) -> Result<Client, Error> {
        let connector = match self.preset {
            Some(connector) => connector,
            None => self.connector.build()?,
        };
        let http = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector.clone());
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                connector,
                headers: self.headers,
                retry: self.retry,
                stall_timeout: self.stall_timeout,
                hook: self.hook,
            }),
        })
    }
}
