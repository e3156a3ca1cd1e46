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

#[tokio::test]
async fn discovery_and_version_checks() {
    let (_dir, server) = server(|c| c.max_size(100)).await;
    let reply = raw(&server, "OPTIONS", "/files/", &[], b"").await;
    assert_eq!(reply.status, 204);
    assert_eq!(reply.headers["tus-version"], "1.0.0");
    assert_eq!(
        reply.headers["tus-extension"],
        "creation,creation-with-upload,creation-defer-length,termination,checksum,concatenation"
    );
    assert_eq!(reply.headers["tus-checksum-algorithm"], "sha1,sha256");
    assert_eq!(reply.headers["tus-max-size"], "100");
    let reply = raw(&server, "POST", "/files/", &[("Upload-Length", "5")], b"").await;
    assert_eq!(reply.status, 412);
    assert_eq!(reply.headers["tus-version"], "1.0.0");
    let reply = raw(
        &server,
        "POST",
        "/files/",
        &[("Tus-Resumable", "0.2.2"), ("Upload-Length", "5")],
        b"",
    )
    .await;
    assert_eq!(reply.status, 412);
}

#[tokio::test]
async fn creation_rules() {
    let (_dir, server) = server(|c| c.max_size(100)).await;
    assert_eq!(
        raw(&server, "POST", "/files/", &[TUS], b"").await.status,
        400
    );
    assert_eq!(
        raw(
            &server,
            "POST",
            "/files/",
            &[TUS, ("Upload-Length", "-1")],
            b""
        )
        .await
        .status,
        400
    );
    assert_eq!(
        raw(
            &server,
            "POST",
            "/files/",
            &[TUS, ("Upload-Length", "101")],
            b""
        )
        .await
        .status,
        413
    );
    assert_eq!(
        raw(
            &server,
            "POST",
            "/files/",
            &[TUS, ("Upload-Length", "5"), ("Upload-Metadata", "k !!")],
            b""
        )
        .await
        .status,
        400
    );
    let reply = raw(
        &server,
        "POST",
        "/files/",
        &[TUS, ("Upload-Length", "5"), ("Content-Type", "text/plain")],
        b"hello",
    )
    .await;
    assert_eq!(reply.status, 415);
    // creation-with-upload stores the body and answers the offset.
    let reply = raw(
        &server,
        "POST",
        "/files/",
        &[TUS, ("Upload-Length", "10"), OCTETS],
        b"hello",
    )
    .await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.headers["upload-offset"], "5");
    let path = server.stored_file(&reply.headers["location"]).unwrap();
    assert_eq!(std::fs::read(path).unwrap(), b"hello");
}

#[tokio::test]
async fn patch_head_and_delete() {
    let (_dir, server) = server(|c| c).await;
    let url = create(&server, "8").await;

    let head = raw(&server, "HEAD", &url, &[TUS], b"").await;
    assert_eq!(head.status, 200);
    assert_eq!(head.headers["upload-offset"], "0");
    assert_eq!(head.headers["upload-length"], "8");
    assert_eq!(head.headers["cache-control"], "no-store");

    assert_eq!(
        raw(
            &server,
            "PATCH",
            &url,
            &[TUS, ("Upload-Offset", "0")],
            b"abc"
        )
        .await
        .status,
        415
    );
    assert_eq!(
        raw(&server, "PATCH", &url, &[TUS, OCTETS], b"abc")
            .await
            .status,
        400
    );
    assert_eq!(
        raw(
            &server,
            "PATCH",
            &url,
            &[TUS, OCTETS, ("Upload-Offset", "1")],
            b"abc"
        )
        .await
        .status,
        409
    );
    assert_eq!(
        raw(
            &server,
            "PATCH",
            &url,
            &[TUS, OCTETS, ("Upload-Offset", "0")],
            b"123456789"
        )
        .await
        .status,
        413
    );
    assert_eq!(
        raw(
            &server,
            "PATCH",
            "/files/00ff",
            &[TUS, OCTETS, ("Upload-Offset", "0")],
            b"abc"
        )
        .await
        .status,
        404
    );
    assert_eq!(
        raw(
            &server,
            "PATCH",
            "/files/../etc",
            &[TUS, OCTETS, ("Upload-Offset", "0")],
            b"abc"
        )
        .await
        .status,
        404
    );

    let reply = raw(
        &server,
        "PATCH",
        &url,
        &[TUS, OCTETS, ("Upload-Offset", "0")],
        b"abc",
    )
    .await;
    assert_eq!(
        (reply.status, reply.headers["upload-offset"].as_str()),
        (204, "3")
    );
    let reply = raw(
        &server,
        "PATCH",
        &url,
        &[TUS, OCTETS, ("Upload-Offset", "3")],
        b"defgh",
    )
    .await;
    assert_eq!(
        (reply.status, reply.headers["upload-offset"].as_str()),
        (204, "8")
    );
    assert_eq!(
        std::fs::read(server.stored_file(&url).unwrap()).unwrap(),
        b"abcdefgh"
    );
    assert_eq!(server.upload_state(&url), Some((8, 8)));

    assert_eq!(raw(&server, "DELETE", &url, &[TUS], b"").await.status, 204);
    assert_eq!(raw(&server, "HEAD", &url, &[TUS], b"").await.status, 410);
    assert_eq!(
        raw(
            &server,
            "PATCH",
            &url,
            &[TUS, OCTETS, ("Upload-Offset", "8")],
            b""
        )
        .await
        .status,
        410
    );
    assert_eq!(raw(&server, "DELETE", &url, &[TUS], b"").await.status, 410);
    assert!(!server.stored_file(&url).unwrap().exists());
}

#[tokio::test]
async fn faults_fire_on_the_nth_request_once() {
    let (_dir, server) = server(|c| c).await;
    let url = create(&server, "4").await;
    server.faults().inject(
        Method::HEAD,
        2,
        Fault::Status {
            status: 503,
            retry_after: Some(7),
        },
    );
    server.faults().inject_next(
        Method::PATCH,
        Fault::Raw {
            status: 502,
            content_type: "text/html".into(),
            body: "<h1>Bad Gateway</h1>".into(),
        },
    );
    assert_eq!(server.faults().pending(), 2);
    assert_eq!(raw(&server, "HEAD", &url, &[TUS], b"").await.status, 200);
    let reply = raw(&server, "HEAD", &url, &[TUS], b"").await;
    assert_eq!(
        (reply.status, reply.headers["retry-after"].as_str()),
        (503, "7")
    );
    assert_eq!(raw(&server, "HEAD", &url, &[TUS], b"").await.status, 200);
    let reply = raw(
        &server,
        "PATCH",
        &url,
        &[TUS, OCTETS, ("Upload-Offset", "0")],
        b"ab",
    )
    .await;
    assert_eq!(
        (
            reply.status,
            reply.body.as_str(),
            reply.headers["content-type"].as_str()
        ),
        (502, "<h1>Bad Gateway</h1>", "text/html")
    );
    assert_eq!(
        server.upload_state(&url),
        Some((0, 4)),
        "a status fault leaves the upload untouched"
    );
    assert_eq!(server.faults().fired(), 2);
    assert_eq!(server.faults().pending(), 0);
}

#[tokio::test]
async fn a_cut_keeps_the_stored_prefix_and_can_lose_a_tail() {
    let (_dir, server) = server(|c| c).await;
    let url = create(&server, "10").await;
    server
        .faults()
        .inject_next(Method::PATCH, Fault::CutAfter { bytes: 6, lose: 2 });
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let request = format!(
        "PATCH {url} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: 10\r\n\r\n0123456789"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .unwrap();
    assert!(answer.is_empty(), "the connection is cut without an answer");
    assert_eq!(server.upload_state(&url), Some((4, 10)));
    assert_eq!(
        std::fs::read(server.stored_file(&url).unwrap()).unwrap(),
        b"0123"
    );
    let log = server.requests();
    let cut = log.last().unwrap();
    assert_eq!((cut.status, cut.body_stored), (None, 4));
}

#[tokio::test]
async fn concurrent_patches_to_one_upload_are_locked() {
    let (_dir, server) = server(|c| c).await;
    let url = create(&server, "4").await;
    // A PATCH that declares 4 bytes but sends 2 and keeps the connection open
    // holds the upload until it ends.
    let mut first = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let head = format!(
        "PATCH {url} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: 4\r\n\r\nab"
    );
    first.write_all(head.as_bytes()).await.unwrap();
    // Wait (bounded) until the server has taken the upload for the first PATCH.
    let mut locked = None;
    for _ in 0..200 {
        let reply = raw(
            &server,
            "PATCH",
            &url,
            &[TUS, OCTETS, ("Upload-Offset", "0")],
            b"zz",
        )
        .await;
        if reply.status == 423 {
            locked = Some(reply);
            break;
        }
        assert_eq!(
            reply.status, 409,
            "only the lock or (before it) nothing else may answer"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        locked.is_some(),
        "a second PATCH was never refused with 423"
    );
    drop(first); // the client goes away: the two bytes that arrived are kept
    let mut state = None;
    for _ in 0..200 {
        state = server.upload_state(&url);
        if state == Some((2, 4)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(state, Some((2, 4)));
    let reply = raw(
        &server,
        "PATCH",
        &url,
        &[TUS, OCTETS, ("Upload-Offset", "2")],
        b"cd",
    )
    .await;
    assert_eq!(reply.status, 204);
    assert_eq!(
        std::fs::read(server.stored_file(&url).unwrap()).unwrap(),
        b"abcd"
    );
}

#[tokio::test]
async fn checksums_are_verified_per_patch() {
    let (_dir, server) = server(|c| c).await;
    let url = create(&server, "10").await;
    // sha1("hello") = qvTGHdzF6KLavt4PO0gs2a6pQ00=
    let good = ("Upload-Checksum", "sha1 qvTGHdzF6KLavt4PO0gs2a6pQ00=");
    let bad = ("Upload-Checksum", "sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    let reply = raw(
        &server,
        "PATCH",
        &url,
        &[TUS, OCTETS, ("Upload-Offset", "0"), bad],
        b"hello",
    )
    .await;
    assert_eq!(reply.status, 460);
    assert_eq!(
        server.upload_state(&url),
        Some((0, 10)),
        "a mismatched chunk is discarded"
    );
    let reply = raw(
        &server,
        "PATCH",
        &url,
        &[TUS, OCTETS, ("Upload-Offset", "0"), good],
        b"hello",
    )
    .await;
    assert_eq!(
        (reply.status, reply.headers["upload-offset"].as_str()),
        (204, "5")
    );
    let unsupported = ("Upload-Checksum", "md5 XUFAKrxLKna5cZ2REBfFkg==");
    assert_eq!(
        raw(
            &server,
            "PATCH",
            &url,
            &[TUS, OCTETS, ("Upload-Offset", "5"), unsupported],
            b"world"
        )
        .await
        .status,
        400
    );
    assert_eq!(
        raw(
            &server,
            "PATCH",
            &url,
            &[
                TUS,
                OCTETS,
                ("Upload-Offset", "5"),
                ("Upload-Checksum", "sha1 !!")
            ],
            b"world"
        )
        .await
        .status,
        400
    );
    assert_eq!(
        std::fs::read(server.stored_file(&url).unwrap()).unwrap(),
        b"hello"
    );
}

#[tokio::test]
async fn extensions_can_be_switched_off() {
    let (_dir, server) = server(|c| c.without_extension("checksum")).await;
    let reply = raw(&server, "OPTIONS", "/files/", &[], b"").await;
    assert_eq!(
        reply.headers["tus-extension"],
        "creation,creation-with-upload,creation-defer-length,termination,concatenation"
    );
    assert!(!reply.headers.contains_key("tus-checksum-algorithm"));
    // A checksum header is then ignored, as by any server without the extension.
    let url = create(&server, "5").await;
    let bad = ("Upload-Checksum", "sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    assert_eq!(
        raw(
            &server,
            "PATCH",
            &url,
            &[TUS, OCTETS, ("Upload-Offset", "0"), bad],
            b"hello"
        )
        .await
        .status,
        204
    );
}

#[tokio::test]
async fn deferred_lengths_are_set_by_a_patch() {
    let (_dir, server) = server(|c| c.max_size(100)).await;
    assert_eq!(
        raw(
            &server,
            "POST",
            "/files/",
            &[TUS, ("Upload-Length", "5"), ("Upload-Defer-Length", "1")],
            b""
        )
        .await
        .status,
        400
    );
    let reply = raw(
        &server,
        "POST",
        "/files/",
        &[TUS, ("Upload-Defer-Length", "1")],
        b"",
    )
    .await;
    assert_eq!(reply.status, 201);
    let url = reply.headers["location"]
        .strip_prefix(&format!("http://{}", server.addr()))
        .unwrap()
        .to_owned();
    let head = raw(&server, "HEAD", &url, &[TUS], b"").await;
    assert_eq!(
        head.headers.get("upload-defer-length").map(String::as_str),
        Some("1")
    );
    assert!(!head.headers.contains_key("upload-length"));
    assert_eq!(
        raw(
            &server,
            "PATCH",
            &url,
            &[TUS, OCTETS, ("Upload-Offset", "0")],
            b"abc"
        )
        .await
        .status,
        204
    );
    assert_eq!(
        raw(
            &server,
            "PATCH",
            &url,
            &[TUS, OCTETS, ("Upload-Offset", "3"), ("Upload-Length", "4")],
            b"de"
        )
        .await
        .status,
        400,
        "shorter than the data"
    );
    assert_eq!(
        raw(
            &server,
            "PATCH",
            &url,
            &[
                TUS,
                OCTETS,
                ("Upload-Offset", "3"),
                ("Upload-Length", "101")
            ],
            b"de"
        )
        .await
        .status,
        413
    );
    let reply = raw(
        &server,
        "PATCH",
        &url,
        &[TUS, OCTETS, ("Upload-Offset", "3"), ("Upload-Length", "5")],
        b"de",
    )
    .await;
    assert_eq!(
        (reply.status, reply.headers["upload-offset"].as_str()),
        (204, "5")
    );
    let head = raw(&server, "HEAD", &url, &[TUS], b"").await;
    assert_eq!(head.headers["upload-length"], "5");
    assert_eq!(
        raw(
            &server,
            "PATCH",
            &url,
            &[TUS, OCTETS, ("Upload-Offset", "5"), ("Upload-Length", "6")],
            b""
        )
        .await
        .status,
        400,
        "the length cannot change"
    );
}

#[tokio::test]
async fn concatenation_joins_complete_partial_uploads_only() {
    let (_dir, server) = server(|c| c).await;
    let tus = ("Tus-Resumable", "1.0.0");
    let mut parts = Vec::new();
    for body in [&b"hello "[..], &b"world"[..]] {
        let length = body.len().to_string();
        let created = raw(
            &server,
            "POST",
            "/files/",
            &[
                tus,
                ("Upload-Concat", "partial"),
                ("Upload-Length", &length),
            ],
            b"",
        )
        .await;
        assert_eq!(created.status, 201);
        let path = created.headers["location"]
            .split_once("127.0.0.1")
            .unwrap()
            .1
            .split_once('/')
            .unwrap()
            .1
            .to_owned();
        parts.push((format!("/{path}"), body));
    }
    let list = format!("final;{} {}", parts[0].0, parts[1].0);
    // The second part is still empty: no final yet.
    let early = raw(
        &server,
        "POST",
        "/files/",
        &[tus, ("Upload-Concat", &list)],
        b"",
    )
    .await;
    assert_eq!(early.status, 400, "{}", early.body);
    for (path, body) in &parts {
        let patched = raw(
            &server,
            "PATCH",
            path,
            &[
                tus,
                ("Upload-Offset", "0"),
                ("Content-Type", "application/offset+octet-stream"),
            ],
            body,
        )
        .await;
        assert_eq!(patched.status, 204);
    }
    let head = raw(&server, "HEAD", &parts[0].0, &[tus], b"").await;
    assert_eq!(head.headers["upload-concat"], "partial");
    let joined = raw(
        &server,
        "POST",
        "/files/",
        &[tus, ("Upload-Concat", &list)],
        b"",
    )
    .await;
    assert_eq!(joined.status, 201, "{}", joined.body);
    let url = joined.headers["location"].clone();
    assert_eq!(
        std::fs::read(server.stored_file(&url).unwrap()).unwrap(),
        b"hello world"
    );
    assert_eq!(server.upload_state(&url), Some((11, 11)));
    let final_path = format!(
        "/{}",
        url.split_once("127.0.0.1")
            .unwrap()
            .1
            .split_once('/')
            .unwrap()
            .1
    );
    let head = raw(&server, "HEAD", &final_path, &[tus], b"").await;
    assert_eq!(head.headers["upload-concat"], list);
    let patch = raw(
        &server,
        "PATCH",
        &final_path,
        &[
            tus,
            ("Upload-Offset", "11"),
            ("Content-Type", "application/offset+octet-stream"),
        ],
        b"!",
    )
    .await;
    assert_eq!(patch.status, 403);
    let not_partial = raw(
        &server,
        "POST",
        "/files/",
        &[tus, ("Upload-Concat", &format!("final;{final_path}"))],
        b"",
    )
    .await;
    assert_eq!(not_partial.status, 400);
}
