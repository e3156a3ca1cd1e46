//! sled backend specifics: one process per database, flush, purge.

use bytes::Bytes;
use cache::{Cache, Error, Namespace, SledCache, Ttl};

#[tokio::test]
async fn a_second_opener_gets_a_typed_error_naming_the_path() {
    let dir = sandbox::TempDir::new("sled").unwrap();
    let path = dir.path().join("db");
    let first = SledCache::open(&path).unwrap();
    match SledCache::open(&path).unwrap_err() {
        Error::Locked { path: locked } => assert_eq!(locked, path),
        other => panic!("expected Locked, got {other:?}"),
    }
    drop(first);
    open_once_released(&path).await;
}

/// Opens the database at `path` once the last handle's lock is released:
/// sled's flusher thread releases it shortly after that handle goes
/// (documented on SledCache), so this waits for it, boundedly (5 s).
async fn open_once_released(path: &std::path::Path) -> SledCache {
    for _ in 0..100 {
        match SledCache::open(path) {
            Ok(cache) => return cache,
            Err(Error::Locked { .. }) => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await
            }
            Err(other) => panic!("{other:?}"),
        }
    }
    panic!("the lock was not released within 5 s of dropping the last handle");
}

#[tokio::test]
async fn flushed_entries_survive_reopening() {
    let dir = sandbox::TempDir::new("sled").unwrap();
    let key = Namespace::new("s").unwrap().key("k");
    {
        let cache = SledCache::open(dir.path().join("db")).unwrap();
        cache
            .put(&key, Bytes::from_static(b"kept"), Ttl::Never)
            .await
            .unwrap();
        cache.flush().await.unwrap();
        assert!(cache.size_on_disk().unwrap() > 0);
    }
    // Reopened in the same process: the closed handle's lock goes shortly
    // after it (CI under load met `Locked` when this reopened at once).
    let cache = open_once_released(&dir.path().join("db")).await;
    assert_eq!(
        cache.get(&key).await.unwrap(),
        Some(Bytes::from_static(b"kept"))
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_directory_and_files_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = sandbox::TempDir::new("sled-perm").unwrap();
    let path = dir.path().join("db");
    let cache = SledCache::open(&path).unwrap();
    let key = Namespace::new("t").unwrap().key("k");
    cache
        .put(&key, Bytes::from_static(b"https://up/1"), Ttl::Default)
        .await
        .unwrap();
    cache.flush().await.unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // The directory alone keeps everyone else out of whatever sled writes.
    assert_eq!(mode(&path), 0o700);
    drop(cache);
    // Files sled made since are tightened on the next open.
    let _reopened = open_once_released(&path).await;
    for entry in std::fs::read_dir(&path).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            assert_eq!(mode(&entry.path()) & 0o077, 0, "{:?}", entry.path());
        }
    }
}
