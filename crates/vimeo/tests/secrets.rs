//! No secret in logs or errors: every `tracing` record at TRACE level (ours
//! and the sandbox's, captured by a subscriber that keeps every field) during
//! a full OAuth 1.0a flow, an OAuth 2 flow and an upload, plus the Display and
//! Debug of every error those flows can produce, must not contain a token, a
//! secret, a signature, a verifier, an authorization code or an upload link.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use vimeo::{LegacyClient, LegacyEndpoints, Permission};

use crate::support;

/// Keeps the text of every span and event, with all their fields.
#[derive(Clone, Default)]
struct Capture {
    text: Arc<Mutex<String>>,
    next_id: Arc<std::sync::atomic::AtomicU64>,
}

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }
}

impl Capture {
    fn add(&self, line: impl FnOnce(&mut String)) {
        let mut text = self.text.lock().unwrap();
        line(&mut text);
        text.push('\n');
    }

    fn text(&self) -> String {
        self.text.lock().unwrap().clone()
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true // TRACE and everything above
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        self.add(|text| {
            let _ = write!(
                text,
                "span {} {}",
                span.metadata().target(),
                span.metadata().name()
            );
            span.record(&mut Fields(text));
        });
        Id::from_u64(
            1 + self
                .next_id
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        )
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        self.add(|text| {
            text.push_str("record");
            values.record(&mut Fields(text));
        });
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        self.add(|text| {
            let _ = write!(
                text,
                "{} {}",
                event.metadata().level(),
                event.metadata().target()
            );
            event.record(&mut Fields(text));
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// The `oauth_signature` values the sandbox received, raw and percent-decoded.
fn signatures(sandbox: &sandbox::Sandbox) -> Vec<String> {
    let mut found = Vec::new();
    for request in sandbox.requests() {
        let Some(header) = request.authorization else {
            continue;
        };
        for part in header.split(',') {
            if let Some(value) = part.trim().strip_prefix("oauth_signature=") {
                let raw = value.trim_matches('"').to_owned();
                let decoded = percent_encoding::percent_decode_str(&raw)
                    .decode_utf8_lossy()
                    .into_owned();
                found.push(raw);
                found.push(decoded);
            }
        }
    }
    found
}

// One thread: the subscriber is installed for this thread only, and every task
// (client, sandbox, hyper's connections) runs on it.
#[tokio::test(flavor = "current_thread")]
async fn no_secret_reaches_logs_or_error_messages() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let sandbox = sandbox::Sandbox::start().await.unwrap();
    let credentials = sandbox.credentials().clone();
    let mut secrets: Vec<String> = vec![
        credentials.personal_token.clone(),
        credentials.client_secret.clone(),
        credentials.consumer_secret.clone(),
    ];
    let mut errors: Vec<String> = Vec::new();
    let mut keep = |error: &dyn std::fmt::Debug, display: String| {
        errors.push(format!("{display} / {error:?}"));
    };

    // OAuth 1.0a: request token, authorization, verifier, access token, calls.
    let legacy = LegacyClient::new(
        credentials.consumer_key.as_str(),
        credentials.consumer_secret.as_str(),
    )
    .unwrap()
    .endpoints(LegacyEndpoints::at(&sandbox.legacy_url()));
    let url = legacy
        .auth(Permission::Write, Some("http://127.0.0.1:9/done"))
        .await
        .unwrap();
    let page = sandbox::browse(&url).await.unwrap();
    let location = page.location.unwrap();
    let verifier = location
        .rsplit("oauth_verifier=")
        .next()
        .unwrap()
        .to_owned();
    let token = legacy.access_token(&verifier).await.unwrap();
    secrets.extend([
        verifier.clone(),
        token.token.clone(),
        token.secret.expose().to_owned(),
    ]);
    legacy.call("vimeo.test.login", &[]).await.unwrap();
    let error = legacy.call("vimeo.nope", &[]).await.unwrap_err();
    keep(&error, error.to_string());
    keep(&legacy, String::new());
    keep(&token, String::new());
    // A spent verifier, and a client signing with a wrong secret.
    let error = legacy.access_token(&verifier).await.unwrap_err();
    keep(&error, error.to_string());
    let forged = LegacyClient::new(credentials.consumer_key.as_str(), "not-the-secret-7c1f")
        .unwrap()
        .endpoints(LegacyEndpoints::at(&sandbox.legacy_url()));
    secrets.push("not-the-secret-7c1f".into());
    let error = forged.auth(Permission::Read, None).await.unwrap_err();
    keep(&error, error.to_string());

    // OAuth 2: authorization code, client credentials, OAuth1 conversion.
    let client = support::builder(&sandbox)
        .app(
            credentials.client_id.as_str(),
            credentials.client_secret.as_str(),
        )
        .build()
        .unwrap();
    let request = client
        .authorization_request("http://127.0.0.1:9/callback", &["public", "upload"])
        .unwrap();
    let redirect = sandbox::browse(&request.url)
        .await
        .unwrap()
        .location
        .unwrap();
    let code = redirect
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap()
        .to_owned();
    let grant = client
        .exchange_code(&request, &request.state, &code)
        .await
        .unwrap();
    secrets.extend([code.clone(), grant.access_token.expose().to_owned()]);
    keep(&grant, String::new());
    let error = client
        .exchange_code(&request, &request.state, &code)
        .await
        .unwrap_err();
    keep(&error, error.to_string());
    let error = client
        .exchange_code(&request, "forged-state", &code)
        .await
        .unwrap_err();
    keep(&error, error.to_string());
    let app = client.client_credentials(&["public"]).await.unwrap();
    secrets.push(app.access_token.expose().to_owned());
    let converted = client
        .convert_oauth1_token(&token.token, token.secret.expose())
        .await
        .unwrap();
    secrets.push(converted.access_token.expose().to_owned());
    let wrong = support::builder(&sandbox)
        .token("wrong-token-5f2a9c")
        .build()
        .unwrap();
    secrets.push("wrong-token-5f2a9c".into());
    let error = wrong.get::<serde_json::Value>("/me").await.unwrap_err();
    keep(&error, error.to_string());
    keep(&wrong, String::new());

    // An upload, with a fault on the upload host, and one that fails.
    let uploader = support::builder(&sandbox)
        .token(credentials.personal_token.as_str())
        .build()
        .unwrap();
    let dir = sandbox::TempDir::new("secrets").unwrap();
    let path = dir.path().join("clip.mp4");
    std::fs::write(&path, vec![5u8; 300_000]).unwrap();
    sandbox.uploads().faults().inject_next(
        http::Method::PATCH,
        sandbox::Fault::CutAfter {
            bytes: 1000,
            lose: 0,
        },
    );
    let video = uploader
        .upload(
            path.as_path(),
            &vimeo::UploadOptions::new().chunk_size(100_000),
        )
        .await
        .unwrap();
    let link = sandbox.upload_link(video.id).unwrap();
    secrets.push(link.rsplit('/').next().unwrap().to_owned());
    keep(&video, String::new());
    sandbox.uploads().faults().inject_next(
        http::Method::PATCH,
        sandbox::Fault::Status {
            status: 403,
            retry_after: None,
        },
    );
    std::fs::write(&path, vec![6u8; 200_000]).unwrap();
    let error = uploader
        .upload(path.as_path(), &vimeo::UploadOptions::new())
        .await
        .unwrap_err();
    keep(&error, error.to_string());

    let signatures = signatures(&sandbox);
    assert!(!signatures.is_empty(), "the OAuth 1.0a calls were signed");
    secrets.extend(signatures);
    drop(_guard);

    let logs = capture.text();
    // The capture works: it holds our spans and the library's debug events.
    for expected in ["vimeo_upload", "tus_upload", "tus_patch", "DEBUG", "TRACE"] {
        assert!(
            logs.contains(expected),
            "no {expected:?} in the captured logs"
        );
    }
    assert!(logs.lines().count() > 50, "{logs}");
    let errors = errors.join("\n");
    assert!(
        errors.contains("401") || errors.contains("Unauthorized"),
        "{errors}"
    );
    for secret in &secrets {
        assert!(secret.len() >= 6, "too short to search for: {secret:?}");
        assert!(
            !logs.contains(secret.as_str()),
            "a secret ({}…) is in the logs",
            &secret[..3]
        );
        assert!(
            !errors.contains(secret.as_str()),
            "a secret ({}…) is in an error message: {errors}",
            &secret[..3]
        );
    }
}
