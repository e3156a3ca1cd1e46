//! The Vimeo API v3 facade (in progress).
//!
//! This crate composes the `oauth1`, `tus` and `cache` crates and adds only
//! Vimeo knowledge. What exists today:
//!
//! - [`CacheUrlStore`]: tus resume state (fingerprint → upload URL) kept in any
//!   [`cache::Cache`], so an interrupted upload resumes after a crash, or, with
//!   the Redis backend, on another machine of a fleet.
//!
//! Not written yet (see the open issues): the `VimeoClient`, OAuth 2 and legacy
//! OAuth 1.0a flows, API calls, request caching and the upload handshake.
//!
//! The building blocks are re-exported, so one dependency reaches every layer.

mod resume;

pub use cache;
pub use oauth1;
pub use resume::CacheUrlStore;
pub use tus;
