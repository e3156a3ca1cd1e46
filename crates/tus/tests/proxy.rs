//! Through a real forward proxy (Debian's tinyproxy): plain HTTP in absolute
//! form, HTTPS through a CONNECT tunnel with the target's certificate checked
//! end to end, NO_PROXY bypass, proxy authentication, and proxies that fail.

use std::time::Duration;

use sandbox::Tinyproxy;
use tus::{Error, Source, UploadOptions};

use crate::support::Harness;
use crate::tls::tls_proxy as tls_front;

fn through(proxy: &str) -> tus::ClientBuilder {
    tus::Client::builder()
        .proxy(proxy)
        // The machine's own NO_PROXY must not turn these tests into direct ones.
        .no_proxy("")
        .retry_policy(
            tus::RetryPolicy::default()
                .max_attempts(3)
                .backoff(Duration::from_millis(5), Duration::from_millis(20)),
        )
        .stall_timeout(Duration::from_secs(5))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_http_upload_goes_through_the_proxy_in_absolute_form() {
    let proxy = Tinyproxy::start();
    let h = Harness::start().await;
    let path = h.file("p.bin", 2_500_000, 71);
    let client = through(&proxy.url()).build().unwrap();
    let outcome = client
        .upload(
            &h.server.endpoint(),
            Source::from_path(&path).await.unwrap(),
            &UploadOptions::default().chunk_size(1 << 20),
        )
        .await
        .unwrap();
    h.assert_stored(&outcome.url, &path);
    let seen = proxy.requests();
    let origin = format!("http://{}", h.server.addr());
    let creations = seen
        .iter()
        .filter(|r| r.starts_with(&format!("POST {origin}/files/")))
        .count();
    let patches = seen
        .iter()
        .filter(|r| r.starts_with(&format!("PATCH {origin}/files/")))
        .count();
    assert_eq!(creations, 1, "the proxy saw the creation: {seen:?}");
    assert_eq!(patches, 3, "the proxy saw every PATCH: {seen:?}");
    assert!(
        seen.iter()
            .any(|r| r.starts_with(&format!("HEAD {origin}/files/")))
    );
    // Every request the server answered came through the proxy.
    assert_eq!(h.server.requests().len(), seen.len(), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_goes_through_a_connect_tunnel_and_the_certificate_is_still_checked() {
    let proxy = Tinyproxy::start();
    let h = Harness::with(|c| c.relative_location()).await;
    let (ca, port) = tls_front(h.server.addr()).await;
    let endpoint = format!("https://localhost:{port}/files/");
    let path = h.file("s.bin", 1_200_000, 72);

    // Without the test CA the tunnel opens but TLS refuses the server: the
    // proxy does not weaken verification.
    let err = through(&proxy.url())
        .build()
        .unwrap()
        .upload(
            &endpoint,
            Source::from_path(&path).await.unwrap(),
            &UploadOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(h.server.requests().is_empty());

    let outcome = through(&proxy.url())
        .add_root_certificate(ca)
        .build()
        .unwrap()
        .upload(
            &endpoint,
            Source::from_path(&path).await.unwrap(),
            &UploadOptions::default().chunk_size(500_000),
        )
        .await
        .unwrap();
    h.assert_stored(&outcome.url, &path);
    let seen = proxy.requests();
    assert!(
        seen.iter()
            .all(|r| r == &format!("CONNECT localhost:{port} HTTP/1.1")),
        "the proxy sees tunnels only, never a request inside one: {seen:?}"
    );
    assert!(seen.len() >= 2, "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_hosts_are_reached_directly() {
    let proxy = Tinyproxy::start();
    let h = Harness::start().await;
    let path = h.file("n.bin", 300_000, 73);
    for bypass in ["127.0.0.1", "127.0.0.0/8", "*"] {
        let client = tus::Client::builder()
            .proxy(proxy.url())
            .no_proxy(format!("example.com, {bypass}"))
            .build()
            .unwrap();
        let outcome = client
            .upload(
                &h.server.endpoint(),
                Source::from_path(&path).await.unwrap(),
                &UploadOptions::default(),
            )
            .await
            .unwrap();
        h.assert_stored(&outcome.url, &path);
    }
    assert_eq!(proxy.requests(), Vec::<String>::new());
    // The same client without the bypass does use the proxy (the test can fail).
    let client = through(&proxy.url()).build().unwrap();
    client.options(&h.server.endpoint()).await.unwrap();
    assert_eq!(proxy.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_credentials_go_to_the_proxy_only() {
    let proxy = Tinyproxy::with_auth("alice", "pr0xy-pa55");
    let h = Harness::with(|c| c.relative_location()).await;
    let (ca, port) = tls_front(h.server.addr()).await;
    let path = h.file("a.bin", 700_000, 74);
    let client = through(&proxy.url_with_credentials())
        .add_root_certificate(ca.clone())
        .build()
        .unwrap();
    for endpoint in [
        h.server.endpoint(),
        format!("https://localhost:{port}/files/"),
    ] {
        let outcome = client
            .upload(
                &endpoint,
                Source::from_path(&path).await.unwrap(),
                &UploadOptions::default().chunk_size(300_000),
            )
            .await
            .unwrap();
        h.assert_stored(&outcome.url, &path);
    }
    let log = h.server.requests();
    assert!(log.len() >= 10, "{log:?}");
    assert!(
        log.iter().all(|r| r.proxy_authorization.is_none()),
        "Proxy-Authorization reached the server"
    );
    let seen = proxy.requests();
    assert!(
        seen.iter().any(|r| r.starts_with("PATCH http://")),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|r| r.starts_with("CONNECT localhost:")),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_that_wants_credentials_is_a_final_typed_error() {
    let proxy = Tinyproxy::with_auth("alice", "pr0xy-pa55");
    let h = Harness::with(|c| c.relative_location()).await;
    let (ca, port) = tls_front(h.server.addr()).await;
    let path = h.file("d.bin", 10_000, 75);
    let wrong = format!("http://alice:wrong@127.0.0.1:{}", proxy.port());
    for proxy_url in [proxy.url(), wrong] {
        let client = through(&proxy_url)
            .add_root_certificate(ca.clone())
            .build()
            .unwrap();
        for endpoint in [
            h.server.endpoint(),
            format!("https://localhost:{port}/files/"),
        ] {
            let before = proxy.requests().len();
            let err = client
                .upload(
                    &endpoint,
                    Source::from_path(&path).await.unwrap(),
                    &UploadOptions::default(),
                )
                .await
                .unwrap_err();
            let tunnel = endpoint.starts_with("https");
            match &err {
                Error::ProxyAuth { proxy: name } => {
                    assert_eq!(name, &format!("127.0.0.1:{}", proxy.port()));
                }
                // tinyproxy answers wrong credentials with 401 instead of 407;
                // on a plain-HTTP request that cannot be told from the
                // target's own 401, so it is the target's final status error.
                Error::Status(status)
                    if status.status == 401 && !tunnel && proxy_url.contains('@') => {}
                other => panic!("{endpoint}: expected ProxyAuth, got {other:?}"),
            }
            assert!(!err.is_retryable());
            assert!(!err.to_string().contains("wrong"), "{err}");
            let sent = &proxy.requests()[before..];
            let mut distinct = sent.to_vec();
            distinct.dedup();
            assert_eq!(distinct, sent, "no request is repeated after a refusal");
            assert!(sent.len() <= 2, "{sent:?}");
        }
    }
    assert!(h.server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_that_never_answers_is_a_bounded_failure() {
    // Accepts connections and reads, but never answers (CONNECT or request).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut sink = tokio::io::sink();
                let _ = tokio::io::copy(&mut stream, &mut sink).await;
            });
        }
    });
    let h = Harness::start().await;
    let path = h.file("h.bin", 10_000, 76);
    let client = tus::Client::builder()
        .proxy(format!("http://{addr}"))
        .no_proxy("")
        .retry_policy(
            tus::RetryPolicy::default()
                .max_attempts(2)
                .backoff(Duration::from_millis(5), Duration::from_millis(10)),
        )
        .stall_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    for endpoint in [h.server.endpoint(), "https://localhost:9/files/".to_owned()] {
        let err = tokio::time::timeout(
            Duration::from_secs(20),
            client.upload(
                &endpoint,
                Source::from_path(&path).await.unwrap(),
                &UploadOptions::default(),
            ),
        )
        .await
        .expect("bounded by the stall timeout, not a hang")
        .unwrap_err();
        let text = format!("{err:?}");
        assert!(text.contains("Timeout"), "{endpoint}: {text}");
    }
}

#[test]
fn unusable_proxy_settings_fail_at_build() {
    for url in ["socks5://127.0.0.1:1080", "https://proxy:443", "not a url"] {
        let err = tus::Client::builder().proxy(url).build().unwrap_err();
        assert!(matches!(err, Error::InvalidProxy { .. }), "{url}: {err:?}");
    }
    let err = tus::Client::builder()
        .proxy("socks5://user:hunter2@127.0.0.1:1080")
        .build()
        .unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

/// A proxy that answers every CONNECT with `status` and counts them.
async fn refusing_proxy(
    status: &'static str,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = std::sync::Arc::clone(&seen);
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf).await;
                seen.fetch_add(1, Ordering::SeqCst);
                let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    (url, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_tunnel_is_final_and_a_failed_one_is_retried() {
    use std::sync::atomic::Ordering;
    let client = |url: &str| through(url).build().unwrap();
    let (url, count) = refusing_proxy("403 Forbidden").await;
    let err = client(&url)
        .status("https://localhost:9/files/x")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::ProxyRefused { status: 403, .. }),
        "{err:?}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 1);

    // 502: the proxy could not reach the target — a connection failure, retried.
    let (url, count) = refusing_proxy("502 Bad Gateway").await;
    let h = Harness::start().await;
    let path = h.file("r.bin", 1000, 77);
    let err = client(&url)
        .upload(
            "https://localhost:9/files/",
            Source::from_path(&path).await.unwrap(),
            &UploadOptions::default(),
        )
        .await
        .unwrap_err();
    let text = format!("{err:?}");
    assert!(text.contains("Transport"), "{text}");
    assert!(count.load(Ordering::SeqCst) > 1, "retried");
}
