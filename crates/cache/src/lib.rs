//! A cache abstraction with time-based expiry (not yet implemented).
//!
//! This crate will hold one object-safe cache trait with memory, file, sled and
//! Redis backends, hashed namespaced keys, and the request-cache key helper used
//! by the Vimeo facade. It will also store tus resume state so an upload can
//! continue on another machine. Nothing here is functional yet.
