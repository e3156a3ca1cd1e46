//! Upload tickets: the video (or version) created with the tus approach, its
//! upload link and size — what a rerun needs to resume — and the
//! `tus::Creator` that makes them when the state machine asks for one.

use cache::{CacheExt as _, Ttl};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::ApiRequest;
use crate::upload::{RESUME_TTL, UploadOptions};
use crate::{Error, Upload, Version, Video, VimeoClient};

/// What is kept between runs of one upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ResumeRecord {
    pub(crate) video_uri: String,
    pub(crate) upload_link: String,
    pub(crate) size: u64,
    /// The public page, when the create answer gave it (versions do not).
    #[serde(default)]
    pub(crate) link: Option<String>,
}

/// Which video an upload creates or replaces.
pub(crate) enum Target<'a> {
    New,
    Replace { video_uri: &'a str },
}

impl VimeoClient {
    pub(crate) async fn create_ticket(
        &self,
        target: &Target<'_>,
        size: u64,
        file_name: Option<&str>,
        options: &UploadOptions,
    ) -> Result<ResumeRecord, Error> {
        let (video_uri, upload, link) = match target {
            Target::New => {
                let mut body = serde_json::Map::new();
                body.insert("upload".into(), json!({"approach": "tus", "size": size}));
                if let Some(name) = options
                    .name
                    .clone()
                    .or_else(|| file_name.map(str::to_owned))
                {
                    body.insert("name".into(), json!(name));
                }
                if let Some(description) = &options.description {
                    body.insert("description".into(), json!(description));
                }
                if let Some(view) = &options.privacy {
                    body.insert("privacy".into(), json!({"view": view}));
                }
                for (name, value) in &options.extra {
                    body.insert(name.clone(), value.clone());
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
        let record = self
            .client
            .create_ticket(self.target, length, self.file_name, self.options)
            .await?;
        if let Some(key) = self.record_key {
            self.client
                .inner
                .resume
                .put_json(key, &record, Ttl::After(RESUME_TTL))
                .await?;
        }
        let link = record.upload_link.clone();
        *self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(record);
        Ok(link)
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

/// The ticket must be a tus upload of exactly our size with an http(s) link;
/// `https` only when the API is reached over HTTPS (no downgrade).
fn check_ticket(upload: &Upload, size: u64, https_only: bool) -> Result<(), Error> {
    let link = upload.upload_link.as_deref().unwrap_or("");
    if https_only && link.starts_with("http://") {
        return Err(Error::InsecureHttp(
            "the HTTPS API handed out a plain-http upload link".into(),
        ));
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
