//! Pull uploads: Vimeo fetches the file from a URL itself
//! (`upload.approach = "pull"`); no byte goes through this process.

use serde_json::json;
use tracing::Instrument as _;

use crate::client::VimeoClient;
use crate::error::Error;
use crate::models::Video;
use crate::request::ApiRequest;
use crate::upload::UploadOptions;

impl VimeoClient {
    /// Creates a video that Vimeo fills by downloading `url` (http or https,
    /// reachable from Vimeo's side); name, description, privacy and extra
    /// fields come from `options`. Returns the new video at once; its
    /// `upload.status` turns `complete` (or `error`) when the fetch ends —
    /// follow it with [`VimeoClient::wait_for_transcode`]. The URL is the
    /// caller's: it is never logged (it may be a signed link).
    ///
    /// ```no_run
    /// # async fn f(client: vimeo::VimeoClient) -> Result<(), vimeo::Error> {
    /// let options = vimeo::UploadOptions::new().name("From the CDN");
    /// let video = client
    ///     .upload_from_url("https://cdn.example.com/master.mp4", &options)
    ///     .await?;
    /// let done = client
    ///     .wait_for_transcode(video.uri.as_deref().unwrap(), vimeo::WaitOptions::new(std::time::Duration::from_secs(3600)))
    ///     .await?;
    /// # let _ = done; Ok(()) }
    /// ```
    pub async fn upload_from_url(
        &self,
        url: &str,
        options: &UploadOptions,
    ) -> Result<Video, Error> {
        let parsed: http::Uri = url
            .parse()
            .map_err(|_| Error::InvalidInput("the pull URL is not a URL".into()))?;
        if !matches!(parsed.scheme_str(), Some("http" | "https")) || parsed.host().is_none() {
            return Err(Error::InvalidInput(
                "the pull URL must be http:// or https:// with a host".into(),
            ));
        }
        let span = tracing::info_span!("vimeo_upload", kind = "pull");
        async {
            let mut body = options.create_fields();
            body.insert("upload".into(), json!({"approach": "pull", "link": url}));
            let video: Video = self
                .send(ApiRequest::post("/me/videos").json(&body)?)
                .await?
                .json()?;
            if video.uri.is_none() {
                return Err(Error::Decode {
                    method: "POST".into(),
                    path: "/me/videos".into(),
                    message: "the created video has no uri".into(),
                });
            }
            Ok(video)
        }
        .instrument(span)
        .await
    }
}
