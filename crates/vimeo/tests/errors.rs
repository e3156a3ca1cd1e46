//! Errors a user can trust, each against a misbehaving API on loopback: a
//! refused creation is retried, an unusable ticket leaves no video behind,
//! echoed credentials and terminal escapes never reach a message, an
//! oversized answer is final, and credentials never travel over plain HTTP to
//! another machine.

use http::Method;
use sandbox::{Fault, TempDir};
use serde_json::{Value, json};
use vimeo::{Error, UploadOptions};

use crate::support::{sample_file, start, stored_bytes};

fn creates(sandbox: &sandbox::Sandbox) -> usize {
    sandbox
        .requests()
        .iter()
        .filter(|r| r.method == Method::POST && r.path == "/me/videos")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_on_create_waits_for_retry_after_and_creates_once() {
    let (sandbox, client) = start().await;
    let dir = TempDir::new("vimeo-429").unwrap();
    let (path, bytes) = sample_file(dir.path(), "a.mp4", 50_000);
    sandbox.faults().inject(
        Method::POST,
        1,
        Fault::Status {
            status: 429,
            retry_after: Some(0),
        },
    );
    let video = client
        .upload(path.as_path(), &UploadOptions::new())
        .await
        .unwrap();
    assert_eq!(stored_bytes(&sandbox, video.id), bytes);
    assert_eq!(
        creates(&sandbox),
        2,
        "the refused POST, then the one that worked"
    );
    let videos: vimeo::Page<vimeo::Video> = client.get("/me/videos").await.unwrap();
    assert_eq!(videos.data.len(), 1, "one video, not two");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_ticket_deletes_the_video_it_created() {
    let (sandbox, client) = start().await;
    let dir = TempDir::new("vimeo-bad-ticket").unwrap();
    let (path, _) = sample_file(dir.path(), "a.mp4", 50_000);
    for (pointer, value) in [
        ("/upload/upload_link", json!("ftp://files.example/1")),
        ("/upload/upload_link", Value::Null),
        ("/upload/size", json!(1)),
        ("/upload/approach", json!("post")),
    ] {
        sandbox.faults().inject_next(
            Method::POST,
            Fault::RewriteJson {
                pointer: pointer.into(),
                value: value.clone(),
            },
        );
        let error = client
            .upload(path.as_path(), &UploadOptions::new())
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::UploadMismatch { .. }),
            "{pointer} = {value}: {error:?}"
        );
        let videos: vimeo::Page<vimeo::Video> = client.get("/me/videos").await.unwrap();
        assert!(
            videos.data.is_empty(),
            "{pointer}: the video was left behind"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoed_tokens_and_terminal_escapes_never_reach_a_message() {
    let (sandbox, client) = start().await;
    let token = sandbox.credentials().personal_token.clone();
    let body = json!({
        "error": format!("bad credentials: Bearer {token}\u{1b}[2J\u{7}"),
        "developer_message": format!("the token {token} is not valid\u{1b}]0;owned\u{7}"),
        "error_code": 8003,
    });
    sandbox.faults().inject_next(
        Method::GET,
        Fault::Raw {
            status: 401,
            content_type: "application/json".into(),
            body: body.to_string(),
        },
    );
    let error = client.get::<Value>("/me").await.unwrap_err();
    let shown = format!("{error} | {error:?}");
    assert!(!shown.contains(&token), "{shown}");
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
        "{shown}"
    );
    assert_eq!(error.api().unwrap().error_code, Some(8003));
    // A proxy's HTML page, echoing the header (403: not retried).
    sandbox.faults().inject_next(
        Method::GET,
        Fault::Raw {
            status: 403,
            content_type: "text/html".into(),
            body: format!("<h1>\u{1b}[5mForbidden</h1> Authorization: Bearer {token}"),
        },
    );
    let error = client.get::<Value>("/me?proxy").await.unwrap_err();
    let excerpt = &error.api().unwrap().body_excerpt;
    assert!(excerpt.contains("Forbidden"), "{excerpt}");
    assert!(
        !excerpt.contains(&token) && !excerpt.contains('\u{1b}'),
        "{excerpt}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_over_the_cap_is_a_final_error_not_a_retry() {
    let (sandbox, client) = start().await;
    let before = sandbox.requests().len();
    sandbox.faults().inject_next(
        Method::GET,
        Fault::Raw {
            status: 200,
            content_type: "application/json".into(),
            body: format!("[\"{}\"]", "x".repeat(33 << 20)),
        },
    );
    let error = client.get::<Value>("/me").await.unwrap_err();
    assert!(
        matches!(error, Error::ResponseTooLarge { limit, .. } if limit == 32 << 20),
        "{error:?}"
    );
    assert_eq!(sandbox.requests().len() - before, 1, "not retried");
}

#[tokio::test]
async fn credentials_never_travel_over_plain_http_to_another_machine() {
    let client = vimeo::VimeoClient::builder()
        .api_url("http://api.example.invalid")
        .token("secret-token")
        .retry_policy(vimeo::tus::RetryPolicy::none())
        .build()
        .unwrap();
    let error = client.get::<Value>("/me").await.unwrap_err();
    assert!(matches!(error, Error::InsecureHttp(_)), "{error:?}");
    assert!(!error.to_string().contains("secret-token"));
    // Without a token nothing secret travels: the call goes out (and fails to resolve).
    client.clear_token();
    let error = client.get::<Value>("/me").await.unwrap_err();
    assert!(!matches!(error, Error::InsecureHttp(_)), "{error:?}");
    // Opted in: sent.
    let allowed = vimeo::VimeoClient::builder()
        .api_url("http://api.example.invalid")
        .token("secret-token")
        .allow_insecure_http(true)
        .retry_policy(vimeo::tus::RetryPolicy::none())
        .build()
        .unwrap();
    let error = allowed.get::<Value>("/me").await.unwrap_err();
    assert!(!matches!(error, Error::InsecureHttp(_)), "{error:?}");
    // The app secret too (client credentials).
    let app = vimeo::VimeoClient::builder()
        .api_url("http://api.example.invalid")
        .app("id", "app-secret")
        .build()
        .unwrap();
    let error = app.client_credentials(&["public"]).await.unwrap_err();
    assert!(matches!(error, Error::InsecureHttp(_)), "{error:?}");
}
