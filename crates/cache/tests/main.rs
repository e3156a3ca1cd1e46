//! The cache crate's tests: the conformance suite per backend, then
//! backend-specific behaviour (one binary). The constructors are expanded
//! inside each generated module, hence the full paths.

#[macro_use]
mod conformance;
mod file;
mod memory;
#[cfg(feature = "sled")]
mod sled;

conformance!(
    memory_backend,
    |clock: cache::ManualClock, _dir: std::path::PathBuf| async move {
        std::sync::Arc::new(
            cache::MemoryCache::builder()
                .max_bytes(4 << 30)
                .default_ttl(std::time::Duration::from_secs(60))
                .clock(std::sync::Arc::new(clock))
                .build(),
        ) as std::sync::Arc<dyn cache::Cache>
    }
);

conformance!(
    file_backend,
    |clock: cache::ManualClock, dir: std::path::PathBuf| async move {
        std::sync::Arc::new(
            cache::FileCache::open(dir.join("cache"))
                .unwrap()
                .default_ttl(std::time::Duration::from_secs(60))
                .clock(std::sync::Arc::new(clock)),
        ) as std::sync::Arc<dyn cache::Cache>
    }
);

#[cfg(feature = "sled")]
conformance!(
    sled_backend,
    |clock: cache::ManualClock, dir: std::path::PathBuf| async move {
        std::sync::Arc::new(
            cache::SledCache::open(dir.join("sled"))
                .unwrap()
                .default_ttl(std::time::Duration::from_secs(60))
                .clock(std::sync::Arc::new(clock)),
        ) as std::sync::Arc<dyn cache::Cache>
    }
);
