//! The `Cache` trait every backend implements (ours and users').

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;

use crate::error::Error;
use crate::key::{Key, Namespace};

/// How long an entry lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Ttl {
    /// The backend's default TTL (which may be "never").
    #[default]
    Default,
    /// This long from now.
    After(Duration),
    /// Until removed or evicted.
    Never,
}

impl Ttl {
    /// The absolute expiry for a put at `now_ms`, given the backend's default.
    pub(crate) fn expires_at(self, now_ms: u64, default: Option<Duration>) -> Option<u64> {
        let ttl = match self {
            Ttl::Default => default,
            Ttl::After(ttl) => Some(ttl),
            Ttl::Never => None,
        };
        ttl.map(|ttl| now_ms.saturating_add(ttl.as_millis() as u64))
    }
}

/// The future a [`Cache`] method returns: ready at once for in-process
/// backends (no allocation), boxed for backends that do I/O.
pub struct CacheFuture<'a, T>(Inner<'a, T>);

enum Inner<'a, T> {
    Ready(Option<Result<T, Error>>),
    Boxed(Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>),
}

impl<'a, T> CacheFuture<'a, T> {
    /// A future that is already complete.
    pub fn ready(result: Result<T, Error>) -> Self {
        CacheFuture(Inner::Ready(Some(result)))
    }

    /// Wraps a future.
    pub fn boxed(future: impl Future<Output = Result<T, Error>> + Send + 'a) -> Self {
        CacheFuture(Inner::Boxed(Box::pin(future)))
    }
}

impl<T: Unpin> Future for CacheFuture<'_, T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().0 {
            Inner::Ready(result) => match result.take() {
                Some(result) => Poll::Ready(result),
                None => Poll::Pending, // polled after completion: never resolves again
            },
            Inner::Boxed(future) => future.as_mut().poll(cx),
        }
    }
}

impl<T> fmt::Debug for CacheFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Inner::Ready(_) => "CacheFuture(ready)",
            Inner::Boxed(_) => "CacheFuture(boxed)",
        })
    }
}

/// A byte cache with expiry.
///
/// Object-safe on purpose: the facade holds an `Arc<dyn Cache>` chosen at run
/// time (memory in tests, Redis in production), and users plug in their own
/// backend the same way. The price is one boxed future per call for backends
/// that do I/O; in-process backends return [`CacheFuture::ready`] and allocate
/// nothing. (A generic trait with `async fn` would not be object-safe.)
///
/// Contract, checked by the shared conformance suite for every backend: an
/// expired entry is never returned; `put` replaces; `clear` affects one
/// namespace only; values are opaque bytes of any length, including empty.
pub trait Cache: Send + Sync + fmt::Debug {
    /// The value for `key`, unless absent or expired.
    fn get<'a>(&'a self, key: &'a Key) -> CacheFuture<'a, Option<Bytes>>;
    /// Stores `value` under `key`, replacing any previous value.
    fn put<'a>(&'a self, key: &'a Key, value: Bytes, ttl: Ttl) -> CacheFuture<'a, ()>;
    /// Removes `key`; returns whether it was present (and not expired).
    fn remove<'a>(&'a self, key: &'a Key) -> CacheFuture<'a, bool>;
    /// Removes every entry of `namespace`.
    fn clear<'a>(&'a self, namespace: &'a Namespace) -> CacheFuture<'a, ()>;
    /// Removes expired entries; returns how many were removed (backends that
    /// expire by themselves, such as Redis, may return 0).
    fn purge_expired(&self) -> CacheFuture<'_, u64>;
}
