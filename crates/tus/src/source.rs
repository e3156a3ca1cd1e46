//! What to upload: a file path or any `AsyncRead + AsyncSeek` of known length.

use std::fmt;
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt};
use tokio::sync::Mutex;

use crate::error::Error;
use crate::positional::PositionalFile;

/// A readable, seekable byte source.
pub trait ReadSeek: AsyncRead + AsyncSeek + Send + Unpin {}
impl<T: AsyncRead + AsyncSeek + Send + Unpin> ReadSeek for T {}

pub(crate) type SharedReader = Arc<Mutex<Box<dyn ReadSeek>>>;

/// The bytes to upload, with their length and, for files, what identifies them.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), tus::Error> {
/// let source = tus::Source::from_reader(std::io::Cursor::new(vec![7u8; 1000]), 1000);
/// assert_eq!(source.len(), 1000);
/// assert!(tus::Source::from_path("/no/such/file").await.is_err());
/// # Ok(()) }
/// ```
///
/// A clone shares the reader (every request seeks before it reads), so the
/// same bytes can be sent again — say, to a new upload after an expiry.
#[derive(Clone)]
pub struct Source {
    pub(crate) reader: SharedReader,
    /// The same file for positional reads (request bodies), and where this
    /// source starts in it; `None` for readers.
    pub(crate) positional: Option<(Arc<PositionalFile>, u64)>,
    len: u64,
    file: Option<FileIdentity>,
}

/// Path, size and modification time of a file source, re-checked during the upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileIdentity {
    pub(crate) path: PathBuf,
    pub(crate) len: u64,
    pub(crate) modified: Option<SystemTime>,
}

impl Source {
    /// Opens a regular file. A missing file, a directory or an unreadable file is an error.
    pub async fn from_path(path: impl AsRef<Path>) -> Result<Source, Error> {
        let path = path.as_ref().to_path_buf();
        let source_error = |source| Error::Source {
            path: Some(path.clone()),
            source,
        };
        let metadata = tokio::fs::metadata(&path).await.map_err(source_error)?;
        if !metadata.is_file() {
            return Err(Error::NotAFile { path });
        }
        let file = tokio::fs::File::open(&path).await.map_err(source_error)?;
        let positional = PositionalFile::beside(&file).await.map_err(source_error)?;
        let path = tokio::fs::canonicalize(&path).await.unwrap_or(path);
        Ok(Source {
            reader: Arc::new(Mutex::new(Box::new(file))),
            positional: Some((positional, 0)),
            len: metadata.len(),
            file: Some(FileIdentity {
                path,
                len: metadata.len(),
                modified: metadata.modified().ok(),
            }),
        })
    }

    /// Wraps a reader whose length is known. It is read from the upload's offset
    /// after a seek, so it must be seekable (a `Cursor`, a file...).
    pub fn from_reader(reader: impl ReadSeek + 'static, len: u64) -> Source {
        Source {
            reader: Arc::new(Mutex::new(Box::new(reader))),
            positional: None,
            len,
            file: None,
        }
    }

    /// The number of bytes to upload.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the source is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file path, for file sources.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|f| f.path.as_path())
    }

    /// Fails with [`Error::SourceChanged`] if a file source changed size or
    /// modification time since it was opened.
    pub(crate) async fn check_unchanged(&self) -> Result<(), Error> {
        let Some(identity) = &self.file else {
            return Ok(());
        };
        let metadata = tokio::fs::metadata(&identity.path)
            .await
            .map_err(|source| Error::Source {
                path: Some(identity.path.clone()),
                source,
            })?;
        if metadata.len() != identity.len || metadata.modified().ok() != identity.modified {
            return Err(Error::SourceChanged {
                expected: identity.len,
                found: metadata.len(),
            });
        }
        Ok(())
    }

    /// A stable key for the resume store, SHA-256 (hex). By default over the
    /// canonical path, size and modification time: cheap, and local to this
    /// machine. With `hash_content`, over the size and every byte instead (no
    /// path, no time): one extra read of the file, and a copy of it anywhere —
    /// another machine of a fleet, another directory — resumes the same
    /// upload, while a file that differs in any byte never does. `None` for
    /// reader sources, which have no identity.
    pub async fn fingerprint(&self, hash_content: bool) -> Result<Option<String>, Error> {
        let Some(identity) = &self.file else {
            return Ok(None);
        };
        let mut hasher = Sha256::new();
        if hash_content {
            hasher.update(b"tus-fingerprint-content-v1\0");
            hasher.update(identity.len.to_be_bytes());
            let mut reader = self.reader.lock().await;
            let io = |source| Error::Source {
                path: Some(identity.path.clone()),
                source,
            };
            reader.seek(SeekFrom::Start(0)).await.map_err(io)?;
            let mut block = vec![0u8; 1 << 20];
            let mut total = 0u64;
            loop {
                let n = reader.read(&mut block).await.map_err(io)?;
                if n == 0 {
                    break;
                }
                hasher.update(&block[..n]);
                total += n as u64;
            }
            if total != identity.len {
                return Err(Error::SourceChanged {
                    expected: identity.len,
                    found: total,
                });
            }
        } else {
            hasher.update(b"tus-fingerprint-v1\0");
            hasher.update(identity.path.to_string_lossy().as_bytes());
            hasher.update(b"\0");
            hasher.update(identity.len.to_be_bytes());
            let modified = identity
                .modified
                .and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            hasher.update(modified.to_be_bytes());
        }
        Ok(Some(format!("{:x}", hasher.finalize())))
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("len", &self.len)
            .field("path", &self.path())
            .finish()
    }
}

impl Source {
    /// A view of bytes `start..start + len` of a file source, on its own file
    /// handle (so slices can be read concurrently); `None` for reader sources,
    /// which cannot be reopened. Used by parallel uploads.
    pub(crate) async fn slice(&self, start: u64, len: u64) -> Result<Option<Source>, Error> {
        let Some(identity) = &self.file else {
            return Ok(None);
        };
        let source_error = |source| Error::Source {
            path: Some(identity.path.clone()),
            source,
        };
        let file = tokio::fs::File::open(&identity.path)
            .await
            .map_err(source_error)?;
        // Each part reads by position on its own handle, with its own spare frames.
        let positional = PositionalFile::beside(&file).await.map_err(source_error)?;
        Ok(Some(Source {
            reader: Arc::new(Mutex::new(Box::new(Slice {
                file,
                start,
                len,
                position: 0,
            }))),
            positional: Some((positional, start)),
            len,
            file: Some(identity.clone()),
        }))
    }
}

/// Bytes `start..start + len` of a file, addressed from 0.
struct Slice {
    file: tokio::fs::File,
    start: u64,
    len: u64,
    position: u64,
}

impl AsyncRead for Slice {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        out: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let left = this.len.saturating_sub(this.position) as usize;
        if left == 0 {
            return std::task::Poll::Ready(Ok(()));
        }
        let n = if out.remaining() <= left {
            let before = out.filled().len();
            std::task::ready!(std::pin::Pin::new(&mut this.file).poll_read(cx, out))?;
            out.filled().len() - before
        } else {
            // The slice ends inside this buffer: read only what is left.
            let mut limited = vec![0u8; left];
            let mut buffer = tokio::io::ReadBuf::new(&mut limited);
            std::task::ready!(std::pin::Pin::new(&mut this.file).poll_read(cx, &mut buffer))?;
            out.put_slice(buffer.filled());
            buffer.filled().len()
        };
        this.position += n as u64;
        std::task::Poll::Ready(Ok(()))
    }
}

impl AsyncSeek for Slice {
    fn start_seek(self: std::pin::Pin<&mut Self>, position: SeekFrom) -> std::io::Result<()> {
        let this = self.get_mut();
        let target = match position {
            SeekFrom::Start(offset) => offset,
            _ => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::Unsupported,
                    "a slice seeks from its start only",
                ));
            }
        };
        std::pin::Pin::new(&mut this.file)
            .start_seek(SeekFrom::Start(this.start + target.min(this.len)))
    }

    fn poll_complete(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<u64>> {
        let this = self.get_mut();
        let absolute = std::task::ready!(std::pin::Pin::new(&mut this.file).poll_complete(cx))?;
        this.position = absolute.saturating_sub(this.start);
        std::task::Poll::Ready(Ok(this.position))
    }
}
