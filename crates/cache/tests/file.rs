//! File backend specifics: permissions, corruption, restarts, sharing, bad directories.

use std::sync::Arc;

use bytes::Bytes;
use cache::{Cache, Error, FileCache, Namespace, Ttl};

fn setup() -> (sandbox::TempDir, FileCache, Namespace) {
    let dir = sandbox::TempDir::new("file-cache").unwrap();
    let cache = FileCache::open(dir.path().join("c")).unwrap();
    (dir, cache, Namespace::new("f").unwrap())
}

#[cfg(unix)]
#[tokio::test]
async fn files_are_0600_in_0700_directories_and_named_by_digest() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, cache, ns) = setup();
    let key = ns.key("https://api.vimeo.com/me?access_token=SECRET");
    cache
        .put(&key, Bytes::from_static(b"v"), Ttl::Never)
        .await
        .unwrap();
    let path = cache.path_of(&key);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    assert_eq!(
        std::fs::metadata(cache.root())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(name, format!("{}.entry", key.hex()));
    assert!(
        !path.to_string_lossy().contains("SECRET") && !path.to_string_lossy().contains("vimeo")
    );
}

#[tokio::test]
async fn corrupted_and_truncated_entries_are_misses_and_removed() {
    let (_dir, cache, ns) = setup();
    for (i, damage) in [
        |b: &mut Vec<u8>| b.truncate(b.len() - 1),
        |b: &mut Vec<u8>| b[0] = b'X',
        |b: &mut Vec<u8>| b.truncate(3),
        |b: &mut Vec<u8>| b.clear(),
    ]
    .into_iter()
    .enumerate()
    {
        let key = ns.key(format!("{i}"));
        cache
            .put(&key, Bytes::from_static(b"a value"), Ttl::Never)
            .await
            .unwrap();
        let path = cache.path_of(&key);
        let mut bytes = std::fs::read(&path).unwrap();
        damage(&mut bytes);
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(cache.get(&key).await.unwrap(), None, "damage {i}");
        assert!(!path.exists(), "damaged entry {i} removed");
    }
}

#[tokio::test]
async fn entries_survive_a_restart() {
    let (dir, cache, ns) = setup();
    cache
        .put(
            &ns.key("k"),
            Bytes::from_static(b"persisted"),
            Ttl::After(std::time::Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    drop(cache);
    let reopened = FileCache::open(dir.path().join("c")).unwrap();
    assert_eq!(
        reopened.get(&ns.key("k")).await.unwrap(),
        Some(Bytes::from_static(b"persisted"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_on_one_directory_never_mix_values() {
    // Two independent handles stand in for two processes: writes are
    // temp-file + rename, so a reader sees one whole value or another.
    let (dir, a, ns) = setup();
    let b = FileCache::open(dir.path().join("c")).unwrap();
    let key = ns.key("shared");
    let (a, b) = (Arc::new(a), Arc::new(b));
    let writers: Vec<_> = [(a.clone(), 1u8), (b.clone(), 2u8)]
        .into_iter()
        .map(|(cache, fill)| {
            let key = key.clone();
            tokio::spawn(async move {
                for _ in 0..30 {
                    cache
                        .put(&key, Bytes::from(vec![fill; 100_000]), Ttl::Never)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    let reader = {
        let (a, key) = (a.clone(), key.clone());
        tokio::spawn(async move {
            for _ in 0..200 {
                if let Some(value) = a.get(&key).await.unwrap() {
                    assert_eq!(value.len(), 100_000);
                    assert!(value.iter().all(|&x| x == value[0]), "mixed value read");
                }
                tokio::task::yield_now().await;
            }
        })
    };
    for writer in writers {
        writer.await.unwrap();
    }
    reader.await.unwrap();
    let leftovers = std::fs::read_dir(dir.path().join("c/f")).unwrap().count();
    assert_eq!(leftovers, 1, "only the entry remains, no temporary files");
}

#[tokio::test]
async fn an_unusable_directory_is_a_typed_error() {
    let dir = sandbox::TempDir::new("file-cache").unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    // A directory under a regular file cannot exist, even for root.
    match FileCache::open(file.join("cache")).unwrap_err() {
        Error::Io { path, .. } => assert!(path.ends_with("cache")),
        other => panic!("{other:?}"),
    }
    // A cache whose namespace directory cannot be created: put fails, get misses.
    let cache = FileCache::open(dir.path().join("c")).unwrap();
    std::fs::write(dir.path().join("c/blocked"), b"not a dir").unwrap();
    let key = Namespace::new("blocked").unwrap().key("k");
    assert!(matches!(
        cache.put(&key, Bytes::from_static(b"v"), Ttl::Never).await,
        Err(Error::Io { .. })
    ));
    assert!(matches!(
        cache.get(&key).await,
        Ok(None) | Err(Error::Io { .. })
    ));
}
