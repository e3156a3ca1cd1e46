//! HTTPS: certificates are always verified; a private CA works only when added.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types::PrivateKeyDer};
use tus::{Error, Source, UploadOptions};

use crate::support::Harness;

/// A test CA (DER) and a TLS proxy for `localhost` in front of the sandbox.
pub(crate) async fn tls_proxy(backend: std::net::SocketAddr) -> (Vec<u8>, u16) {
    let mut ca_params = CertificateParams::new(Vec::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();

    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (ca.der().to_vec(), port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_ca_is_refused_without_retrying() {
    let h = Harness::with(|c| c.relative_location()).await;
    let (_ca, port) = tls_proxy(h.server.addr()).await;
    let path = h.file("t.bin", 1000, 30);
    let err = crate::support::client()
        .upload(
            &format!("https://localhost:{port}/files/"),
            Source::from_path(&path).await.unwrap(),
            &UploadOptions::default(),
        )
        .await
        .unwrap_err();
    match &err {
        Error::Tls { context, source } => {
            assert!(context.contains("certificate"), "{context}");
            assert!(source.to_string().contains("certificate"), "{source}");
        }
        other => panic!("expected a TLS error, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert!(h.server.requests().is_empty(), "nothing reached the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_ca_is_trusted_and_the_upload_completes() {
    let h = Harness::with(|c| c.relative_location()).await;
    let (ca, port) = tls_proxy(h.server.addr()).await;
    let path = h.file("u.bin", 300_000, 31);
    let client = tus::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let outcome = client
        .upload(
            &format!("https://localhost:{port}/files/"),
            Source::from_path(&path).await.unwrap(),
            &UploadOptions::default().chunk_size(100_000),
        )
        .await
        .unwrap();
    assert!(
        outcome
            .url
            .starts_with(&format!("https://localhost:{port}/files/"))
    );
    assert!(outcome.verification.is_complete());
    h.assert_stored(&outcome.url, &path);
    // The certificate names `localhost`, so the same server under its IP is refused.
    let err = client
        .status(&format!("https://127.0.0.1:{port}/files/x"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Tls { source, .. } if format!("{source:?}").contains("NotValidForName")),
        "{err:?}"
    );
}
