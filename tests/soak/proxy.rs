//! A fault-injecting HTTP/1.1 proxy on loopback, for servers we cannot fault
//! from inside (the Node tus server).
//!
//! It frames requests (head + `Content-Length` body) on each client connection
//! so a fault hits one request, forwards everything else byte for byte, and
//! reads the `Upload-Offset` of every answer so it knows what the server has
//! acknowledged. Faults: drop the connection part-way through a body, answer a
//! status itself (after reading the body, so the client sees a clean answer),
//! go silent past the client's stall timeout, or delete the upload upstream
//! first (the server then answers 404: an expired upload).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use integration_tests::soak::FaultKind;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) upload_offset: Option<u64>,
    pub(crate) content_length: u64,
    /// The highest offset the server had acknowledged for this path.
    pub(crate) acknowledged: Option<u64>,
    pub(crate) fault: Option<FaultKind>,
}

impl Seen {
    pub(crate) fn resent_acknowledged_bytes(&self) -> u64 {
        match (self.method.as_str(), self.upload_offset, self.acknowledged) {
            ("PATCH", Some(offset), Some(acknowledged)) if offset < acknowledged => {
                (acknowledged - offset).min(self.content_length)
            }
            _ => 0,
        }
    }
}

#[derive(Default)]
struct State {
    /// (method, n-th request of that method from the start, fault).
    rules: Vec<(String, u64, FaultKind)>,
    counts: HashMap<String, u64>,
    log: Vec<Seen>,
    /// Highest `Upload-Offset` answered, per upload path.
    acknowledged: HashMap<String, u64>,
}

pub(crate) struct Proxy {
    pub(crate) addr: SocketAddr,
    state: Arc<Mutex<State>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Proxy {
    pub(crate) async fn start(upstream: SocketAddr, stall: Duration) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = connection(client, upstream, state, stall).await;
                });
            }
        });
        Ok(Proxy {
            addr,
            state,
            accept,
        })
    }

    /// Fires `fault` on the `later`-th request with `method` from now.
    pub(crate) fn inject_later(&self, method: &str, later: u64, fault: FaultKind) {
        let mut state = lock(&self.state);
        let seen = state.counts.get(method).copied().unwrap_or(0);
        state
            .rules
            .push((method.to_owned(), seen + later.max(1), fault));
    }

    pub(crate) fn clear(&self) {
        lock(&self.state).rules.clear();
    }

    pub(crate) fn log(&self) -> Vec<Seen> {
        lock(&self.state).log.clone()
    }
}

fn lock<T>(state: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// A request head: its raw bytes and what we need from it.
struct Head {
    raw: Vec<u8>,
    method: String,
    path: String,
    content_length: u64,
    upload_offset: Option<u64>,
}

/// Reads one head (up to the blank line); `None` at a clean end of stream.
async fn read_head(
    reader: &mut (impl AsyncRead + Unpin),
    buffer: &mut Vec<u8>,
) -> std::io::Result<Option<Vec<u8>>> {
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buffer.split_off(end + 4);
            return Ok(Some(std::mem::replace(buffer, rest)));
        }
        if buffer.len() > 64 << 10 {
            return Err(std::io::Error::other("head too large"));
        }
        let mut block = [0u8; 8192];
        let n = reader.read(&mut block).await?;
        if n == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&block[..n]);
    }
}

fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.split("\r\n").skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

fn parse_head(raw: Vec<u8>) -> Head {
    let text = String::from_utf8_lossy(&raw).into_owned();
    let mut first = text.split(' ');
    let method = first.next().unwrap_or("").to_owned();
    let path = first.next().unwrap_or("").to_owned();
    Head {
        content_length: header(&text, "content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        upload_offset: header(&text, "upload-offset").and_then(|v| v.parse().ok()),
        method,
        path,
        raw,
    }
}

/// Copies exactly `len` bytes (the buffered ones first); `false` if the
/// stream ended early.
async fn copy_body(
    buffer: &mut Vec<u8>,
    from: &mut (impl AsyncRead + Unpin),
    to: Option<&mut (impl AsyncWrite + Unpin)>,
    len: u64,
) -> std::io::Result<bool> {
    let mut to = to;
    let mut left = len;
    let take = (buffer.len() as u64).min(left) as usize;
    if let Some(to) = to.as_mut() {
        to.write_all(&buffer[..take]).await?;
    }
    buffer.drain(..take);
    left -= take as u64;
    let mut block = vec![0u8; 64 << 10];
    while left > 0 {
        let want = (block.len() as u64).min(left) as usize;
        let n = from.read(&mut block[..want]).await?;
        if n == 0 {
            return Ok(false);
        }
        if let Some(to) = to.as_mut() {
            to.write_all(&block[..n]).await?;
        }
        left -= n as u64;
    }
    Ok(true)
}

async fn connection(
    client: TcpStream,
    upstream: SocketAddr,
    state: Arc<Mutex<State>>,
    stall: Duration,
) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream).await?;
    let (mut client_read, client_write) = client.into_split();
    let (server_read, mut server_write) = server.into_split();
    let client_write = Arc::new(tokio::sync::Mutex::new(client_write));
    // Requests sent upstream, oldest first, for framing and reading answers.
    let pending: Arc<Mutex<VecDeque<(String, String)>>> = Arc::default();
    let answers = tokio::spawn(forward_answers(
        server_read,
        client_write.clone(),
        pending.clone(),
        state.clone(),
    ));
    let mut buffer = Vec::new();
    let result = async {
        while let Some(raw) = read_head(&mut client_read, &mut buffer).await? {
            let head = parse_head(raw);
            let fault = {
                let mut state = lock(&state);
                let count = state.counts.entry(head.method.clone()).or_insert(0);
                *count += 1;
                let count = *count;
                let acknowledged = state.acknowledged.get(&head.path).copied();
                let fault = state
                    .rules
                    .iter()
                    .position(|(m, n, _)| *m == head.method && *n == count)
                    .map(|i| state.rules.remove(i).2);
                state.log.push(Seen {
                    method: head.method.clone(),
                    upload_offset: head.upload_offset,
                    content_length: head.content_length,
                    acknowledged,
                    fault,
                });
                fault
            };
            match fault {
                None => {
                    lock(&pending).push_back((head.method.clone(), head.path.clone()));
                    server_write.write_all(&head.raw).await?;
                    if !copy_body(
                        &mut buffer,
                        &mut client_read,
                        Some(&mut server_write),
                        head.content_length,
                    )
                    .await?
                    {
                        return Ok(());
                    }
                }
                Some(FaultKind::Cut { bytes, .. }) => {
                    server_write.write_all(&head.raw).await?;
                    let bytes = bytes.min(head.content_length);
                    copy_body(
                        &mut buffer,
                        &mut client_read,
                        Some(&mut server_write),
                        bytes,
                    )
                    .await?;
                    // End of stream after the bytes: the server reads every
                    // one before it sees the end. Closing may still send a
                    // reset if an answer is unread here, but a server answers
                    // a PATCH after reading its body (or refuses it without
                    // needing it), so no byte it would keep is lost.
                    server_write.shutdown().await?;
                    return Ok(());
                }
                Some(FaultKind::Status {
                    status,
                    retry_after,
                }) => {
                    copy_body(
                        &mut buffer,
                        &mut client_read,
                        None::<&mut TcpStream>,
                        head.content_length,
                    )
                    .await?;
                    let retry = retry_after
                        .map(|s| format!("Retry-After: {s}\r\n"))
                        .unwrap_or_default();
                    let answer = format!(
                        "HTTP/1.1 {status} Injected\r\nTus-Resumable: 1.0.0\r\n{retry}\
                         Content-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    client_write
                        .lock()
                        .await
                        .write_all(answer.as_bytes())
                        .await?;
                    return Ok(());
                }
                Some(FaultKind::Stall) => {
                    tokio::time::sleep(stall).await;
                    return Ok(());
                }
                Some(FaultKind::Expire) => {
                    terminate(upstream, &head.path).await?;
                    lock(&pending).push_back((head.method.clone(), head.path.clone()));
                    server_write.write_all(&head.raw).await?;
                    copy_body(
                        &mut buffer,
                        &mut client_read,
                        Some(&mut server_write),
                        head.content_length,
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }
    .await;
    answers.abort();
    result
}

/// Forwards answers to the client, noting each `Upload-Offset` as acknowledged.
async fn forward_answers(
    mut server: tokio::net::tcp::OwnedReadHalf,
    client: Arc<tokio::sync::Mutex<tokio::net::tcp::OwnedWriteHalf>>,
    pending: Arc<Mutex<VecDeque<(String, String)>>>,
    state: Arc<Mutex<State>>,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    while let Some(raw) = read_head(&mut server, &mut buffer).await? {
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status: u16 = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let (method, path) = if status >= 200 {
            lock(&pending).pop_front().unwrap_or_default()
        } else {
            lock(&pending).front().cloned().unwrap_or_default()
        };
        if (200..300).contains(&status)
            && let Some(offset) = header(&text, "upload-offset").and_then(|v| v.parse().ok())
        {
            // A creation answer names the upload in `Location`.
            let upload = match header(&text, "location") {
                Some(location) if method == "POST" => location_path(location),
                _ => path.clone(),
            };
            let mut state = lock(&state);
            let acknowledged = state.acknowledged.entry(upload).or_insert(0);
            *acknowledged = (*acknowledged).max(offset);
        }
        let mut client = client.lock().await;
        client.write_all(&raw).await?;
        let bodiless = method == "HEAD" || status < 200 || status == 204 || status == 304;
        if bodiless {
            continue;
        }
        let chunked = header(&text, "transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        if chunked {
            copy_chunked(&mut buffer, &mut server, &mut *client).await?;
        } else if let Some(len) = header(&text, "content-length").and_then(|v| v.parse().ok()) {
            copy_body(&mut buffer, &mut server, Some(&mut *client), len).await?;
        } else {
            // Delimited by the end of the connection.
            client.write_all(&buffer).await?;
            tokio::io::copy(&mut server, &mut *client).await?;
            return Ok(());
        }
    }
    Ok(())
}

/// The path of an absolute or relative `Location`.
fn location_path(location: &str) -> String {
    match location.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/".into(), |i| rest[i..].to_owned()),
        None => location.to_owned(),
    }
}

/// Reads one CRLF-terminated line (without the CRLF), buffered.
async fn read_line(
    buffer: &mut Vec<u8>,
    from: &mut (impl AsyncRead + Unpin),
) -> std::io::Result<Vec<u8>> {
    loop {
        if let Some(end) = buffer.windows(2).position(|w| w == b"\r\n") {
            let line = buffer[..end].to_vec();
            buffer.drain(..end + 2);
            return Ok(line);
        }
        let mut block = [0u8; 4096];
        let n = from.read(&mut block).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&block[..n]);
    }
}

/// Copies a chunked body through, chunk by chunk.
async fn copy_chunked(
    buffer: &mut Vec<u8>,
    from: &mut (impl AsyncRead + Unpin),
    to: &mut (impl AsyncWrite + Unpin),
) -> std::io::Result<()> {
    loop {
        let line = read_line(buffer, from).await?;
        to.write_all(&line).await?;
        to.write_all(b"\r\n").await?;
        let size = String::from_utf8_lossy(&line);
        let size = size.split(';').next().unwrap_or("").trim();
        let size =
            u64::from_str_radix(size, 16).map_err(|_| std::io::Error::other("bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the blank line.
            loop {
                let trailer = read_line(buffer, from).await?;
                to.write_all(&trailer).await?;
                to.write_all(b"\r\n").await?;
                if trailer.is_empty() {
                    return Ok(());
                }
            }
        }
        copy_body(buffer, from, Some(&mut *to), size + 2).await?;
    }
}

/// `DELETE path` upstream, on a connection of its own (tus termination).
async fn terminate(upstream: SocketAddr, path: &str) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(upstream).await?;
    let request = format!(
        "DELETE {path} HTTP/1.1\r\nHost: {upstream}\r\nTus-Resumable: 1.0.0\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut sink = Vec::new();
    let _ = stream.read_to_end(&mut sink).await;
    Ok(())
}
