//! Shared parts of the `vimeo` and `tusc` command-line tools: argument
//! parsing ([`args`]), byte sizes ([`size`]), progress display ([`progress`])
//! and where resume state lives ([`state_dir`]).
//!
//! Both tools print results on stdout (JSON with `--json`), progress and
//! messages on stderr, and exit with 0 on success, 1 on failure and 2 on a
//! usage error.

pub mod args;
pub mod demo;
pub mod progress;
pub mod size;

use std::path::PathBuf;

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
