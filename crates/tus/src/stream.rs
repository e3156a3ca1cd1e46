//! Uploads of unknown length (tus creation-defer-length): stdin, a pipe, a
//! socket. A stream cannot be rewound, so the current chunk is kept in memory
//! until the server acknowledges it, to be able to re-send it: memory is
//! bounded by the chunk size, which may not exceed [`MAX_STREAM_CHUNK_SIZE`]
//! (8–32 MiB is typical). Resuming after the process dies is not possible for
//! such a source.

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt};
use tracing::Instrument as _;

use crate::client::{Client, parse_uri};
use crate::core::machine::Start;
use crate::drive::{Creation, Payload};
use crate::error::{Error, redact_url};
use crate::options::{MAX_STREAM_CHUNK_SIZE, UploadOptions};
use crate::upload::UploadOutcome;

/// The current chunk of a stream of unknown length, held for re-sends.
pub(crate) struct StreamBuffer<'r> {
    pub(crate) reader: Box<dyn AsyncRead + Send + Unpin + 'r>,
    chunk: Bytes,
    start: u64,
    carry: Option<u8>,
}

impl<'r> StreamBuffer<'r> {
    pub(crate) fn new(reader: Box<dyn AsyncRead + Send + Unpin + 'r>) -> Self {
        StreamBuffer {
            reader,
            chunk: Bytes::new(),
            start: 0,
            carry: None,
        }
    }

    /// Reads up to `max` bytes into the stream's buffer (dropping the previous
    /// chunk); one byte is read ahead to tell a full last chunk from a full
    /// middle one. Returns the length and whether the stream ended.
    pub(crate) async fn read_chunk(&mut self, max: u64) -> Result<(u64, bool), Error> {
        let source_error = |source| Error::Source { path: None, source };
        let size = usize::try_from(max).unwrap_or(usize::MAX);
        self.start += self.chunk.len() as u64;
        self.chunk = Bytes::new();
        let mut buffer = Vec::with_capacity(size.min(8 << 20));
        if let Some(byte) = self.carry.take() {
            buffer.push(byte);
        }
        let want = (size - buffer.len()) as u64;
        (&mut self.reader)
            .take(want)
            .read_to_end(&mut buffer)
            .await
            .map_err(source_error)?;
        let eof = if buffer.len() < size {
            true
        } else {
            let mut one = [0u8; 1];
            let n = self.reader.read(&mut one).await.map_err(source_error)?;
            if n == 1 {
                self.carry = Some(one[0]);
            }
            n == 0
        };
        let len = buffer.len() as u64;
        self.chunk = buffer.into();
        Ok((len, eof))
    }

    /// `len` bytes of the current chunk from stream position `offset`.
    pub(crate) fn slice(&self, offset: u64, len: u64) -> Bytes {
        let from = (offset - self.start) as usize;
        self.chunk.slice(from..from + len as usize)
    }
}

impl Client {
    /// Uploads everything `reader` yields until end of stream, for sources whose
    /// length is unknown up front. Needs a server offering creation and
    /// creation-defer-length ([`Error::Unsupported`] otherwise). The length is
    /// sent with the last chunk; a final HEAD verifies it.
    ///
    /// Retries work as for files within the current chunk, which is held in
    /// memory: memory use is bounded by the chunk size.
    pub async fn upload_stream(
        &self,
        endpoint: &str,
        reader: impl AsyncRead + Send + Unpin,
        options: &UploadOptions,
    ) -> Result<UploadOutcome, Error> {
        let endpoint = parse_uri(endpoint)?;
        let span = tracing::info_span!("tus_upload_stream", endpoint = %redact_url(&endpoint));
        async {
            let chunk_size = options.checked_chunk_size(MAX_STREAM_CHUNK_SIZE)?;
            let creation = options.creation_headers()?;
            let trusted = options.origins(&endpoint)?;
            let capabilities = self.options(&endpoint.to_string()).await?;
            if !capabilities.supports("creation-defer-length") {
                return Err(Error::Unsupported {
                    extension: "creation-defer-length",
                });
            }
            let mut config = self.config(
                Some(endpoint.clone()),
                Start::Create,
                None,
                chunk_size,
                &capabilities,
                options,
                false,
                trusted,
            );
            config.creation_with_upload = false;
            let mut buffer = StreamBuffer::new(Box::new(reader));
            let payload = Payload::Stream(&mut buffer);
            self.drive(config, options, None, Creation::Post(creation), payload)
                .await
        }
        .instrument(span)
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_end_exactly_at_end_of_stream() {
        for (len, size, expected) in [
            (0usize, 4u64, vec![(0u64, true)]),
            (3, 4, vec![(3, true)]),
            (4, 4, vec![(4, true)]),
            (5, 4, vec![(4, false), (1, true)]),
            (8, 4, vec![(4, false), (4, true)]),
        ] {
            let data: Vec<u8> = (0..len as u8).collect();
            let mut stream = StreamBuffer::new(Box::new(std::io::Cursor::new(data.clone())));
            let mut got = Vec::new();
            let mut joined = Vec::new();
            loop {
                let (n, eof) = stream.read_chunk(size).await.unwrap();
                got.push((n, eof));
                joined.extend_from_slice(&stream.chunk);
                if eof {
                    break;
                }
            }
            assert_eq!(got, expected, "len {len}");
            assert_eq!(joined, data);
        }
    }
}
