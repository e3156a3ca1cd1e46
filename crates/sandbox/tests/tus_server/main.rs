//! The sandbox tus server, spoken to in raw HTTP/1.1 so every status is checked
//! independently of our client.

use std::collections::HashMap;
use std::time::Duration;

use http::Method;
use sandbox::{Fault, TempDir, TusConfig, TusServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Reply {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

/// Sends one request (`Connection: close`) and reads the whole answer.
async fn raw(
    server: &TusServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// A PATCH of `body` at `offset` with the tus headers, as [`raw`] sends it.
async fn patch(server: &TusServer, url: &str, offset: &str, body: &[u8]) -> Reply {
    patch_with(server, url, offset, &[], body).await
}

/// [`patch`] with `extra` headers too.
async fn patch_with(
    server: &TusServer,
    url: &str,
    offset: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut headers = vec![TUS, OCTETS, ("Upload-Offset", offset)];
    headers.extend_from_slice(extra);
    raw(server, "PATCH", url, &headers, body).await
}

const TUS: (&str, &str) = ("Tus-Resumable", "1.0.0");
const OCTETS: (&str, &str) = ("Content-Type", "application/offset+octet-stream");

async fn server(configure: impl FnOnce(TusConfig) -> TusConfig) -> (TempDir, TusServer) {
    let dir = TempDir::new("sandbox-test").unwrap();
    let server = TusServer::start(configure(TusConfig::new(dir.path())))
        .await
        .unwrap();
    (dir, server)
}

async fn create(server: &TusServer, length: &str) -> String {
    let reply = raw(
        server,
        "POST",
        "/files/",
        &[TUS, ("Upload-Length", length)],
        b"",
    )
    .await;
    assert_eq!(reply.status, 201);
    let location = reply.headers["location"].clone();
    location
        .strip_prefix(&format!("http://{}", server.addr()))
        .unwrap()
        .to_owned()
}

mod extensions;
mod faults;
mod protocol;
