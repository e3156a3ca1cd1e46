//! A generic tus 1.0 resumable-upload client (not yet implemented).
//!
//! This crate will hold a sans-IO tus protocol core and a thin hyper 1.x driver:
//! streaming uploads with flat memory, resume through a pluggable URL store,
//! retries with backoff, progress events and completion checks. It knows nothing
//! of Vimeo and works with any tus 1.0 server. See ARCHITECTURE.md and the open
//! issues for the plan; nothing here is functional yet.
