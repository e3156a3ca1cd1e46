//! Cross-crate integration tests over loopback.
