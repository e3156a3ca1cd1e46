//! Memory backend specifics: bounds and LRU eviction.

use bytes::Bytes;
use cache::{Cache, MemoryCache, Namespace, Ttl};

#[tokio::test]
async fn evicts_least_recently_used_by_entry_count() {
    // 16 shards × 1 entry: keys that land in the same shard evict each other.
    let cache = MemoryCache::builder().max_entries(16).build();
    let ns = Namespace::new("m").unwrap();
    let keys: Vec<_> = (0..200).map(|i| ns.key(format!("{i}"))).collect();
    for key in &keys {
        cache
            .put(key, Bytes::from_static(b"v"), Ttl::Never)
            .await
            .unwrap();
    }
    assert!(cache.len() <= 16, "{} entries held", cache.len());
    // The most recent key is always there.
    assert!(cache.get(keys.last().unwrap()).await.unwrap().is_some());
}

#[tokio::test]
async fn a_read_protects_an_entry_from_eviction() {
    let cache = MemoryCache::builder().max_entries(16 * 2).build();
    let ns = Namespace::new("m").unwrap();
    // Find three keys in the same shard (shard = last digest byte % 16).
    let same_shard: Vec<_> = (0..10_000)
        .map(|i| ns.key(format!("{i}")))
        .filter(|k| k.digest()[31] % 16 == 0)
        .take(3)
        .collect();
    let (a, b, c) = (&same_shard[0], &same_shard[1], &same_shard[2]);
    cache
        .put(a, Bytes::from_static(b"a"), Ttl::Never)
        .await
        .unwrap();
    cache
        .put(b, Bytes::from_static(b"b"), Ttl::Never)
        .await
        .unwrap();
    assert!(cache.get(a).await.unwrap().is_some()); // a is now the most recent
    cache
        .put(c, Bytes::from_static(b"c"), Ttl::Never)
        .await
        .unwrap(); // evicts b
    assert!(cache.get(a).await.unwrap().is_some());
    assert_eq!(cache.get(b).await.unwrap(), None);
    assert!(cache.get(c).await.unwrap().is_some());
}

#[tokio::test]
async fn evicts_by_bytes_and_refuses_oversized_values() {
    let cache = MemoryCache::builder().max_bytes(16 * 1000).build(); // 1000 bytes per shard
    let ns = Namespace::new("m").unwrap();
    let same_shard: Vec<_> = (0..10_000)
        .map(|i| ns.key(format!("{i}")))
        .filter(|k| k.digest()[31] % 16 == 5)
        .take(3)
        .collect();
    cache
        .put(&same_shard[0], Bytes::from(vec![0u8; 600]), Ttl::Never)
        .await
        .unwrap();
    cache
        .put(&same_shard[1], Bytes::from(vec![1u8; 600]), Ttl::Never)
        .await
        .unwrap(); // evicts [0]
    assert_eq!(cache.get(&same_shard[0]).await.unwrap(), None);
    assert!(cache.get(&same_shard[1]).await.unwrap().is_some());
    cache
        .put(&same_shard[2], Bytes::from(vec![2u8; 1001]), Ttl::Never)
        .await
        .unwrap();
    assert_eq!(
        cache.get(&same_shard[2]).await.unwrap(),
        None,
        "larger than a shard: not stored"
    );
    assert!(
        cache.get(&same_shard[1]).await.unwrap().is_some(),
        "and nothing was evicted for it"
    );
}
