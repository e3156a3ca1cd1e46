//! Creation: a new upload (with bytes, deferred length, or a concatenation of
//! partial uploads), its id and URL.

use std::io::{Seek, SeekFrom};
use std::path::Path;

use http::{HeaderMap, HeaderValue, Request};
use hyper::body::Incoming;

use super::*;

pub(super) async fn create(
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
pub(super) async fn new_upload(
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
pub(super) fn upload_url(state: &State, id: &str) -> String {
    format!(
        "http://{}{}/{id}",
        state.addr,
        state.config.base_path.trim_end_matches('/')
    )
}

/// `Upload-Concat: final;URL URL…`: joins complete partial uploads, in order,
/// into a new, complete upload (concatenation-unfinished is not offered).
pub(super) async fn create_final(state: &State, list: &str, headers: &HeaderMap) -> Reply {
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
    // Each part's file and where it starts in the whole.
    let mut parts = Vec::with_capacity(ids.len());
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
                    parts.push((state.config.dir.join(id), total));
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
    let target = state.config.dir.join(&id);
    let joined = tokio::task::spawn_blocking(move || join_parts(&target, &parts));
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

/// Copies each part (path, offset in the whole) into `target` at its offset,
/// on as many threads as there are cores: copying is CPU work in a page cache
/// or tmpfs, and the client waits for it. std's copy uses `copy_file_range`
/// on Linux; each part gets its own handles, so their positions do not clash.
fn join_parts(target: &Path, parts: &[(PathBuf, u64)]) -> std::io::Result<()> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let copy_parts = || -> std::io::Result<()> {
        loop {
            let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some((part, offset)) = parts.get(index) else {
                return Ok(());
            };
            let mut out = std::fs::OpenOptions::new().write(true).open(target)?;
            out.seek(SeekFrom::Start(*offset))?;
            std::io::copy(&mut std::fs::File::open(part)?, &mut out)?;
        }
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(parts.len());
    std::thread::scope(|scope| {
        let running: Vec<_> = (0..workers).map(|_| scope.spawn(copy_parts)).collect();
        running.into_iter().try_for_each(|worker| {
            worker
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("a copy panicked")))
        })
    })?;
    std::fs::OpenOptions::new()
        .write(true)
        .open(target)?
        .sync_all()
}
