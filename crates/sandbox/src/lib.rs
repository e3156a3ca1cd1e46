//! An offline, Vimeo-compatible API and tus server on loopback (not yet implemented).
//!
//! This crate will serve the tests, the demo and users testing their own apps:
//! a tus 1.0 server storing uploads on disk with deterministic fault injection,
//! and a Vimeo API look-alike that verifies OAuth signatures with the `oauth1`
//! crate. Nothing here is functional yet.
