//! The Vimeo API v3 facade (not yet implemented).
//!
//! This crate will compose the `oauth1`, `tus` and `cache` crates and add only
//! Vimeo knowledge: API calls, OAuth 2 and legacy OAuth 1.0a authentication,
//! request caching and resumable uploads. Nothing here is functional yet.
