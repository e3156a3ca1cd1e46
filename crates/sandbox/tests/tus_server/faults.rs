//! Injected faults, cut connections and the per-upload lock.

use super::*;

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
    let reply = patch(&server, &url, "0", b"ab").await;
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
    let first = half_patch(&server, &url).await;
    // Wait (bounded) until the server has taken the upload for the first PATCH.
    let mut locked = None;
    for _ in 0..200 {
        let reply = patch(&server, &url, "0", b"zz").await;
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
    let reply = patch(&server, &url, "2", b"cd").await;
    assert_eq!(reply.status, 204);
    assert_eq!(
        std::fs::read(server.stored_file(&url).unwrap()).unwrap(),
        b"abcd"
    );
}

/// A client that sends a PATCH at offset 0 declaring 4 bytes, sends 2 and
/// keeps its connection open.
async fn half_patch(server: &TusServer, url: &str) -> tokio::net::TcpStream {
    let mut client = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let head = format!(
        "PATCH {url} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: 4\r\n\r\nab"
    );
    client.write_all(head.as_bytes()).await.unwrap();
    client
}

/// Polls `condition` every millisecond for up to 5 s.
async fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    for _ in 0..5_000 {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    false
}

#[tokio::test]
async fn connections_and_requests_in_flight_are_counted_until_a_gone_client_is_done() {
    let (_dir, server) = server(|c| c).await;
    let url = create(&server, "4").await;
    assert!(eventually(|| server.open_connections() == 0).await);
    assert_eq!(server.requests_in_flight(), 0);
    // A client sends half a PATCH body and goes away: its request is in
    // flight until the server has kept the two bytes and logged it.
    let client = half_patch(&server, &url).await;
    assert!(eventually(|| server.requests_in_flight() == 1).await);
    assert_eq!(server.open_connections(), 1);
    let logged = server.requests().len();
    drop(client);
    assert!(
        eventually(|| server.open_connections() == 0 && server.requests_in_flight() == 0).await
    );
    // Nothing was left to land: the bytes are kept and the request logged.
    assert_eq!(server.upload_state(&url), Some((2, 4)));
    assert_eq!(server.requests().len(), logged + 1);
    // A stalled request stays in flight through its stall.
    server
        .faults()
        .inject_next(Method::HEAD, Fault::Stall(Duration::from_millis(300)));
    let stalled = tokio::spawn({
        let addr_url = url.clone();
        let server_addr = server.addr();
        async move {
            let mut stream = tokio::net::TcpStream::connect(server_addr).await.unwrap();
            let request = format!(
                "HEAD {addr_url} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTus-Resumable: 1.0.0\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).await.unwrap();
        }
    });
    assert!(eventually(|| server.requests_in_flight() == 1).await);
    stalled.await.unwrap();
    assert!(eventually(|| server.requests_in_flight() == 0).await);
}
