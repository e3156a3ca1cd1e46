//! Uploads of unknown length (tus creation-defer-length): stdin, a pipe, a
//! socket. A stream cannot be rewound, so the current chunk is kept in memory
//! until the server acknowledges it, to be able to re-send it: memory is
//! bounded by the chunk size (pick it accordingly; 8–32 MiB is typical).
//! Resuming after the process dies is not possible for such a source.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Method, Uri};
use tokio::io::{AsyncRead, AsyncReadExt};
use tracing::Instrument as _;

use crate::body::{Meter, RequestBody};
use crate::client::{CONTENT_LENGTH_HEADER, Failure, parse_uri};
use crate::core::metadata;
use crate::error::redact_url;
use crate::progress::{Event, Progress};
use crate::upload::verification;
use crate::upload::{acknowledged_offset, created_upload};
use crate::{Client, Error, ProtocolError, UploadOptions, UploadOutcome};

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
            let capabilities = self.options(&endpoint.to_string()).await?;
            if !capabilities.supports("creation-defer-length") {
                return Err(Error::Unsupported {
                    extension: "creation-defer-length",
                });
            }
            let uri = self.create_deferred(&endpoint, options).await?;
            let mut reader = reader;
            let chunk_size = usize::try_from(options.chunk_size)
                .unwrap_or(usize::MAX)
                .max(1);
            let mut carry = None;
            let mut offset = 0u64;
            let mut bytes_sent = 0u64;
            let mut retries = 0u32;
            let started = std::time::Instant::now();
            loop {
                let (chunk, last) = read_chunk(&mut reader, chunk_size, &mut carry).await?;
                let chunk_start = offset;
                let chunk_end = chunk_start + chunk.len() as u64;
                let mut attempt = 0u32;
                // Send this chunk until the server holds all of it.
                while offset < chunk_end || (last && attempt == 0 && chunk.is_empty()) {
                    let mut headers = options.headers.clone();
                    headers.insert(
                        CONTENT_TYPE,
                        HeaderValue::from_static("application/offset+octet-stream"),
                    );
                    headers.insert("upload-offset", HeaderValue::from(offset));
                    if last {
                        headers.insert("upload-length", HeaderValue::from(chunk_end));
                    }
                    let body = chunk.slice((offset - chunk_start) as usize..);
                    headers.insert(CONTENT_LENGTH_HEADER, HeaderValue::from(body.len() as u64));
                    let meter = Arc::new(Meter::default());
                    let result = self
                        .send(
                            Method::PATCH,
                            &uri,
                            headers,
                            RequestBody::Bytes(Some(body), meter.clone()),
                            Some(&meter),
                            options.cancel.as_ref(),
                        )
                        .await;
                    bytes_sent += meter.sent.load(std::sync::atomic::Ordering::Relaxed);
                    let failure = match result {
                        Ok(answer)
                            if answer.status.as_u16() == 204 || answer.status.as_u16() == 200 =>
                        {
                            let reported =
                                acknowledged_offset(&uri, &answer.headers, offset, chunk_end)?;
                            if reported > offset || chunk.is_empty() {
                                attempt = 0;
                                offset = reported;
                                if chunk.is_empty() {
                                    break;
                                }
                                continue;
                            }
                            Failure::from(Error::Protocol {
                                url: redact_url(&uri),
                                error: ProtocolError::OffsetBackwards {
                                    before: chunk_end,
                                    after: reported,
                                },
                            })
                        }
                        Ok(answer) => self.status_failure(&Method::PATCH, &uri, answer).await,
                        Err(failure) => failure,
                    };
                    attempt += 1;
                    retries += 1;
                    self.wait_before_retry(attempt, failure, options).await?;
                    let status = self.status_with_retries(&uri, options).await?;
                    if status.offset < chunk_start {
                        // Bytes before this chunk are gone from memory: they cannot be re-sent.
                        return Err(Error::Protocol {
                            url: redact_url(&uri),
                            error: ProtocolError::OffsetBackwards {
                                before: chunk_start,
                                after: status.offset,
                            },
                        });
                    }
                    if status.offset > chunk_end {
                        return Err(Error::Protocol {
                            url: redact_url(&uri),
                            error: ProtocolError::OffsetTooLarge {
                                offset: status.offset,
                                limit: chunk_end,
                            },
                        });
                    }
                    offset = status.offset;
                }
                options.emit(Event::ChunkComplete {
                    start: chunk_start,
                    offset,
                });
                let elapsed = started.elapsed().as_secs_f64().max(1e-6);
                options.emit(Event::Progress(Progress {
                    acknowledged: offset,
                    sent: offset,
                    total: offset,
                    bytes_per_second: bytes_sent as f64 / elapsed,
                    eta: None,
                }));
                if last {
                    break;
                }
            }
            let status = self.status_with_retries(&uri, options).await?;
            Ok(UploadOutcome {
                url: uri.to_string(),
                verification: verification(&status, offset),
                resumed_from: 0,
                bytes_sent,
                retries,
            })
        }
        .instrument(span)
        .await
    }

    /// POST with `Upload-Defer-Length: 1`, retried like any creation.
    async fn create_deferred(&self, endpoint: &Uri, options: &UploadOptions) -> Result<Uri, Error> {
        let mut headers: HeaderMap = options.headers.clone();
        headers.insert("upload-defer-length", HeaderValue::from_static("1"));
        headers.insert(CONTENT_LENGTH_HEADER, HeaderValue::from_static("0"));
        if !options.metadata.is_empty() {
            let encoded = metadata::encode(&options.metadata)?;
            let value = HeaderValue::from_str(&encoded)
                .map_err(|_| Error::InvalidMetadataKey { key: String::new() })?;
            headers.insert("upload-metadata", value);
        }
        let mut attempt = 0;
        loop {
            let result = self
                .send(
                    Method::POST,
                    endpoint,
                    headers.clone(),
                    RequestBody::Empty,
                    None,
                    options.cancel.as_ref(),
                )
                .await;
            let failure = match result {
                Ok(answer) if answer.status.as_u16() == 201 => {
                    return created_upload(endpoint, &answer.headers, options);
                }
                Ok(answer) => self.status_failure(&Method::POST, endpoint, answer).await,
                Err(failure) => failure,
            };
            attempt += 1;
            self.wait_before_retry(attempt, failure, options).await?;
        }
    }
}

/// Reads up to `size` bytes; `last` is true when the stream ended. One byte is
/// read ahead to tell a full final chunk from a full middle one.
async fn read_chunk(
    reader: &mut (impl AsyncRead + Unpin),
    size: usize,
    carry: &mut Option<u8>,
) -> Result<(Bytes, bool), Error> {
    let source_error = |source| Error::Source { path: None, source };
    let mut buffer = Vec::with_capacity(size.min(64 << 20));
    if let Some(byte) = carry.take() {
        buffer.push(byte);
    }
    let want = (size - buffer.len()) as u64;
    reader
        .take(want)
        .read_to_end(&mut buffer)
        .await
        .map_err(source_error)?;
    if buffer.len() < size {
        return Ok((buffer.into(), true));
    }
    let mut one = [0u8; 1];
    let n = reader.read(&mut one).await.map_err(source_error)?;
    if n == 0 {
        Ok((buffer.into(), true))
    } else {
        *carry = Some(one[0]);
        Ok((buffer.into(), false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_end_exactly_at_end_of_stream() {
        for (len, size, expected) in [
            (0usize, 4usize, vec![(0usize, true)]),
            (3, 4, vec![(3, true)]),
            (4, 4, vec![(4, true)]),
            (5, 4, vec![(4, false), (1, true)]),
            (8, 4, vec![(4, false), (4, true)]),
        ] {
            let data: Vec<u8> = (0..len as u8).collect();
            let mut reader = &data[..];
            let mut carry = None;
            let mut got = Vec::new();
            let mut joined = Vec::new();
            loop {
                let (chunk, last) = read_chunk(&mut reader, size, &mut carry).await.unwrap();
                got.push((chunk.len(), last));
                joined.extend_from_slice(&chunk);
                if last {
                    break;
                }
            }
            assert_eq!(got, expected, "len {len}");
            assert_eq!(joined, data);
        }
    }
}
