//! Uploads whose URL comes from somewhere other than a tus creation endpoint:
//! an API that hands out upload links (Vimeo's `POST /me/videos`), a backend
//! that signs URLs. The caller makes uploads; the state machine still decides
//! when a new one is needed (the stored one vanished or does not fit, or it
//! expired mid-way: once) and runs the upload as any other.

use tracing::Instrument as _;

use crate::client::{Client, parse_uri};
use crate::core::capabilities::Capabilities;
use crate::core::machine::Start;
use crate::drive::{Creation, Payload};
use crate::error::{BoxError, Error, redact_url};
use crate::options::{MAX_CHUNK_SIZE, UploadOptions};
use crate::source::Source;
use crate::store::BoxFuture;
use crate::upload::UploadOutcome;

/// Makes new uploads for [`Client::upload_with`].
///
/// ```
/// use tus::{BoxError, BoxFuture, Creator};
///
/// /// Asks the app's backend for an upload link.
/// struct Backend;
///
/// impl Creator for Backend {
///     fn create<'a>(
///         &'a self,
///         length: u64,
///         gone: Option<&'a str>,
///     ) -> BoxFuture<'a, Result<String, BoxError>> {
///         Box::pin(async move {
///             // Tell the backend `gone` can be cleaned up, then ask for a new link.
///             let _ = gone;
///             Ok(format!("https://uploads.example.com/files/new-{length}"))
///         })
///     }
/// }
/// # let _ = Backend;
/// ```
pub trait Creator: Send + Sync {
    /// A new upload URL for `length` bytes. `gone` is the upload it replaces
    /// (it vanished from the server, expired, or did not fit), so the caller
    /// can clean up what belonged to it. An error ends the upload as
    /// [`Error::Creator`] with the error as its source; it is not retried
    /// (retry inside, where you know whether repeating is safe).
    fn create<'a>(
        &'a self,
        length: u64,
        gone: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, BoxError>>;
}

impl Client {
    /// Uploads `source` to `resume` (an upload made earlier by `creator`), or
    /// to a new upload from `creator` when there is none or it cannot be
    /// resumed. An upload that vanishes mid-way (404/410) is replaced once,
    /// when every byte can be sent again. Verified as [`Client::upload`].
    ///
    /// The URL store in `options` is not used: the creator keeps its own
    /// record of what it made. Caller headers go only to origins named with
    /// [`UploadOptions::trust_origin`].
    pub async fn upload_with(
        &self,
        creator: &dyn Creator,
        resume: Option<&str>,
        source: Source,
        options: &UploadOptions,
    ) -> Result<UploadOutcome, Error> {
        let resume = resume.map(parse_uri).transpose()?;
        let span = tracing::info_span!(
            "tus_upload",
            url = resume.as_ref().map(redact_url).unwrap_or_default(),
            length = source.len()
        );
        async {
            let chunk_size = options.checked_chunk_size(MAX_CHUNK_SIZE)?;
            // Upload URLs come from the creator, on hosts not known up front:
            // caller headers go only to origins named with `trust_origin`.
            let trusted = options.trusted()?;
            let start = resume.map_or(Start::Create, Start::Resume);
            let mut config = self.config(
                None,
                start,
                Some(source.len()),
                chunk_size,
                &Capabilities::default(),
                options,
                false,
                trusted,
            );
            config.external_creation = true;
            // The creator can always make another upload: a vanished one
            // starts over (once) whatever the server advertises.
            config.restart_on_expiry = true;
            self.drive(
                config,
                options,
                None,
                Creation::Via(creator),
                Payload::Source(&source),
            )
            .await
        }
        .instrument(span)
        .await
    }
}
