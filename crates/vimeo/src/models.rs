//! Typed views of common resources. Every field is optional and unknown
//! fields are ignored, because `fields=` filtering returns only what was asked
//! for and Vimeo adds fields over time.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Numbers that arrive as JSON numbers or numeric strings (`upload.size`).
fn lenient_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(u64),
        Text(String),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Option::<Either>::deserialize(deserializer)? {
        Some(Either::Number(n)) => Some(n),
        Some(Either::Text(text)) => text.trim().parse().ok(),
        Some(Either::Other(_)) | None => None,
    })
}

/// A video.
///
/// ```
/// let video: vimeo::Video = serde_json::from_str(r#"{"uri": "/videos/42", "upload": {"size": "7"}}"#)?;
/// assert_eq!(video.id(), Some(42));
/// assert_eq!(video.upload.unwrap().size, Some(7));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Video {
    /// `/videos/{id}`: the canonical handle.
    pub uri: Option<String>,
    /// The public page.
    pub link: Option<String>,
    /// The title.
    pub name: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// `available`, `uploading`, `transcoding`, `uploading_error`, ...
    pub status: Option<String>,
    /// ISO-8601 creation time.
    pub created_time: Option<String>,
    /// Privacy settings.
    pub privacy: Option<Privacy>,
    /// The upload ticket and its status.
    pub upload: Option<Upload>,
    /// Transcoding status.
    pub transcode: Option<Transcode>,
    /// The owner.
    pub user: Option<User>,
}

impl Video {
    /// The numeric id: the last segment of `uri`.
    pub fn id(&self) -> Option<u64> {
        self.uri.as_deref().and_then(video_id_from_uri)
    }
}

/// The id in `/videos/{id}` (or a bare id).
pub(crate) fn video_id_from_uri(uri: &str) -> Option<u64> {
    let trimmed = uri.trim().trim_end_matches('/');
    let id = match trimmed.strip_prefix("/videos/") {
        Some(rest) => rest.split('/').next()?,
        None => trimmed,
    };
    id.parse().ok()
}

/// `privacy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Privacy {
    /// `anybody`, `nobody`, `unlisted`, `password`, ...
    pub view: Option<String>,
}

/// An upload ticket (`upload`). `Debug` hides the upload link: it is the
/// credential of the upload.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Upload {
    /// `tus`, `pull`, `post`.
    pub approach: Option<String>,
    /// Where the bytes go (tus).
    pub upload_link: Option<String>,
    /// The declared size in bytes.
    #[serde(deserialize_with = "lenient_u64")]
    pub size: Option<u64>,
    /// `in_progress`, `complete`, `error`.
    pub status: Option<String>,
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upload")
            .field("approach", &self.approach)
            .field(
                "upload_link",
                &self.upload_link.as_ref().map(|_| "<redacted>"),
            )
            .field("size", &self.size)
            .field("status", &self.status)
            .finish()
    }
}

/// `transcode`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Transcode {
    /// `in_progress`, `complete`, `error`.
    pub status: Option<String>,
}

/// A user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct User {
    /// `/users/{id}`.
    pub uri: Option<String>,
    /// The display name.
    pub name: Option<String>,
    /// The profile page.
    pub link: Option<String>,
    /// The account type.
    pub account: Option<String>,
    /// Upload allowances (only for the token's owner with upload access).
    pub upload_quota: Option<UploadQuota>,
}

/// `upload_quota` of `GET /me`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct UploadQuota {
    /// Disk space.
    pub space: Option<Quota>,
    /// The periodic (e.g. weekly) allowance.
    pub periodic: Option<Quota>,
    /// The lifetime allowance.
    pub lifetime: Option<Quota>,
}

/// One allowance; values may be null.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Quota {
    /// Bytes free.
    #[serde(deserialize_with = "lenient_u64")]
    pub free: Option<u64>,
    /// Bytes allowed.
    #[serde(deserialize_with = "lenient_u64")]
    pub max: Option<u64>,
    /// Bytes used.
    #[serde(deserialize_with = "lenient_u64")]
    pub used: Option<u64>,
    /// When a periodic allowance resets.
    pub reset_date: Option<String>,
}

/// A video version (`POST /videos/{id}/versions`). It does not name its video.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Version {
    /// `/videos/{id}/versions/{version_id}`.
    pub uri: Option<String>,
    /// The file name.
    pub filename: Option<String>,
    /// The size in bytes.
    #[serde(deserialize_with = "lenient_u64")]
    pub filesize: Option<u64>,
    /// Whether it is the video's current version.
    pub active: Option<bool>,
    /// The upload ticket.
    pub upload: Option<Upload>,
}

/// `paging` of a list answer: relative URIs on the API host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Paging {
    /// The next page, `None` on the last.
    pub next: Option<String>,
    /// The previous page.
    pub previous: Option<String>,
    /// The first page.
    pub first: Option<String>,
    /// The last page.
    pub last: Option<String>,
}

/// A page of a list endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, bound(deserialize = "T: Deserialize<'de>"))]
#[non_exhaustive]
pub struct Page<T> {
    /// Items in the whole list.
    pub total: Option<u64>,
    /// This page's number (1-based).
    pub page: Option<u64>,
    /// Items per page.
    pub per_page: Option<u64>,
    /// Links to other pages.
    pub paging: Option<Paging>,
    /// The items.
    pub data: Vec<T>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            total: None,
            page: None,
            per_page: None,
            paging: None,
            data: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_uris() {
        assert_eq!(video_id_from_uri("/videos/42"), Some(42));
        assert_eq!(video_id_from_uri("/videos/42/versions/7"), Some(42));
        assert_eq!(video_id_from_uri("42"), Some(42));
        assert_eq!(video_id_from_uri("/users/42"), None);
        assert_eq!(video_id_from_uri(""), None);
    }

    #[test]
    fn partial_and_odd_json_still_decodes() {
        let video: Video = serde_json::from_str(
            r#"{"uri": "/videos/1", "upload": {"size": {"weird": true}, "upload_link": "https://files.example/secret"}, "new_field": 1}"#,
        )
        .unwrap();
        let upload = video.upload.unwrap();
        assert_eq!(upload.size, None);
        assert!(!format!("{upload:?}").contains("secret"));
        let page: Page<Video> =
            serde_json::from_str(r#"{"data": [{"uri": "/videos/2"}], "paging": {"next": null}}"#)
                .unwrap();
        assert_eq!(page.data[0].id(), Some(2));
        assert_eq!(page.paging.unwrap().next, None);
    }
}
