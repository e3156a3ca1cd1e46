//! An upload's file, written from request body frames as they arrive. The
//! frames are copied into a batch and each MiB is written on the blocking
//! pool while the next one gathers, two buffers taking turns: a PATCH costs
//! one hop to open its file and one per MiB, and each byte is copied once on
//! its way (through tokio's `File` behind a `BufWriter`, twice). Holding the
//! frames themselves instead of copying them was slower: hyper cannot reuse
//! its read buffer while they live, so every MiB came from fresh pages.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::PathBuf;

use tokio::task::JoinHandle;

/// How many bytes are gathered before they are written.
const BATCH: usize = 1 << 20;

/// An upload's file, open for writing at the offset where a body lands.
/// Dropped while a write runs, that write still finishes on its own; the
/// server's handlers flush before they answer or move the offset.
pub(super) struct UploadFile {
    /// The file, or the write that holds it (at most one at a time, so the
    /// batches land in order).
    file: Holder,
    /// Bytes received and not handed to a write yet.
    pending: Vec<u8>,
}

/// Where the file is.
enum Holder {
    Here(File),
    /// A batch being written; the task gives back the file and the emptied
    /// buffer.
    Writing(JoinHandle<(File, Vec<u8>, io::Result<()>)>),
    /// A write failed or its task was lost: the body cannot be stored.
    Lost,
}

impl UploadFile {
    /// Opens the file at `path`, cut to `offset` (bytes past the upload's
    /// offset were never acknowledged), for writing from there on.
    pub(super) async fn open_at(path: PathBuf, offset: u64) -> io::Result<UploadFile> {
        let file = blocking(move || {
            let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
            file.set_len(offset)?;
            file.seek(SeekFrom::Start(offset))?;
            Ok(file)
        })
        .await?;
        Ok(UploadFile {
            file: Holder::Here(file),
            pending: Vec::new(),
        })
    }

    /// Appends `data`. A gathered batch is handed to a write of its own once
    /// the one before it is done, and the next batch gathers meanwhile: the
    /// socket and the disk are busy at the same time.
    pub(super) async fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            if self.pending.capacity() == 0 {
                self.pending.reserve_exact(BATCH);
            }
            let room = BATCH - self.pending.len();
            let (now, later) = data.split_at(data.len().min(room));
            self.pending.extend_from_slice(now);
            data = later;
            if self.pending.len() == BATCH {
                self.start_write().await?;
            }
        }
        Ok(())
    }

    /// Writes out every gathered frame and waits until they are written.
    pub(super) async fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            self.start_write().await?;
        }
        self.settle().await
    }

    /// Cuts the file to `length` bytes (what is kept of a body that is not
    /// kept whole). Bytes not yet written are dropped.
    pub(super) async fn set_len(&mut self, length: u64) -> io::Result<()> {
        let file = self.take_file().await?;
        self.pending.clear();
        let (file, result) = blocking(move || {
            let result = file.set_len(length);
            Ok((file, result))
        })
        .await?;
        self.file = Holder::Here(file);
        result
    }

    /// Hands the gathered bytes to a write, once the previous one is done.
    async fn start_write(&mut self) -> io::Result<()> {
        let mut batch = std::mem::take(&mut self.pending);
        let mut file = self.take_file().await?;
        self.file = Holder::Writing(tokio::task::spawn_blocking(move || {
            let result = file.write_all(&batch);
            batch.clear();
            (file, batch, result)
        }));
        Ok(())
    }

    /// Waits until no write holds the file.
    async fn settle(&mut self) -> io::Result<()> {
        let file = self.take_file().await?;
        self.file = Holder::Here(file);
        Ok(())
    }

    /// Takes the file, waiting for a write that holds it; the holder is
    /// `Lost` until it is put back.
    async fn take_file(&mut self) -> io::Result<File> {
        match std::mem::replace(&mut self.file, Holder::Lost) {
            Holder::Here(file) => Ok(file),
            Holder::Writing(write) => {
                let (file, batch, result) = write.await.map_err(io::Error::other)?;
                result?;
                // The two buffers take turns.
                if self.pending.capacity() == 0 {
                    self.pending = batch;
                }
                Ok(file)
            }
            Holder::Lost => Err(io::Error::other(
                "the upload file was lost by an earlier write",
            )),
        }
    }
}

/// Runs `work` on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames of many sizes, across several batches, land in order after the
    /// offset, and what lay past the offset is cut.
    #[tokio::test]
    async fn frames_land_in_order_after_the_offset() {
        let dir = crate::temp::TempDir::new("sandbox-disk").unwrap();
        let path = dir.path().join("upload");
        std::fs::write(&path, b"keep-this|and-not-this").unwrap();
        let mut file = UploadFile::open_at(path.clone(), 10).await.unwrap();
        let mut expected = b"keep-this|".to_vec();
        for index in 0..3_000u32 {
            let frame: Vec<u8> = (0..(index % 700) * 3)
                .map(|at| (at ^ index) as u8)
                .collect();
            expected.extend_from_slice(&frame);
            file.write(&frame).await.unwrap();
        }
        file.flush().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), expected);
        file.set_len(4).await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"keep");
    }
}
