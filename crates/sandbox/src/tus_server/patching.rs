//! An upload's offset and bytes: HEAD, appending (PATCH: offsets, locking,
//! streaming the body to disk with checksums and cut-connection faults), and
//! termination (DELETE).

use http::{HeaderValue, Request};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::disk::UploadFile;
use super::*;

/// The upload's offset, now told to the client.
pub(super) fn acknowledge(state: &State, id: &str) -> u64 {
    uploads(state).get_mut(id).map_or(0, Upload::acknowledge)
}

pub(super) fn release(state: &State, id: &str) {
    if let Some(upload) = uploads(state).get_mut(id) {
        upload.busy = false;
    }
}

pub(super) async fn patch(
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

/// Streams a body to the upload's file from `offset` (or
/// only counts it, with `discard_bytes`) and advances the offset once the bytes
/// are written out. A client that disconnects keeps what arrived (tus allows it).
#[allow(clippy::too_many_arguments)] // internal; each is a distinct part of one body write
pub(super) async fn write_body(
    state: &State,
    id: &str,
    offset: u64,
    length: u64,
    mut body: Incoming,
    fault: Option<Fault>,
    checksum: Option<Checksum>,
    entry: &mut LoggedRequest,
) -> Result<Stored, CutConnection> {
    let mut file = if state.config.discard_bytes {
        None
    } else {
        let Ok(file) = UploadFile::open_at(state.config.dir.join(id), offset).await else {
            return Err(CutConnection);
        };
        Some(file)
    };
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
        if let Some(hasher) = hasher.as_mut() {
            hasher.update(&data);
        }
        written += data.len() as u64;
        if let Some(file) = file.as_mut()
            && file.write(&data).await.is_err()
        {
            return Err(CutConnection);
        }
        if cut.is_some_and(|(limit, _)| written >= limit) {
            break;
        }
    }
    if let Some(file) = file.as_mut()
        && file.flush().await.is_err()
    {
        return Err(CutConnection);
    }
    // A checksummed chunk is kept only whole and verified (tus checksum extension).
    if let (Some(expected), Some(hasher)) = (&checksum, hasher) {
        let forced = matches!(fault, Some(Fault::ChecksumMismatch));
        if !complete || cut.is_some() || forced || hasher.finish() != expected.digest {
            if let Some(file) = file.as_mut() {
                let _ = file.set_len(offset).await;
            }
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
        if let Some(file) = file.as_mut() {
            let _ = file.set_len(offset + kept).await;
        }
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
pub(super) enum Stored {
    /// Written and counted.
    Kept,
    /// Dropped: its checksum did not match.
    Discarded,
}

/// An `Upload-Checksum` header: algorithm and expected digest.
pub(super) struct Checksum {
    sha256: bool,
    digest: Vec<u8>,
}

pub(super) enum ChunkHasher {
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

pub(super) async fn terminate(state: &State, id: &str) -> Reply {
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

pub(super) fn head(state: &State, id: &str) -> Reply {
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
