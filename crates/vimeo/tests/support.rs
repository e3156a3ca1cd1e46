//! Shared setup: a sandbox and a client pointed at it, with quick retries.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sandbox::{Sandbox, SandboxConfig};
use vimeo::VimeoClient;

pub(crate) fn fast_retries() -> vimeo::tus::RetryPolicy {
    vimeo::tus::RetryPolicy::default().backoff(Duration::from_millis(5), Duration::from_millis(40))
}

pub(crate) fn builder(sandbox: &Sandbox) -> vimeo::ClientBuilder {
    VimeoClient::builder()
        .api_url(sandbox.api_url())
        .retry_policy(fast_retries())
        .upload_stall_timeout(Duration::from_secs(2))
}

/// A sandbox, and a client with the sandbox user's personal token.
pub(crate) async fn start() -> (Sandbox, VimeoClient) {
    start_with(SandboxConfig::new().transcode_delay(Duration::from_millis(50))).await
}

pub(crate) async fn start_with(config: SandboxConfig) -> (Sandbox, VimeoClient) {
    let sandbox = Sandbox::start_with(config).await.unwrap();
    let client = builder(&sandbox)
        .token(sandbox.credentials().personal_token.as_str())
        .build()
        .unwrap();
    (sandbox, client)
}

/// Writes `len` patterned bytes to `dir/name`.
pub(crate) fn sample_file(dir: &Path, name: &str, len: usize) -> (PathBuf, Vec<u8>) {
    let bytes: Vec<u8> = (0..len).map(|i| (i * 131 % 251) as u8).collect();
    let path = dir.join(name);
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

/// The bytes the sandbox stored for video `id`.
pub(crate) fn stored_bytes(sandbox: &Sandbox, id: u64) -> Vec<u8> {
    let link = sandbox.upload_link(id).expect("the video exists");
    let file = sandbox.uploads().stored_file(&link).expect("a stored file");
    std::fs::read(file).unwrap()
}

/// `GET url` as a browser would: (status, `Location`, body).
pub(crate) async fn browse(url: &str) -> (u16, Option<String>, String) {
    let page = sandbox::browse(url).await.unwrap();
    (page.status, page.location, page.body)
}

/// How many POSTs the sandbox's API received at `path`.
pub(crate) fn posts_to(sandbox: &Sandbox, path: &str) -> usize {
    sandbox
        .requests()
        .iter()
        .filter(|r| r.method == http::Method::POST && r.path == path)
        .count()
}
