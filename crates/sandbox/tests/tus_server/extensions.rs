//! Checksums, deferred lengths, concatenation, and the byte-discarding mode.

use super::*;

#[tokio::test]
async fn checksums_are_verified_per_patch() {
    let (_dir, server) = server(|c| c).await;
    let url = create(&server, "10").await;
    // sha1("hello") = qvTGHdzF6KLavt4PO0gs2a6pQ00=
    let good = ("Upload-Checksum", "sha1 qvTGHdzF6KLavt4PO0gs2a6pQ00=");
    let bad = ("Upload-Checksum", "sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    let reply = patch_with(&server, &url, "0", &[bad], b"hello").await;
    assert_eq!(reply.status, 460);
    assert_eq!(
        server.upload_state(&url),
        Some((0, 10)),
        "a mismatched chunk is discarded"
    );
    let reply = patch_with(&server, &url, "0", &[good], b"hello").await;
    assert_eq!(
        (reply.status, reply.headers["upload-offset"].as_str()),
        (204, "5")
    );
    let unsupported = ("Upload-Checksum", "md5 XUFAKrxLKna5cZ2REBfFkg==");
    assert_eq!(
        patch_with(&server, &url, "5", &[unsupported], b"world")
            .await
            .status,
        400
    );
    assert_eq!(
        patch_with(
            &server,
            &url,
            "5",
            &[("Upload-Checksum", "sha1 !!")],
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
    assert_eq!(patch(&server, &url, "0", b"abc").await.status, 204);
    assert_eq!(
        patch_with(&server, &url, "3", &[("Upload-Length", "4")], b"de")
            .await
            .status,
        400,
        "shorter than the data"
    );
    assert_eq!(
        patch_with(&server, &url, "3", &[("Upload-Length", "101")], b"de")
            .await
            .status,
        413
    );
    let reply = patch_with(&server, &url, "3", &[("Upload-Length", "5")], b"de").await;
    assert_eq!(
        (reply.status, reply.headers["upload-offset"].as_str()),
        (204, "5")
    );
    let head = raw(&server, "HEAD", &url, &[TUS], b"").await;
    assert_eq!(head.headers["upload-length"], "5");
    assert_eq!(
        patch_with(&server, &url, "5", &[("Upload-Length", "6")], b"")
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

#[tokio::test]
async fn a_discarding_server_counts_bytes_and_stores_none() {
    let (_dir, server) = server(|c| c.discard_bytes()).await;
    let url = create(&server, "10").await;
    let reply = patch(&server, &url, "0", b"hello").await;
    assert_eq!(
        (reply.status, reply.headers["upload-offset"].as_str()),
        (204, "5")
    );
    // Offsets are checked as usual, and checksums still verified.
    assert_eq!(patch(&server, &url, "0", b"world").await.status, 409);
    let bad = "sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let checksum = |value| [("Upload-Checksum", value)];
    assert_eq!(
        patch_with(&server, &url, "5", &checksum(bad), b"world")
            .await
            .status,
        460
    );
    assert_eq!(server.upload_state(&url), Some((5, 10)));
    // sha1("world") = fCEUM/AgcVl3Qeb/Wo6jR4mrv0M=
    let good = "sha1 fCEUM/AgcVl3Qeb/Wo6jR4mrv0M=";
    let reply = patch_with(&server, &url, "5", &checksum(good), b"world").await;
    assert_eq!(
        (reply.status, reply.headers["upload-offset"].as_str()),
        (204, "10")
    );
    let head = raw(&server, "HEAD", &url, &[TUS], b"").await;
    assert_eq!(head.headers["upload-offset"], "10");
    let stored = server.stored_file(&url).expect("a file for the upload");
    assert_eq!(
        std::fs::metadata(stored).map(|m| m.len()).unwrap_or(0),
        0,
        "no byte is kept"
    );
}
