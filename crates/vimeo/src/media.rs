//! Text tracks (subtitles, captions…) and thumbnails: create the item, PUT the
//! file to the storage link it comes with (on another host: the token never
//! goes there), then switch it on with `PATCH {active: true}`.

use std::path::Path;

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::Full;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::Instrument as _;

use crate::answer::api_error;
use crate::client::VimeoClient;
use crate::error::Error;
use crate::models::{Page, video_id_from_uri};
use crate::request::ApiRequest;

/// Largest text track or image read into memory for its PUT.
const MAX_FILE: u64 = 64 << 20;

/// A text track of a video.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct TextTrack {
    /// `/videos/{id}/texttracks/{track}`.
    pub uri: Option<String>,
    /// Whether viewers see it.
    pub active: Option<bool>,
    /// `subtitles`, `captions`, `chapters`, `descriptions`, `metadata`, `captions_sdh`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The language tag (`en`, `fr-CA`).
    pub language: Option<String>,
    /// The label shown to viewers.
    pub name: Option<String>,
    /// The storage link of the file.
    pub link: Option<String>,
}

/// A thumbnail of a video.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Picture {
    /// `/videos/{id}/pictures/{picture}`.
    pub uri: Option<String>,
    /// Whether it is the video's thumbnail.
    pub active: Option<bool>,
    /// The storage link of the image.
    pub link: Option<String>,
}

/// What a new text track is.
///
/// ```
/// let track = vimeo::TextTrackOptions::new("en").kind("captions").name("English (CC)");
/// # let _ = track;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct TextTrackOptions {
    /// `type`: `subtitles` (default), `captions`, `chapters`, ….
    pub kind: String,
    /// The language tag.
    pub language: String,
    /// The label (default: none).
    pub name: Option<String>,
}

impl TextTrackOptions {
    /// Subtitles in `language`.
    pub fn new(language: impl Into<String>) -> Self {
        TextTrackOptions {
            kind: "subtitles".into(),
            language: language.into(),
            name: None,
        }
    }

    /// The `type`.
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = kind.into();
        self
    }

    /// The label shown to viewers.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// `/videos/{id}` from an id or URI.
fn video_path(video: &str) -> Result<String, Error> {
    video_id_from_uri(video)
        .map(|id| format!("/videos/{id}"))
        .ok_or_else(|| Error::InvalidInput(format!("not a video id or /videos/ URI: {video:?}")))
}

impl VimeoClient {
    /// Adds a text track (WebVTT or SRT file) to a video and activates it:
    /// `POST /videos/{id}/texttracks`, a PUT of the file to the link it
    /// returns (no token sent there), `PATCH {active: true}`.
    ///
    /// ```no_run
    /// # async fn f(client: vimeo::VimeoClient) -> Result<(), vimeo::Error> {
    /// let options = vimeo::TextTrackOptions::new("en").name("English");
    /// let track = client.add_text_track("/videos/42", "en.vtt", &options).await?;
    /// assert_eq!(track.active, Some(true));
    /// # Ok(()) }
    /// ```
    pub async fn add_text_track(
        &self,
        video: &str,
        file: impl AsRef<Path>,
        options: &TextTrackOptions,
    ) -> Result<TextTrack, Error> {
        let path = video_path(video)?;
        let bytes = read_small(file.as_ref()).await?;
        let span = tracing::info_span!("vimeo_text_track", video = %path);
        async {
            let mut body = json!({"type": options.kind, "language": options.language});
            if let Some(name) = &options.name {
                body["name"] = json!(name);
            }
            let track: TextTrack = self
                .send(ApiRequest::post(format!("{path}/texttracks")).json(&body)?)
                .await?
                .json()?;
            let (uri, link) = created(track.uri, track.link, "texttracks")?;
            self.put_file(&link, bytes, "text/vtt").await?;
            self.send(ApiRequest::patch(&uri).json(&json!({"active": true}))?)
                .await?
                .json()
        }
        .instrument(span)
        .await
    }

    /// A video's text tracks.
    pub async fn text_tracks(&self, video: &str) -> Result<Vec<TextTrack>, Error> {
        let path = video_path(video)?;
        let page: Page<TextTrack> = self
            .send(ApiRequest::get(format!("{path}/texttracks")).no_cache())
            .await?
            .json()?;
        Ok(page.data)
    }

    /// Deletes a text track by its URI (`/videos/{id}/texttracks/{track}`).
    pub async fn delete_text_track(&self, uri: &str) -> Result<(), Error> {
        if !uri.starts_with("/videos/") || !uri.contains("/texttracks/") {
            return Err(Error::InvalidInput(format!(
                "not a text track URI: {uri:?}"
            )));
        }
        self.delete(uri).await
    }

    /// Sets a video's thumbnail from an image file: `POST /videos/{id}/pictures`,
    /// a PUT of the image to the link it returns (no token sent there),
    /// `PATCH {active: true}`.
    pub async fn set_picture(
        &self,
        video: &str,
        image: impl AsRef<Path>,
    ) -> Result<Picture, Error> {
        let path = video_path(video)?;
        let image = image.as_ref();
        let content_type = match image
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("png") => "image/png",
            Some("gif") => "image/gif",
            Some("webp") => "image/webp",
            _ => "image/jpeg",
        };
        let bytes = read_small(image).await?;
        let span = tracing::info_span!("vimeo_picture", video = %path);
        async {
            let picture: Picture = self
                .send(ApiRequest::post(format!("{path}/pictures")).json(&json!({}))?)
                .await?
                .json()?;
            let (uri, link) = created(picture.uri, picture.link, "pictures")?;
            self.put_file(&link, bytes, content_type).await?;
            self.send(ApiRequest::patch(&uri).json(&json!({"active": true}))?)
                .await?
                .json()
        }
        .instrument(span)
        .await
    }

    /// PUTs `bytes` to a storage link: no credentials, https when the API is.
    async fn put_file(&self, link: &str, bytes: Bytes, content_type: &str) -> Result<(), Error> {
        let uri: http::Uri = link
            .parse()
            .map_err(|_| Error::InvalidInput("the storage link is not a URL".into()))?;
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if !self.api_is_https() || self.inner.insecure_http => {}
            Some("http") => {
                return Err(Error::InsecureHttp(
                    "the HTTPS API handed out a plain-http storage link".into(),
                ));
            }
            _ => {
                return Err(Error::InvalidInput(
                    "the storage link is not http(s)".into(),
                ));
            }
        }
        let request = Request::builder()
            .method(Method::PUT)
            .uri(uri.clone())
            .header("content-type", content_type)
            .body(Full::new(bytes))
            .map_err(|e| Error::InvalidInput(format!("cannot build the request: {e}")))?;
        let response = self.inner.http.send(request).await?;
        if !(200..300).contains(&response.status) {
            return Err(api_error(&Method::PUT, uri.path(), response, None, &[]));
        }
        Ok(())
    }
}

/// The URI and storage link of a created item.
fn created(
    uri: Option<String>,
    link: Option<String>,
    what: &str,
) -> Result<(String, String), Error> {
    match (uri, link) {
        (Some(uri), Some(link)) => Ok((uri, link)),
        _ => Err(Error::Decode {
            method: "POST".into(),
            path: what.into(),
            message: "the created item has no uri or link".into(),
        }),
    }
}

async fn read_small(path: &Path) -> Result<Bytes, Error> {
    let source = |e: std::io::Error| {
        Error::Upload(tus::Error::Source {
            path: Some(path.to_path_buf()),
            source: e,
        })
    };
    let size = tokio::fs::metadata(path).await.map_err(source)?.len();
    if size > MAX_FILE {
        return Err(Error::InvalidInput(format!(
            "{} is {size} bytes; text tracks and pictures are at most {MAX_FILE}",
            path.display()
        )));
    }
    Ok(Bytes::from(tokio::fs::read(path).await.map_err(source)?))
}
