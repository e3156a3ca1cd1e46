//! Upload tickets: the video (or version) created with the tus approach, its
//! upload link and size — what a rerun needs to resume — and the
//! `tus::Creator` that makes them when the state machine asks for one.

use cache::{CacheExt as _, Ttl};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::Instrument as _;

use crate::client::VimeoClient;
use crate::error::Error;
use crate::models::{Upload, Version, Video};
use crate::request::ApiRequest;
use crate::upload::{RESUME_TTL, UploadOptions};

/// A created upload: the video and where its bytes go. Create it in one
/// place ([`VimeoClient::create_upload`]) and send the bytes from another
/// ([`VimeoClient::upload_to_ticket`]), even another machine without the API
/// token: it serializes to JSON. It is also what the resume cache keeps.
///
/// The upload link is a credential of its own (whoever holds it can send the
/// video's bytes), so `Debug` shows only its host.
///
/// ```
/// let ticket: vimeo::UploadTicket = serde_json::from_str(
///     r#"{"video_uri":"/videos/42","upload_link":"https://files.example/u/secret","size":5}"#,
/// )?;
/// assert_eq!(ticket.id(), Some(42));
/// assert!(!format!("{ticket:?}").contains("secret"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UploadTicket {
    /// `/videos/{id}`.
    pub video_uri: String,
    /// The tus upload link (a credential: keep it out of logs).
    pub upload_link: String,
    /// The bytes the upload takes.
    pub size: u64,
    /// The public page, when the create answer gave it (versions do not).
    #[serde(default)]
    pub link: Option<String>,
}

impl std::fmt::Debug for UploadTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let origin = self
            .upload_link
            .parse::<http::Uri>()
            .ok()
            .map(|u| {
                format!(
                    "{}://{}",
                    u.scheme_str().unwrap_or("?"),
                    u.host().unwrap_or("")
                )
            })
            .unwrap_or_default();
        f.debug_struct("UploadTicket")
            .field("video_uri", &self.video_uri)
            .field("upload_link", &format_args!("{origin}/…"))
            .field("size", &self.size)
            .field("link", &self.link)
            .finish()
    }
}

impl UploadTicket {
    /// The video's numeric id.
    pub fn id(&self) -> Option<u64> {
        crate::models::video_id_from_uri(&self.video_uri)
    }
}

/// The resume cache keeps tickets.
pub(crate) type ResumeRecord = UploadTicket;

/// Which video an upload creates or replaces.
pub(crate) enum Target<'a> {
    New,
    Replace { video_uri: &'a str },
}

impl VimeoClient {
    /// Creates a video for an upload of `size` bytes and returns its ticket,
    /// without sending any byte: hand the ticket to whoever has the file
    /// ([`VimeoClient::upload_to_ticket`]). Name, description, privacy and
    /// extra fields come from `options`. A ticket the API gets wrong (no link,
    /// another size) deletes the video it created.
    ///
    /// ```no_run
    /// # async fn f(api: vimeo::VimeoClient, worker: vimeo::VimeoClient) -> Result<(), vimeo::Error> {
    /// let options = vimeo::UploadOptions::new().name("Keynote");
    /// let ticket = api.create_upload(1_048_576, &options).await?;
    /// let json = serde_json::to_string(&ticket).unwrap(); // to the worker, by any means
    /// let ticket: vimeo::UploadTicket = serde_json::from_str(&json).unwrap();
    /// let video = worker.upload_to_ticket(&ticket, "keynote.mp4", &options).await?;
    /// assert_eq!(video.uri, ticket.video_uri);
    /// # Ok(()) }
    /// ```
    pub async fn create_upload(
        &self,
        size: u64,
        options: &UploadOptions,
    ) -> Result<UploadTicket, Error> {
        let span = tracing::info_span!("vimeo_create_upload", size);
        self.create_ticket(&Target::New, size, None, options)
            .instrument(span)
            .await
    }

    /// Sends `source` to a ticket's upload link, from the server's offset (a
    /// rerun with the same ticket resumes), and verifies it. Needs no API
    /// token: the link is the credential (the token never goes there). The
    /// source must be exactly the ticket's size. A link that vanished is an
    /// error: only the ticket's creator can make another.
    pub async fn upload_to_ticket(
        &self,
        ticket: &UploadTicket,
        source: impl Into<crate::upload::UploadSource>,
        options: &UploadOptions,
    ) -> Result<crate::upload::UploadedVideo, Error> {
        let span = tracing::info_span!("vimeo_upload", kind = "ticket", video = %ticket.video_uri);
        async {
            let (source, mime_type) = crate::upload::open_source(source.into(), options).await?;
            if source.len() != ticket.size {
                return Err(Error::InvalidInput(format!(
                    "the source is {} bytes but the ticket is for {}",
                    source.len(),
                    ticket.size
                )));
            }
            if self.api_is_https() && !self.inner.insecure_http {
                check_ticket_link(&ticket.upload_link)?;
            }
            let outcome = self
                .inner
                .tus
                .upload_to(&ticket.upload_link, source, &self.tus_options(options))
                .await?;
            Ok(self.uploaded(ticket.clone(), outcome, mime_type).await)
        }
        .instrument(span)
        .await
    }

    pub(crate) async fn create_ticket(
        &self,
        target: &Target<'_>,
        size: u64,
        file_name: Option<&str>,
        options: &UploadOptions,
    ) -> Result<ResumeRecord, Error> {
        let (video_uri, upload, link) = match target {
            Target::New => {
                let mut body = options.create_fields();
                body.insert("upload".into(), json!({"approach": "tus", "size": size}));
                if options.name.is_none()
                    && let Some(name) = file_name
                {
                    body.insert("name".into(), json!(name));
                }
                let video: Video = self
                    .send(
                        ApiRequest::post("/me/videos")
                            .fields("uri,link,upload")
                            .json(&body)?,
                    )
                    .await?
                    .json()?;
                let uri = video.uri.clone().ok_or_else(|| Error::Decode {
                    method: "POST".into(),
                    path: "/me/videos".into(),
                    message: "the created video has no uri".into(),
                })?;
                (uri, video.upload.unwrap_or_default(), video.link)
            }
            Target::Replace { video_uri } => {
                let body = json!({
                    "file_name": file_name.unwrap_or("upload.bin"),
                    "upload": {"approach": "tus", "size": size},
                });
                let path = format!("{video_uri}/versions");
                let version: Version = self
                    .send(ApiRequest::post(&path).json(&body)?)
                    .await?
                    .json()?;
                (
                    (*video_uri).to_owned(),
                    version.upload.unwrap_or_default(),
                    None,
                )
            }
        };
        if let Err(error) = check_ticket(
            &upload,
            size,
            self.api_is_https() && !self.inner.insecure_http,
        ) {
            // The video exists but cannot take these bytes: do not leave it behind.
            if matches!(target, Target::New)
                && let Err(delete) = self.delete(&video_uri).await
            {
                tracing::debug!(error = %delete, "could not delete the unusable video");
            }
            return Err(error);
        }
        Ok(ResumeRecord {
            video_uri,
            upload_link: upload.upload_link.unwrap_or_default(),
            size,
            link,
        })
    }
}

/// Makes Vimeo upload tickets for the tus state machine (`tus::Creator`):
/// creates the video (or version), keeps the resume record, and deletes a new
/// video whose upload is gone, so it does not linger as a broken entry.
pub(crate) struct TicketOffice<'a> {
    pub(crate) client: &'a VimeoClient,
    pub(crate) target: &'a Target<'a>,
    pub(crate) file_name: Option<&'a str>,
    pub(crate) options: &'a UploadOptions,
    pub(crate) record_key: Option<&'a cache::Key>,
    /// The ticket being uploaded to.
    pub(crate) current: std::sync::Mutex<Option<ResumeRecord>>,
}

impl TicketOffice<'_> {
    async fn replace(&self, length: u64, gone: Option<&str>) -> Result<String, Error> {
        let previous = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(record) = previous.filter(|r| Some(r.upload_link.as_str()) == gone) {
            tracing::info!("the earlier upload is gone; starting over with a new ticket");
            if let Some(key) = self.record_key {
                let _ = self.client.inner.resume.remove(key).await;
            }
            self.abandon(&record).await;
        }
        let record = self.create_and_record(length).await?;
        let link = record.upload_link.clone();
        *self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(record);
        Ok(link)
    }

    /// Creates the video (or version) and writes its resume record in a task
    /// of its own: a caller who stops waiting (drops the upload, or its
    /// timeout fires) once the creation is on its way still gets the record
    /// written, so the next run resumes that video instead of leaving it
    /// behind empty and creating another.
    async fn create_and_record(&self, length: u64) -> Result<ResumeRecord, Error> {
        let client = self.client.clone();
        let replaced = match self.target {
            Target::New => None,
            Target::Replace { video_uri } => Some((*video_uri).to_owned()),
        };
        let file_name = self.file_name.map(str::to_owned);
        let options = self.options.clone();
        let key = self.record_key.cloned();
        let task = tokio::spawn(
            async move {
                let target = match &replaced {
                    None => Target::New,
                    Some(video_uri) => Target::Replace { video_uri },
                };
                let record = client
                    .create_ticket(&target, length, file_name.as_deref(), &options)
                    .await?;
                if let Some(key) = &key {
                    client
                        .inner
                        .resume
                        .put_json(key, &record, Ttl::After(RESUME_TTL))
                        .await?;
                }
                Ok(record)
            }
            .in_current_span(),
        );
        match task.await {
            Ok(created) => created,
            Err(failed) if failed.is_panic() => std::panic::resume_unwind(failed.into_panic()),
            // Only when the runtime itself shuts down.
            Err(_) => Err(Error::Upload(tus::Error::Cancelled)),
        }
    }

    /// A new video abandoned mid-way is deleted, so it does not linger as a
    /// broken entry (and, on Vimeo, block new uploads). Best effort.
    async fn abandon(&self, record: &ResumeRecord) {
        if matches!(self.target, Target::New)
            && let Err(error) = self.client.delete(&record.video_uri).await
        {
            tracing::debug!(%error, "could not delete the abandoned video");
        }
    }
}

impl tus::Creator for TicketOffice<'_> {
    fn create<'a>(
        &'a self,
        length: u64,
        gone: Option<&'a str>,
    ) -> tus::BoxFuture<'a, Result<String, tus::BoxError>> {
        Box::pin(async move { self.replace(length, gone).await.map_err(Into::into) })
    }
}

/// An upload link from an HTTPS API must be HTTPS too (no downgrade).
fn check_ticket_link(link: &str) -> Result<(), Error> {
    if link.starts_with("http://") {
        return Err(Error::InsecureHttp(
            "the HTTPS API handed out a plain-http upload link".into(),
        ));
    }
    Ok(())
}

/// The ticket must be a tus upload of exactly our size with an http(s) link;
/// `https` only when the API is reached over HTTPS (no downgrade).
fn check_ticket(upload: &Upload, size: u64, https_only: bool) -> Result<(), Error> {
    let link = upload.upload_link.as_deref().unwrap_or("");
    if https_only {
        check_ticket_link(link)?;
    }
    let link_ok = link.starts_with("https://") || link.starts_with("http://");
    if upload.approach.as_deref() != Some("tus") || upload.size != Some(size) || !link_ok {
        return Err(Error::UploadMismatch {
            approach: upload.approach.clone(),
            size: upload.size,
            expected: size,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(approach: &str, link: &str, size: u64) -> Upload {
        serde_json::from_value(json!({"approach": approach, "upload_link": link, "size": size}))
            .unwrap()
    }

    #[test]
    fn a_ticket_must_fit_the_upload_and_never_downgrade_to_plain_http() {
        assert!(check_ticket(&upload("tus", "https://u/1", 5), 5, true).is_ok());
        assert!(check_ticket(&upload("tus", "http://u/1", 5), 5, false).is_ok());
        assert!(matches!(
            check_ticket(&upload("tus", "http://u/1", 5), 5, true),
            Err(Error::InsecureHttp(_))
        ));
        for bad in [
            upload("post", "https://u/1", 5),
            upload("tus", "https://u/1", 6),
            upload("tus", "ftp://u/1", 5),
            upload("tus", "", 5),
        ] {
            assert!(
                matches!(
                    check_ticket(&bad, 5, true),
                    Err(Error::UploadMismatch { .. })
                ),
                "{bad:?}"
            );
        }
    }
}
