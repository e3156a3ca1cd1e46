//! Logging for the binaries: `tracing` events to stderr through
//! tracing-subscriber. `RUST_LOG` (`target=level,...` or a bare level) wins;
//! otherwise `-v` shows info, `-vv` debug, `-vvv` trace; the default is warnings.
//! The libraries never log secrets (tokens, signatures, upload URLs' queries),
//! whatever the level.

use std::str::FromStr as _;

use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The filter for `verbose` (the count of `-v`) and `rust_log` (`RUST_LOG`).
///
/// ```
/// use tracing_subscriber::filter::LevelFilter;
/// assert_eq!(cli::logging::filter(0, None).default_level(), Some(LevelFilter::WARN));
/// assert_eq!(cli::logging::filter(2, None).default_level(), Some(LevelFilter::DEBUG));
/// let custom = cli::logging::filter(0, Some("tus=trace"));
/// assert!(custom.would_enable("tus::drive", &tracing::Level::TRACE));
/// assert!(!custom.would_enable("vimeo", &tracing::Level::INFO));
/// ```
pub fn filter(verbose: u8, rust_log: Option<&str>) -> Targets {
    if let Some(spec) = rust_log.filter(|s| !s.trim().is_empty())
        && let Ok(targets) = Targets::from_str(spec)
    {
        return targets;
    }
    let level = match verbose {
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    Targets::new().with_default(level)
}

/// Installs the subscriber (once per process; later calls do nothing).
pub fn init(verbose: u8) {
    let rust_log = std::env::var("RUST_LOG").ok();
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(true);
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter(verbose, rust_log.as_deref())))
        .try_init();
}
