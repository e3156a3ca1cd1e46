//! A generic tus 1.0 resumable-upload client on hyper 1.x and tokio.
//!
//! Hand it a file (or any `AsyncRead + AsyncSeek` of known length) and a tus
//! endpoint; it creates the upload, streams it in chunks of any size with a
//! small fixed buffer, retries what can be retried, resumes after a crash
//! through a pluggable URL store, reports progress, and finishes with a HEAD
//! that proves every byte arrived. It works with any tus 1.0 server and knows
//! nothing of Vimeo.
//!
//! ```text
//!             ┌──────────── core (sans-IO) ─────────────┐
//!  Source ──► │ upload state machine · retry budget ·    │
//!             │ headers · metadata · offsets · checksum  │
//!             └──────────── ▲ poll(now) → Action ────────┘
//!                           │ handle(now, Input)
//!  UploadOptions ──► driver (drive.rs) ──► client (hyper, pooled, rustls) ──► server
//!                     │   ▲                      │ streaming body (256 KiB blocks)
//!             UrlStore┘   └── Event callback ◄───┘
//! ```
//!
//! - Core protocol: `Tus-Resumable` on every request, `HEAD` (with
//!   `Cache-Control: no-store`), `PATCH` with `Upload-Offset`, the offset always
//!   taken from the server.
//! - Extensions: discovery (`OPTIONS`), creation (relative or absolute
//!   `Location`, `Upload-Metadata`), creation-with-upload, creation-defer-length
//!   ([`Client::upload_stream`]), termination, checksum (sha1, sha256),
//!   expiration, and concatenation for parallel uploads
//!   ([`UploadOptions::parallel`]), each used only when the server offers it.
//! - Forward-only streams (an incoming request body) upload through
//!   [`Rewindable`], which keeps a bounded window for re-sends.
//! - Retries with backoff and jitter on connection errors, stalls, 5xx, 423,
//!   429 (honouring `Retry-After`) and 409 (re-sync with HEAD); never on 400,
//!   401, 403, 404, 410, 413. The [`RetryBudget`] always ends an upload; a
//!   creation that may have reached the server is never repeated
//!   ([`Error::CreationUncertain`]).
//! - Caller headers go only to the endpoint's origin (and origins named with
//!   [`UploadOptions::trust_origin`]); an `Ok` upload is verified: the source
//!   unchanged after the last PATCH and a final HEAD with offset = length.
//! - Memory is flat: bodies stream from the source in 256 KiB blocks whatever
//!   the chunk size. A file is read by position straight into the frames
//!   hyper sends, reusing them; on Linux, blocks the page cache holds are read
//!   without a hop through the blocking pool (`preadv2` with `RWF_NOWAIT`).
//! - HTTP proxies from the environment (`HTTP_PROXY`, `HTTPS_PROXY`,
//!   `ALL_PROXY`, `NO_PROXY`, as curl reads them) or [`ClientBuilder::proxy`]:
//!   HTTPS through a `CONNECT` tunnel with TLS end to end; see [`net`].
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> Result<(), tus::Error> {
//! use std::sync::Arc;
//! let client = tus::Client::new()?;
//! let source = tus::Source::from_path("video.mp4").await?;
//! let options = tus::UploadOptions::default()
//!     .chunk_size(64 << 20)
//!     .metadata("filename", "video.mp4")
//!     .store(Arc::new(tus::FileUrlStore::new(".tus-resume")));
//! let outcome = client.upload("https://tus.example.com/files/", source, &options).await?;
//! assert!(outcome.verification.is_complete());
//! # Ok(()) }
//! ```
//!
//! The same code runs for real against the sandbox in this crate's tests
//! (`tests/upload.rs`) and in `examples/upload.rs`.
//!
//! # Cancel safety
//!
//! An upload's future may be dropped at any point — by `tokio::select!`, a
//! timeout, an aborted task — just as a [`CancelToken`] may stop it: the
//! body stops reading the source at its next block and the request ends,
//! the server keeps what it received, and with a [`UrlStore`] the next
//! upload of the same source resumes that upload from the server's offset
//! (`tests/resume.rs` drops one mid-PATCH and checks the rerun byte for
//! byte). The one exception is a creation dropped before its answer: its URL
//! was never learned, so the next run creates a new upload.
//!
//! Every public future is `Send`, so an upload can be spawned on a
//! multi-threaded runtime (checked when this crate compiles).

mod body;
mod client;
mod core;
mod creator;
mod drive;
mod error;
mod hooks;
pub mod net;
mod options;
mod parallel;
mod positional;
mod progress;
mod rewind;
mod source;
mod store;
mod stream;
mod transfer;
mod upload;

#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;

pub use client::{Client, ClientBuilder, UploadStatus};
pub use core::budget::{Retry, RetryBudget};
pub use core::capabilities::Capabilities;
pub use core::checksum::ChecksumAlgorithm;
pub use core::headers::TUS_VERSION;
pub use core::metadata::{decode as decode_metadata, encode as encode_metadata};
pub use core::retry::{RetryContext, RetryPolicy};
pub use creator::Creator;
pub use error::{BoxError, Error, ProtocolError, StatusError};
pub use hooks::{AfterResponse, AfterResponseFn, BeforeRequestFn, OutgoingRequest, ReceivedAnswer};
pub use net::{Connector, ConnectorBuilder};
pub use options::{MAX_CHUNK_SIZE, MAX_STREAM_CHUNK_SIZE, UploadOptions};
pub use progress::{CancelToken, Event, Progress, ProgressFn};
pub use rewind::Rewindable;
pub use source::{ReadSeek, Source};
pub use store::{BoxFuture, FileUrlStore, MemoryUrlStore, UrlStore};
pub use upload::{UploadOutcome, Verification};

/// Compile-time checks: the client, its options and errors, and the future of
/// every public `async fn` can move between threads (`tokio::spawn` on a
/// multi-threaded runtime). A change that breaks this fails this crate's
/// build instead of a user's. Never called.
#[allow(dead_code)]
fn _assert_impls(client: &Client, options: &UploadOptions, source: Source, creator: &dyn Creator) {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: T) {}
    send_sync::<Client>();
    send_sync::<UploadOptions>();
    send_sync::<Error>();
    send_sync::<CancelToken>();
    send(client.upload("", source.clone(), options));
    send(client.upload_to("", source.clone(), options));
    send(client.upload_with(creator, None, source.clone(), options));
    send(client.upload_stream("", tokio::io::empty(), options));
    send(client.status(""));
    send(client.verify("", 0));
    send(client.options(""));
    send(client.terminate(""));
    send(source.fingerprint(false));
    send(Source::from_path(""));
}
