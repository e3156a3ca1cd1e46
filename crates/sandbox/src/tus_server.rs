//! A tus 1.0 server: core, creation, creation-with-upload, termination.
//! Uploads live on disk; request bodies are streamed to disk as they arrive.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::{Fault, Faults};

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
        }
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

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoggedRequest {
    /// The method.
    pub method: Method,
    /// The path.
    pub path: String,
    /// `Upload-Offset` sent by the client.
    pub upload_offset: Option<u64>,
    /// `Content-Length` sent by the client.
    pub content_length: Option<u64>,
    /// Body bytes the server stored from this request.
    pub body_stored: u64,
    /// The status answered (`None` when the connection was cut).
    pub status: Option<u16>,
    /// The `Authorization` header, if sent (tests assert where credentials go).
    pub authorization: Option<String>,
    /// The `Upload-Checksum` header, if sent.
    pub checksum: Option<String>,
    /// The fault applied, if any.
    pub fault: Option<Fault>,
    /// The highest offset the server had acknowledged to the client for this
    /// upload (in a HEAD, PATCH or creation answer) when the request arrived.
    pub acknowledged: Option<u64>,
}

impl LoggedRequest {
    /// Body bytes of this PATCH that the server had already acknowledged: a
    /// client that resumes correctly sends none (it starts at the
    /// acknowledged offset or later).
    pub fn resent_acknowledged_bytes(&self) -> u64 {
        match (&self.method, self.upload_offset, self.acknowledged) {
            (&Method::PATCH, Some(offset), Some(acknowledged)) if offset < acknowledged => {
                (acknowledged - offset).min(self.content_length.unwrap_or(0))
            }
            _ => 0,
        }
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
        });
        let accept_state = state.clone();
        let accept = crate::serve::spawn(listener, move |request| {
            handle(accept_state.clone(), request)
        });
        Ok(TusServer { state, accept })
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
    tokio::spawn(handle_to_the_end(state, request))
        .await
        .unwrap_or(Err(CutConnection))
}

async fn handle_to_the_end(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Reply, CutConnection> {
    let mut entry = LoggedRequest {
        method: request.method().clone(),
        path: request.uri().path().to_owned(),
        upload_offset: header_u64(request.headers(), "upload-offset")
            .ok()
            .flatten(),
        content_length: header_u64(request.headers(), "content-length")
            .ok()
            .flatten(),
        body_stored: 0,
        status: None,
        authorization: request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        checksum: request
            .headers()
            .get("upload-checksum")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        fault: None,
        acknowledged: None,
    };
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

fn head(state: &State, id: &str) -> Reply {
    let mut uploads = uploads(state);
    let Some(upload) = uploads.get_mut(id) else {
        return reply(404);
    };
    upload.expire_if_due();
    if upload.terminated {
        return reply(410);
    }
    let offset = upload.acknowledge();
    let mut response = reply(200);
    let headers = response.headers_mut();
    headers.insert("upload-offset", HeaderValue::from(offset));
    if upload.deferred {
        headers.insert("upload-defer-length", HeaderValue::from_static("1"));
    } else {
        headers.insert("upload-length", HeaderValue::from(upload.length));
    }
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    if let Some(concat) = upload
        .concat
        .as_ref()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        headers.insert("upload-concat", concat);
    }
    if let Some(expires) = upload.expires_header() {
        headers.insert("upload-expires", expires);
    }
    if let Some(metadata) = upload
        .metadata
        .as_ref()
        .and_then(|m| HeaderValue::from_str(m).ok())
    {
        headers.insert("upload-metadata", metadata);
    }
    response
}

async fn create(
    state: &State,
    request: Request<Incoming>,
    fault: Option<Fault>,
    entry: &mut LoggedRequest,
) -> Result<Reply, CutConnection> {
    let headers = request.headers();
    let concat = match headers
        .get("upload-concat")
        .map(|v| v.to_str().map(str::to_owned))
    {
        None => None,
        Some(Ok(value)) if state.config.has("concatenation") => Some(value),
        Some(_) => return Ok(reply_text(400, "malformed or unsupported Upload-Concat")),
    };
    if let Some(list) = concat.as_deref().and_then(|c| c.strip_prefix("final;")) {
        return Ok(create_final(state, list, headers).await);
    }
    if concat.as_deref().is_some_and(|c| c != "partial") {
        return Ok(reply_text(
            400,
            "Upload-Concat must be partial or final;URLs",
        ));
    }
    let defer = headers
        .get("upload-defer-length")
        .map(HeaderValue::as_bytes)
        == Some(b"1")
        && state.config.has("creation-defer-length");
    let (length, deferred) = match (header_u64(headers, "upload-length"), defer) {
        (Ok(Some(length)), false) => (length, false),
        (Ok(None), true) => (UNKNOWN_LENGTH, true),
        _ => {
            return Ok(reply_text(
                400,
                "exactly one of Upload-Length and Upload-Defer-Length: 1 is required",
            ));
        }
    };
    if !deferred && state.config.max_size.is_some_and(|max| length > max) {
        return Ok(reply_text(413, "upload too large"));
    }
    let metadata = match headers.get("upload-metadata") {
        Some(value) => {
            if tus::decode_metadata(value.as_bytes()).is_err() {
                return Ok(reply_text(400, "malformed Upload-Metadata"));
            }
            value.to_str().ok().map(str::to_owned)
        }
        None => None,
    };
    let with_body = header_u64(headers, "content-length")
        .ok()
        .flatten()
        .unwrap_or(0)
        > 0;
    if with_body
        && headers.get("content-type").map(HeaderValue::as_bytes)
            != Some(b"application/offset+octet-stream")
    {
        return Ok(reply_text(
            415,
            "Content-Type must be application/offset+octet-stream",
        ));
    }
    let Some(id) = new_upload(state, length, metadata, deferred, with_body).await else {
        return Ok(reply_text(500, "cannot create the upload file"));
    };
    if let Some(upload) = uploads(state).get_mut(&id) {
        upload.concat = concat;
    }
    let location = if state.config.absolute_location {
        upload_url(state, &id)
    } else {
        id.clone()
    };
    let mut response = if with_body {
        let outcome = write_body(
            state,
            &id,
            0,
            length,
            request.into_body(),
            fault,
            None,
            entry,
        )
        .await;
        release(state, &id);
        outcome?;
        let mut response = reply(201);
        let offset = acknowledge(state, &id);
        response
            .headers_mut()
            .insert("upload-offset", HeaderValue::from(offset));
        response
    } else {
        reply(201)
    };
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert("location", value);
    }
    if let Some(expires) = uploads(state).get(&id).and_then(Upload::expires_header) {
        response.headers_mut().insert("upload-expires", expires);
    }
    Ok(response)
}

/// Registers a new upload (and its empty file); `None` if the file cannot be created.
async fn new_upload(
    state: &State,
    length: u64,
    metadata: Option<String>,
    deferred: bool,
    busy: bool,
) -> Option<String> {
    let mut random = [0u8; 16];
    let _ = getrandom::fill(&mut random);
    let id: String = random.iter().map(|b| format!("{b:02x}")).collect();
    tokio::fs::File::create(state.config.dir.join(&id))
        .await
        .ok()?;
    uploads(state).insert(
        id.clone(),
        Upload {
            length,
            offset: 0,
            metadata,
            terminated: false,
            busy,
            acknowledged: 0,
            deferred,
            concat: None,
            expires_at: state
                .config
                .expires_after
                .filter(|_| state.config.has("expiration"))
                .map(|after| std::time::SystemTime::now() + after),
        },
    );
    Some(id)
}

/// The absolute URL of upload `id`.
fn upload_url(state: &State, id: &str) -> String {
    format!(
        "http://{}{}/{id}",
        state.addr,
        state.config.base_path.trim_end_matches('/')
    )
}

/// `Upload-Concat: final;URL URL…`: joins complete partial uploads, in order,
/// into a new, complete upload (concatenation-unfinished is not offered).
async fn create_final(state: &State, list: &str, headers: &HeaderMap) -> Reply {
    let ids: Vec<String> = list
        .split_whitespace()
        .map(|url| {
            url.trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    if ids.is_empty() || !ids.iter().all(|id| valid_id(id)) {
        return reply_text(400, "Upload-Concat: final needs the partial uploads' URLs");
    }
    let mut total = 0u64;
    {
        let uploads = uploads(state);
        for id in &ids {
            match uploads.get(id) {
                Some(u)
                    if u.concat.as_deref() == Some("partial")
                        && !u.terminated
                        && !u.deferred
                        && u.offset == u.length =>
                {
                    total += u.length;
                }
                Some(u) if u.concat.as_deref() == Some("partial") => {
                    return reply_text(400, "a partial upload is not complete");
                }
                Some(_) => return reply_text(400, "not a partial upload"),
                None => return reply_text(404, "no such partial upload"),
            }
        }
    }
    let metadata = headers
        .get("upload-metadata")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Some(id) = new_upload(state, total, metadata, false, true).await else {
        return reply_text(500, "cannot create the upload file");
    };
    // One blocking task with std's copy (copy_file_range on Linux): tokio's
    // copy would hop to the blocking pool for every 8 KiB.
    let (dir, target, parts) = (state.config.dir.clone(), id.clone(), ids.clone());
    let joined = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.join(&target))?;
        for part in &parts {
            let mut input = std::fs::File::open(dir.join(part))?;
            std::io::copy(&mut input, &mut out)?;
        }
        out.sync_all()
    });
    if !matches!(joined.await, Ok(Ok(()))) {
        return reply_text(500, "cannot join the partial uploads");
    }
    if let Some(upload) = uploads(state).get_mut(&id) {
        upload.offset = total;
        upload.busy = false;
        upload.concat = Some(format!("final;{list}"));
    }
    let mut response = reply(201);
    if let Ok(value) = HeaderValue::from_str(&upload_url(state, &id)) {
        response.headers_mut().insert("location", value);
    }
    response
}

/// The upload's offset, now told to the client.
fn acknowledge(state: &State, id: &str) -> u64 {
    uploads(state).get_mut(id).map_or(0, Upload::acknowledge)
}

fn release(state: &State, id: &str) {
    if let Some(upload) = uploads(state).get_mut(id) {
        upload.busy = false;
    }
}

async fn patch(
    state: &State,
    id: &str,
    request: Request<Incoming>,
    fault: Option<Fault>,
    entry: &mut LoggedRequest,
) -> Result<Reply, CutConnection> {
    if request
        .headers()
        .get("content-type")
        .map(HeaderValue::as_bytes)
        != Some(b"application/offset+octet-stream")
    {
        return Ok(reply_text(
            415,
            "Content-Type must be application/offset+octet-stream",
        ));
    }
    let Ok(Some(client_offset)) = header_u64(request.headers(), "upload-offset") else {
        return Ok(reply_text(400, "Upload-Offset required"));
    };
    let checksum = match request.headers().get("upload-checksum") {
        Some(value) if state.config.has("checksum") => match Checksum::parse(value.as_bytes()) {
            Some(checksum) => Some(checksum),
            None => return Ok(reply_text(400, "unsupported or malformed Upload-Checksum")),
        },
        _ => None,
    };
    let length = {
        let mut uploads = uploads(state);
        let Some(upload) = uploads.get_mut(id) else {
            return Ok(reply(404));
        };
        upload.expire_if_due();
        if upload.terminated {
            return Ok(reply(410));
        }
        if upload
            .concat
            .as_deref()
            .is_some_and(|c| c.starts_with("final"))
        {
            return Ok(reply_text(403, "a final upload takes no PATCH"));
        }
        if upload.busy {
            return Ok(reply_text(423, "upload is locked by another request"));
        }
        if client_offset != upload.offset {
            return Ok(reply_text(409, "Upload-Offset does not match"));
        }
        let declared = header_u64(request.headers(), "content-length")
            .ok()
            .flatten()
            .unwrap_or(0);
        // A deferred length is set once, by a PATCH (creation-defer-length).
        match header_u64(request.headers(), "upload-length") {
            Err(()) => return Ok(reply_text(400, "malformed Upload-Length")),
            Ok(Some(length)) if upload.deferred => {
                if length < upload.offset + declared {
                    return Ok(reply_text(400, "Upload-Length is smaller than the data"));
                }
                if state.config.max_size.is_some_and(|max| length > max) {
                    return Ok(reply_text(413, "upload too large"));
                }
                upload.length = length;
                upload.deferred = false;
            }
            Ok(Some(length)) if length != upload.length => {
                return Ok(reply_text(400, "Upload-Length cannot change"));
            }
            _ => {}
        }
        if upload.offset + declared > upload.length {
            return Ok(reply_text(413, "body exceeds Upload-Length"));
        }
        upload.busy = true;
        upload.length
    };
    let outcome = write_body(
        state,
        id,
        client_offset,
        length,
        request.into_body(),
        fault.clone(),
        checksum,
        entry,
    )
    .await;
    release(state, id);
    if outcome? == Stored::Discarded {
        return Ok(reply_text(460, "checksum mismatch"));
    }
    let value = match fault {
        // A made-up offset is not an acknowledgement.
        Some(Fault::WrongOffset(text)) => {
            let offset = uploads(state).get(id).map_or(0, |u| u.offset);
            HeaderValue::from_str(&text).unwrap_or(HeaderValue::from(offset))
        }
        _ => HeaderValue::from(acknowledge(state, id)),
    };
    let mut response = reply(204);
    response.headers_mut().insert("upload-offset", value);
    if let Some(expires) = uploads(state).get(id).and_then(Upload::expires_header) {
        response.headers_mut().insert("upload-expires", expires);
    }
    Ok(response)
}

/// Streams a body to the upload's file from `offset` through a 1 MiB buffer and
/// advances the offset once the bytes are written out. A client that disconnects
/// keeps what arrived (tus allows it).
#[allow(clippy::too_many_arguments)] // internal; each is a distinct part of one body write
async fn write_body(
    state: &State,
    id: &str,
    offset: u64,
    length: u64,
    mut body: Incoming,
    fault: Option<Fault>,
    checksum: Option<Checksum>,
    entry: &mut LoggedRequest,
) -> Result<Stored, CutConnection> {
    let path = state.config.dir.join(id);
    let Ok(file) = open_at(&path, offset).await else {
        return Err(CutConnection);
    };
    // Body frames are small; batching them saves one blocking-pool hop per frame.
    let mut file = tokio::io::BufWriter::with_capacity(1 << 20, file);
    let cut = match fault {
        Some(Fault::CutAfter { bytes, lose }) => Some((bytes, lose)),
        _ => None,
    };
    let mut written = 0u64;
    let mut hasher = checksum.as_ref().map(Checksum::hasher);
    let mut complete = true;
    loop {
        let frame = match body.frame().await {
            None => break,
            Some(Ok(frame)) => frame,
            Some(Err(_)) => {
                complete = false;
                break; // the client went away; keep what arrived (unless checksummed)
            }
        };
        let Ok(mut data) = frame.into_data() else {
            continue;
        };
        if offset + written + data.len() as u64 > length {
            data.truncate((length - offset - written) as usize);
        }
        if let Some((limit, _)) = cut {
            let room = limit.saturating_sub(written);
            data.truncate(data.len().min(room as usize));
        }
        if file.write_all(&data).await.is_err() {
            return Err(CutConnection);
        }
        if let Some(hasher) = hasher.as_mut() {
            hasher.update(&data);
        }
        written += data.len() as u64;
        if cut.is_some_and(|(limit, _)| written >= limit) {
            break;
        }
    }
    if file.flush().await.is_err() {
        return Err(CutConnection);
    }
    let file = file.into_inner();
    // A checksummed chunk is kept only whole and verified (tus checksum extension).
    if let (Some(expected), Some(hasher)) = (&checksum, hasher) {
        let forced = matches!(fault, Some(Fault::ChecksumMismatch));
        if !complete || cut.is_some() || forced || hasher.finish() != expected.digest {
            let _ = file.set_len(offset).await;
            entry.body_stored = 0;
            return if cut.is_some() {
                Err(CutConnection)
            } else {
                Ok(Stored::Discarded)
            };
        }
    }
    // The offset moves only once the bytes are written out.
    if let Some(upload) = uploads(state).get_mut(id) {
        upload.offset = offset + written;
    }
    entry.body_stored = written;
    if let Some((_, lose)) = cut {
        let kept = written.saturating_sub(lose);
        let _ = file.set_len(offset + kept).await;
        if let Some(upload) = uploads(state).get_mut(id) {
            upload.offset = offset + kept;
        }
        entry.body_stored = kept;
        return Err(CutConnection);
    }
    if !complete {
        // The client went away mid-body: its bytes are kept, but there is no
        // one to answer, so nothing is acknowledged.
        return Err(CutConnection);
    }
    Ok(Stored::Kept)
}

/// What happened to a request body.
#[derive(Debug, PartialEq, Eq)]
enum Stored {
    /// Written and counted.
    Kept,
    /// Dropped: its checksum did not match.
    Discarded,
}

/// An `Upload-Checksum` header: algorithm and expected digest.
struct Checksum {
    sha256: bool,
    digest: Vec<u8>,
}

enum ChunkHasher {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl Checksum {
    fn parse(value: &[u8]) -> Option<Checksum> {
        use base64::Engine as _;
        let text = std::str::from_utf8(value).ok()?;
        let (algorithm, encoded) = text.trim().split_once(' ')?;
        let sha256 = match algorithm.to_ascii_lowercase().as_str() {
            "sha1" => false,
            "sha256" => true,
            _ => return None,
        };
        let digest = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        Some(Checksum { sha256, digest })
    }

    fn hasher(&self) -> ChunkHasher {
        use sha2::Digest as _;
        if self.sha256 {
            ChunkHasher::Sha256(sha2::Sha256::new())
        } else {
            ChunkHasher::Sha1(sha1::Sha1::new())
        }
    }
}

impl ChunkHasher {
    fn update(&mut self, data: &[u8]) {
        use sha2::Digest as _;
        match self {
            ChunkHasher::Sha1(h) => h.update(data),
            ChunkHasher::Sha256(h) => h.update(data),
        }
    }

    fn finish(self) -> Vec<u8> {
        use sha2::Digest as _;
        match self {
            ChunkHasher::Sha1(h) => h.finalize().to_vec(),
            ChunkHasher::Sha256(h) => h.finalize().to_vec(),
        }
    }
}

async fn open_at(path: &Path, offset: u64) -> std::io::Result<tokio::fs::File> {
    let mut file = tokio::fs::OpenOptions::new().write(true).open(path).await?;
    file.set_len(offset).await?;
    file.seek(std::io::SeekFrom::Start(offset)).await?;
    Ok(file)
}

async fn terminate(state: &State, id: &str) -> Reply {
    let removed = {
        let mut uploads = uploads(state);
        match uploads.get_mut(id) {
            Some(upload) if !upload.terminated => {
                upload.terminated = true;
                true
            }
            Some(_) => return reply(410),
            None => false,
        }
    };
    if !removed {
        return reply(404);
    }
    let _ = tokio::fs::remove_file(state.config.dir.join(id)).await;
    reply(204)
}
