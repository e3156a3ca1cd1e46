//! The request log: one [`LoggedRequest`] per request, as the server saw it.

use http::{HeaderMap, Method, Request};

use super::header_u64;
use crate::Fault;

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoggedRequest {
    /// The method.
    pub method: Method,
    /// The path.
    pub path: String,
    /// `Upload-Offset` sent by the client.
    pub upload_offset: Option<u64>,
    /// `Content-Length` sent by the client.
    pub content_length: Option<u64>,
    /// Body bytes the server stored from this request.
    pub body_stored: u64,
    /// The status answered (`None` when the connection was cut).
    pub status: Option<u16>,
    /// The `Authorization` header, if sent (tests assert where credentials go).
    pub authorization: Option<String>,
    /// The `Proxy-Authorization` header, if one reached this server (it is
    /// for proxies only; tests assert it never arrives).
    pub proxy_authorization: Option<String>,
    /// The `Upload-Checksum` header, if sent.
    pub checksum: Option<String>,
    /// The fault applied, if any.
    pub fault: Option<Fault>,
    /// The highest offset the server had acknowledged to the client for this
    /// upload (in a HEAD, PATCH or creation answer) when the request arrived.
    pub acknowledged: Option<u64>,
}

impl LoggedRequest {
    /// Body bytes of this PATCH that the server had already acknowledged: a
    /// client that resumes correctly sends none (it starts at the
    /// acknowledged offset or later).
    pub fn resent_acknowledged_bytes(&self) -> u64 {
        match (&self.method, self.upload_offset, self.acknowledged) {
            (&Method::PATCH, Some(offset), Some(acknowledged)) if offset < acknowledged => {
                (acknowledged - offset).min(self.content_length.unwrap_or(0))
            }
            _ => 0,
        }
    }
}

impl LoggedRequest {
    /// The entry for `request` before it is answered (status, stored bytes,
    /// fault and acknowledged offset are filled in later).
    pub(super) fn of<B>(request: &Request<B>) -> LoggedRequest {
        let headers = request.headers();
        LoggedRequest {
            method: request.method().clone(),
            path: request.uri().path().to_owned(),
            upload_offset: header_u64(headers, "upload-offset").ok().flatten(),
            content_length: header_u64(headers, "content-length").ok().flatten(),
            body_stored: 0,
            status: None,
            authorization: text(headers, "authorization"),
            proxy_authorization: text(headers, "proxy-authorization"),
            checksum: text(headers, "upload-checksum"),
            fault: None,
            acknowledged: None,
        }
    }
}

fn text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
