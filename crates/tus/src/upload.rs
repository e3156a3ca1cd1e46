//! The upload driver: create or resume, stream chunks with retries, verify.

use std::fmt;
use std::io::SeekFrom;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Method, Uri};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tracing::Instrument as _;

use crate::Capabilities;
use crate::body::{Meter, RequestBody, StreamBody};
use crate::client::{
    CONTENT_LENGTH_HEADER, Failure, UploadStatus, content_length, parse_uri, source_failure,
};
use crate::core::checksum::{ChecksumAlgorithm, negotiate};
use crate::core::headers::{parse_u64, resolve_location};
use crate::core::{metadata, offsets};
use crate::error::redact_url;
use crate::progress::{Event, Progress, ProgressFn};
use crate::{CancelToken, Client, Error, ProtocolError, Source, UrlStore};

const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";

/// Per-upload settings.
///
/// ```
/// let options = tus::UploadOptions::default()
///     .chunk_size(8 << 20)
///     .metadata("filename", "holiday.mp4")
///     .on_event(|event| if let tus::Event::Progress(p) = event { eprintln!("{}/{}", p.acknowledged, p.total) });
/// assert_eq!(options.chunk_size_bytes(), 8 << 20);
/// ```
#[derive(Clone)]
#[must_use]
pub struct UploadOptions {
    pub(crate) chunk_size: u64,
    pub(crate) metadata: Vec<(String, Vec<u8>)>,
    pub(crate) headers: HeaderMap,
    pub(crate) store: Option<Arc<dyn UrlStore>>,
    pub(crate) remove_on_success: bool,
    pub(crate) fingerprint_content: bool,
    pub(crate) creation_with_upload: bool,
    pub(crate) on_event: Option<ProgressFn>,
    pub(crate) cancel: Option<CancelToken>,
    pub(crate) checksum: Option<ChecksumAlgorithm>,
    pub(crate) parallel: usize,
    /// `Upload-Concat` for the creation request (set on the parts of a parallel upload).
    pub(crate) concat: Option<HeaderValue>,
}

impl Default for UploadOptions {
    /// 128 MiB chunks, no metadata, no resume store, creation-with-upload when offered.
    fn default() -> Self {
        UploadOptions {
            chunk_size: 128 << 20,
            metadata: Vec::new(),
            headers: HeaderMap::new(),
            store: None,
            remove_on_success: true,
            fingerprint_content: false,
            creation_with_upload: true,
            on_event: None,
            cancel: None,
            checksum: None,
            parallel: 1,
            concat: None,
        }
    }
}

impl fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadOptions")
            .field("chunk_size", &self.chunk_size)
            .field(
                "metadata_keys",
                &self.metadata.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("has_store", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

impl UploadOptions {
    /// Bytes per PATCH request (at least 1). Memory use does not depend on it.
    pub fn chunk_size(mut self, bytes: u64) -> Self {
        self.chunk_size = bytes.max(1);
        self
    }

    /// The configured chunk size.
    pub fn chunk_size_bytes(&self) -> u64 {
        self.chunk_size
    }

    /// Adds an `Upload-Metadata` pair (sent base64-encoded at creation).
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }

    /// Adds a header to this upload's requests.
    pub fn header(mut self, name: http::HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Remembers the upload URL by source fingerprint, so a rerun resumes.
    pub fn store(mut self, store: Arc<dyn UrlStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Whether to forget the URL once the upload is verified complete (default true).
    pub fn remove_on_success(mut self, remove: bool) -> Self {
        self.remove_on_success = remove;
        self
    }

    /// Adds the first and last MiB of content to the fingerprint (default off).
    pub fn fingerprint_content(mut self, hash: bool) -> Self {
        self.fingerprint_content = hash;
        self
    }

    /// Sends the bytes with the creating POST when the server offers
    /// creation-with-upload and the whole upload fits in one chunk (default
    /// true). A larger upload is created empty first: bytes sent before the
    /// client knows the upload's URL could not be resumed if the POST were
    /// interrupted (a killed process would have to start over).
    pub fn creation_with_upload(mut self, enabled: bool) -> Self {
        self.creation_with_upload = enabled;
        self
    }

    /// Receives progress and lifecycle events.
    pub fn on_event(mut self, callback: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(callback));
        self
    }

    /// Sends `Upload-Checksum` with every PATCH when the server offers the
    /// checksum extension: this algorithm if offered, else the strongest offered
    /// one we support. A 460 (mismatch) re-sends that chunk only. Each chunk is
    /// then read twice (hash, then send), so memory stays flat.
    pub fn checksum(mut self, algorithm: ChecksumAlgorithm) -> Self {
        self.checksum = Some(algorithm);
        self
    }

    /// Lets another task cancel the upload (it stays resumable).
    pub fn cancel_token(mut self, token: CancelToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Uploads in `parts` parallel partial uploads over as many connections,
    /// then joins them with a final upload (tus concatenation). Opt-in; used
    /// only for file sources and servers that offer `concatenation` (others get
    /// a single stream). Each part resumes and retries on its own; progress
    /// events report the sum.
    pub fn parallel(mut self, parts: usize) -> Self {
        self.parallel = parts.max(1);
        self
    }

    pub(crate) fn emit(&self, event: Event) {
        if let Some(callback) = &self.on_event {
            callback(&event);
        }
    }
}

/// Whether the server holds every byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verification {
    /// `Upload-Offset` = `Upload-Length` = the source length.
    Complete {
        /// The length.
        length: u64,
    },
    /// Not all bytes are there.
    Incomplete {
        /// The server's offset.
        offset: u64,
        /// The length expected.
        length: u64,
    },
}

impl Verification {
    /// Whether the upload is complete.
    pub fn is_complete(&self) -> bool {
        matches!(self, Verification::Complete { .. })
    }
}

/// The result of a finished upload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadOutcome {
    /// The upload URL.
    pub url: String,
    /// The final HEAD check.
    pub verification: Verification,
    /// The offset this run started from (0 for a new upload).
    pub resumed_from: u64,
    /// Bytes put on the wire by this run (more than `length - resumed_from` when
    /// chunks had to be re-sent).
    pub bytes_sent: u64,
    /// Requests that failed and were retried.
    pub retries: u32,
}

/// Counters for one run.
pub(crate) struct Run {
    pub(crate) started: Instant,
    pub(crate) bytes_sent: u64,
    pub(crate) retries: u32,
    /// The negotiated checksum algorithm, if any.
    pub(crate) checksum: Option<ChecksumAlgorithm>,
}

impl Run {
    pub(crate) fn new() -> Self {
        Run {
            started: Instant::now(),
            bytes_sent: 0,
            retries: 0,
            checksum: None,
        }
    }
}

impl Client {
    /// Creates an upload at `endpoint` (tus creation) and uploads `source` to it;
    /// with a store in `options`, first tries to resume an earlier upload of the
    /// same file. Returns once a final HEAD confirms every byte arrived.
    pub async fn upload(
        &self,
        endpoint: &str,
        source: Source,
        options: &UploadOptions,
    ) -> Result<UploadOutcome, Error> {
        let endpoint = parse_uri(endpoint)?;
        let span = tracing::info_span!("tus_upload", endpoint = %redact_url(&endpoint), length = source.len());
        async {
            let mut run = Run::new();
            // Discovery is advisory: servers without OPTIONS still get a plain POST.
            let capabilities = self
                .options(&endpoint.to_string())
                .await
                .unwrap_or_default();
            run.checksum = options
                .checksum
                .and_then(|preferred| negotiate(preferred, &capabilities));
            let fingerprint = match &options.store {
                Some(_) => source.fingerprint(options.fingerprint_content).await?,
                None => None,
            };
            if options.parallel > 1
                && source.len() >= options.parallel as u64
                && source.path().is_some()
            {
                if capabilities.supports("concatenation") {
                    return self
                        .upload_parallel(
                            &endpoint,
                            &capabilities,
                            &source,
                            options,
                            fingerprint.as_deref(),
                            run,
                        )
                        .await;
                }
                tracing::info!("the server has no concatenation: uploading as one stream");
            }
            let mut stored_url = match (&options.store, &fingerprint) {
                (Some(store), Some(fingerprint)) => store.get(fingerprint).await?,
                _ => None,
            };
            let mut restarted = false;
            loop {
                let resumed = match stored_url.take() {
                    Some(url) => match self.try_resume(&url, &source, options).await? {
                        Some(offset) => {
                            tracing::info!(offset, "resuming");
                            options.emit(Event::Resumed { offset });
                            Some((parse_uri(&url)?, offset))
                        }
                        None => {
                            self.forget(options, fingerprint.as_deref()).await?;
                            None
                        }
                    },
                    None => None,
                };
                let (uri, offset, resumed_from) = match resumed {
                    Some((uri, offset)) => (uri, offset, offset),
                    None => {
                        let (uri, offset) = self
                            .create(
                                &endpoint,
                                &capabilities,
                                &source,
                                options,
                                fingerprint.as_deref(),
                                &mut run,
                            )
                            .await?;
                        (uri, offset, 0)
                    }
                };
                let result = self
                    .finish(
                        &uri,
                        &source,
                        offset,
                        resumed_from,
                        options,
                        fingerprint.as_deref(),
                        &mut run,
                    )
                    .await;
                match result {
                    // tus expiration: the server dropped the unfinished upload.
                    // Start over once, cleanly, with a new upload.
                    Err(Error::Status(status))
                        if matches!(status.status, 404 | 410)
                            && capabilities.supports("expiration")
                            && !restarted =>
                    {
                        restarted = true;
                        tracing::warn!(
                            status = status.status,
                            "the upload expired on the server; starting over"
                        );
                        options.emit(Event::Restarted {
                            reason: format!(
                                "the server answered {} for the unfinished upload (expired)",
                                status.status
                            ),
                        });
                        self.forget(options, fingerprint.as_deref()).await?;
                    }
                    other => return other,
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Uploads `source` to an existing upload URL (such as Vimeo's `upload_link`),
    /// from the server's current offset, then verifies.
    pub async fn upload_to(
        &self,
        url: &str,
        source: Source,
        options: &UploadOptions,
    ) -> Result<UploadOutcome, Error> {
        let uri = parse_uri(url)?;
        let span =
            tracing::info_span!("tus_upload", url = %redact_url(&uri), length = source.len());
        async {
            let status = self.status_with_retries(&uri, options).await?;
            let offset = offsets::check_head(status.offset, status.length, source.len()).map_err(
                |error| Error::Protocol {
                    url: redact_url(&uri),
                    error,
                },
            )?;
            if offset > 0 {
                options.emit(Event::Resumed { offset });
            }
            let mut run = Run::new();
            if let Some(preferred) = options.checksum {
                // The upload URL answers OPTIONS too (tus "Discovery").
                let capabilities = self.options(url).await.unwrap_or_default();
                run.checksum = negotiate(preferred, &capabilities);
            }
            self.finish(&uri, &source, offset, offset, options, None, &mut run)
                .await
        }
        .instrument(span)
        .await
    }

    /// Asks the server (HEAD, with retries) how much of the upload it holds.
    pub async fn status(&self, url: &str) -> Result<UploadStatus, Error> {
        let uri = parse_uri(url)?;
        self.status_with_retries(&uri, &UploadOptions::default())
            .await
    }

    /// Whether the upload at `url` is complete with `expected_length` bytes.
    pub async fn verify(&self, url: &str, expected_length: u64) -> Result<Verification, Error> {
        let status = self.status(url).await?;
        Ok(verification(&status, expected_length))
    }

    /// Drops the stored URL for this source, if any.
    pub(crate) async fn forget(
        &self,
        options: &UploadOptions,
        fingerprint: Option<&str>,
    ) -> Result<(), Error> {
        if let (Some(store), Some(fingerprint)) = (&options.store, fingerprint) {
            store.remove(fingerprint).await?;
        }
        Ok(())
    }

    /// The offset to resume a stored URL from, or `None` when the upload is gone,
    /// expired (`Upload-Expires` in the past) or no longer matches the source
    /// (then a new one is created).
    pub(crate) async fn try_resume(
        &self,
        url: &str,
        source: &Source,
        options: &UploadOptions,
    ) -> Result<Option<u64>, Error> {
        let Ok(uri) = parse_uri(url) else {
            return Ok(None);
        };
        match self.status_with_retries(&uri, options).await {
            Ok(status)
                if status
                    .expires_at
                    .is_some_and(|at| at <= std::time::SystemTime::now()) =>
            {
                Ok(None)
            }
            Ok(status) => Ok(offsets::check_head(status.offset, status.length, source.len()).ok()),
            Err(Error::Status(status)) if matches!(status.status, 403 | 404 | 410) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Creates the upload; returns its URL and the offset after any bytes sent with the POST.
    pub(crate) async fn create(
        &self,
        endpoint: &Uri,
        capabilities: &Capabilities,
        source: &Source,
        options: &UploadOptions,
        fingerprint: Option<&str>,
        run: &mut Run,
    ) -> Result<(Uri, u64), Error> {
        if let Some(max) = capabilities.max_size
            && source.len() > max
        {
            return Err(Error::TooLarge {
                length: source.len(),
                max,
            });
        }
        let mut headers = options.headers.clone();
        headers.insert("upload-length", HeaderValue::from(source.len()));
        if let Some(concat) = &options.concat {
            headers.insert("upload-concat", concat.clone());
        }
        if !options.metadata.is_empty() {
            let encoded = metadata::encode(&options.metadata)?;
            headers.insert(
                "upload-metadata",
                HeaderValue::from_str(&encoded)
                    .map_err(|_| Error::InvalidMetadataKey { key: String::new() })?,
            );
        }
        // With checksums, every byte goes through a PATCH the server can verify.
        // Only an upload that fits in one request rides on the POST: bytes sent
        // before the URL is known cannot be resumed after an interruption.
        let with_upload = options.creation_with_upload
            && capabilities.supports("creation-with-upload")
            && run.checksum.is_none()
            && !source.is_empty()
            && source.len() <= options.chunk_size;
        let mut attempt = 0;
        loop {
            let result = if with_upload {
                let first = options.chunk_size.min(source.len());
                let mut headers = headers.clone();
                headers.insert(CONTENT_TYPE, HeaderValue::from_static(OFFSET_OCTET_STREAM));
                self.send_chunk(
                    Method::POST,
                    endpoint,
                    headers,
                    source,
                    0,
                    first,
                    options,
                    run,
                )
                .await
            } else {
                let mut headers = headers.clone();
                headers.insert(CONTENT_LENGTH_HEADER, HeaderValue::from_static("0"));
                self.send(
                    Method::POST,
                    endpoint,
                    headers,
                    RequestBody::Empty,
                    None,
                    options.cancel.as_ref(),
                )
                .await
            };
            let failure = match result {
                Ok(answer) if answer.status.as_u16() == 201 => {
                    let protocol = |error| Error::Protocol {
                        url: redact_url(endpoint),
                        error,
                    };
                    let uri = created_upload(endpoint, &answer.headers, options)?;
                    tracing::info!(url = %redact_url(&uri), "created");
                    if let (Some(store), Some(fingerprint)) = (&options.store, fingerprint) {
                        store.put(fingerprint, &uri.to_string()).await?;
                    }
                    let offset = match answer.headers.get("upload-offset") {
                        Some(value) if with_upload => {
                            parse_u64("Upload-Offset", value.as_bytes()).map_err(protocol)?
                        }
                        _ if with_upload => self.status_with_retries(&uri, options).await?.offset,
                        _ => 0,
                    };
                    if with_upload {
                        let first = options.chunk_size.min(source.len());
                        offsets::check_patch_offset(0, first, offset).map_err(protocol)?;
                        options.emit(Event::ChunkComplete { start: 0, offset });
                    }
                    return Ok((uri, offset));
                }
                Ok(answer) if answer.status.is_success() => {
                    return Err(Error::Protocol {
                        url: redact_url(endpoint),
                        error: ProtocolError::UnexpectedStatus {
                            status: answer.status.as_u16(),
                            expected: "201 Created",
                        },
                    });
                }
                Ok(answer) => self.status_failure(&Method::POST, endpoint, answer).await,
                Err(failure) => failure,
            };
            attempt += 1;
            run.retries += 1;
            self.wait_before_retry(attempt, failure, options).await?;
        }
    }

    /// Streams from `offset` to the end, then verifies. `resumed_from` is where
    /// this run found the upload (0 when it created it).
    #[allow(clippy::too_many_arguments)] // internal; each argument is a distinct fact about the run
    pub(crate) async fn finish(
        &self,
        uri: &Uri,
        source: &Source,
        offset: u64,
        resumed_from: u64,
        options: &UploadOptions,
        fingerprint: Option<&str>,
        run: &mut Run,
    ) -> Result<UploadOutcome, Error> {
        let final_offset = self.transfer(uri, source, offset, options, run).await?;
        let status = self.status_with_retries(uri, options).await?;
        let verification = verification(&status, source.len());
        tracing::info!(
            offset = final_offset,
            complete = verification.is_complete(),
            "verified"
        );
        if verification.is_complete()
            && options.remove_on_success
            && let (Some(store), Some(fingerprint)) = (&options.store, fingerprint)
        {
            store.remove(fingerprint).await?;
        }
        Ok(UploadOutcome {
            url: uri.to_string(),
            verification,
            resumed_from,
            bytes_sent: run.bytes_sent,
            retries: run.retries,
        })
    }

    /// The PATCH loop. Every failure ends in a HEAD before bytes are sent again,
    /// so nothing before the server's acknowledged offset is re-sent.
    async fn transfer(
        &self,
        uri: &Uri,
        source: &Source,
        mut offset: u64,
        options: &UploadOptions,
        run: &mut Run,
    ) -> Result<u64, Error> {
        let length = source.len();
        let mut attempt = 0u32;
        let mut resync = false;
        loop {
            if resync {
                let status = self.status_with_retries(uri, options).await?;
                offset =
                    offsets::check_head(status.offset, status.length, length).map_err(|error| {
                        Error::Protocol {
                            url: redact_url(uri),
                            error,
                        }
                    })?;
                resync = false;
            }
            if offset >= length {
                return Ok(offset);
            }
            source.check_unchanged().await?;
            let chunk = options.chunk_size.min(length - offset);
            let mut headers = options.headers.clone();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(OFFSET_OCTET_STREAM));
            headers.insert("upload-offset", HeaderValue::from(offset));
            let span = tracing::debug_span!("tus_patch", offset, chunk, attempt);
            let result = self
                .send_chunk(
                    Method::PATCH,
                    uri,
                    headers,
                    source,
                    offset,
                    chunk,
                    options,
                    run,
                )
                .instrument(span)
                .await;
            let failure = match result {
                Ok(answer) if answer.status.as_u16() == 204 || answer.status.as_u16() == 200 => {
                    let protocol = |error| Error::Protocol {
                        url: redact_url(uri),
                        error,
                    };
                    let reported =
                        acknowledged_offset(uri, &answer.headers, offset, offset + chunk)?;
                    options.emit(Event::ChunkComplete {
                        start: offset,
                        offset: reported,
                    });
                    if reported > offset {
                        attempt = 0;
                        offset = reported;
                        continue;
                    }
                    // The server took nothing: treat like a failure, so it is bounded.
                    Failure::from(protocol(ProtocolError::OffsetBackwards {
                        before: offset + chunk,
                        after: reported,
                    }))
                }
                Ok(answer) if answer.status.as_u16() == 409 => {
                    tracing::info!(offset, "offset conflict; re-syncing");
                    let failure = self.status_failure(&Method::PATCH, uri, answer).await;
                    attempt += 1;
                    if attempt > self.inner.retry.attempts() {
                        return Err(Error::RetriesExhausted {
                            attempts: attempt,
                            last: Box::new(failure.error),
                        });
                    }
                    run.retries += 1;
                    options.emit(Event::Retrying {
                        attempt,
                        delay: Duration::ZERO,
                        reason: failure.error.to_string(),
                    });
                    resync = true;
                    continue;
                }
                Ok(answer) => self.status_failure(&Method::PATCH, uri, answer).await,
                Err(failure) => failure,
            };
            attempt += 1;
            run.retries += 1;
            self.wait_before_retry(attempt, failure, options).await?;
            resync = true;
        }
    }

    /// Sends `len` bytes of `source` from `offset` as the body of one request.
    #[allow(clippy::too_many_arguments)] // internal; each argument is a distinct part of the request
    async fn send_chunk(
        &self,
        method: Method,
        uri: &Uri,
        mut headers: HeaderMap,
        source: &Source,
        offset: u64,
        len: u64,
        options: &UploadOptions,
        run: &mut Run,
    ) -> Result<crate::client::Answer, Failure> {
        let mut reader = source.reader.clone().lock_owned().await;
        reader
            .seek(SeekFrom::Start(offset))
            .await
            .map_err(|e| Failure::from(source_failure(e)))?;
        if let Some(algorithm) = run.checksum {
            // The digest goes in a header, before the body: hash this chunk
            // first (block by block), then rewind and stream it.
            let mut hasher = algorithm.hasher();
            let mut block = vec![0u8; crate::body::BLOCK.min(len.max(1) as usize)];
            let mut remaining = len;
            while remaining > 0 {
                let want = remaining.min(block.len() as u64) as usize;
                let n = reader
                    .read(&mut block[..want])
                    .await
                    .map_err(|e| Failure::from(source_failure(e)))?;
                if n == 0 {
                    return Err(Failure::from(Error::SourceChanged {
                        expected: source.len(),
                        found: offset + len - remaining,
                    }));
                }
                hasher.update(&block[..n]);
                remaining -= n as u64;
            }
            reader
                .seek(SeekFrom::Start(offset))
                .await
                .map_err(|e| Failure::from(source_failure(e)))?;
            let value = HeaderValue::from_str(&hasher.header_value())
                .expect("an algorithm name and a base64 digest form a valid header value");
            headers.insert("upload-checksum", value);
        }
        headers.insert(CONTENT_LENGTH_HEADER, content_length(len));
        let meter = Arc::new(Meter::default());
        let on_bytes = options.on_event.clone().map(|callback| {
            let (total, started, before) = (source.len(), run.started, run.bytes_sent);
            Arc::new(move |sent_in_body: u64| {
                let sent_this_run = before + sent_in_body;
                let elapsed = started.elapsed().as_secs_f64().max(1e-6);
                let rate = sent_this_run as f64 / elapsed;
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
            }) as Arc<dyn Fn(u64) + Send + Sync>
        });
        let body = RequestBody::Stream(StreamBody::new(reader, len, meter.clone(), on_bytes));
        let result = self
            .send(
                method,
                uri,
                headers,
                body,
                Some(&meter),
                options.cancel.as_ref(),
            )
            .await;
        run.bytes_sent += meter.sent.load(std::sync::atomic::Ordering::Relaxed);
        result
    }

    /// HEAD with retries.
    pub(crate) async fn status_with_retries(
        &self,
        uri: &Uri,
        options: &UploadOptions,
    ) -> Result<UploadStatus, Error> {
        let mut attempt = 0;
        loop {
            match self.head_once(uri, options.cancel.as_ref()).await {
                Ok(status) => return Ok(status),
                Err(failure) => {
                    attempt += 1;
                    self.wait_before_retry(attempt, failure, options).await?;
                }
            }
        }
    }

    /// Returns the error if the policy refuses to retry; otherwise waits (the
    /// server's `Retry-After` or the backoff delay), interruptible by cancellation.
    pub(crate) async fn wait_before_retry(
        &self,
        attempt: u32,
        failure: Failure,
        options: &UploadOptions,
    ) -> Result<(), Error> {
        let policy = &self.inner.retry;
        if !policy.allows(attempt, &failure.error) {
            return Err(if attempt > 1 && failure.error.is_retryable() {
                Error::RetriesExhausted {
                    attempts: attempt,
                    last: Box::new(failure.error),
                }
            } else {
                failure.error
            });
        }
        let mut random = [0u8; 8];
        let _ = getrandom::fill(&mut random);
        let delay = policy.wait(attempt, u64::from_le_bytes(random), failure.retry_after);
        tracing::warn!(attempt, ?delay, error = %failure.error, "retrying");
        options.emit(Event::Retrying {
            attempt,
            delay,
            reason: failure.error.to_string(),
        });
        match &options.cancel {
            Some(cancel) => tokio::select! {
                () = tokio::time::sleep(delay) => Ok(()),
                () = cancel.cancelled() => Err(Error::Cancelled),
            },
            None => {
                tokio::time::sleep(delay).await;
                Ok(())
            }
        }
    }
}

/// The upload URL from a 201 answer to a creation request (relative or
/// absolute `Location`), announced with `Event::Created`.
pub(crate) fn created_upload(
    endpoint: &Uri,
    headers: &HeaderMap,
    options: &UploadOptions,
) -> Result<Uri, Error> {
    let protocol = |error| Error::Protocol {
        url: redact_url(endpoint),
        error,
    };
    let location = headers
        .get(http::header::LOCATION)
        .ok_or(protocol(ProtocolError::MissingHeader { name: "Location" }))?;
    let uri = resolve_location(endpoint, location.as_bytes()).map_err(protocol)?;
    // The caller's own callback gets the usable URL (without query); logs and
    // errors get the redacted form.
    options.emit(Event::Created {
        url: format!(
            "{}://{}{}{}",
            uri.scheme_str().unwrap_or("http"),
            uri.host().unwrap_or(""),
            uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default(),
            uri.path()
        ),
    });
    Ok(uri)
}

/// The `Upload-Offset` of a successful PATCH that sent bytes `start..end`,
/// checked: present, well-formed, not backwards, not past what was sent.
pub(crate) fn acknowledged_offset(
    uri: &Uri,
    headers: &HeaderMap,
    start: u64,
    end: u64,
) -> Result<u64, Error> {
    headers
        .get("upload-offset")
        .ok_or(ProtocolError::MissingHeader {
            name: "Upload-Offset",
        })
        .and_then(|v| parse_u64("Upload-Offset", v.as_bytes()))
        .and_then(|reported| offsets::check_patch_offset(start, end, reported))
        .map_err(|error| Error::Protocol {
            url: redact_url(uri),
            error,
        })
}

pub(crate) fn verification(status: &UploadStatus, expected: u64) -> Verification {
    let length = status.length.unwrap_or(expected);
    if status.offset == expected && length == expected {
        Verification::Complete { length: expected }
    } else {
        Verification::Incomplete {
            offset: status.offset,
            length: expected,
        }
    }
}
