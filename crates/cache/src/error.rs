//! Errors. No variant carries a key's raw material or a value.

use std::path::PathBuf;

/// A cache operation failed.
///
/// A cache may degrade: callers such as the request cache treat a failed `get`
/// as a miss and a failed `put` as "not cached", and log it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A namespace name is empty, too long or has characters other than
    /// `a-z 0-9 - _ .`.
    #[error("invalid cache namespace {0:?} (use 1-64 of a-z, 0-9, '-', '_', '.')")]
    InvalidNamespace(String),
    /// The file backend could not read or write.
    #[error("cache I/O error at {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Another process holds the sled database.
    #[error("the sled database at {} is open in another process", path.display())]
    Locked {
        /// The database path.
        path: PathBuf,
    },
    /// A backend (sled, Redis) failed.
    #[error("cache backend error: {0}")]
    Backend(String),
    /// A value could not be (de)serialized by the typed helpers.
    #[error("cache value (de)serialization failed: {0}")]
    Serde(#[from] serde_json::Error),
}
