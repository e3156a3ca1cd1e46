//! Reading a file source by position, for request bodies. Each block is
//! read straight into the buffer that becomes the body frame (no copy through
//! `tokio::fs::File`'s own buffer, no seek): on the runtime thread when the
//! page cache holds it (Linux `preadv2` with `RWF_NOWAIT`: a copy, no hop to
//! another thread), else with `pread` on the blocking pool. The next block is
//! read while hyper writes this one, and a frame's memory is reused once hyper
//! has dropped it — by the next block, or the next chunk's, since the spares
//! live with the file (no zeroing, no fresh pages per block or per chunk).

use std::future::Future as _;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use tokio::task::JoinHandle;

/// A file opened for positional reads, shared by every request of an
/// upload, with the frames its bodies handed out (kept for reuse).
pub(crate) struct PositionalFile {
    file: std::fs::File,
    spares: Mutex<Vec<Bytes>>,
    /// Cleared when the file system cannot read without blocking (tmpfs).
    nowait: AtomicBool,
}

impl PositionalFile {
    /// A second handle on an opened file, for positional reads.
    pub(crate) async fn beside(file: &tokio::fs::File) -> io::Result<Arc<PositionalFile>> {
        Ok(PositionalFile::new(
            file.try_clone().await?.into_std().await,
        ))
    }

    pub(crate) fn new(file: std::fs::File) -> Arc<PositionalFile> {
        Arc::new(PositionalFile {
            file,
            spares: Mutex::new(Vec::with_capacity(SPARES)),
            nowait: AtomicBool::new(cfg!(target_os = "linux")),
        })
    }

    /// Reads into `buf` from `offset` what the page cache holds, without
    /// blocking (`preadv2` with `RWF_NOWAIT`): how many bytes it filled,
    /// stopping at the first that would need the disk. The end of the file
    /// before `buf` is full is an error.
    #[cfg(target_os = "linux")]
    fn read_cached(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        use rustix::io::{Errno, ReadWriteFlags, preadv2};
        let mut filled = 0;
        while filled < buf.len() && self.nowait.load(Ordering::Relaxed) {
            let slice = &mut [io::IoSliceMut::new(&mut buf[filled..])];
            match preadv2(
                &self.file,
                slice,
                offset + filled as u64,
                ReadWriteFlags::NOWAIT,
            ) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => filled += n,
                Err(Errno::AGAIN) => break,
                Err(Errno::INTR) => {}
                // Not offered by this kernel or file system: the blocking pool it is.
                Err(Errno::OPNOTSUPP | Errno::INVAL | Errno::NOSYS) => {
                    self.nowait.store(false, Ordering::Relaxed);
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok(filled)
    }

    /// Elsewhere every block is read on the blocking pool.
    #[cfg(not(target_os = "linux"))]
    fn read_cached(&self, _buf: &mut [u8], _offset: u64) -> io::Result<usize> {
        Ok(0)
    }

    /// A buffer of `len` bytes: a spare frame nobody holds any more (its old
    /// contents are overwritten by the read), or a new one.
    fn reclaim(&self, len: usize) -> BytesMut {
        let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
        let mut index = 0;
        while index < spares.len() {
            if spares[index].is_unique() {
                let frame = spares.swap_remove(index);
                if let Ok(mut buf) = frame.try_into_mut()
                    && buf.len() >= len
                {
                    buf.truncate(len);
                    return buf;
                }
                continue;
            }
            index += 1;
        }
        BytesMut::zeroed(len)
    }

    /// Keeps a frame handed to hyper, to reuse once hyper drops it.
    fn keep(&self, frame: Bytes) {
        let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
        if spares.len() == SPARES {
            spares.remove(0);
        }
        spares.push(frame);
    }
}

/// Frames kept for reuse: enough for what hyper holds in its write queue
/// plus the block being read (each part of a parallel upload has its own
/// file handle and spares).
const SPARES: usize = 6;

/// The blocks of `len` bytes from `offset` of a file, in order.
pub(crate) struct BlockReader {
    file: Arc<PositionalFile>,
    /// Where the next block to request starts, and how many bytes after
    /// it are still to request.
    next: u64,
    unrequested: u64,
    block: usize,
    reading: Option<Reading>,
}

/// A block being read.
enum Reading {
    /// Read already, from the page cache, on the runtime thread.
    Done(io::Result<()>, BytesMut),
    /// Being read on the blocking pool.
    Blocking(JoinHandle<(io::Result<()>, BytesMut)>),
}

impl BlockReader {
    pub(crate) fn new(
        file: Arc<PositionalFile>,
        offset: u64,
        len: u64,
        block: usize,
    ) -> BlockReader {
        BlockReader {
            file,
            next: offset,
            unrequested: len,
            block,
            reading: None,
        }
    }

    /// The next block (`None` when all `len` bytes were read); an error if
    /// the read failed or the file ended early.
    pub(crate) fn poll_block(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        if self.reading.is_none() && !self.start_read() {
            return Poll::Ready(None);
        }
        let (result, buf) = match self.reading.as_mut() {
            None => return Poll::Ready(None),
            Some(Reading::Blocking(handle)) => {
                let joined = ready!(std::pin::Pin::new(handle).poll(cx));
                self.reading = None;
                match joined {
                    Ok(done) => done,
                    Err(join) => return Poll::Ready(Some(Err(io::Error::other(join)))),
                }
            }
            Some(Reading::Done(..)) => match self.reading.take() {
                Some(Reading::Done(result, buf)) => (result, buf),
                _ => return Poll::Ready(None),
            },
        };
        if let Err(error) = result {
            return Poll::Ready(Some(Err(error)));
        }
        let frame = buf.freeze();
        self.file.keep(frame.clone());
        // Read ahead: the next block comes off the disk while hyper writes this one.
        self.start_read();
        Poll::Ready(Some(Ok(frame)))
    }

    /// Starts reading the next block: from the page cache right here when
    /// it is there (Linux), else on the blocking pool; false when there is
    /// nothing left to read.
    fn start_read(&mut self) -> bool {
        if self.unrequested == 0 {
            return false;
        }
        let want = self.unrequested.min(self.block as u64) as usize;
        let mut buf = self.file.reclaim(want);
        let at = self.next;
        self.next += want as u64;
        self.unrequested -= want as u64;
        let filled = match self.file.read_cached(&mut buf, at) {
            Ok(filled) if filled == want => {
                self.reading = Some(Reading::Done(Ok(()), buf));
                return true;
            }
            Ok(filled) => filled,
            Err(error) => {
                self.reading = Some(Reading::Done(Err(error), buf));
                return true;
            }
        };
        let file = self.file.clone();
        self.reading = Some(Reading::Blocking(tokio::task::spawn_blocking(move || {
            let result = read_exact_at(&file.file, &mut buf[filled..], at + filled as u64);
            (result, buf)
        })));
        true
    }
}

impl Drop for BlockReader {
    fn drop(&mut self) {
        // A read still running finishes on its own; its buffer is dropped there.
        if let Some(Reading::Blocking(handle)) = self.reading.take() {
            handle.abort();
        }
    }
}

/// Fills `buf` from `offset`, however many reads that takes.
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut filled = 0;
        while filled < buf.len() {
            match std::os::windows::fs::FileExt::seek_read(
                file,
                &mut buf[filled..],
                offset + filled as u64,
            ) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => filled += n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_of(len: usize) -> (sandbox::TempDir, Arc<PositionalFile>, Vec<u8>) {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        let dir = sandbox::TempDir::new("positional").unwrap();
        let path = dir.path().join("source.bin");
        std::fs::write(&path, &bytes).unwrap();
        let file = PositionalFile::new(std::fs::File::open(&path).unwrap());
        (dir, file, bytes)
    }

    #[tokio::test]
    async fn blocks_come_in_order_and_dropped_frames_are_reused() {
        let (_guard, file, bytes) = file_of(10_000);
        blocks_in_order(file.clone(), &bytes).await;
        // The same through the blocking pool (a file system without RWF_NOWAIT).
        file.nowait.store(false, Ordering::Relaxed);
        blocks_in_order(file, &bytes).await;
    }

    async fn blocks_in_order(file: Arc<PositionalFile>, bytes: &[u8]) {
        let mut reader = BlockReader::new(file, 100, 9_000, 1_024);
        let mut got = Vec::new();
        let mut addresses = Vec::new();
        while let Some(block) = std::future::poll_fn(|cx| reader.poll_block(cx)).await {
            let block = block.unwrap();
            assert!(block.len() <= 1_024);
            addresses.push(block.as_ptr() as usize);
            got.extend_from_slice(&block);
            // Dropped here, as hyper drops a frame once written.
        }
        assert_eq!(got, bytes[100..9_100]);
        // Nine blocks, but only the few buffers in flight at once were ever allocated.
        let mut distinct = addresses.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(
            distinct.len() < addresses.len(),
            "no buffer was reused: {addresses:?}"
        );
    }

    #[tokio::test]
    async fn the_next_chunk_reuses_the_last_chunks_frames() {
        let (_guard, file, bytes) = file_of(8_192);
        let mut addresses = Vec::new();
        for (offset, len) in [(0, 4_096), (4_096, 4_096)] {
            let mut reader = BlockReader::new(file.clone(), offset, len, 1_024);
            let mut got = Vec::new();
            while let Some(block) = std::future::poll_fn(|cx| reader.poll_block(cx)).await {
                let block = block.unwrap();
                got.extend_from_slice(&block);
                if offset == 0 {
                    addresses.push(block.as_ptr() as usize);
                } else {
                    assert!(
                        addresses.contains(&(block.as_ptr() as usize)),
                        "the second chunk allocated a fresh buffer"
                    );
                }
            }
            assert_eq!(got, bytes[offset as usize..(offset + len) as usize]);
        }
    }

    #[tokio::test]
    async fn a_file_shorter_than_promised_is_an_error() {
        let (_guard, file, bytes) = file_of(1_000);
        let mut reader = BlockReader::new(file, 0, 2_000, 512);
        let first = std::future::poll_fn(|cx| reader.poll_block(cx)).await;
        assert_eq!(first.unwrap().unwrap(), bytes[..512]);
        let second = std::future::poll_fn(|cx| reader.poll_block(cx)).await;
        let error = second.unwrap().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    }
}
