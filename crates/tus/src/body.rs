//! The streaming request body: reads the source in small blocks, so memory stays
//! flat whatever the chunk size.

use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use http::HeaderValue;
use http_body_util::BodyExt as _;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead as _, AsyncReadExt as _, AsyncSeekExt as _, ReadBuf};
use tokio::sync::OwnedMutexGuard;

use crate::client::source_failure;
use crate::core::checksum::ChecksumAlgorithm;
use crate::error::Error;
use crate::positional::BlockReader;
use crate::source::{ReadSeek, Source};

/// Bytes read from the source per body frame. hyper stops polling the body while
/// its write buffer is full, so at most a few blocks are in memory at once.
pub(crate) const BLOCK: usize = 256 * 1024;

/// Counters shared between a streaming body and the driver.
#[derive(Debug, Default)]
pub(crate) struct Meter {
    /// Bytes handed to hyper so far.
    pub(crate) sent: AtomicU64,
    /// Set when reading the source failed (as opposed to the network).
    pub(crate) source_error: Mutex<Option<io::Error>>,
}

/// A request body: nothing, or `remaining` bytes streamed from the source.
pub(crate) enum RequestBody {
    Empty,
    Stream(StreamBody),
    /// Bytes already in memory (a buffered chunk of a stream of unknown length).
    Bytes(Option<Bytes>, Arc<Meter>),
}

/// The source, lent to one request body. The driver takes it back with
/// [`Lease::revoke`] as soon as it stops waiting for the request, so an
/// abandoned body that the server stopped reading (hyper keeps it in the dead
/// connection's task) never holds the source from the next attempt.
#[derive(Default)]
pub(crate) struct Lease {
    reader: Mutex<Option<OwnedMutexGuard<Box<dyn ReadSeek>>>>,
}

impl Lease {
    pub(crate) fn new(reader: OwnedMutexGuard<Box<dyn ReadSeek>>) -> Arc<Lease> {
        Arc::new(Lease {
            reader: Mutex::new(Some(reader)),
        })
    }

    /// Gives the source back; the body fails if it is ever polled again.
    pub(crate) fn revoke(&self) {
        drop(self.reader.lock().unwrap_or_else(|e| e.into_inner()).take());
    }
}

/// The driver's hold on a lent source: revokes the lease when dropped, so
/// the source comes back however the driver stops waiting — an answer, an
/// error, or its future dropped mid-request (then the body, which hyper may
/// still be polling, fails at its next block and the request ends).
pub(crate) struct LeaseHold(pub(crate) Arc<Lease>);

impl Drop for LeaseHold {
    fn drop(&mut self) {
        self.0.revoke();
    }
}

pub(crate) struct StreamBody {
    lease: Arc<Lease>,
    /// Positional reads of a file source (instead of the leased reader).
    blocks: Option<BlockReader>,
    remaining: u64,
    meter: Arc<Meter>,
    on_bytes: Option<Arc<dyn Fn(u64) + Send + Sync>>,
}

impl StreamBody {
    /// The chunk of `len` bytes at `offset`: read by position from a file
    /// source, else from the leased reader, which must already be positioned
    /// at `offset`.
    pub(crate) fn new(
        source: &Source,
        lease: Arc<Lease>,
        (offset, len): (u64, u64),
        meter: Arc<Meter>,
        on_bytes: Option<Arc<dyn Fn(u64) + Send + Sync>>,
    ) -> Self {
        StreamBody {
            lease,
            blocks: (source.positional.clone())
                .map(|(file, base)| BlockReader::new(file, base + offset, len, BLOCK)),
            remaining: len,
            meter,
            on_bytes,
        }
    }

    /// Counts a block read from the source and makes it a frame.
    fn sent(&mut self, block: Bytes) -> Frame<Bytes> {
        let n = block.len() as u64;
        self.remaining -= n;
        let total = self.meter.sent.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(on_bytes) = &self.on_bytes {
            on_bytes(total);
        }
        Frame::data(block)
    }

    /// Keeps a failed read's error for the driver; the body's own error.
    fn source_failed(&self, error: io::Error) -> BodyError {
        let early = error.kind() == io::ErrorKind::UnexpectedEof;
        let error = if early {
            io::Error::new(io::ErrorKind::UnexpectedEof, "the source ended early")
        } else {
            error
        };
        *self
            .meter
            .source_error
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(error);
        BodyError(if early {
            "the source ended early"
        } else {
            "reading the source failed"
        })
    }
}

/// Why a body stopped; the driver reads the details from the [`Meter`].
#[derive(Debug)]
pub(crate) struct BodyError(pub(crate) &'static str);

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for BodyError {}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let body = match self.get_mut() {
            RequestBody::Stream(body) => body,
            RequestBody::Bytes(bytes, meter) => {
                return Poll::Ready(bytes.take().map(|bytes| {
                    meter.sent.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    Ok(Frame::data(bytes))
                }));
            }
            RequestBody::Empty => return Poll::Ready(None),
        };
        if body.remaining == 0 {
            return Poll::Ready(None);
        }
        if let Some(blocks) = body.blocks.as_mut() {
            if body
                .lease
                .reader
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_none()
            {
                return Poll::Ready(Some(Err(BodyError("the request was abandoned"))));
            }
            return match ready!(blocks.poll_block(cx)) {
                Some(Ok(block)) => Poll::Ready(Some(Ok(body.sent(block)))),
                Some(Err(error)) => Poll::Ready(Some(Err(body.source_failed(error)))),
                None => Poll::Ready(None),
            };
        }
        let want = body.remaining.min(BLOCK as u64) as usize;
        let mut block = BytesMut::zeroed(want);
        let mut read_buf = ReadBuf::new(&mut block);
        let polled = {
            let mut lease = body.lease.reader.lock().unwrap_or_else(|e| e.into_inner());
            let Some(reader) = lease.as_mut() else {
                return Poll::Ready(Some(Err(BodyError("the request was abandoned"))));
            };
            Pin::new(&mut **reader).poll_read(cx, &mut read_buf)
        };
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(error)) => Poll::Ready(Some(Err(body.source_failed(error)))),
            Poll::Ready(Ok(())) => {
                let n = read_buf.filled().len();
                if n == 0 {
                    let early = io::Error::from(io::ErrorKind::UnexpectedEof);
                    return Poll::Ready(Some(Err(body.source_failed(early))));
                }
                block.truncate(n);
                Poll::Ready(Some(Ok(body.sent(block.freeze()))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            RequestBody::Empty => true,
            RequestBody::Stream(body) => body.remaining == 0,
            RequestBody::Bytes(bytes, _) => bytes.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RequestBody::Empty => SizeHint::with_exact(0),
            RequestBody::Stream(body) => SizeHint::with_exact(body.remaining),
            RequestBody::Bytes(bytes, _) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
        }
    }
}

/// Reads at most `limit` bytes of a response body (the rest is discarded).
pub(crate) async fn read_limited(body: hyper::body::Incoming, limit: usize) -> Vec<u8> {
    let mut body = body;
    let mut out = Vec::new();
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data() {
            let room = limit.saturating_sub(out.len());
            out.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    out
}

/// Locks the source, seeks to `offset` and, with a checksum, hashes `len`
/// bytes first (the digest goes in a header, before the body).
pub(crate) async fn lease_at(
    source: &Source,
    offset: u64,
    len: u64,
    checksum: Option<ChecksumAlgorithm>,
) -> Result<(Arc<Lease>, Option<HeaderValue>), Error> {
    let mut reader = source.reader.clone().lock_owned().await;
    let mut digest = None;
    if source.positional.is_none() || checksum.is_some() {
        // Bodies of file sources read by position: no seek (a blocking hop) for them.
        reader
            .seek(SeekFrom::Start(offset))
            .await
            .map_err(source_failure)?;
    }
    if let Some(algorithm) = checksum {
        let mut hasher = algorithm.hasher();
        let mut block = vec![0u8; BLOCK.min(len.max(1) as usize)];
        let mut remaining = len;
        while remaining > 0 {
            let want = remaining.min(block.len() as u64) as usize;
            let n = reader
                .read(&mut block[..want])
                .await
                .map_err(source_failure)?;
            if n == 0 {
                return Err(Error::SourceChanged {
                    expected: source.len(),
                    found: offset + len - remaining,
                });
            }
            hasher.update(&block[..n]);
            remaining -= n as u64;
        }
        reader
            .seek(SeekFrom::Start(offset))
            .await
            .map_err(source_failure)?;
        digest = Some(digest_header(hasher.header_value()));
    }
    Ok((Lease::new(reader), digest))
}

pub(crate) fn digest_header(value: String) -> HeaderValue {
    HeaderValue::from_str(&value)
        .expect("an algorithm name and a base64 digest form a valid header value")
}
