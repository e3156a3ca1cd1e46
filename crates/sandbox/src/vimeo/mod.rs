//! The Vimeo-compatible API server: OAuth 2 and legacy OAuth 1.0a endpoints,
//! the legacy REST endpoint, users, videos (tus uploads on a separate
//! [`TusServer`]), paging, `fields`, Vimeo-shaped errors and rate limits.

// Handlers return `Result<_, Reply>`: the error *is* the answer to send, and a
// test server's few extra bytes on the stack do not matter.
#[allow(clippy::result_large_err)]
mod auth;
mod dispatch;
pub(crate) use dispatch::Call;
#[allow(clippy::result_large_err)]
mod legacy;
#[allow(clippy::result_large_err)]
mod media;
#[allow(clippy::result_large_err)]
mod videos;
pub(crate) mod wire;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use http::Method;
use tokio::net::TcpListener;

use crate::{Faults, TempDir, TusConfig, TusServer};

/// How a [`Sandbox`] behaves. Every field has a default; see [`SandboxConfig::new`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SandboxConfig {
    /// Where uploaded files are stored; a temporary directory (removed on drop) if `None`.
    pub dir: Option<PathBuf>,
    /// The API port (0: any free port).
    pub api_port: u16,
    /// The upload host's port (0: any free port).
    pub upload_port: u16,
    /// How long after its last byte a video's transcode takes.
    pub transcode_delay: Duration,
    /// Requests allowed per rate-limit window.
    pub rate_limit: u32,
    /// The rate-limit window.
    pub rate_window: Duration,
    /// Write `X-RateLimit-Reset` as a Unix epoch integer instead of ISO-8601
    /// (Vimeo has sent both over the years).
    pub reset_as_epoch: bool,
    /// The user's free upload space in bytes.
    pub upload_space: u64,
    /// The OAuth 1.0a timestamp window in seconds.
    pub timestamp_window: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig::new()
    }
}

impl SandboxConfig {
    /// Temporary storage, any ports, 300 ms transcodes, 2,500 requests a minute,
    /// 500 GiB of upload space, a 300 s OAuth 1.0a timestamp window.
    pub fn new() -> Self {
        SandboxConfig {
            dir: None,
            api_port: 0,
            upload_port: 0,
            transcode_delay: Duration::from_millis(300),
            rate_limit: 2_500,
            rate_window: Duration::from_secs(60),
            reset_as_epoch: false,
            upload_space: 500 << 30,
            timestamp_window: 300,
        }
    }

    /// Stores uploads in `dir`.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Listens for API calls on `port`.
    pub fn api_port(mut self, port: u16) -> Self {
        self.api_port = port;
        self
    }

    /// Listens for uploads on `port`.
    pub fn upload_port(mut self, port: u16) -> Self {
        self.upload_port = port;
        self
    }

    /// Transcoding takes `delay` after the last byte.
    pub fn transcode_delay(mut self, delay: Duration) -> Self {
        self.transcode_delay = delay;
        self
    }

    /// Allows `limit` requests per `window`, then answers 429.
    pub fn rate_limit(mut self, limit: u32, window: Duration) -> Self {
        self.rate_limit = limit;
        self.rate_window = window;
        self
    }

    /// Writes `X-RateLimit-Reset` as a Unix epoch integer.
    pub fn reset_as_epoch(mut self) -> Self {
        self.reset_as_epoch = true;
        self
    }

    /// The user's free upload space.
    pub fn upload_space(mut self, bytes: u64) -> Self {
        self.upload_space = bytes;
        self
    }
}

/// The credentials a sandbox accepts, fresh and random for every start so that
/// tests can look for them where they must not appear.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SandboxCredentials {
    /// A personal access token of the sandbox user (all scopes).
    pub personal_token: String,
    /// The registered app's OAuth 2 client id.
    pub client_id: String,
    /// The app's OAuth 2 client secret.
    pub client_secret: String,
    /// The app's OAuth 1.0a consumer key.
    pub consumer_key: String,
    /// The app's OAuth 1.0a consumer secret.
    pub consumer_secret: String,
    /// A second OAuth 1.0a consumer that signs with RSA (the OAuth wiki's
    /// test key, `crates/oauth1/tests/data/rsa-test-key.pem`): no secret.
    pub rsa_consumer_key: String,
}

impl std::fmt::Debug for SandboxCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxCredentials")
            .field("client_id", &self.client_id)
            .field("consumer_key", &self.consumer_key)
            .finish_non_exhaustive()
    }
}

/// One API request as the sandbox saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiRequest {
    /// The method.
    pub method: Method,
    /// The path.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// The `Authorization` header, verbatim.
    pub authorization: Option<String>,
    /// The `Proxy-Authorization` header, if one reached this server (it is
    /// for proxies only; tests assert it never arrives).
    pub proxy_authorization: Option<String>,
    /// The `Accept` header.
    pub accept: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The status answered.
    pub status: u16,
}

/// The sandbox user's id.
pub(crate) const USER_ID: u64 = 1_000;
/// Another user, owner of a video the sandbox user may not edit.
pub(crate) const OTHER_USER_ID: u64 = 2_000;
/// Every scope; the personal token has them all.
pub(crate) const ALL_SCOPES: &str =
    "public private purchased create edit delete interact upload video_files stats";

/// What a bearer token grants.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    /// `None` for client-credentials ("unauthenticated") tokens.
    pub(crate) user: Option<u64>,
    pub(crate) scope: String,
}

#[derive(Debug)]
pub(crate) struct Video {
    pub(crate) id: u64,
    pub(crate) owner: u64,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) privacy_view: String,
    pub(crate) created: SystemTime,
    pub(crate) upload_link: String,
    pub(crate) size: u64,
    /// When the current upload's last byte was first seen.
    pub(crate) completed_at: Option<Instant>,
    pub(crate) versions: Vec<u64>,
    /// `tus`, or `pull` (the sandbox fetched the file from `upload.link`).
    pub(crate) approach: &'static str,
    /// A pull whose fetch failed: `upload.status` is `error`.
    pub(crate) pull_failed: bool,
}

struct RateWindow {
    started: Instant,
    started_wall: SystemTime,
    used: u32,
}

pub(crate) struct State {
    pub(crate) config: SandboxConfig,
    pub(crate) credentials: SandboxCredentials,
    pub(crate) api_addr: SocketAddr,
    pub(crate) tus: TusServer,
    pub(crate) tokens: Mutex<HashMap<String, Grant>>,
    pub(crate) codes: Mutex<HashMap<String, auth::CodeGrant>>,
    pub(crate) videos: Mutex<BTreeMap<u64, Video>>,
    pub(crate) next_id: AtomicU64,
    pub(crate) legacy: Mutex<legacy::LegacyState>,
    /// Text tracks and thumbnails.
    pub(crate) media: Mutex<Vec<media::Media>>,
    log: Mutex<Vec<ApiRequest>>,
    faults: Faults,
    rate: Mutex<RateWindow>,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// An offline Vimeo: the API on one port, the tus upload host on another.
/// Stops when dropped.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// let sandbox = sandbox::Sandbox::start().await?;
/// assert!(sandbox.api_url().starts_with("http://127.0.0.1:"));
/// assert_ne!(sandbox.api_url(), sandbox.upload_host());
/// assert!(!sandbox.credentials().personal_token.is_empty());
/// # Ok(()) }
/// ```
pub struct Sandbox {
    state: Arc<State>,
    accept: tokio::task::JoinHandle<()>,
    _temp: Option<TempDir>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("api", &self.state.api_addr)
            .field("upload", &self.state.tus.addr())
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts a sandbox with the default configuration on the current tokio runtime.
    pub async fn start() -> std::io::Result<Sandbox> {
        Sandbox::start_with(SandboxConfig::new()).await
    }

    /// Starts a sandbox with `config`.
    pub async fn start_with(config: SandboxConfig) -> std::io::Result<Sandbox> {
        let (dir, temp) = match &config.dir {
            Some(dir) => (dir.clone(), None),
            None => {
                let temp = TempDir::new("vimeo-sandbox")?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        // Vimeo's upload host speaks tus without creation: links come from the API.
        let tus = TusServer::start(
            TusConfig::new(dir)
                .port(config.upload_port)
                .without_extension("creation")
                .without_extension("creation-with-upload")
                .without_extension("creation-defer-length"),
        )
        .await?;
        let listener = TcpListener::bind(("127.0.0.1", config.api_port)).await?;
        let api_addr = listener.local_addr()?;
        let credentials = SandboxCredentials {
            personal_token: format!("sbx-pat-{}", wire::random_hex(16)),
            client_id: format!("sbx-client-{}", wire::random_hex(8)),
            client_secret: format!("sbx-secret-{}", wire::random_hex(16)),
            consumer_key: format!("sbx-consumer-{}", wire::random_hex(8)),
            consumer_secret: format!("sbx-csecret-{}", wire::random_hex(16)),
            rsa_consumer_key: legacy::RSA_CONSUMER_KEY.to_owned(),
        };
        let mut tokens = HashMap::new();
        tokens.insert(
            credentials.personal_token.clone(),
            Grant {
                user: Some(USER_ID),
                scope: ALL_SCOPES.into(),
            },
        );
        let state = Arc::new(State {
            credentials,
            api_addr,
            tus,
            tokens: Mutex::new(tokens),
            codes: Mutex::new(HashMap::new()),
            videos: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(100_000),
            legacy: Mutex::new(legacy::LegacyState::default()),
            media: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
            faults: Faults::default(),
            rate: Mutex::new(RateWindow {
                started: Instant::now(),
                started_wall: SystemTime::now(),
                used: 0,
            }),
            config,
        });
        videos::seed_foreign_video(&state).await?;
        let handler_state = state.clone();
        let accept = crate::serve::spawn(listener, Arc::default(), move |request| {
            dispatch::handle(handler_state.clone(), request)
        });
        Ok(Sandbox {
            state,
            accept,
            _temp: temp,
        })
    }

    /// The API base URL, e.g. `http://127.0.0.1:PORT`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.state.api_addr)
    }

    /// The base URL of the legacy (OAuth 1.0a, Advanced API v2) endpoints:
    /// `{base}/oauth/request_token`, `{base}/oauth/authorize`,
    /// `{base}/oauth/access_token` and `{base}/api/rest/v2`.
    pub fn legacy_url(&self) -> String {
        format!("http://{}/legacy", self.state.api_addr)
    }

    /// The upload host's origin, e.g. `http://127.0.0.1:OTHER_PORT`.
    pub fn upload_host(&self) -> String {
        format!("http://{}", self.state.tus.addr())
    }

    /// The credentials this sandbox accepts.
    pub fn credentials(&self) -> &SandboxCredentials {
        &self.state.credentials
    }

    /// The tus server behind upload links (its request log, stored files and faults).
    pub fn uploads(&self) -> &TusServer {
        &self.state.tus
    }

    /// The API's fault plan (faults of kind `Status`, `Raw` and `Stall` apply).
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// Every API request so far.
    pub fn requests(&self) -> Vec<ApiRequest> {
        lock(&self.state.log).clone()
    }

    /// The id of a video owned by another user (the sandbox user may read it,
    /// not replace or delete it).
    pub fn foreign_video_id(&self) -> u64 {
        videos::FOREIGN_VIDEO_ID
    }

    /// The upload link of video `id`, if it exists.
    pub fn upload_link(&self, id: u64) -> Option<String> {
        lock(&self.state.videos)
            .get(&id)
            .map(|v| v.upload_link.clone())
    }

    /// Issues a bearer token with `scope`; `user: false` makes a
    /// client-credentials style token with no user.
    pub fn issue_token(&self, scope: &str, user: bool) -> String {
        auth::issue_token(&self.state, user.then_some(USER_ID), scope)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

pub(crate) fn next_id(state: &State) -> u64 {
    state.next_id.fetch_add(1, Ordering::Relaxed)
}
