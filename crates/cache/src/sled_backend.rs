//! The sled 0.34 backend: one tree per namespace, expiry stored with the value.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::backend::{Cache, CacheFuture, Ttl};
use crate::clock::{Clock, system};
use crate::entry;
use crate::error::Error;
use crate::key::{Key, Namespace};

/// The sled backend (feature `sled`).
///
/// - Flush policy: sled writes to its log in memory and flushes every 500 ms
///   (sled's default) and when the last handle is dropped; call
///   [`SledCache::flush`] where an entry must be on disk now. A crash can lose
///   the last half second of puts, which for a cache is a miss, not corruption.
/// - sled allows one process per database. A second opener gets
///   [`Error::Locked`] naming the path, at once (no hang, no panic). The lock
///   is released when sled's background flusher stops, which can be a moment
///   after the last handle is dropped: a reopen right away may still see
///   `Locked`.
/// - Known on-disk growth: sled 0.34 does not shrink its files when entries are
///   removed; space is reused, but the files keep their high-water mark. Call
///   [`Cache::purge_expired`] regularly; to reclaim disk, delete the directory
///   (it is only a cache) or copy live entries into a fresh database.
#[derive(Debug, Clone)]
pub struct SledCache {
    db: sled::Db,
    path: PathBuf,
    default_ttl: Option<Duration>,
    clock: Arc<dyn Clock>,
}

fn backend(error: sled::Error) -> Error {
    Error::Backend(format!("sled: {error}"))
}

impl SledCache {
    /// Opens (creating if needed) the database at `path`. The directory is
    /// made private (0700 on Unix, and the files sled keeps in it 0600): a
    /// cache can hold resume state, whose upload URLs are credentials.
    pub fn open(path: impl AsRef<Path>) -> Result<SledCache, Error> {
        let path = path.as_ref().to_path_buf();
        make_private(&path).map_err(|e| Error::Backend(format!("sled: {e}")))?;
        let db = sled::Config::new()
            .path(&path)
            .open()
            .map_err(|error| match &error {
                sled::Error::Io(io)
                    if io.kind() == std::io::ErrorKind::WouldBlock
                        || io.to_string().contains("lock") =>
                {
                    Error::Locked { path: path.clone() }
                }
                _ => backend(error),
            })?;
        make_private(&path).map_err(|e| Error::Backend(format!("sled: {e}")))?;
        Ok(SledCache {
            db,
            path,
            default_ttl: None,
            clock: system(),
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

    /// The database path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes everything to disk now.
    pub async fn flush(&self) -> Result<(), Error> {
        self.db.flush_async().await.map(|_| ()).map_err(backend)
    }

    /// The database's size on disk, in bytes.
    pub fn size_on_disk(&self) -> Result<u64, Error> {
        self.db.size_on_disk().map_err(backend)
    }

    fn tree(&self, namespace: &Namespace) -> Result<sled::Tree, Error> {
        self.db.open_tree(namespace.as_str()).map_err(backend)
    }
}

impl Cache for SledCache {
    fn get<'a>(&'a self, key: &'a Key) -> CacheFuture<'a, Option<Bytes>> {
        let result = (|| {
            let tree = self.tree(key.namespace())?;
            let Some(stored) = tree.get(key.digest()).map_err(backend)? else {
                return Ok(None);
            };
            match entry::decode(Bytes::copy_from_slice(&stored)) {
                Some(decoded) if !decoded.is_expired(self.clock.now_ms()) => {
                    Ok(Some(decoded.value))
                }
                _ => {
                    tree.remove(key.digest()).map_err(backend)?;
                    Ok(None)
                }
            }
        })();
        CacheFuture::ready(result)
    }

    fn put<'a>(&'a self, key: &'a Key, value: Bytes, ttl: Ttl) -> CacheFuture<'a, ()> {
        let expires = ttl.expires_at(self.clock.now_ms(), self.default_ttl);
        let result = self.tree(key.namespace()).and_then(|tree| {
            tree.insert(key.digest(), entry::encode(&value, expires))
                .map(|_| ())
                .map_err(backend)
        });
        CacheFuture::ready(result)
    }

    fn remove<'a>(&'a self, key: &'a Key) -> CacheFuture<'a, bool> {
        let now = self.clock.now_ms();
        let result = self.tree(key.namespace()).and_then(|tree| {
            let old = tree.remove(key.digest()).map_err(backend)?;
            Ok(old
                .and_then(|o| entry::decode(Bytes::copy_from_slice(&o)))
                .is_some_and(|d| !d.is_expired(now)))
        });
        CacheFuture::ready(result)
    }

    fn clear<'a>(&'a self, namespace: &'a Namespace) -> CacheFuture<'a, ()> {
        CacheFuture::ready(
            self.tree(namespace)
                .and_then(|tree| tree.clear().map_err(backend)),
        )
    }

    fn purge_expired(&self) -> CacheFuture<'_, u64> {
        let now = self.clock.now_ms();
        let result = (|| {
            let mut purged = 0;
            for name in self.db.tree_names() {
                if name == b"__sled__default" {
                    continue;
                }
                let tree = self.db.open_tree(&name).map_err(backend)?;
                for item in tree.iter() {
                    let (key, stored) = item.map_err(backend)?;
                    let dead = entry::decode(Bytes::copy_from_slice(&stored))
                        .is_none_or(|d| d.is_expired(now));
                    if dead && tree.remove(&key).map_err(backend)?.is_some() {
                        purged += 1;
                    }
                }
            }
            Ok(purged)
        })();
        CacheFuture::ready(result)
    }
}

/// Creates `dir` if needed and restricts it and the files in it to the owner.
fn make_private(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let mode = if entry.file_type()?.is_dir() {
                0o700
            } else {
                0o600
            };
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode))?;
        }
    }
    Ok(())
}
