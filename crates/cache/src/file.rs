//! The file backend: one directory per namespace, one file per entry, named by
//! the key's hex digest.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::backend::{Cache, CacheFuture, Ttl};
use crate::clock::{Clock, system};
use crate::entry;
use crate::error::Error;
use crate::key::{Key, Namespace};

/// The file backend.
///
/// - Writes are atomic: a temporary file in the same directory is written,
///   `fsync`ed and renamed over the entry, then the directory is synced. A
///   reader (in this or another process) sees the old entry or the new one,
///   never a mix, and a crash leaves no half-written entry.
/// - Entries survive restarts. A corrupted or truncated entry is a miss and is
///   removed; it is never an error to the caller.
/// - On Unix, directories are 0700 and files 0600.
/// - Reads happen on the calling task (entries come from the page cache in
///   microseconds); writes, which `fsync`, run on tokio's blocking pool.
/// - Several processes may share a directory: temporary names are unique, and
///   renames are atomic.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use cache::{Cache, FileCache, Namespace, Ttl};
/// let dir = std::env::temp_dir().join(format!("cache-doc-{}", std::process::id()));
/// let cache = FileCache::open(&dir)?;
/// let key = Namespace::new("demo")?.key("k");
/// cache.put(&key, "v".into(), Ttl::After(std::time::Duration::from_secs(60))).await?;
/// assert_eq!(FileCache::open(&dir)?.get(&key).await?.as_deref(), Some(&b"v"[..]));
/// # std::fs::remove_dir_all(&dir)?; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FileCache {
    root: PathBuf,
    default_ttl: Option<Duration>,
    clock: Arc<dyn Clock>,
    /// Test hook: writes fail with "no space left" after this many bytes.
    #[cfg(test)]
    fail_writes_after: Option<usize>,
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn create_private_dir(path: &Path) -> Result<(), Error> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path).map_err(|e| io_error(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| io_error(path, e))?;
    }
    Ok(())
}

impl FileCache {
    /// Opens (creating if needed) a cache in `root`, which is set to 0700.
    pub fn open(root: impl Into<PathBuf>) -> Result<FileCache, Error> {
        let root = root.into();
        create_private_dir(&root)?;
        Ok(FileCache {
            root,
            default_ttl: None,
            clock: system(),
            #[cfg(test)]
            fail_writes_after: None,
        })
    }

    /// TTL for `Ttl::Default` puts (default: none).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = Some(ttl);
        self
    }

    /// The clock (tests use [`crate::ManualClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The cache directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn dir(&self, namespace: &Namespace) -> PathBuf {
        self.root.join(namespace.as_str())
    }

    /// The file holding `key`.
    pub fn path_of(&self, key: &Key) -> PathBuf {
        self.dir(key.namespace())
            .join(format!("{}.entry", key.hex()))
    }

    fn read(&self, path: &Path) -> Result<Option<entry::Decoded>, Error> {
        let stored = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(path, e)),
        };
        match entry::decode(Bytes::from(stored)) {
            Some(decoded) => Ok(Some(decoded)),
            None => {
                tracing::warn!(path = %path.display(), "corrupted cache entry removed");
                let _ = std::fs::remove_file(path);
                Ok(None)
            }
        }
    }

    fn write(&self, key: &Key, stored: &[u8]) -> Result<(), Error> {
        let dir = self.dir(key.namespace());
        create_private_dir(&dir)?;
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|e| Error::Backend(e.to_string()))?;
        let temp = dir.join(format!(
            ".tmp-{}-{:016x}",
            std::process::id(),
            u64::from_le_bytes(random)
        ));
        let result = (|| {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&temp)?;
            #[cfg(test)]
            if let Some(limit) = self.fail_writes_after
                && stored.len() > limit
            {
                file.write_all(&stored[..limit])?;
                return Err(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    "no space left on device",
                ));
            }
            file.write_all(stored)?;
            file.sync_all()?;
            std::fs::rename(&temp, self.path_of(key))?;
            std::fs::File::open(&dir)?.sync_all()
        })();
        if let Err(error) = result {
            let _ = std::fs::remove_file(&temp);
            return Err(io_error(&self.path_of(key), error));
        }
        Ok(())
    }

    fn entries(&self, dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "entry"))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Cache for FileCache {
    fn get<'a>(&'a self, key: &'a Key) -> CacheFuture<'a, Option<Bytes>> {
        let path = self.path_of(key);
        CacheFuture::ready(self.read(&path).map(|found| match found {
            Some(decoded)
                if decoded.expires_at_ms.is_some() && decoded.is_expired(self.clock.now_ms()) =>
            {
                let _ = std::fs::remove_file(&path);
                None
            }
            Some(decoded) => Some(decoded.value),
            None => None,
        }))
    }

    fn put<'a>(&'a self, key: &'a Key, value: Bytes, ttl: Ttl) -> CacheFuture<'a, ()> {
        let expires = ttl.expires_at(self.clock.now_ms(), self.default_ttl);
        let this = self.clone();
        let key = key.clone();
        CacheFuture::boxed(async move {
            let write = move || this.write(&key, &entry::encode(&value, expires));
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => runtime
                    .spawn_blocking(write)
                    .await
                    .map_err(|e| Error::Backend(format!("blocking task failed: {e}")))?,
                // Outside a tokio runtime (another executor): write inline.
                Err(_) => write(),
            }
        })
    }

    fn remove<'a>(&'a self, key: &'a Key) -> CacheFuture<'a, bool> {
        let path = self.path_of(key);
        let live = matches!(self.read(&path), Ok(Some(d)) if !d.is_expired(self.clock.now_ms()));
        CacheFuture::ready(match std::fs::remove_file(&path) {
            Ok(()) => Ok(live),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error(&path, e)),
        })
    }

    fn clear<'a>(&'a self, namespace: &'a Namespace) -> CacheFuture<'a, ()> {
        let dir = self.dir(namespace);
        for path in self.entries(&dir) {
            if let Err(e) = std::fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                return CacheFuture::ready(Err(io_error(&path, e)));
            }
        }
        CacheFuture::ready(Ok(()))
    }

    fn purge_expired(&self) -> CacheFuture<'_, u64> {
        let now = self.clock.now_ms();
        let mut purged = 0;
        let namespaces = std::fs::read_dir(&self.root)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_else(|_| Vec::new());
        for dir in namespaces.into_iter().filter(|p: &PathBuf| p.is_dir()) {
            for path in self.entries(&dir) {
                // Unreadable or corrupted entries are removed by `read` itself.
                if let Ok(Some(decoded)) = self.read(&path)
                    && decoded.is_expired(now)
                    && std::fs::remove_file(&path).is_ok()
                {
                    purged += 1;
                }
            }
        }
        CacheFuture::ready(Ok(purged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn works_outside_a_tokio_runtime() {
        let dir =
            std::env::temp_dir().join(format!("cache-nort-{}-{}", std::process::id(), line!()));
        let cache = FileCache::open(&dir).unwrap();
        let key = Namespace::new("t").unwrap().key("k");
        let waker = std::task::Waker::noop();
        let mut context = std::task::Context::from_waker(waker);
        let mut put = std::pin::pin!(cache.put(&key, Bytes::from_static(b"v"), Ttl::Never));
        assert!(matches!(
            std::future::Future::poll(put.as_mut(), &mut context),
            std::task::Poll::Ready(Ok(()))
        ));
        let mut get = std::pin::pin!(cache.get(&key));
        match std::future::Future::poll(get.as_mut(), &mut context) {
            std::task::Poll::Ready(Ok(Some(value))) => assert_eq!(&value[..], b"v"),
            other => panic!("{other:?}"),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_full_disk_is_a_typed_error_and_leaves_no_partial_entry() {
        let dir =
            std::env::temp_dir().join(format!("cache-full-{}-{}", std::process::id(), line!()));
        let mut cache = FileCache::open(&dir).unwrap();
        let key = Namespace::new("t").unwrap().key("k");
        cache
            .put(&key, Bytes::from_static(b"old value"), Ttl::Never)
            .await
            .unwrap();
        cache.fail_writes_after = Some(10);
        let err = cache
            .put(&key, Bytes::from(vec![7u8; 1000]), Ttl::Never)
            .await
            .unwrap_err();
        match err {
            Error::Io { source, .. } => assert_eq!(source.kind(), std::io::ErrorKind::StorageFull),
            other => panic!("{other:?}"),
        }
        // The old value is intact and no temporary file is left behind.
        assert_eq!(
            cache.get(&key).await.unwrap().as_deref(),
            Some(&b"old value"[..])
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.join("t"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
