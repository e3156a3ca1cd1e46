//! Command-line tools `vimeo` and `tusc` (not yet implemented).
//!
//! The binaries will wrap the `vimeo` facade and the generic `tus` client with
//! progress bars, automatic resume and `--json` output. Nothing here is
//! functional yet.
