//! Resume state: a map from a source's fingerprint to its upload URL.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Mutex;

use crate::Error;

/// A boxed future, for object-safe async traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where resume state lives: fingerprint → upload URL. Implement it over any
/// storage (the `cache` crate provides Redis- and sled-backed ones) so an upload
/// can continue after a crash, or on another machine.
///
/// Keys are hex SHA-256 fingerprints; URLs are the server's upload URLs.
pub trait UrlStore: Send + Sync {
    /// The URL stored for `fingerprint`, if any.
    fn get<'a>(&'a self, fingerprint: &'a str) -> BoxFuture<'a, Result<Option<String>, Error>>;
    /// Stores `url` for `fingerprint`, replacing any previous one.
    fn put<'a>(&'a self, fingerprint: &'a str, url: &'a str) -> BoxFuture<'a, Result<(), Error>>;
    /// Forgets `fingerprint`.
    fn remove<'a>(&'a self, fingerprint: &'a str) -> BoxFuture<'a, Result<(), Error>>;
}

/// A [`UrlStore`] in memory: resume within one process.
#[derive(Debug, Default)]
pub struct MemoryUrlStore {
    map: Mutex<HashMap<String, String>>,
}

impl MemoryUrlStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryUrlStore::default()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.map
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl UrlStore for MemoryUrlStore {
    fn get<'a>(&'a self, fingerprint: &'a str) -> BoxFuture<'a, Result<Option<String>, Error>> {
        Box::pin(async move { Ok(self.map().get(fingerprint).cloned()) })
    }
    fn put<'a>(&'a self, fingerprint: &'a str, url: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            self.map().insert(fingerprint.to_owned(), url.to_owned());
            Ok(())
        })
    }
    fn remove<'a>(&'a self, fingerprint: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            self.map().remove(fingerprint);
            Ok(())
        })
    }
}

/// A [`UrlStore`] in a directory: one small file per fingerprint, written
/// atomically (temporary file, fsync, rename), so it survives crashes and kills.
/// File names are the hex fingerprints, never URLs.
#[derive(Debug, Clone)]
pub struct FileUrlStore {
    dir: PathBuf,
}

impl FileUrlStore {
    /// A store in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileUrlStore { dir: dir.into() }
    }

    fn path(&self, fingerprint: &str) -> Result<PathBuf, Error> {
        if fingerprint.is_empty() || !fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::Store("fingerprints must be hex".into()));
        }
        Ok(self.dir.join(format!("{fingerprint}.url")))
    }
}

fn store_error(path: &Path, error: std::io::Error) -> Error {
    Error::Store(format!("{}: {error}", path.display()))
}

impl UrlStore for FileUrlStore {
    fn get<'a>(&'a self, fingerprint: &'a str) -> BoxFuture<'a, Result<Option<String>, Error>> {
        Box::pin(async move {
            let path = self.path(fingerprint)?;
            match tokio::fs::read_to_string(&path).await {
                Ok(url) if !url.trim().is_empty() => Ok(Some(url.trim().to_owned())),
                Ok(_) => Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(store_error(&path, e)),
            }
        })
    }

    fn put<'a>(&'a self, fingerprint: &'a str, url: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let path = self.path(fingerprint)?;
            let dir = self.dir.clone();
            let url = url.to_owned();
            tokio::task::spawn_blocking(move || write_atomically(&dir, &path, url.as_bytes()))
                .await
                .map_err(|e| Error::Store(e.to_string()))?
        })
    }

    fn remove<'a>(&'a self, fingerprint: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let path = self.path(fingerprint)?;
            match tokio::fs::remove_file(&path).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(store_error(&path, e)),
                _ => Ok(()),
            }
        })
    }
}

fn write_atomically(dir: &Path, path: &Path, contents: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    std::fs::create_dir_all(dir).map_err(|e| store_error(dir, e))?;
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| Error::Store(e.to_string()))?;
    let temp = dir.join(format!(".tmp-{}", u64::from_le_bytes(random)));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        // Make the rename itself durable.
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(|e| store_error(path, e))
}
