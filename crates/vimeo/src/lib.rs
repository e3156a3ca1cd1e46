//! A thin Vimeo API v3 facade over the `oauth1`, `tus` and `cache` crates.
//!
//! - [`VimeoClient`]: calls (`get`/`post`/`patch`/`put`/`delete`, or
//!   [`ApiRequest`] for full control), `fields` filtering, paging
//!   ([`VimeoClient::paginate`]), typed models ([`Video`], [`User`], [`Page`]...),
//!   typed errors ([`ApiError`] with Vimeo's `error_code`, messages,
//!   `invalid_parameters` and the [`RateLimit`] snapshot), 429 handling within
//!   a budget, retries of idempotent calls, optional response caching.
//! - OAuth 2: personal tokens, client credentials, the authorization-code flow
//!   ([`VimeoClient::authorization_request`] → [`VimeoClient::exchange_code`]).
//!   The bearer token goes to the API origin only: never to upload links,
//!   never to any other host.
//! - Legacy OAuth 1.0a and the Advanced API v2 ([`LegacyClient`]).
//! - Uploads ([`VimeoClient::upload`], [`VimeoClient::replace`]): the tus
//!   approach, streamed in chunks, retried, resumed across restarts through a
//!   resume cache, verified with HEAD; then [`VimeoClient::wait_for_transcode`].
//!
//! ```no_run
//! # async fn f() -> Result<(), vimeo::Error> {
//! let client = vimeo::VimeoClient::builder().token("personal-access-token").build()?;
//! let me: vimeo::User = client.get("/me").await?;
//! let video = client
//!     .upload("holiday.mp4", &vimeo::UploadOptions::new().name("Holiday"))
//!     .await?;
//! client
//!     .wait_for_transcode(&video.uri, vimeo::WaitOptions::new(std::time::Duration::from_secs(600)))
//!     .await?;
//! # let _ = me; Ok(()) }
//! ```
//!
//! The building blocks are re-exported, so one dependency reaches every layer.
//!
//! # Cancel safety
//!
//! An upload's future may be dropped at any point (`tokio::select!`, a
//! timeout, an aborted task), as a [`tus::CancelToken`] given to
//! [`UploadOptions::cancel_token`] may stop it: the bytes sent stay on the
//! upload server, and the resume cache lets the next `upload` of the same
//! file continue the same video from the server's offset — even while the
//! dropped request's last bytes are still arriving (`tests/resume.rs`). The
//! video's creation and its resume record are finished in a task of their
//! own, so a drop while Vimeo is creating the video still leaves a record
//! the next run resumes, not an empty video behind (a killed process can:
//! then the next run creates another). Every public future is `Send`
//! (checked when this crate compiles).

mod answer;
mod auth;
mod builder;
mod client;
mod error;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod legacy;
mod media;
mod models;
mod page;
mod pull;
mod rate_limit;
mod request;
mod request_cache;
mod resume;
mod ticket;
mod upload;

pub use auth::{AccessToken, AppCredentials, AuthorizationRequest, TokenGrant};
pub use builder::{ClientBuilder, RefreshFn};
pub use client::VimeoClient;
pub use error::{ApiError, Error, InvalidParameter, LegacyError, codes};
pub use legacy::{CallOptions, LegacyClient, LegacyEndpoints, LegacyToken, Permission};
pub use media::{Picture, TextTrack, TextTrackOptions};
pub use models::{
    Page, Paging, Privacy, Quota, Transcode, Upload, UploadQuota, User, Version, Video,
};
pub use page::Paginator;
pub use rate_limit::RateLimit;
pub use request::{ACCEPT_VERSION, ApiRequest, ApiResponse, DEFAULT_API_URL, RateLimitPolicy};
pub use request_cache::CachePolicy;
pub use resume::CacheUrlStore;
pub use ticket::UploadTicket;
pub use upload::{
    UploadOptions, UploadSource, UploadedVideo, VideoStatus, WaitOptions, guess_mime_type,
};

pub use cache;
pub use oauth1;
pub use tus;

/// Compile-time checks: the clients, their options and errors, and the future
/// of every public `async fn` can move between threads (`tokio::spawn` on a
/// multi-threaded runtime). A change that breaks this fails this crate's
/// build instead of a user's. Never called.
#[allow(dead_code)]
fn _assert_impls(
    client: &VimeoClient,
    legacy: &LegacyClient,
    options: &UploadOptions,
    ticket: &UploadTicket,
    authorization: &AuthorizationRequest,
    pages: &mut Paginator<Video>,
) {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: T) {}
    send_sync::<VimeoClient>();
    send_sync::<LegacyClient>();
    send_sync::<UploadOptions>();
    send_sync::<Error>();
    send_sync::<Paginator<Video>>();
    send(client.get::<Video>(""));
    send(client.post::<Video>("", &()));
    send(client.patch::<Video>("", &()));
    send(client.put::<Video>("", &()));
    send(client.delete(""));
    send(client.send(ApiRequest::get("")));
    send(client.clear_cache());
    send(client.upload("", options));
    send(client.replace("", "", options));
    send(client.upload_status(""));
    send(client.wait_for_transcode("", WaitOptions::new(std::time::Duration::ZERO)));
    send(client.upload_from_url("", options));
    send(client.create_upload(0, options));
    send(client.upload_to_ticket(ticket, "", options));
    send(client.add_text_track("", "", &TextTrackOptions::new("")));
    send(client.text_tracks(""));
    send(client.delete_text_track(""));
    send(client.set_picture("", ""));
    send(client.exchange_code(authorization, "", ""));
    send(client.client_credentials(&[]));
    send(client.convert_oauth1_token("", ""));
    send(legacy.auth(Permission::Read, None));
    send(legacy.request_token(None));
    send(legacy.access_token(""));
    send(legacy.call("", &[]));
    send(legacy.clear_cache());
    send(pages.next());
}
