//! Uploads of a known length: [`Client::upload`] (create or resume) and
//! [`Client::upload_to`] (an existing upload URL), plus status checks. Each
//! builds the state machine's [`Config`] and hands it to the one driver.

use http::Uri;
use tracing::Instrument as _;

use crate::client::{Client, UploadStatus, parse_uri};
use crate::core::budget::RetryBudget;
use crate::core::capabilities::Capabilities;
use crate::core::checksum::negotiate;
use crate::core::machine::{Config, Start};
use crate::core::offsets;
use crate::drive::{Creation, Payload};
use crate::error::{Error, redact_url};
use crate::options::{MAX_CHUNK_SIZE, UploadOptions};
use crate::source::Source;

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

/// The result of a finished upload. An upload returns `Ok` only when it is
/// verified: the source was unchanged after the last PATCH and a final HEAD
/// reported offset = length = the source's length.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadOutcome {
    /// The upload URL.
    pub url: String,
    /// The final HEAD check (always complete).
    pub verification: Verification,
    /// The offset this run started from (0 for a new upload).
    pub resumed_from: u64,
    /// Bytes put on the wire by this run (more than `length - resumed_from` when
    /// chunks had to be re-sent).
    pub bytes_sent: u64,
    /// Requests that failed and were retried.
    pub retries: u32,
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
            // Everything the caller got wrong fails before any request.
            let chunk_size = options.checked_chunk_size(MAX_CHUNK_SIZE)?;
            let creation = options.creation_headers()?;
            let trusted = options.origins(&endpoint)?;
            let capabilities = self.discover(&endpoint.to_string()).await?;
            let fingerprint = match &options.store {
                Some(_) => source
                    .fingerprint(options.fingerprint_content)
                    .await?
                    .map(|fingerprint| store_key(&fingerprint, &endpoint)),
                None => None,
            };
            if options.parallel > 1
                && source.len() >= options.parallel as u64
                && source.path().is_some()
            {
                if capabilities.supports("concatenation") {
                    return self
                        .upload_parallel(&endpoint, &capabilities, &source, options, fingerprint)
                        .await;
                }
                tracing::info!("the server has no concatenation: uploading as one stream");
            }
            let start = start_from_store(options, fingerprint.as_deref()).await?;
            let config = self.config(
                Some(endpoint.clone()),
                start,
                Some(source.len()),
                chunk_size,
                &capabilities,
                options,
                fingerprint.is_some(),
                trusted,
            );
            self.drive(
                config,
                options,
                fingerprint.as_deref(),
                Creation::Post(creation),
                Payload::Source(&source),
            )
            .await
        }
        .instrument(span)
        .await
    }

    /// Uploads `source` to an existing upload URL (such as Vimeo's `upload_link`),
    /// from the server's current offset, then verifies. A vanished upload
    /// (404/410) is an error: only its creator can make a new one.
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
            let chunk_size = options.checked_chunk_size(MAX_CHUNK_SIZE)?;
            let trusted = options.origins(&uri)?;
            let capabilities = match options.checksum {
                // The upload URL answers OPTIONS too (tus "Discovery").
                Some(_) => self.discover(url).await?,
                None => Capabilities::default(),
            };
            let config = self.config(
                None,
                Start::Existing(uri),
                Some(source.len()),
                chunk_size,
                &capabilities,
                options,
                false,
                trusted,
            );
            self.drive(
                config,
                options,
                None,
                Creation::Post(http::HeaderMap::new()),
                Payload::Source(&source),
            )
            .await
        }
        .instrument(span)
        .await
    }

    /// The state machine's settings for one upload.
    #[allow(clippy::too_many_arguments)] // internal; each is a distinct fact about the upload
    pub(crate) fn config(
        &self,
        endpoint: Option<Uri>,
        start: Start,
        length: Option<u64>,
        chunk_size: u64,
        capabilities: &Capabilities,
        options: &UploadOptions,
        store: bool,
        trusted_origins: Vec<String>,
    ) -> Config {
        let mut seed = [0u8; 8];
        let _ = getrandom::fill(&mut seed);
        Config {
            length,
            chunk_size,
            endpoint,
            start,
            creation_with_upload: options.creation_with_upload
                && capabilities.supports("creation-with-upload"),
            checksum: options
                .checksum
                .and_then(|preferred| negotiate(preferred, capabilities)),
            restart_on_expiry: capabilities.supports("expiration"),
            max_size: capabilities.max_size,
            store: store && options.store.is_some(),
            remove_on_success: options.remove_on_success,
            trusted_origins,
            concat_final: false,
            external_creation: false,
            seed: u64::from_le_bytes(seed),
        }
    }

    /// Asks the server (HEAD, retried within the client's retry budget) how
    /// much of the upload it holds. An offset beyond the length is an error.
    pub async fn status(&self, url: &str) -> Result<UploadStatus, Error> {
        let uri = parse_uri(url)?;
        let policy = &self.inner.retry;
        let mut budget = RetryBudget::for_call(policy);
        loop {
            match self.head_once(&uri, None).await {
                Ok(status) => {
                    if let Some(length) = status.length {
                        offsets::check_head(status.offset, Some(length), length).map_err(
                            |error| Error::Protocol {
                                url: redact_url(&uri),
                                error,
                            },
                        )?;
                    }
                    return Ok(status);
                }
                Err(failure) => {
                    let mut random = [0u8; 8];
                    let _ = getrandom::fill(&mut random);
                    let retry = budget.failure(
                        policy,
                        failure.error,
                        failure.retry_after,
                        u64::from_le_bytes(random),
                        false,
                    )?;
                    tokio::time::sleep(retry.delay).await;
                }
            }
        }
    }

    /// Whether the upload at `url` is complete with `expected_length` bytes
    /// (`Upload-Offset` = `Upload-Length` = `expected_length`).
    pub async fn verify(&self, url: &str, expected_length: u64) -> Result<Verification, Error> {
        let status = self.status(url).await?;
        Ok(verification(&status, expected_length))
    }
}

/// The store key of a source sent to `endpoint`: a rerun to the same
/// endpoint resumes, the same file sent elsewhere starts its own upload.
fn store_key(fingerprint: &str, endpoint: &Uri) -> String {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    hasher.update(b"tus-store-key-v1\0");
    hasher.update(fingerprint.as_bytes());
    hasher.update(b"\0");
    hasher.update(endpoint.to_string().as_bytes());
    format!("{:x}", hasher.finalize())
}

/// Resume the URL stored under `key`, if there is a usable one; else create.
pub(crate) async fn start_from_store(
    options: &UploadOptions,
    key: Option<&str>,
) -> Result<Start, Error> {
    let stored = match (&options.store, key) {
        (Some(store), Some(key)) => store.get(key).await?,
        _ => None,
    };
    Ok(match stored.as_deref().map(parse_uri) {
        Some(Ok(url)) => Start::Resume(url),
        _ => Start::Create,
    })
}

pub(crate) fn verification(status: &UploadStatus, expected: u64) -> Verification {
    if status.offset == expected && status.length == Some(expected) {
        Verification::Complete { length: expected }
    } else {
        Verification::Incomplete {
            offset: status.offset,
            length: expected,
        }
    }
}
