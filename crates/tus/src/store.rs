//! Resume state: a map from a source's fingerprint to its upload URL.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Mutex;

use crate::error::Error;

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
    /// Fails if [`UrlStore::put`] would fail. Called before an upload is
    /// created, so a read-only store cannot leave an orphan upload behind.
    /// The default does nothing.
    fn probe(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async { Ok(()) })
    }
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
/// File names are the hex fingerprints, never URLs. Upload URLs are
/// credentials, so on Unix the directory is created 0700 and files 0600.
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

/// An I/O failure on one path of the store.
#[derive(Debug, thiserror::Error)]
#[error("{}", path.display())]
struct PathError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

fn store_error(path: &Path, error: std::io::Error) -> Error {
    Error::Store(Box::new(PathError {
        path: path.to_owned(),
        source: error,
    }))
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
                .map_err(|e| Error::Store(Box::new(e)))?
        })
    }

    fn probe(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            let dir = self.dir.clone();
            tokio::task::spawn_blocking(move || {
                // Concurrent uploads (parallel parts) probe at once: own names.
                let mut random = [0u8; 8];
                let _ = getrandom::fill(&mut random);
                let probe = dir.join(format!(".probe-{}", u64::from_le_bytes(random)));
                write_atomically(&dir, &probe, b"")?;
                std::fs::remove_file(&probe).map_err(|e| store_error(&probe, e))
            })
            .await
            .map_err(|e| Error::Store(Box::new(e)))?
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
    create_private_dir(dir).map_err(|e| store_error(dir, e))?;
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| Error::Store(e.to_string().into()))?;
    let temp = dir.join(format!(".tmp-{}", u64::from_le_bytes(random)));
    let result = (|| {
        let mut file = private_file(&temp)?;
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

/// Creates `dir` (and parents) readable by the owner only.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    // A directory made by an older version, or by hand, is tightened too.
    #[cfg(unix)]
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    Ok(())
}

/// A new file readable and writable by the owner only.
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[tokio::test]
    async fn state_is_private_and_a_read_only_dir_fails_the_probe() {
        let base = std::env::temp_dir().join(format!("tus-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let store = FileUrlStore::new(base.join("state"));
        store.probe().await.unwrap();
        store.put("ab", "https://x/files/1").await.unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&base.join("state")), 0o700);
        assert_eq!(mode(&base.join("state/ab.url")), 0o600);
        // A directory we cannot write to (root ignores modes, so use a file as "dir").
        std::fs::write(base.join("plain"), b"").unwrap();
        let broken = FileUrlStore::new(base.join("plain/state"));
        let error = broken.probe().await.unwrap_err();
        assert!(matches!(error, Error::Store(_)), "{error:?}");
        assert!(std::error::Error::source(&error).is_some());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
