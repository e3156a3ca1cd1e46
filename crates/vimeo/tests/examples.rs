//! Every example runs offline against its own sandbox and says what it did.
//! `cargo test` builds the examples before running tests; they sit in
//! `target/<profile>/examples/`, beside this test's `deps/` directory.

use std::path::PathBuf;
use std::process::Command;

fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run through `cargo test`, which builds the examples",
        path.display()
    );
    path
}

fn run(name: &str, expected: &[&str]) {
    let output = Command::new(example(name))
        .env_remove("VIMEO_API_URL")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in expected {
        assert!(
            stdout.contains(line),
            "{name}: expected {line:?} in:\n{stdout}"
        );
    }
}

#[test]
fn oauth1_with_a_callback_server() {
    run(
        "oauth1_callback",
        &[
            "the callback received oauth_token and oauth_verifier",
            "vimeo.test.login says user \"1000\"",
        ],
    );
}

#[test]
fn oauth1_with_a_typed_verifier() {
    run("oauth1_verifier", &["the user types", "free upload space"]);
}

#[test]
fn oauth2_authorization_code() {
    run(
        "oauth2_code",
        &[
            "token granted with scopes \"public private upload\"",
            "GET /me: Sandbox User",
        ],
    );
}

#[test]
fn upload_from_a_path() {
    run(
        "upload_file",
        &[
            "uploaded 25165824 bytes to /videos/",
            "verified: true",
            "transcoded: available",
        ],
    );
}

#[test]
fn upload_relayed_from_a_request_body() {
    run(
        "upload_relay",
        &["answered 201 Created", "identical to the form's: true"],
    );
}

#[test]
fn pull_ticket_text_track_and_thumbnail() {
    run(
        "more_uploads",
        &[
            "pulled Some(\"/videos/",
            "Some(\"available\")",
            "the worker uploaded 2097152 bytes",
            "verified: true",
            "active: Some(true)",
            "thumbnail Some(\"/videos/",
        ],
    );
}
