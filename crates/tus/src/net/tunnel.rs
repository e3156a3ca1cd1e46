//! The `CONNECT` step for HTTPS targets behind a proxy: hyper-util's
//! [`Tunnel`] over a connection that records the start of the proxy's answer,
//! because hyper-util reports a refused tunnel without its status, and a 407
//! (credentials), a 403 (policy) and a 502 (target unreachable) call for
//! different errors.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Intercept;
use tokio::net::TcpStream;
use tower_service::Service;

use super::Connecting;
use crate::error::{BoxError, Error};

/// Opens a TCP connection to `proxy` and a tunnel through it to `target`;
/// `name` (`host:port`) names the proxy in errors.
pub(super) async fn open(
    http: HttpConnector,
    proxy: &Intercept,
    target: Uri,
    name: String,
) -> Result<TcpStream, BoxError> {
    let head = Arc::new(Mutex::new(Vec::new()));
    let recording = RecordingDialer {
        http,
        head: Arc::clone(&head),
    };
    let mut tunnel = Tunnel::new(proxy.uri().clone(), recording);
    if let Some(auth) = proxy.basic_auth() {
        tunnel = tunnel.with_auth(auth.clone());
    }
    match tunnel.call(target).await {
        Ok(recorder) => Ok(recorder.tcp),
        Err(error) => {
            let status = head.lock().ok().and_then(|head| status_of(&head));
            Err(tunnel_failure(name, status, error))
        }
    }
}

/// The status code at the start of an HTTP answer (`HTTP/1.1 407 ...`).
fn status_of(head: &[u8]) -> Option<u16> {
    let rest = head.strip_prefix(b"HTTP/1.")?.get(2..5)?;
    std::str::from_utf8(rest).ok()?.parse().ok()
}

fn tunnel_failure(
    proxy: String,
    status: Option<u16>,
    error: impl StdError + Send + Sync + 'static,
) -> BoxError {
    match status {
        // No tunnel was made, so nothing reached the target: a refusal.
        Some(status @ 400..=499) => Box::new(ProxyRefused { proxy, status }),
        _ => Box::new(ThroughProxy {
            proxy,
            source: Box::new(error),
        }),
    }
}

/// The proxy answered a `CONNECT` with a 4xx status: 407 (or tinyproxy's 401)
/// when it wants credentials or rejected them, 403 when its rules forbid the
/// target. Found in the source chain of a failed request; the clients turn it
/// into [`Error::ProxyAuth`] or [`Error::ProxyRefused`]. (A 5xx — the proxy
/// could not reach the target — stays a connection failure, which is retried.)
#[derive(Debug)]
pub struct ProxyRefused {
    proxy: String,
    status: u16,
}

impl ProxyRefused {
    /// The proxy, as `host:port`.
    pub fn proxy(&self) -> &str {
        &self.proxy
    }

    /// The status of the proxy's answer to `CONNECT`.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the proxy wants (other) credentials: 407, or 401 as tinyproxy
    /// answers wrong ones.
    pub fn wants_credentials(&self) -> bool {
        matches!(self.status, 401 | 407)
    }

    /// The error this refusal is: [`Error::ProxyAuth`] or [`Error::ProxyRefused`].
    pub fn to_error(&self) -> Error {
        if self.wants_credentials() {
            Error::ProxyAuth {
                proxy: self.proxy.clone(),
            }
        } else {
            Error::ProxyRefused {
                proxy: self.proxy.clone(),
                status: self.status,
            }
        }
    }

    /// The first `ProxyRefused` in `error`'s source chain (looking inside
    /// `io::Error`s, whose `source()` skips their payload).
    pub fn find<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a ProxyRefused> {
        let mut pending: Vec<&'a (dyn StdError + 'static)> = vec![error];
        while let Some(current) = pending.pop() {
            if let Some(found) = current.downcast_ref::<ProxyRefused>() {
                return Some(found);
            }
            if let Some(inner) = current
                .downcast_ref::<io::Error>()
                .and_then(io::Error::get_ref)
            {
                pending.push(inner);
            }
            if let Some(next) = current.source() {
                pending.push(next);
            }
        }
        None
    }
}

impl fmt::Display for ProxyRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the proxy {} refused the tunnel with {}",
            self.proxy, self.status
        )
    }
}

impl StdError for ProxyRefused {}

/// A connection through a proxy failed; says which proxy.
#[derive(Debug)]
pub(super) struct ThroughProxy {
    pub(super) proxy: String,
    pub(super) source: BoxError,
}

impl fmt::Display for ThroughProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "through the proxy {}", self.proxy)
    }
}

impl StdError for ThroughProxy {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

/// The TCP step of a tunnel: a connection to the proxy that records the
/// first bytes it reads (the answer to `CONNECT`).
struct RecordingDialer {
    http: HttpConnector,
    head: Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Service<Uri> for RecordingDialer {
    type Response = Recorder;
    type Error = BoxError;
    type Future = Connecting<Recorder>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, proxy: Uri) -> Self::Future {
        let connecting = self.http.call(proxy);
        let head = Arc::clone(&self.head);
        Box::pin(async move {
            let io = connecting.await?;
            Ok(Recorder {
                tcp: io.into_inner(),
                head,
            })
        })
    }
}

/// How much of a `CONNECT` answer is kept: enough for its status line.
const HEAD_KEPT: usize = 64;

/// A proxy connection during the `CONNECT` handshake (only then: once the
/// tunnel stands, the stream is unwrapped and nothing is recorded).
struct Recorder {
    tcp: TcpStream,
    head: Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Read for Recorder {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let mut local = [0u8; 1024];
        let want = buf.remaining().min(local.len());
        let mut read = tokio::io::ReadBuf::new(&mut local[..want]);
        std::task::ready!(tokio::io::AsyncRead::poll_read(
            Pin::new(&mut this.tcp),
            cx,
            &mut read
        ))?;
        let got = read.filled();
        if let Ok(mut head) = this.head.lock() {
            let room = HEAD_KEPT.saturating_sub(head.len()).min(got.len());
            head.extend_from_slice(&got[..room]);
        }
        buf.put_slice(got);
        Poll::Ready(Ok(()))
    }
}

impl Write for Recorder {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write(Pin::new(&mut self.get_mut().tcp), cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_flush(Pin::new(&mut self.get_mut().tcp), cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_shutdown(Pin::new(&mut self.get_mut().tcp), cx)
    }
}

#[cfg(test)]
mod tests {
    use super::status_of;

    #[test]
    fn the_status_of_a_connect_answer_is_read_from_its_first_line() {
        assert_eq!(
            status_of(b"HTTP/1.1 407 Proxy Authentication Required\r\n"),
            Some(407)
        );
        assert_eq!(status_of(b"HTTP/1.0 401 Unauthorized"), Some(401));
        assert_eq!(status_of(b"HTTP/1.1 200"), Some(200));
        assert_eq!(status_of(b"HTTP/1.1 20"), None);
        assert_eq!(status_of(b"SSH-2.0-OpenSSH"), None);
        assert_eq!(status_of(b""), None);
    }
}
