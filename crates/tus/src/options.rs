//! Per-upload settings.

use std::fmt;
use std::sync::Arc;

use http::HeaderMap;
use http::header::HeaderValue;

use crate::client::parse_uri;
use crate::core::checksum::ChecksumAlgorithm;
use crate::core::machine::origin;
use crate::core::metadata;
use crate::error::Error;
use crate::progress::{CancelToken, Event, ProgressFn};
use crate::store::UrlStore;

/// The largest chunk a file upload streams in one PATCH (64 GiB).
pub const MAX_CHUNK_SIZE: u64 = 64 << 30;

/// The largest chunk [`crate::Client::upload_stream`] holds in memory (1 GiB).
pub const MAX_STREAM_CHUNK_SIZE: u64 = 1 << 30;

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
    /// Origins besides the endpoint's that get the caller's headers.
    pub(crate) trusted_origins: Vec<String>,
    pub(crate) before_request: Option<crate::hooks::BeforeRequestFn>,
    pub(crate) after_response: Option<crate::hooks::AfterResponseFn>,
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
            trusted_origins: Vec::new(),
            before_request: None,
            after_response: None,
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
    /// Bytes per PATCH request, from 1 to [`MAX_CHUNK_SIZE`] (for
    /// [`Client::upload_stream`], which holds a chunk in memory, up to
    /// [`MAX_STREAM_CHUNK_SIZE`]); anything else makes the upload fail with
    /// [`Error::InvalidChunkSize`] before any request. Memory use of file
    /// uploads does not depend on it.
    ///
    /// [`Client::upload_stream`]: crate::Client::upload_stream
    pub fn chunk_size(mut self, bytes: u64) -> Self {
        self.chunk_size = bytes;
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

    /// Adds a header to this upload's requests. Like the client's own
    /// headers, it goes only to the endpoint's origin (scheme, host and port)
    /// and to origins named with [`UploadOptions::trust_origin`]: an upload
    /// URL the server places elsewhere gets no credentials, as curl drops them
    /// on a redirect to another host.
    pub fn header(mut self, name: http::HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Lets the caller's headers go to upload URLs on `url`'s origin too
    /// (a storage host of the same service, say). An invalid URL is
    /// reported when the upload starts.
    ///
    /// ```
    /// let options = tus::UploadOptions::default().trust_origin("https://uploads.example.com");
    /// # let _ = options;
    /// ```
    pub fn trust_origin(mut self, url: &str) -> Self {
        self.trusted_origins.push(url.to_owned());
        self
    }

    /// An async hook run before every request of the upload (creation,
    /// PATCHes, HEADs): it gets the method, URL and headers and returns them,
    /// changed — say, with a short-lived token fetched from the app's backend.
    /// Only headers and the URL's query may change. Bounded by the stall
    /// timeout; an error fails the upload (resumable) as [`Error::Hook`].
    ///
    /// ```
    /// let options = tus::UploadOptions::default().before_request(|mut request| {
    ///     Box::pin(async move {
    ///         let token = "fetched-from-the-backend"; // e.g. an HTTP call
    ///         request.headers.insert("authorization", format!("Bearer {token}").parse()?);
    ///         Ok(request)
    ///     })
    /// });
    /// # let _ = options;
    /// ```
    pub fn before_request(
        mut self,
        hook: impl Fn(
            crate::hooks::OutgoingRequest,
        ) -> crate::store::BoxFuture<
            'static,
            Result<crate::hooks::OutgoingRequest, crate::error::BoxError>,
        > + Send
        + Sync
        + 'static,
    ) -> Self {
        self.before_request = Some(Arc::new(hook));
        self
    }

    /// An async hook that sees every answer of the upload (status and
    /// headers) and may ask for the request to be sent again once, after it
    /// refreshed credentials (a 401/403 from a token-protected server).
    /// Bounded by the stall timeout.
    ///
    /// ```
    /// use tus::AfterResponse;
    /// let options = tus::UploadOptions::default().after_response(|answer| {
    ///     Box::pin(async move {
    ///         if answer.status == 401 {
    ///             // refresh the token the before_request hook attaches, then:
    ///             return AfterResponse::RetryOnce;
    ///         }
    ///         AfterResponse::Continue
    ///     })
    /// });
    /// # let _ = options;
    /// ```
    pub fn after_response(
        mut self,
        hook: impl Fn(
            crate::hooks::ReceivedAnswer,
        ) -> crate::store::BoxFuture<'static, crate::hooks::AfterResponse>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.after_response = Some(Arc::new(hook));
        self
    }

    /// Remembers the upload URL under a key derived from the source's
    /// fingerprint and the endpoint, so a rerun to the same endpoint resumes
    /// (and the same file sent to another endpoint never does).
    pub fn store(mut self, store: Arc<dyn UrlStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Whether to forget the URL once the upload is verified complete (default true).
    pub fn remove_on_success(mut self, remove: bool) -> Self {
        self.remove_on_success = remove;
        self
    }

    /// Identifies the source by its content (size and SHA-256 of every byte)
    /// instead of its path and modification time (default off): one extra
    /// read of the file, and a copy of it on another machine with a shared
    /// store (Redis) resumes the same upload. See [`crate::Source::fingerprint`].
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

    /// The chunk size, checked against `max`.
    pub(crate) fn checked_chunk_size(&self, max: u64) -> Result<u64, Error> {
        if self.chunk_size == 0 || self.chunk_size > max {
            return Err(Error::InvalidChunkSize {
                size: self.chunk_size,
                max,
            });
        }
        Ok(self.chunk_size)
    }

    /// The headers of a creation request: metadata (refused if a key is
    /// invalid, for every kind of upload) and concatenation.
    pub(crate) fn creation_headers(&self) -> Result<HeaderMap, Error> {
        let mut headers = HeaderMap::new();
        if let Some(concat) = &self.concat {
            headers.insert("upload-concat", concat.clone());
        }
        if !self.metadata.is_empty() {
            let encoded = metadata::encode(&self.metadata)?;
            let value = HeaderValue::from_str(&encoded).map_err(|_| Error::InvalidHeader {
                name: "Upload-Metadata".into(),
            })?;
            headers.insert("upload-metadata", value);
        }
        Ok(headers)
    }

    /// Origins that get the caller's headers: `base`'s and the trusted ones.
    pub(crate) fn origins(&self, base: &http::Uri) -> Result<Vec<String>, Error> {
        let mut origins = self.trusted()?;
        origins.insert(0, origin(base));
        Ok(origins)
    }

    /// The origins named with [`UploadOptions::trust_origin`].
    pub(crate) fn trusted(&self) -> Result<Vec<String>, Error> {
        let mut origins = Vec::new();
        for url in &self.trusted_origins {
            origins.push(origin(&parse_uri(url)?));
        }
        Ok(origins)
    }

    pub(crate) fn emit(&self, event: Event) {
        if let Some(callback) = &self.on_event {
            callback(&event);
        }
    }
}
