//! A tus 1.0 server: core, creation, creation-with-upload, termination
//! (routing and state here; `creation` and `patching` hold the handlers).
//! Uploads live on disk; request bodies are streamed to disk as they arrive.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use tokio::net::TcpListener;

use crate::{Fault, Faults};

mod creation;
mod disk;
mod log;
mod patching;
use creation::*;
pub use log::LoggedRequest;
use patching::*;

/// Every extension this server implements, advertised unless switched off.
const EXTENSIONS: [&str; 7] = [
    "creation",
    "creation-with-upload",
    "creation-defer-length",
    "termination",
    "checksum",
    "expiration",
    "concatenation",
];
/// The length of an upload whose length is deferred and not yet known.
const UNKNOWN_LENGTH: u64 = u64::MAX;
/// Checksum algorithms accepted in `Upload-Checksum`.
const CHECKSUM_ALGORITHMS: &str = "sha1,sha256";

/// How a [`TusServer`] behaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TusConfig {
    /// Where uploads are stored.
    pub dir: PathBuf,
    /// `Tus-Max-Size`, if any.
    pub max_size: Option<u64>,
    /// The creation endpoint's path, e.g. `/files/`.
    pub base_path: String,
    /// Answer creation with an absolute `Location` (default) or a relative one.
    pub absolute_location: bool,
    /// The port to listen on (0: any free port).
    pub port: u16,
    /// Extensions switched off (not advertised, not honoured).
    pub disabled_extensions: Vec<&'static str>,
    /// Unfinished uploads expire this long after creation (the expiration
    /// extension is advertised only when this is set).
    pub expires_after: Option<std::time::Duration>,
    /// The address to bind (127.0.0.1 unless changed, e.g. for a benchmark
    /// across a network namespace).
    pub host: std::net::IpAddr,
    /// Token-protected mode: every request but OPTIONS needs
    /// `Authorization: Bearer <token>`, and the token rotates after this many
    /// accepted requests (the old one then gets 401). See
    /// [`TusServer::current_token`].
    pub rotate_token_every: Option<u64>,
    /// Count each PATCH's bytes and throw them away (see
    /// [`TusConfig::discard_bytes`]).
    pub discard_bytes: bool,
}

impl TusConfig {
    /// Defaults: `/files/`, no size limit, absolute locations, any port.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        TusConfig {
            dir: dir.into(),
            max_size: None,
            base_path: "/files/".into(),
            absolute_location: true,
            port: 0,
            disabled_extensions: Vec::new(),
            expires_after: None,
            host: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            rotate_token_every: None,
            discard_bytes: false,
        }
    }

    /// Counts each PATCH's bytes (offsets and checksums as usual) but
    /// stores none: a server that costs next to nothing per byte, so a
    /// benchmark measures the client rather than the server's disk. The
    /// upload files stay empty, so a GET or a concatenation of such an
    /// upload returns no data.
    ///
    /// ```
    /// let config = sandbox::TusConfig::new("/tmp/unused").discard_bytes();
    /// assert!(config.discard_bytes);
    /// ```
    pub fn discard_bytes(mut self) -> Self {
        self.discard_bytes = true;
        self
    }

    /// Token-protected mode: a bearer token that rotates after `requests`
    /// accepted requests.
    pub fn rotating_token(mut self, requests: u64) -> Self {
        self.rotate_token_every = Some(requests);
        self
    }

    /// Sets `Tus-Max-Size`.
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.max_size = Some(bytes);
        self
    }

    /// Answers creation with relative `Location` headers.
    pub fn relative_location(mut self) -> Self {
        self.absolute_location = false;
        self
    }

    /// Switches an extension off (e.g. `"checksum"`), to test clients against
    /// servers without it.
    pub fn without_extension(mut self, extension: &'static str) -> Self {
        self.disabled_extensions.push(extension);
        self
    }

    /// Unfinished uploads expire `after` their creation (tus expiration).
    pub fn expires_after(mut self, after: std::time::Duration) -> Self {
        self.expires_after = Some(after);
        self
    }

    fn has(&self, extension: &str) -> bool {
        !self.disabled_extensions.contains(&extension)
            && (extension != "expiration" || self.expires_after.is_some())
    }

    /// Binds this address instead of 127.0.0.1.
    pub fn host(mut self, host: std::net::IpAddr) -> Self {
        self.host = host;
        self
    }

    /// Listens on this port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
}

#[derive(Debug)]
struct Upload {
    length: u64,
    offset: u64,
    metadata: Option<String>,
    terminated: bool,
    busy: bool,
    /// The highest offset told to a client (HEAD, PATCH or creation answer).
    acknowledged: u64,
    expires_at: Option<std::time::SystemTime>,
    /// Created with `Upload-Defer-Length: 1`; `length` is unknown until a PATCH sets it.
    deferred: bool,
    /// `Upload-Concat` as created: `partial`, or `final;…` (final uploads take no PATCH).
    concat: Option<String>,
}

impl Upload {
    /// Unfinished and past its expiry: from now on it answers 410.
    fn expire_if_due(&mut self) {
        let due = self
            .expires_at
            .is_some_and(|at| std::time::SystemTime::now() >= at);
        if due && self.offset < self.length {
            self.terminated = true;
        }
    }

    /// Tells the client the offset: from now on it is acknowledged.
    fn acknowledge(&mut self) -> u64 {
        self.acknowledged = self.acknowledged.max(self.offset);
        self.offset
    }

    /// `Upload-Expires` while unfinished.
    fn expires_header(&self) -> Option<HeaderValue> {
        let at = self.expires_at.filter(|_| self.offset < self.length)?;
        HeaderValue::from_str(&httpdate::fmt_http_date(at)).ok()
    }
}

struct State {
    config: TusConfig,
    addr: SocketAddr,
    uploads: Mutex<HashMap<String, Upload>>,
    log: Mutex<Vec<LoggedRequest>>,
    faults: Faults,
    assets: crate::assets::Assets,
    token: Option<crate::rotating_token::RotatingToken>,
    /// Connections open, requests being handled.
    connections_open: Arc<AtomicUsize>,
    requests_in_flight: Arc<AtomicUsize>,
}

/// A running tus server on 127.0.0.1. Stops when dropped.
pub struct TusServer {
    state: Arc<State>,
    accept: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for TusServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TusServer")
            .field("addr", &self.state.addr)
            .finish_non_exhaustive()
    }
}

impl TusServer {
    /// Binds 127.0.0.1 and starts serving on the current tokio runtime.
    pub async fn start(config: TusConfig) -> std::io::Result<TusServer> {
        tokio::fs::create_dir_all(&config.dir).await?;
        let listener = TcpListener::bind((config.host, config.port)).await?;
        let addr = listener.local_addr()?;
        let config_token = config
            .rotate_token_every
            .map(crate::rotating_token::RotatingToken::new);
        let state = Arc::new(State {
            config,
            addr,
            uploads: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
            assets: crate::assets::Assets::default(),
            faults: Faults::default(),
            token: config_token,
            connections_open: Arc::default(),
            requests_in_flight: Arc::default(),
        });
        let accept_state = state.clone();
        let connections_open = state.connections_open.clone();
        let accept = crate::serve::spawn(listener, connections_open, move |request| {
            handle(accept_state.clone(), request)
        });
        Ok(TusServer { state, accept })
    }

    /// How many requests are being handled now: a stalled one until its stall
    /// ends, one whose client went away until the server has kept what
    /// arrived and logged it.
    pub fn requests_in_flight(&self) -> usize {
        self.state.requests_in_flight.load(Ordering::SeqCst)
    }

    /// How many connections are open. Once a client process is gone, this
    /// and then [`requests_in_flight`](Self::requests_in_flight) reaching 0
    /// (read in that order) means every byte it had sent has landed: a test
    /// that kills a client waits for that rather than for a while.
    pub fn open_connections(&self) -> usize {
        self.state.connections_open.load(Ordering::SeqCst)
    }

    /// The creation endpoint, e.g. `http://127.0.0.1:PORT/files/`.
    pub fn endpoint(&self) -> String {
        format!("http://{}{}", self.state.addr, self.state.config.base_path)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.state.addr
    }

    /// The fault plan.
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.state
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The file holding the upload at `url` (absolute or relative).
    pub fn stored_file(&self, url: &str) -> Option<PathBuf> {
        let id = url.rsplit('/').next()?;
        valid_id(id).then(|| self.state.config.dir.join(id))
    }

    /// The server's view of an upload: (offset, length); the length reads
    /// `u64::MAX` while it is deferred and unknown.
    pub fn upload_state(&self, url: &str) -> Option<(u64, u64)> {
        let id = url.rsplit('/').next()?;
        let uploads = self.state.uploads.lock().unwrap_or_else(|e| e.into_inner());
        uploads.get(id).map(|u| (u.offset, u.length))
    }

    /// Creates an upload of `length` bytes without a request, as an API server
    /// does before handing out an upload link (Vimeo's flow). Returns its
    /// absolute URL.
    pub async fn create_upload(&self, length: u64) -> std::io::Result<String> {
        match new_upload(&self.state, length, None, false, false).await {
            Some(id) => Ok(upload_url(&self.state, &id)),
            None => Err(std::io::Error::other("cannot create the upload file")),
        }
    }

    /// Creates an upload that already holds `data` in full, as when an API
    /// server fetched the file itself (Vimeo's pull approach).
    pub async fn create_complete(&self, data: &[u8]) -> std::io::Result<String> {
        let length = data.len() as u64;
        let id = new_upload(&self.state, length, None, false, false)
            .await
            .ok_or_else(|| std::io::Error::other("cannot create the upload file"))?;
        tokio::fs::write(self.state.config.dir.join(&id), data).await?;
        if let Some(upload) = uploads(&self.state).get_mut(&id) {
            upload.offset = length;
            upload.acknowledged = length;
        }
        Ok(upload_url(&self.state, &id))
    }

    /// The bearer token the server accepts now (token-protected mode), as an
    /// app's backend would hand it out.
    pub fn current_token(&self) -> Option<String> {
        self.state.token.as_ref().map(|t| t.current())
    }

    /// [`TusServer::current_token`] as a function that outlives this borrow
    /// (for a test's "backend" inside a request hook).
    pub fn token_source(&self) -> impl Fn() -> Option<String> + Send + Sync + 'static {
        let state = self.state.clone();
        move || state.token.as_ref().map(|t| t.current())
    }

    /// How many times the token rotated so far.
    pub fn token_rotations(&self) -> u64 {
        self.state.token.as_ref().map_or(0, |t| t.rotations())
    }

    /// A slot for a plain `PUT` of a file that is not a video (a text track,
    /// a thumbnail): its URL on this host.
    pub fn asset_slot(&self) -> String {
        format!(
            "http://{}/assets/{}",
            self.state.addr,
            self.state.assets.slot()
        )
    }

    /// The file PUT to an [`TusServer::asset_slot`] URL, once it was.
    pub fn asset(&self, url: &str) -> Option<Vec<u8>> {
        let id = url.rsplit('/').next()?;
        self.state.assets.get(id).map(|b| b.to_vec())
    }

    /// The raw `Upload-Metadata` an upload was created with.
    pub fn upload_metadata(&self, url: &str) -> Option<String> {
        let id = url.rsplit('/').next()?;
        let uploads = self.state.uploads.lock().unwrap_or_else(|e| e.into_inner());
        uploads.get(id).and_then(|u| u.metadata.clone())
    }
}

impl Drop for TusServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

type Reply = Response<Full<Bytes>>;

fn reply(status: u16) -> Reply {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert("tus-resumable", HeaderValue::from_static("1.0.0"));
    response
}

fn reply_text(status: u16, text: &str) -> Reply {
    let mut response = reply(status);
    *response.body_mut() = Full::new(Bytes::copy_from_slice(text.as_bytes()));
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("text/plain"));
    response
}

fn header_u64(headers: &HeaderMap, name: &str) -> Result<Option<u64>, ()> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => {
            let text = value.to_str().map_err(|_| ())?;
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(());
            }
            text.parse().map(Some).map_err(|_| ())
        }
    }
}

/// The error returned to hyper to drop a connection without answering.
#[derive(Debug)]
struct CutConnection;

impl std::fmt::Display for CutConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection cut by fault injection")
    }
}

impl std::error::Error for CutConnection {}

async fn handle(state: Arc<State>, request: Request<Incoming>) -> Result<Reply, CutConnection> {
    // hyper drops a request's future when its client goes away (a killed
    // process, a cut connection). Handling it on a task of its own lets the
    // server finish its bookkeeping as a real one would: keep the bytes that
    // arrived, release the upload's lock, log the request.
    let in_flight = crate::serve::Counted::new(&state.requests_in_flight);
    tokio::spawn(async move {
        let _in_flight = in_flight;
        handle_to_the_end(state, request).await
    })
    .await
    .unwrap_or(Err(CutConnection))
}

async fn handle_to_the_end(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Reply, CutConnection> {
    let mut entry = LoggedRequest::of(&request);
    if let Some(id) = request.uri().path().rsplit('/').next() {
        entry.acknowledged = uploads(&state).get(id).map(|u| u.acknowledged);
    }
    let fault = state.faults.on_request(request.method());
    entry.fault = fault.clone();
    let result = respond(&state, request, fault, &mut entry).await;
    entry.status = result.as_ref().ok().map(|r| r.status().as_u16());
    state
        .log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(entry);
    result
}

async fn respond(
    state: &State,
    request: Request<Incoming>,
    fault: Option<Fault>,
    entry: &mut LoggedRequest,
) -> Result<Reply, CutConnection> {
    match &fault {
        Some(Fault::Status {
            status,
            retry_after,
        }) => {
            let mut response = reply_text(*status, "injected fault");
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from(*seconds));
            }
            return Ok(response);
        }
        Some(Fault::Raw {
            status,
            content_type,
            body,
        }) => {
            let mut response = reply_text(*status, body);
            if let Ok(value) = HeaderValue::from_str(content_type) {
                response.headers_mut().insert("content-type", value);
            }
            return Ok(response);
        }
        Some(Fault::Stall(duration)) => tokio::time::sleep(*duration).await,
        Some(Fault::Expire) => {
            let id = request.uri().path().rsplit('/').next().unwrap_or("");
            if let Some(upload) = uploads(state).get_mut(id) {
                upload.expires_at = Some(std::time::SystemTime::UNIX_EPOCH);
            }
        }
        _ => {}
    }
    let method = request.method().clone();
    if let Some(id) = request.uri().path().strip_prefix("/assets/") {
        let id = id.to_owned();
        return Ok(state.assets.handle(&method, &id, request.into_body()).await);
    }
    if method != Method::OPTIONS
        && let Some(token) = &state.token
        && !token.accepts(
            request
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok()),
        )
    {
        return Ok(reply_text(
            401,
            "the bearer token is missing, wrong or expired",
        ));
    }
    if method == Method::OPTIONS {
        let mut response = reply(204);
        let headers = response.headers_mut();
        headers.insert("tus-version", HeaderValue::from_static("1.0.0"));
        let offered: Vec<&str> = EXTENSIONS
            .into_iter()
            .filter(|e| state.config.has(e))
            .collect();
        if let Ok(value) = HeaderValue::from_str(&offered.join(",")) {
            headers.insert("tus-extension", value);
        }
        if state.config.has("checksum") {
            headers.insert(
                "tus-checksum-algorithm",
                HeaderValue::from_static(CHECKSUM_ALGORITHMS),
            );
        }
        if let Some(max) = state.config.max_size {
            headers.insert("tus-max-size", HeaderValue::from(max));
        }
        return Ok(response);
    }
    if request
        .headers()
        .get("tus-resumable")
        .map(HeaderValue::as_bytes)
        != Some(b"1.0.0")
    {
        let mut response = reply_text(412, "Tus-Resumable 1.0.0 required");
        response
            .headers_mut()
            .insert("tus-version", HeaderValue::from_static("1.0.0"));
        return Ok(response);
    }
    let path = request.uri().path().to_owned();
    let base = state.config.base_path.trim_end_matches('/');
    if method == Method::POST && path.trim_end_matches('/') == base {
        if !state.config.has("creation") {
            // Vimeo's upload host, for one, has no creation: links come from its API.
            return Ok(reply_text(405, "this server does not create uploads"));
        }
        return create(state, request, fault, entry).await;
    }
    let Some(id) = path
        .strip_prefix(base)
        .map(|rest| rest.trim_start_matches('/').to_owned())
    else {
        return Ok(reply_text(404, "not found"));
    };
    if !valid_id(&id) {
        return Ok(reply_text(404, "not found"));
    }
    match method {
        Method::HEAD => Ok(head(state, &id)),
        Method::PATCH => patch(state, &id, request, fault, entry).await,
        Method::DELETE => Ok(terminate(state, &id).await),
        _ => Ok(reply_text(405, "method not allowed")),
    }
}

fn uploads(state: &State) -> std::sync::MutexGuard<'_, HashMap<String, Upload>> {
    state.uploads.lock().unwrap_or_else(|e| e.into_inner())
}
