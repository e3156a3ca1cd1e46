//! One request with a body (a creation with bytes, or a PATCH): the source
//! leased at its offset (or the stream's chunk), the digest header, the
//! byte meter and progress events, and the request hooks around it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use http::header::{CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Method, Uri};

use crate::body::{LeaseHold, Meter, RequestBody, StreamBody, digest_header, lease_at};
use crate::client::{Answer, CONTENT_LENGTH_HEADER, Failure};
use crate::core::checksum::ChecksumAlgorithm;
use crate::drive::{Driver, Payload};
use crate::progress::{Event, Progress};

const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";

/// A request the machine asked for.
#[derive(Clone)]
pub(crate) struct Request<'a> {
    pub(crate) method: Method,
    pub(crate) url: &'a Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) checksum: Option<ChecksumAlgorithm>,
    pub(crate) credentials: bool,
}

impl Driver<'_> {
    /// Sends a request whose body is `len` bytes from `offset`, through the
    /// request hooks (an after-response hook may have it sent once more);
    /// returns the result and the bytes put on the wire.
    pub(crate) async fn send(
        &self,
        request: Request<'_>,
        bytes: &mut Payload<'_, '_>,
        started: Instant,
        sent_before: u64,
    ) -> (Result<Answer, Failure>, u64) {
        let mut retried = false;
        let mut sent = 0;
        loop {
            let (result, n) = self
                .send_once(
                    request.clone(),
                    bytes,
                    started,
                    sent_before + sent,
                    &mut retried,
                )
                .await;
            sent += n;
            // `None`: the after-response hook asked for the request again.
            if let Some(result) = result {
                return (result, sent);
            }
        }
    }

    /// One attempt; `None` when the after-response hook wants it sent again.
    async fn send_once(
        &self,
        request: Request<'_>,
        bytes: &mut Payload<'_, '_>,
        started: Instant,
        sent_before: u64,
        retried: &mut bool,
    ) -> (Option<Result<Answer, Failure>>, u64) {
        let Request {
            method,
            url,
            headers,
            offset,
            len,
            checksum,
            credentials,
        } = request;
        let (url, mut headers) = match self.before_hook(&method, url, headers).await {
            Ok(changed) => changed,
            Err(error) => return (Some(Err(error.into())), 0),
        };
        let url = &url;
        let meter = Arc::new(Meter::default());
        // Dropped (revoking the lease) once the request is over, or with this
        // future if it is dropped first.
        let mut lease = None;
        let body = if len == 0 && method == Method::POST {
            RequestBody::Empty
        } else {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(OFFSET_OCTET_STREAM));
            match bytes {
                Payload::Source(source) => {
                    let reader = match lease_at(source, offset, len, checksum).await {
                        Ok((reader, digest)) => {
                            if let Some(digest) = digest {
                                headers.insert("upload-checksum", digest);
                            }
                            reader
                        }
                        Err(error) => return (Some(Err(error.into())), 0),
                    };
                    lease = Some(LeaseHold(reader.clone()));
                    let on_bytes = self.progress(source.len(), offset, started, sent_before);
                    RequestBody::Stream(StreamBody::new(
                        source,
                        reader,
                        (offset, len),
                        meter.clone(),
                        on_bytes,
                    ))
                }
                Payload::Stream(stream) => {
                    let chunk = stream.slice(offset, len);
                    if let Some(algorithm) = checksum {
                        let mut hasher = algorithm.hasher();
                        hasher.update(&chunk);
                        headers.insert("upload-checksum", digest_header(hasher.header_value()));
                    }
                    RequestBody::Bytes(Some(chunk), meter.clone())
                }
            }
        };
        headers.insert(CONTENT_LENGTH_HEADER, HeaderValue::from(len));
        let result = self
            .client
            .send(
                method.clone(),
                url,
                headers,
                body,
                Some(&meter),
                self.options.cancel.as_ref(),
                credentials,
            )
            .await;
        drop(lease);
        let sent = meter.sent.load(Ordering::Relaxed);
        let answer = match result {
            Ok(answer) => answer,
            Err(failure) => return (Some(Err(failure)), sent),
        };
        match self.after_hook(&method, url, &answer, retried).await {
            Ok(true) => return (None, sent),
            Ok(false) => {}
            Err(error) => return (Some(Err(error.into())), sent),
        }
        let result = if answer.status.is_success() {
            Ok(answer)
        } else {
            Err(self.client.status_failure(&method, url, answer).await)
        };
        (Some(result), sent)
    }

    /// Per-block progress events for a PATCH streamed from a source.
    fn progress(
        &self,
        total: u64,
        offset: u64,
        started: Instant,
        before: u64,
    ) -> Option<Arc<dyn Fn(u64) + Send + Sync>> {
        let callback = self.options.on_event.clone()?;
        Some(Arc::new(move |sent_in_body: u64| {
            let sent_this_run = before + sent_in_body;
            let rate = sent_this_run as f64 / started.elapsed().as_secs_f64().max(1e-6);
            let position = offset + sent_in_body;
            let eta = (rate > 0.0)
                .then(|| Duration::from_secs_f64((total - position.min(total)) as f64 / rate));
            callback(&Event::Progress(Progress {
                acknowledged: offset,
                sent: position,
                total,
                bytes_per_second: rate,
                eta,
            }));
        }))
    }
}
