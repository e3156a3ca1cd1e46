//! A slow network in user space: a TCP relay on loopback that holds every
//! byte for a one-way delay in each direction and lets a connection keep
//! only a window of unacknowledged bytes in flight, as TCP over a long link
//! does. It stands in for `tc netem` where the kernel has no netem (this
//! project's CI machines), so `cargo xtask bench` can measure `--parallel`
//! over a 100 ms round trip anywhere.
//!
//! A byte read from one side is written to the other `one_way` later, and
//! its room in the window comes back `2 × one_way` after it was read (when
//! the acknowledgement would arrive), so one connection moves at most
//! `window / (2 × one_way)` bytes per second each way, and every request
//! waits a full round trip for its answer. Opening a connection costs one
//! round trip too (the handshake).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;

/// The link's shape.
///
/// ```
/// let shape = sandbox::LinkShape::round_trip(std::time::Duration::from_millis(100), 4 << 20);
/// assert_eq!(shape.one_way, std::time::Duration::from_millis(50));
/// assert_eq!(shape.max_rate(), 40 << 20); // bytes per second per connection
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkShape {
    /// Delay each way.
    pub one_way: Duration,
    /// Bytes one connection may have unacknowledged, per direction.
    pub window: usize,
}

impl LinkShape {
    /// A link with this round-trip time and window.
    pub fn round_trip(rtt: Duration, window: usize) -> LinkShape {
        LinkShape {
            one_way: rtt / 2,
            window: window.max(1),
        }
    }

    /// The most one connection can move each way, in bytes per second.
    pub fn max_rate(&self) -> u64 {
        let rtt = (self.one_way * 2).as_secs_f64();
        if rtt == 0.0 {
            return u64::MAX;
        }
        (self.window as f64 / rtt) as u64
    }
}

/// A relay from a loopback port to `upstream` over a [`LinkShape`]; it
/// stops accepting when dropped (connections already open run to their end).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// let echo = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let upstream = echo.local_addr()?;
/// tokio::spawn(async move {
///     let (mut socket, _) = echo.accept().await.unwrap();
///     let mut buf = [0u8; 5];
///     socket.read_exact(&mut buf).await.unwrap();
///     socket.write_all(&buf).await.unwrap();
/// });
/// let shape = sandbox::LinkShape::round_trip(std::time::Duration::from_millis(20), 1 << 16);
/// let link = sandbox::LatencyLink::start(upstream, shape).await?;
/// let mut client = tokio::net::TcpStream::connect(link.addr()).await?;
/// client.write_all(b"hello").await?;
/// let mut answer = [0u8; 5];
/// client.read_exact(&mut answer).await?;
/// assert_eq!(&answer, b"hello");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LatencyLink {
    addr: SocketAddr,
    accepting: tokio::task::JoinHandle<()>,
}

impl LatencyLink {
    /// Listens on a free loopback port and relays each connection to
    /// `upstream`.
    pub async fn start(upstream: SocketAddr, shape: LinkShape) -> std::io::Result<LatencyLink> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream, shape));
            }
        });
        Ok(LatencyLink { addr, accepting })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for LatencyLink {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

async fn relay(client: TcpStream, upstream: SocketAddr, shape: LinkShape) {
    // The handshake crosses the link once each way.
    tokio::time::sleep(shape.one_way * 2).await;
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(
        one_direction(client_read, server_write, shape),
        one_direction(server_read, client_write, shape),
    );
}

/// What the reader hands the writer: bytes due at a time, with their room
/// in the window; `None` is the end of the stream.
type InFlight = (Instant, Option<(Vec<u8>, OwnedSemaphorePermit)>);

/// Moves bytes one way: read as the window allows, write each piece
/// `one_way` after it was read, give its room back `one_way` after that.
async fn one_direction(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, shape: LinkShape) {
    const PIECE: usize = 64 << 10;
    let window = Arc::new(Semaphore::new(shape.window));
    let (pieces, mut due) = mpsc::unbounded_channel::<InFlight>();
    let reader = async move {
        loop {
            let want = PIECE.min(shape.window);
            let Ok(mut permit) = window.clone().acquire_many_owned(want as u32).await else {
                return;
            };
            let mut buf = vec![0u8; want];
            // A failed read ends the stream like a closed one.
            let read = from.read(&mut buf).await.unwrap_or(0);
            let at = Instant::now() + shape.one_way;
            if read == 0 {
                let _ = pieces.send((at, None));
                return;
            }
            buf.truncate(read);
            // Only what was read holds room in the window.
            drop(permit.split(want - read));
            if pieces.send((at, Some((buf, permit)))).is_err() {
                return;
            }
        }
    };
    let writer = async move {
        while let Some((at, piece)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            let Some((bytes, permit)) = piece else {
                let _ = to.shutdown().await;
                return;
            };
            if to.write_all(&bytes).await.is_err() {
                return;
            }
            // The acknowledgement takes as long to come back.
            tokio::spawn(async move {
                tokio::time::sleep_until(at + shape.one_way).await;
                drop(permit);
            });
        }
    };
    tokio::join!(reader, writer);
}
