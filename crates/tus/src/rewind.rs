//! [`Rewindable`]: makes a forward-only stream (an incoming request body, a
//! pipe) usable as an upload source by keeping a bounded window of the bytes
//! last read, enough to re-send a chunk the server did not acknowledge.

use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};

/// An `AsyncRead` that can seek back at most `window` bytes behind the
/// furthest point read, and forward (by reading and discarding). Memory stays
/// below twice the window plus one 64 KiB read, whatever the stream's length.
///
/// The tus client seeks back only to the server's acknowledged offset, so with
/// a chunk size no larger than the window every retry works; a server that
/// lost more than the window gives a clear I/O error instead of wrong bytes.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
/// let stream: &[u8] = b"0123456789";
/// let mut source = tus::Rewindable::new(stream, 4);
/// let mut first = [0u8; 8];
/// source.read_exact(&mut first).await?;
/// source.seek(std::io::SeekFrom::Start(5)).await?; // back 3: inside the window
/// let mut rest = String::new();
/// source.read_to_string(&mut rest).await?;
/// assert_eq!(rest, "56789");
/// assert!(source.seek(std::io::SeekFrom::Start(0)).await.is_err()); // too far back
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Rewindable<R> {
    inner: R,
    window: usize,
    /// The last bytes read from `inner`; `buffer[0]` is at offset `buffer_start`.
    buffer: Vec<u8>,
    buffer_start: u64,
    /// The offset the next read returns.
    position: u64,
    /// A seek in progress.
    target: Option<u64>,
}

impl<R: AsyncRead + Unpin> Rewindable<R> {
    /// Wraps `inner`, keeping `window` bytes for rewinds.
    pub fn new(inner: R, window: usize) -> Self {
        Rewindable {
            inner,
            window: window.max(1),
            buffer: Vec::new(),
            buffer_start: 0,
            position: 0,
            target: None,
        }
    }

    fn buffer_end(&self) -> u64 {
        self.buffer_start + self.buffer.len() as u64
    }

    /// Drops bytes more than `window` behind the read position, once there
    /// are more than a window of them (amortized). Bytes at or after the
    /// position are never dropped.
    fn trim(&mut self) {
        let keep_from = self.position.saturating_sub(self.window as u64);
        let droppable = keep_from.saturating_sub(self.buffer_start) as usize;
        if droppable > self.window {
            self.buffer.drain(..droppable);
            self.buffer_start += droppable as u64;
        }
    }

    /// Reads more of `inner` into the buffer; `Ok(0)` at its end.
    fn poll_fill(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<io::Result<usize>> {
        let mut scratch = vec![0u8; want.clamp(1, 64 * 1024)];
        let mut read = ReadBuf::new(&mut scratch);
        ready!(Pin::new(&mut self.inner).poll_read(cx, &mut read))?;
        let n = read.filled().len();
        self.buffer.extend_from_slice(read.filled());
        self.trim();
        Poll::Ready(Ok(n))
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Rewindable<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.position >= this.buffer_end() {
            let n = ready!(this.poll_fill(cx, out.remaining()))?;
            if n == 0 {
                return Poll::Ready(Ok(()));
            }
        }
        if this.position < this.buffer_start {
            return Poll::Ready(Err(rewind_error(this.position, this.buffer_start)));
        }
        let from = (this.position - this.buffer_start) as usize;
        let available = &this.buffer[from..];
        let n = available.len().min(out.remaining());
        out.put_slice(&available[..n]);
        this.position += n as u64;
        Poll::Ready(Ok(()))
    }
}

impl<R: AsyncRead + Unpin> AsyncSeek for Rewindable<R> {
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        let this = self.get_mut();
        let target = match position {
            SeekFrom::Start(offset) => offset,
            SeekFrom::Current(delta) => {
                this.position.checked_add_signed(delta).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, "seek before the start")
                })?
            }
            SeekFrom::End(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "a stream has no known end to seek from",
                ));
            }
        };
        this.target = Some(target);
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        let Some(target) = this.target else {
            return Poll::Ready(Ok(this.position));
        };
        if target < this.buffer_start {
            this.target = None;
            return Poll::Ready(Err(rewind_error(target, this.buffer_start)));
        }
        // Forward: read and keep (the window still applies) until the target.
        while this.buffer_end() < target {
            // Skipped bytes count as read, so the window trails them.
            this.position = this.buffer_end();
            let want = (target - this.buffer_end()).min(64 * 1024) as usize;
            if ready!(this.poll_fill(cx, want))? == 0 {
                this.target = None;
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the stream ended before the seek target",
                )));
            }
        }
        this.target = None;
        this.position = target;
        Poll::Ready(Ok(target))
    }
}

fn rewind_error(target: u64, oldest: u64) -> io::Error {
    io::Error::other(format!(
        "cannot rewind the stream to byte {target}: only bytes from {oldest} on are kept (raise the window or lower the chunk size)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};

    #[tokio::test]
    async fn reads_rewinds_and_skips_with_bounded_memory() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut source = Rewindable::new(data.as_slice(), 1_000);
        let mut chunk = vec![0u8; 30_000];
        source.read_exact(&mut chunk).await.unwrap();
        assert_eq!(chunk, data[..30_000]);
        assert!(source.buffer.len() <= 2 * 1_000 + 64 * 1024);
        source.seek(SeekFrom::Start(29_500)).await.unwrap();
        let mut again = vec![0u8; 600];
        source.read_exact(&mut again).await.unwrap();
        assert_eq!(again, data[29_500..30_100]);
        source.seek(SeekFrom::Start(90_000)).await.unwrap();
        let mut rest = Vec::new();
        source.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, data[90_000..]);
        let error = source.seek(SeekFrom::Start(10)).await.unwrap_err();
        assert!(error.to_string().contains("cannot rewind"), "{error}");
        assert!(source.seek(SeekFrom::End(0)).await.is_err());
        assert!(source.seek(SeekFrom::Start(200_000)).await.is_err());
    }
}
