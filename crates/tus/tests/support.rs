//! Shared helpers: a sandbox server, deterministic source files, a fast client.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sandbox::{TempDir, TusConfig, TusServer};

pub(crate) struct Harness {
    pub(crate) server: TusServer,
    pub(crate) dir: TempDir,
}

impl Harness {
    pub(crate) async fn start() -> Harness {
        Harness::with(|config| config).await
    }

    pub(crate) async fn with(configure: impl FnOnce(TusConfig) -> TusConfig) -> Harness {
        let dir = TempDir::new("tus-test").unwrap();
        let server = TusServer::start(configure(TusConfig::new(dir.path().join("server"))))
            .await
            .unwrap();
        Harness { server, dir }
    }

    /// A file of `len` pseudo-random bytes (deterministic per `seed`).
    pub(crate) fn file(&self, name: &str, len: usize, seed: u64) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content(len, seed)).unwrap();
        path
    }

    /// Uploads the file at `path` to this server's endpoint with a fresh
    /// client (as a new process would).
    pub(crate) async fn upload(
        &self,
        path: &Path,
        options: &tus::UploadOptions,
    ) -> Result<tus::UploadOutcome, tus::Error> {
        client()
            .upload(
                &self.server.endpoint(),
                tus::Source::from_path(path).await.unwrap(),
                options,
            )
            .await
    }

    /// Starts uploading `path` with `options` and drops the upload's future
    /// once `sent` bytes are on their way, as a caller's `select!` or timeout
    /// would; panics if the upload finishes first.
    pub(crate) async fn upload_dropped_after(
        &self,
        path: &Path,
        options: tus::UploadOptions,
        sent: u64,
    ) {
        let (mid_body, mut dropped) = tokio::sync::watch::channel(false);
        let options = options.on_event(move |event| {
            if let tus::Event::Progress(progress) = event
                && progress.sent >= sent
            {
                let _ = mid_body.send(true);
            }
        });
        tokio::select! {
            done = self.upload(path, &options) => {
                panic!("the upload finished before it was dropped: {done:?}")
            }
            _ = dropped.wait_for(|mid| *mid) => {}
        }
    }

    /// The absolute URL of the upload the first PATCH went to.
    pub(crate) fn upload_url(&self) -> String {
        let patch = self
            .server
            .requests()
            .into_iter()
            .find(|r| r.method == http::Method::PATCH);
        format!(
            "http://{}{}",
            self.server.addr(),
            patch.expect("a PATCH was sent").path
        )
    }

    /// The first request a fault fired on, and the next PATCH after it.
    pub(crate) fn around_fault(&self) -> (sandbox::LoggedRequest, sandbox::LoggedRequest) {
        let log = self.server.requests();
        let at = log
            .iter()
            .position(|r| r.fault.is_some())
            .expect("a fault fired");
        let next = log[at + 1..]
            .iter()
            .find(|r| r.method == http::Method::PATCH)
            .expect("a PATCH after the fault");
        (log[at].clone(), next.clone())
    }

    /// Asserts the server stored exactly the bytes of `source`.
    pub(crate) fn assert_stored(&self, url: &str, source: &Path) {
        let stored = std::fs::read(self.server.stored_file(url).expect("upload file")).unwrap();
        let original = std::fs::read(source).unwrap();
        assert_eq!(stored.len(), original.len(), "stored length");
        assert!(stored == original, "stored bytes differ from the source");
    }
}

pub(crate) fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

/// A client with quick retries and a short stall timeout.
pub(crate) fn client() -> tus::Client {
    tus::Client::builder()
        .retry_policy(
            tus::RetryPolicy::default()
                .max_attempts(5)
                .backoff(Duration::from_millis(5), Duration::from_millis(50)),
        )
        .stall_timeout(Duration::from_millis(800))
        .build()
        .unwrap()
}

/// Collects events for later assertions.
#[derive(Clone, Default)]
pub(crate) struct Events(pub(crate) Arc<Mutex<Vec<tus::Event>>>);

impl Events {
    pub(crate) fn options(&self, options: tus::UploadOptions) -> tus::UploadOptions {
        let sink = self.0.clone();
        options.on_event(move |event| sink.lock().unwrap().push(event.clone()))
    }

    pub(crate) fn all(&self) -> Vec<tus::Event> {
        self.0.lock().unwrap().clone()
    }

    pub(crate) fn retries(&self) -> Vec<(u32, Duration)> {
        self.all()
            .into_iter()
            .filter_map(|e| match e {
                tus::Event::Retrying { attempt, delay, .. } => Some((attempt, delay)),
                _ => None,
            })
            .collect()
    }
}

pub(crate) const KIB: usize = 1024;

/// Upload options with 64 KiB chunks: many PATCHes from a small file.
pub(crate) fn small_chunks() -> tus::UploadOptions {
    tus::UploadOptions::default().chunk_size(64 * KIB as u64)
}

/// The methods the server received, in order.
pub(crate) fn methods(harness: &Harness) -> Vec<http::Method> {
    harness
        .server
        .requests()
        .into_iter()
        .map(|r| r.method)
        .collect()
}
