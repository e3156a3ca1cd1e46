//! Shared parts of the `vimeo` and `tusc` command-line tools: argument
//! checks for clap ([`parse`]), byte sizes ([`size`]), progress display
//! ([`progress`]), logging ([`logging`]), batches ([`batch`]), where resume
//! state lives ([`state_dir`], [`shared_store`]) and how failures exit
//! ([`Failure`]).
//!
//! Both tools print results on stdout (JSON with `--json`), progress and
//! messages on stderr, and exit with 0 on success, 1 on failure and 2 on a
//! usage error.

pub mod batch;
pub mod demo;
pub mod logging;
pub mod parse;
pub mod progress;
pub mod proxy;
pub mod size;

use std::path::PathBuf;
use std::sync::Arc;

/// Exit status of a failed command.
pub const EXIT_FAILURE: i32 = 1;
/// Exit status of a usage error.
pub const EXIT_USAGE: i32 = 2;

/// Where a tool keeps resume state: `$<ENV>` if set, else
/// `$XDG_STATE_HOME/<name>`, else `~/.local/state/<name>`, else the temp dir.
///
/// ```
/// let dir = cli::state_dir("TUSC_STATE_DIR_DOC_EXAMPLE", "tusc");
/// assert!(dir.ends_with("tusc"));
/// ```
pub fn state_dir(env: &str, name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os(env).filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir).join(name);
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home).join(".local/state").join(name);
    }
    std::env::temp_dir().join(name)
}

/// Writes `bytes` to `path` so that only this user can read it (directory
/// 0700, file 0600), atomically (a temporary file renamed over the old one):
/// for credentials a command keeps for the next one.
pub fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    let temporary = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .map_or("state".into(), |n| n.to_string_lossy()),
        std::process::id()
    ));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

/// An error and its sources, as `outer: inner: innermost` (each printed once;
/// library errors leave their source out of their own message).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = inner.source();
    }
    message
}

/// Prints `error: message` on stderr and exits with `code`.
pub fn fail(code: i32, message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(code)
}

/// A failed command: the exit status and the message for stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// [`EXIT_FAILURE`] or [`EXIT_USAGE`].
    pub code: i32,
    /// What went wrong, and whether a rerun resumes.
    pub message: String,
}

impl Failure {
    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }

    /// A failure (exit 1).
    pub fn failed(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_FAILURE,
            message: message.into(),
        }
    }

    /// Prints the message and exits.
    pub fn exit(&self) -> ! {
        fail(self.code, &self.message)
    }
}

const RERUN: &str = "\n(rerun the same command to resume)";

/// Whether rerunning the same upload continues it: the failure happened on
/// the way (network, server, cancellation), not to the input itself.
fn resumable(error: &tus::Error) -> bool {
    !matches!(
        error,
        tus::Error::Source { .. }
            | tus::Error::NotAFile { .. }
            | tus::Error::SourceChanged { .. }
            | tus::Error::CreationUncertain { .. }
            | tus::Error::TooLarge { .. }
            | tus::Error::Unsupported { .. }
            | tus::Error::InvalidUrl { .. }
            | tus::Error::InvalidHeader { .. }
            | tus::Error::InvalidChunkSize { .. }
            | tus::Error::InvalidMetadataKey { .. }
            | tus::Error::InvalidProxy { .. }
            | tus::Error::ProxyAuth { .. }
            | tus::Error::ProxyRefused { .. }
    )
}

impl From<tus::Error> for Failure {
    fn from(error: tus::Error) -> Self {
        Failure::of_upload(error, true)
    }
}

impl Failure {
    /// An upload's failure; `rerun_resumes` is false for sources a rerun
    /// cannot continue (a stream such as stdin), so no rerun hint is given.
    pub fn of_upload(error: tus::Error, rerun_resumes: bool) -> Failure {
        let code = match error {
            // The caller's mistakes, found before any request.
            tus::Error::InvalidUrl { .. }
            | tus::Error::InvalidHeader { .. }
            | tus::Error::InvalidChunkSize { .. }
            | tus::Error::InvalidMetadataKey { .. }
            | tus::Error::InvalidProxy { .. } => EXIT_USAGE,
            _ => EXIT_FAILURE,
        };
        let mut message = error_chain(&error);
        if let tus::Error::ProxyAuth { .. } | tus::Error::ProxyRefused { .. } = error {
            message.push_str("\n(fix the proxy settings, then rerun: the upload resumes)");
        }
        if let tus::Error::SourceChanged { .. } = error {
            message
                .push_str("\n(the file changed: a rerun uploads the new version as a new upload)");
        } else if code == EXIT_FAILURE && rerun_resumes && resumable(&error) {
            message.push_str(RERUN);
        }
        Failure { code, message }
    }
}

impl From<vimeo::Error> for Failure {
    fn from(error: vimeo::Error) -> Self {
        let mut message = error_chain(&error);
        let code = match &error {
            vimeo::Error::InvalidInput(_) => EXIT_USAGE,
            _ => EXIT_FAILURE,
        };
        if let vimeo::Error::Upload(inner) = &error
            && resumable(inner)
        {
            message.push_str(RERUN);
        }
        Failure { code, message }
    }
}

/// Connects to a shared resume store (`redis://host:port/db`) whose keys
/// start with `prefix`: resume state for a fleet of machines.
pub async fn shared_store(url: &str, prefix: &str) -> Result<Arc<dyn cache::Cache>, Failure> {
    let redis = cache::RedisCache::connect(url)
        .await
        .map_err(|e| Failure::failed(format!("cannot reach the resume store: {e}")))?;
    Ok(Arc::new(redis.prefix(prefix)))
}
