//! The HTTP layer of API calls: a pooled hyper client on the tus crate's
//! connector (rustls with verification always on, HTTP proxies), one timeout
//! per exchange, bodies read whole (API answers are small; uploads go through
//! `tus`).

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use tus::Connector;
use tus::net::ProxyRefused;

use crate::error::Error;

/// The largest API answer read (a page of 100 full video objects is ~1 MiB).
const MAX_BODY: usize = 32 << 20;

#[derive(Clone)]
pub(crate) struct Http {
    client: HyperClient<Connector, Full<Bytes>>,
    connector: Connector,
    timeout: Duration,
}

/// An answer, read whole.
#[derive(Debug, Clone)]
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Http {
    pub(crate) fn new(connector: Connector, timeout: Duration) -> Http {
        let client = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector.clone());
        Http {
            client,
            connector,
            timeout,
        }
    }

    /// The timeout of one exchange.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `request` and reads the answer, all within the timeout.
    pub(crate) async fn send(
        &self,
        mut request: Request<Full<Bytes>>,
    ) -> Result<RawResponse, Error> {
        let method = request.method().to_string();
        let url = redact(request.uri());
        // For the proxy of a plain-HTTP request only; the target never sees them.
        let uri = request.uri().clone();
        self.connector
            .add_proxy_headers(&uri, request.headers_mut());
        let exchange = async {
            let response = self.client.request(request).await.map_err(|error| {
                if let Some(refused) = ProxyRefused::find(&error) {
                    return Error::from(refused.to_error());
                }
                match certificate_failure(&error) {
                    Some(message) => Error::Tls(message),
                    None => Error::Transport {
                        method: method.clone(),
                        url: url.clone(),
                        message: error_chain(&error),
                    },
                }
            })?;
            if response.status() == http::StatusCode::PROXY_AUTHENTICATION_REQUIRED
                && let Some(proxy) = self.connector.proxy_for(&uri)
            {
                return Err(Error::from(tus::Error::ProxyAuth { proxy }));
            }
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_BODY)
                .collect()
                .await
                .map_err(|error| {
                    // Over the cap is the answer itself, not the network: final.
                    if error
                        .downcast_ref::<http_body_util::LengthLimitError>()
                        .is_some()
                    {
                        Error::ResponseTooLarge {
                            method: method.clone(),
                            url: url.clone(),
                            limit: MAX_BODY as u64,
                        }
                    } else {
                        Error::Transport {
                            method: method.clone(),
                            url: url.clone(),
                            message: format!("reading the answer: {error}"),
                        }
                    }
                })?
                .to_bytes();
            Ok(RawResponse {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body,
            })
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout {
                method,
                url,
                after: self.timeout,
            }),
        }
    }
}

/// A URL fit for errors and logs: scheme, host, port and path only.
pub(crate) fn redact(uri: &http::Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    let host = uri.host().unwrap_or("");
    let port = uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
    format!("{scheme}://{host}{port}{}", uri.path())
}

fn certificate_failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut pending: Vec<&(dyn std::error::Error + 'static)> = vec![error];
    while let Some(current) = pending.pop() {
        if let Some(rustls::Error::InvalidCertificate(reason)) =
            current.downcast_ref::<rustls::Error>()
        {
            return Some(format!("the server's certificate was rejected: {reason:?}"));
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
    None
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    message
}
