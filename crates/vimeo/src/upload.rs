//! Uploads: create the video (or a new version) with the tus approach, send
//! the bytes to `upload.upload_link` with the `tus` crate, verify with HEAD.
//! Resume state (video, link, size) is kept in the resume cache under the
//! source's fingerprint, so rerunning the same upload continues it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cache::{CacheExt as _, Namespace};
use serde_json::Value;
use tracing::Instrument as _;

use crate::auth::AccessToken;
use crate::client::VimeoClient;
use crate::error::Error;
use crate::models::{Video, video_id_from_uri};
use crate::request::ApiRequest;
use crate::ticket::{ResumeRecord, Target, TicketOffice, UploadTicket};

/// Where the bytes come from.
pub enum UploadSource {
    /// A file.
    Path(PathBuf),
    /// Any seekable reader of known size (an incoming request body spooled by
    /// the caller, a decrypted stream...). Without a file identity it cannot be
    /// resumed after a restart, only within the call's retries.
    Reader {
        /// The reader.
        reader: Box<dyn tus::ReadSeek>,
        /// Its length in bytes.
        size: u64,
        /// A file name for the video (and for guessing the MIME type).
        file_name: Option<String>,
    },
}

impl std::fmt::Debug for UploadSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UploadSource::Path(path) => f.debug_tuple("Path").field(path).finish(),
            UploadSource::Reader {
                size, file_name, ..
            } => f
                .debug_struct("Reader")
                .field("size", size)
                .field("file_name", file_name)
                .finish_non_exhaustive(),
        }
    }
}

impl UploadSource {
    /// A reader of `size` bytes.
    pub fn reader(reader: impl tus::ReadSeek + 'static, size: u64) -> Self {
        UploadSource::Reader {
            reader: Box::new(reader),
            size,
            file_name: None,
        }
    }

    /// Names a reader source (ignored for paths, which have their own name).
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        if let UploadSource::Reader { file_name, .. } = &mut self {
            *file_name = Some(name.into());
        }
        self
    }

    fn name(&self) -> Option<String> {
        match self {
            UploadSource::Path(path) => path.file_name().map(|n| n.to_string_lossy().into_owned()),
            UploadSource::Reader { file_name, .. } => file_name.clone(),
        }
    }
}

impl From<PathBuf> for UploadSource {
    fn from(path: PathBuf) -> Self {
        UploadSource::Path(path)
    }
}

impl From<&Path> for UploadSource {
    fn from(path: &Path) -> Self {
        UploadSource::Path(path.to_path_buf())
    }
}

impl From<&str> for UploadSource {
    fn from(path: &str) -> Self {
        UploadSource::Path(PathBuf::from(path))
    }
}

/// A MIME type from a file extension (video containers Vimeo accepts).
///
/// ```
/// assert_eq!(vimeo::guess_mime_type("clip.MP4"), Some("video/mp4"));
/// assert_eq!(vimeo::guess_mime_type("notes.txt"), None);
/// ```
pub fn guess_mime_type(file_name: &str) -> Option<&'static str> {
    let extension = file_name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "mov" | "qt" => "video/quicktime",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "avi" => "video/x-msvideo",
        "wmv" => "video/x-ms-wmv",
        "flv" => "video/x-flv",
        "mpg" | "mpeg" => "video/mpeg",
        "3gp" => "video/3gpp",
        "ogv" => "video/ogg",
        "mxf" => "application/mxf",
        "ts" | "mts" | "m2ts" => "video/mp2t",
        _ => return None,
    })
}

/// Options of one upload. Cheap to clone.
///
/// ```
/// let options = vimeo::UploadOptions::new()
///     .name("Holiday")
///     .privacy("unlisted")
///     .chunk_size(256 << 20)
///     .on_event(|event| if let vimeo::tus::Event::Progress(p) = event {
///         eprintln!("{} / {}", p.acknowledged, p.total);
///     });
/// # let _ = options;
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
#[must_use]
pub struct UploadOptions {
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) privacy: Option<String>,
    pub(crate) chunk_size: Option<u64>,
    pub(crate) mime_type: Option<String>,
    pub(crate) extra: serde_json::Map<String, Value>,
    pub(crate) on_event: Option<tus::ProgressFn>,
    pub(crate) cancel: Option<tus::CancelToken>,
    pub(crate) fingerprint_content: bool,
}

impl std::fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadOptions")
            .field("name", &self.name)
            .field("privacy", &self.privacy)
            .field("chunk_size", &self.chunk_size)
            .finish_non_exhaustive()
    }
}

impl UploadOptions {
    /// The fields of a create body these options set (name, description,
    /// privacy, extra fields); the caller adds `upload`.
    pub(crate) fn create_fields(&self) -> serde_json::Map<String, Value> {
        let mut body = serde_json::Map::new();
        if let Some(name) = &self.name {
            body.insert("name".into(), Value::from(name.clone()));
        }
        if let Some(description) = &self.description {
            body.insert("description".into(), Value::from(description.clone()));
        }
        if let Some(view) = &self.privacy {
            body.insert("privacy".into(), serde_json::json!({ "view": view }));
        }
        for (name, value) in &self.extra {
            body.insert(name.clone(), value.clone());
        }
        body
    }

    /// Defaults: no name (Vimeo uses the file's), the client's chunk size.
    pub fn new() -> Self {
        UploadOptions::default()
    }

    /// The video's title.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// `privacy.view`: `anybody`, `nobody`, `unlisted`, ...
    pub fn privacy(mut self, view: impl Into<String>) -> Self {
        self.privacy = Some(view.into());
        self
    }

    /// Bytes per PATCH (streamed; memory does not grow with it).
    pub fn chunk_size(mut self, bytes: u64) -> Self {
        self.chunk_size = Some(bytes);
        self
    }

    /// The MIME type, instead of guessing it from the file name.
    pub fn mime_type(mut self, mime: impl Into<String>) -> Self {
        self.mime_type = Some(mime.into());
        self
    }

    /// Any other field of the create body (`license`, `embed`, ...).
    pub fn field(mut self, name: impl Into<String>, value: Value) -> Self {
        self.extra.insert(name.into(), value);
        self
    }

    /// Progress and retry events, as in the `tus` crate.
    pub fn on_event(mut self, callback: impl Fn(&tus::Event) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(callback));
        self
    }

    /// Cancels the upload from elsewhere; it stays resumable.
    pub fn cancel_token(mut self, token: tus::CancelToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Identifies the file by its content (size and SHA-256 of every byte,
    /// one extra read) instead of path and modification time, so a copy of it
    /// on another machine sharing the resume cache (Redis) continues the same
    /// video.
    pub fn fingerprint_content(mut self, hash: bool) -> Self {
        self.fingerprint_content = hash;
        self
    }
}

/// A finished upload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadedVideo {
    /// `/videos/{id}`.
    pub uri: String,
    /// The numeric id.
    pub id: u64,
    /// The public page, when the API gave one.
    pub link: Option<String>,
    /// The bytes uploaded.
    pub size: u64,
    /// The final HEAD check (always complete when this is returned).
    pub verification: tus::Verification,
    /// The offset this run started from (non-zero when it resumed).
    pub resumed_from: u64,
    /// Bytes sent by this run.
    pub bytes_sent: u64,
    /// Requests retried by this run.
    pub retries: u32,
    /// The MIME type given or guessed.
    pub mime_type: Option<String>,
}

/// Upload and transcode state of a video.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VideoStatus {
    /// `status` (`available`, `uploading`, `transcoding`, ...).
    pub status: Option<String>,
    /// `upload.status` (`in_progress`, `complete`, `error`).
    pub upload: Option<String>,
    /// `transcode.status` (`in_progress`, `complete`, `error`).
    pub transcode: Option<String>,
}

/// How [`VimeoClient::wait_for_transcode`] polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitOptions {
    /// Give up after this long.
    pub timeout: Duration,
    /// Time between polls (default 5 s, kind to the rate limit).
    pub interval: Duration,
}

impl WaitOptions {
    /// Waits up to `timeout`, polling every 5 s.
    pub fn new(timeout: Duration) -> Self {
        WaitOptions {
            timeout,
            interval: Duration::from_secs(5),
        }
    }

    /// Polls every `interval`.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }
}

/// How long a resume record is kept (Vimeo upload links live about a day;
/// a week leaves room for a retry from another machine).
pub(crate) const RESUME_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

fn resume_namespace() -> Namespace {
    Namespace::new("vimeo-upload").expect("a valid constant namespace (tested)")
}

/// Canonical `/videos/{id}` from a URI or id.
fn video_uri(video: &str) -> Result<String, Error> {
    video_id_from_uri(video)
        .map(|id| format!("/videos/{id}"))
        .ok_or_else(|| Error::InvalidInput(format!("not a video id or /videos/ URI: {video:?}")))
}

impl VimeoClient {
    /// Uploads a new video: `POST /me/videos` with `upload.approach = tus`,
    /// the bytes to `upload.upload_link` (no credentials there), then a HEAD
    /// proves every byte arrived. Rerunning an interrupted upload of the same
    /// file resumes it from the server's offset.
    pub async fn upload(
        &self,
        source: impl Into<UploadSource>,
        options: &UploadOptions,
    ) -> Result<UploadedVideo, Error> {
        let source = source.into();
        let span = tracing::info_span!("vimeo_upload", kind = "new");
        self.upload_to_target(source, options, Target::New)
            .instrument(span)
            .await
    }

    /// Replaces a video's file: `POST /videos/{id}/versions`, then as
    /// [`VimeoClient::upload`]. `video` is an id or a `/videos/{id}` URI.
    pub async fn replace(
        &self,
        video: &str,
        source: impl Into<UploadSource>,
        options: &UploadOptions,
    ) -> Result<UploadedVideo, Error> {
        let uri = video_uri(video)?;
        let source = source.into();
        let span = tracing::info_span!("vimeo_upload", kind = "replace", video = %uri);
        self.upload_to_target(source, options, Target::Replace { video_uri: &uri })
            .instrument(span)
            .await
    }

    async fn upload_to_target(
        &self,
        source: UploadSource,
        options: &UploadOptions,
        target: Target<'_>,
    ) -> Result<UploadedVideo, Error> {
        let file_name = source.name();
        let (source, mime_type) = open_source(source, options).await?;
        let size = source.len();
        let record_key = match source.fingerprint(options.fingerprint_content).await? {
            Some(fingerprint) => {
                let target_name = match &target {
                    Target::New => "new".to_owned(),
                    Target::Replace { video_uri } => (*video_uri).to_owned(),
                };
                let identity = crate::request_cache::credential_identity(
                    None,
                    self.token().as_ref().map(AccessToken::expose),
                );
                Some(resume_namespace().key(format!("{fingerprint}\0{target_name}\0{identity}")))
            }
            None => None,
        };
        let stored: Option<ResumeRecord> = match &record_key {
            Some(key) => self
                .inner
                .resume
                .get_json(key)
                .await
                .unwrap_or_else(|error| {
                    tracing::warn!(%error, "unreadable resume record; starting a new upload");
                    None
                }),
            None => None,
        }
        .filter(|record: &ResumeRecord| record.size == size);
        let tus_options = self.tus_options(options);
        if stored.is_some() {
            tracing::info!("trying to resume an earlier upload");
        }
        let resume = stored.as_ref().map(|record| record.upload_link.clone());
        // The state machine decides when a new ticket is needed (none stored,
        // the stored one is gone or does not fit, or it expired mid-way: once);
        // the ticket office only performs it.
        let office = TicketOffice {
            client: self,
            target: &target,
            file_name: file_name.as_deref(),
            options,
            record_key: record_key.as_ref(),
            current: std::sync::Mutex::new(stored),
        };
        let outcome = self
            .inner
            .tus
            .upload_with(&office, resume.as_deref(), source, &tus_options)
            .await?;
        let record = office
            .current
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .expect("an upload finished on a ticket");
        if let Some(key) = &record_key
            && let Err(error) = self.inner.resume.remove(key).await
        {
            tracing::warn!(%error, "could not remove the resume record");
        }
        Ok(self.uploaded(record, outcome, mime_type).await)
    }

    /// The tus options of one upload: chunk size, events, cancellation.
    pub(crate) fn tus_options(&self, options: &UploadOptions) -> tus::UploadOptions {
        let mut tus_options = tus::UploadOptions::default()
            .chunk_size(options.chunk_size.unwrap_or(self.inner.chunk_size));
        if let Some(callback) = &options.on_event {
            let callback = callback.clone();
            tus_options = tus_options.on_event(move |event| callback(event));
        }
        if let Some(cancel) = &options.cancel {
            tus_options = tus_options.cancel_token(cancel.clone());
        }
        tus_options
    }

    /// The result of a verified upload to `record`'s link.
    pub(crate) async fn uploaded(
        &self,
        record: UploadTicket,
        outcome: tus::UploadOutcome,
        mime_type: Option<String>,
    ) -> UploadedVideo {
        let size = record.size;
        // A new video's link came with its creation; a replaced one is read back.
        let link = match record.link.clone() {
            Some(link) => Some(link),
            None => match self
                .send(
                    ApiRequest::get(&record.video_uri)
                        .fields("uri,link")
                        .no_cache(),
                )
                .await
                .and_then(|r| r.json::<Video>())
            {
                Ok(video) => video.link,
                Err(error) => {
                    tracing::warn!(%error, "uploaded, but the video could not be read back");
                    None
                }
            },
        };
        tracing::info!(
            bytes = size,
            resumed_from = outcome.resumed_from,
            "upload verified"
        );
        UploadedVideo {
            id: video_id_from_uri(&record.video_uri).unwrap_or_default(),
            uri: record.video_uri,
            link,
            size,
            verification: outcome.verification,
            resumed_from: outcome.resumed_from,
            bytes_sent: outcome.bytes_sent,
            retries: outcome.retries,
            mime_type,
        }
    }

    /// The video's upload and transcode status (never cached).
    pub async fn upload_status(&self, video: &str) -> Result<VideoStatus, Error> {
        let uri = video_uri(video)?;
        let video: Video = self
            .send(
                ApiRequest::get(&uri)
                    .fields("uri,status,upload.status,transcode.status")
                    .no_cache(),
            )
            .await?
            .json()?;
        Ok(VideoStatus {
            status: video.status,
            upload: video.upload.and_then(|u| u.status),
            transcode: video.transcode.and_then(|t| t.status),
        })
    }

    /// Polls until the video is transcoded (bytes arriving is not enough for
    /// it to play). Returns the video; an `error` status or the timeout is an error.
    pub async fn wait_for_transcode(
        &self,
        video: &str,
        options: WaitOptions,
    ) -> Result<Video, Error> {
        let uri = video_uri(video)?;
        let started = Instant::now();
        loop {
            let status = self.upload_status(&uri).await?;
            match (status.upload.as_deref(), status.transcode.as_deref()) {
                (Some("error"), _) => {
                    return Err(Error::Processing {
                        uri,
                        stage: "upload",
                        status: "error".into(),
                    });
                }
                (_, Some("error")) => {
                    return Err(Error::Processing {
                        uri,
                        stage: "transcode",
                        status: "error".into(),
                    });
                }
                (_, Some("complete")) => {
                    return self.send(ApiRequest::get(&uri).no_cache()).await?.json();
                }
                _ => {}
            }
            if started.elapsed() + options.interval > options.timeout {
                return Err(Error::WaitTimeout {
                    uri,
                    after: started.elapsed(),
                    last: status.transcode.unwrap_or_default(),
                });
            }
            tokio::time::sleep(options.interval).await;
        }
    }
}

/// Opens `source`; its MIME type from the options or the file name.
pub(crate) async fn open_source(
    source: UploadSource,
    options: &UploadOptions,
) -> Result<(tus::Source, Option<String>), Error> {
    let mime_type = options.mime_type.clone().or_else(|| {
        source
            .name()
            .as_deref()
            .and_then(guess_mime_type)
            .map(str::to_owned)
    });
    let source = match source {
        UploadSource::Path(path) => tus::Source::from_path(&path).await?,
        UploadSource::Reader { reader, size, .. } => tus::Source::from_reader(reader, size),
    };
    Ok((source, mime_type))
}
