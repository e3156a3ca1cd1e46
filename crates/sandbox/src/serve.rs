//! The accept loop shared by the sandbox's servers: HTTP/1.1 on a bound
//! listener, one task per connection, until the returned task is aborted.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// Serves `handler` on `listener`, counting the connections open in
/// `connections_open`. Connections are dropped with the task: aborting the returned
/// handle drops the `JoinSet`, which aborts them.
pub(crate) fn spawn<H, F, E>(
    listener: TcpListener,
    connections_open: Arc<AtomicUsize>,
    handler: H,
) -> JoinHandle<()>
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response<Full<Bytes>>, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let handler = handler.clone();
            let open = Counted::new(&connections_open);
            connections.spawn(async move {
                let _open = open;
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(handler))
                    .await;
            });
            while connections.try_join_next().is_some() {}
        }
    })
}

/// One more in a count while it lives (a connection open, a request being
/// handled); dropped, or aborted with its task, one less.
pub(crate) struct Counted(Arc<AtomicUsize>);

impl Counted {
    pub(crate) fn new(count: &Arc<AtomicUsize>) -> Counted {
        count.fetch_add(1, Ordering::SeqCst);
        Counted(count.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
