//! Discovery, creation, PATCH/HEAD/DELETE and switched-off extensions.

use super::*;

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
    assert_eq!(patch(&server, &url, "1", b"abc").await.status, 409);
    assert_eq!(patch(&server, &url, "0", b"123456789").await.status, 413);
    assert_eq!(patch(&server, "/files/00ff", "0", b"abc").await.status, 404);
    assert_eq!(
        patch(&server, "/files/../etc", "0", b"abc").await.status,
        404
    );

    let reply = patch(&server, &url, "0", b"abc").await;
    assert_eq!(
        (reply.status, reply.headers["upload-offset"].as_str()),
        (204, "3")
    );
    let reply = patch(&server, &url, "3", b"defgh").await;
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
    assert_eq!(patch(&server, &url, "8", b"").await.status, 410);
    assert_eq!(raw(&server, "DELETE", &url, &[TUS], b"").await.status, 410);
    assert!(!server.stored_file(&url).unwrap().exists());
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
        patch_with(&server, &url, "0", &[bad], b"hello")
            .await
            .status,
        204
    );
}
