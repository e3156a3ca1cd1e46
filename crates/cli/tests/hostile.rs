//! `tusc` against a hostile tus server on loopback: a hand-written HTTP/1.1
//! server that forgets bytes, stops reading, answers after the source changed,
//! drops a creation it processed, or places the upload on another origin.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{command, run, sample};

const TUSC: &str = env!("CARGO_BIN_EXE_tusc");

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Honest,
    /// Chunk 1 accepted, every later PATCH fails, HEAD says 0.
    Forgetful,
    /// The first PATCH body is read in part, then never again (connection held).
    StopsReading,
    /// The file is rewritten while the last chunk streams.
    RewriteDuringLast,
    /// The creating POST is processed, then the connection is dropped.
    DropsCreation,
    /// Created uploads live on another origin (`other`).
    ElsewhereAt(u16),
    /// HEAD reports more than the length.
    Overlong,
}

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: HashMap<String, String>,
}

struct State {
    mode: Mode,
    uploads: HashMap<String, (Vec<u8>, u64)>,
    log: Vec<Seen>,
    rewrite: Option<PathBuf>,
    held: Vec<TcpStream>,
    next: u32,
}

#[derive(Clone)]
struct Hostile {
    port: u16,
    state: Arc<Mutex<State>>,
}

impl Hostile {
    async fn start(mode: Mode) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            mode,
            uploads: HashMap::new(),
            log: Vec::new(),
            rewrite: None,
            held: Vec::new(),
            next: 0,
        }));
        let server = Hostile { port, state };
        let accept = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let server = accept.clone();
                tokio::spawn(async move { server.serve(stream).await });
            }
        });
        server
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/files/", self.port)
    }

    fn log(&self) -> Vec<Seen> {
        self.state.lock().unwrap().log.clone()
    }

    fn count(&self, method: &str) -> usize {
        self.log().iter().filter(|s| s.method == method).count()
    }

    async fn serve(&self, mut stream: TcpStream) {
        let mut buffer = Vec::new();
        loop {
            let Some(end) = read_head(&mut stream, &mut buffer).await else {
                return;
            };
            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
            buffer.drain(..end + 4);
            let mut lines = head.split("\r\n");
            let mut first = lines.next().unwrap_or("").split(' ');
            let (method, path) = (
                first.next().unwrap_or("").to_owned(),
                first.next().unwrap_or("").to_owned(),
            );
            let headers: HashMap<String, String> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            let length: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let seen = Seen {
                method: method.clone(),
                path: path.clone(),
                headers: headers.clone(),
            };
            let (mode, patches) = {
                let mut state = self.state.lock().unwrap();
                state.log.push(seen);
                (
                    state.mode,
                    state.log.iter().filter(|s| s.method == "PATCH").count(),
                )
            };
            if mode == Mode::StopsReading && method == "PATCH" && patches == 1 {
                // Take a little of the body, then never read again; keep the socket.
                let _ = read_body(&mut stream, &mut buffer, length.min(1000)).await;
                self.state.lock().unwrap().held.push(stream);
                return;
            }
            if mode == Mode::RewriteDuringLast
                && method == "PATCH"
                && last_chunk(&headers, &self.state)
            {
                let half = length / 2;
                let Some(mut body) = read_body(&mut stream, &mut buffer, half).await else {
                    return;
                };
                let path = self.state.lock().unwrap().rewrite.clone().unwrap();
                let size = std::fs::metadata(&path).unwrap().len() as usize;
                std::fs::write(&path, vec![0xEE; size]).unwrap();
                let Some(rest) = read_body(&mut stream, &mut buffer, length - half).await else {
                    return;
                };
                body.extend(rest);
                let answer = self.apply(&path_id(&path_of(&headers, &self.state)), &headers, body);
                let _ = stream.write_all(answer.as_bytes()).await;
                continue;
            }
            let Some(body) = read_body(&mut stream, &mut buffer, length).await else {
                return;
            };
            if mode == Mode::DropsCreation && method == "POST" {
                self.create(&headers);
                return; // processed, never answered
            }
            let answer = match method.as_str() {
                "OPTIONS" => "HTTP/1.1 204 No Content\r\nTus-Resumable: 1.0.0\r\nTus-Version: 1.0.0\r\nTus-Extension: creation\r\nContent-Length: 0\r\n\r\n".to_owned(),
                "POST" => {
                    let id = self.create(&headers);
                    let location = match mode {
                        Mode::ElsewhereAt(port) => format!("http://127.0.0.1:{port}/files/{id}"),
                        _ => format!("/files/{id}"),
                    };
                    format!("HTTP/1.1 201 Created\r\nTus-Resumable: 1.0.0\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n")
                }
                "HEAD" => self.head(&path_id(&path)),
                "PATCH" => self.apply(&path_id(&path), &headers, body),
                _ => "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n".to_owned(),
            };
            if stream.write_all(answer.as_bytes()).await.is_err() {
                return;
            }
        }
    }

    fn create(&self, headers: &HashMap<String, String>) -> String {
        let mut state = self.state.lock().unwrap();
        state.next += 1;
        let id = state.next.to_string();
        let length = headers
            .get("upload-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        state.uploads.insert(id.clone(), (Vec::new(), length));
        id
    }

    fn head(&self, id: &str) -> String {
        let state = self.state.lock().unwrap();
        let Some((data, length)) = state.uploads.get(id) else {
            return "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".into();
        };
        let offset = match state.mode {
            Mode::Forgetful => 0,
            Mode::Overlong => length + 10,
            _ => data.len() as u64,
        };
        format!(
            "HTTP/1.1 200 OK\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\nUpload-Length: {length}\r\nCache-Control: no-store\r\nContent-Length: 0\r\n\r\n"
        )
    }

    fn apply(&self, id: &str, headers: &HashMap<String, String>, body: Vec<u8>) -> String {
        let mut state = self.state.lock().unwrap();
        let mode = state.mode;
        let Some((data, _)) = state.uploads.get_mut(id) else {
            return "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".into();
        };
        let offset: usize = headers
            .get("upload-offset")
            .and_then(|v| v.parse().ok())
            .unwrap_or(usize::MAX);
        if mode == Mode::Forgetful && offset > 0 {
            return "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n".into();
        }
        if mode == Mode::Forgetful {
            data.clear();
        }
        if offset != data.len() {
            return "HTTP/1.1 409 Conflict\r\nContent-Length: 0\r\n\r\n".into();
        }
        data.extend(body);
        format!(
            "HTTP/1.1 204 No Content\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: {}\r\nContent-Length: 0\r\n\r\n",
            data.len()
        )
    }
}

fn path_id(path: &str) -> String {
    path.rsplit('/').next().unwrap_or("").to_owned()
}

fn path_of(_headers: &HashMap<String, String>, state: &Arc<Mutex<State>>) -> String {
    state
        .lock()
        .unwrap()
        .log
        .last()
        .map(|s| s.path.clone())
        .unwrap_or_default()
}

fn last_chunk(headers: &HashMap<String, String>, state: &Arc<Mutex<State>>) -> bool {
    let state = state.lock().unwrap();
    let offset: u64 = headers
        .get("upload-offset")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let length: u64 = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    state
        .uploads
        .values()
        .any(|(_, total)| offset + length == *total && offset > 0)
}

async fn read_head(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<usize> {
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(end);
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

async fn read_body(stream: &mut TcpStream, buffer: &mut Vec<u8>, length: usize) -> Option<Vec<u8>> {
    while buffer.len() < length {
        let mut chunk = vec![0u8; 64 * 1024];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    Some(buffer.drain(..length).collect())
}

fn tusc(
    state: &std::path::Path,
    server: &Hostile,
    file: &std::path::Path,
) -> tokio::process::Command {
    let mut cmd = command(TUSC, state);
    cmd.args([
        "upload",
        file.to_str().unwrap(),
        "--endpoint",
        &server.endpoint(),
        "--chunk-size",
        "64KiB",
    ]);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_forgets_acknowledged_bytes_ends_in_a_bounded_failure() {
    let dir = sandbox::TempDir::new("hostile-forget").unwrap();
    let server = Hostile::start(Mode::Forgetful).await;
    let (path, _) = sample(dir.path(), "f.bin", 200_000);
    let out = run(tusc(dir.path(), &server, &path).args(["--retries", "2"])).await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("gave up"), "{}", out.stderr);
    assert!(out.stderr.contains("rerun"), "{}", out.stderr);
    // Retries 2, 4 chunks: the budget allows 2 × (4 + 2) failures at most.
    let requests = server.log().len();
    assert!(requests <= 40, "{requests} requests");
    // The resume state is private (it holds the upload URL).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let state = dir.path().join("tusc");
        assert_eq!(
            std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let files: Vec<_> = std::fs::read_dir(&state)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(!files.is_empty());
        for file in files {
            assert_eq!(
                std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
                0o600,
                "{file:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_reading_does_not_hold_up_the_next_attempt() {
    let dir = sandbox::TempDir::new("hostile-stall").unwrap();
    let server = Hostile::start(Mode::StopsReading).await;
    let (path, bytes) = sample(dir.path(), "s.bin", 4 << 20);
    // The stalled connection stays open for the whole test: a next attempt
    // that waited for it (the source lock held by its body) would never start.
    let out = run(tusc(dir.path(), &server, &path).args([
        "--stall-timeout",
        "1s",
        "--chunk-size",
        "4MiB",
    ]))
    .await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let state = server.state.lock().unwrap();
    assert_eq!(
        state.held.len(),
        1,
        "the stalled connection is still held open"
    );
    let (data, _) = state.uploads.values().next().unwrap();
    assert_eq!(*data, bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_rewritten_during_the_last_chunk_is_never_reported_verified() {
    let dir = sandbox::TempDir::new("hostile-rewrite").unwrap();
    let server = Hostile::start(Mode::RewriteDuringLast).await;
    let (path, _) = sample(dir.path(), "r.bin", 128 * 1024);
    server.state.lock().unwrap().rewrite = Some(path.clone());
    let out = run(tusc(dir.path(), &server, &path).arg("--json")).await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(!out.stdout.contains("verified"), "{}", out.stdout);
    assert!(out.stderr.contains("changed"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creation_that_reached_the_server_is_not_repeated() {
    let dir = sandbox::TempDir::new("hostile-create").unwrap();
    let server = Hostile::start(Mode::DropsCreation).await;
    let (path, _) = sample(dir.path(), "c.bin", 1000);
    let out = run(&mut tusc(dir.path(), &server, &path)).await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("rerun is safe"), "{}", out.stderr);
    assert_eq!(server.count("POST"), 1, "one creation, never repeated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_not_sent_to_an_upload_on_another_origin() {
    let dir = sandbox::TempDir::new("hostile-origin").unwrap();
    let elsewhere = Hostile::start(Mode::Honest).await;
    let server = Hostile::start(Mode::ElsewhereAt(elsewhere.port)).await;
    // The other origin holds the upload the endpoint's Location names.
    elsewhere
        .state
        .lock()
        .unwrap()
        .uploads
        .insert("1".into(), (Vec::new(), 100_000));
    let (path, bytes) = sample(dir.path(), "o.bin", 100_000);
    let out =
        run(tusc(dir.path(), &server, &path)
            .args(["--header", "Authorization: Bearer SECRET-TOKEN"]))
        .await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let post = server
        .log()
        .into_iter()
        .find(|s| s.method == "POST")
        .unwrap();
    assert_eq!(
        post.headers.get("authorization").map(String::as_str),
        Some("Bearer SECRET-TOKEN")
    );
    let other = elsewhere.log();
    assert!(other.iter().any(|s| s.method == "PATCH"));
    assert!(
        other
            .iter()
            .all(|s| !s.headers.contains_key("authorization")),
        "{other:?}"
    );
    assert_eq!(elsewhere.state.lock().unwrap().uploads["1"].0, bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_state_dir_fails_before_any_upload_is_created() {
    let dir = sandbox::TempDir::new("hostile-readonly").unwrap();
    let server = Hostile::start(Mode::Honest).await;
    let (path, _) = sample(dir.path(), "u.bin", 1000);
    std::fs::write(dir.path().join("not-a-dir"), b"").unwrap();
    let out =
        run(tusc(dir.path(), &server, &path)
            .env("TUSC_STATE_DIR", dir.path().join("not-a-dir/state")))
        .await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("store"), "{}", out.stderr);
    assert_eq!(server.count("POST"), 0, "no orphan upload");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_and_impossible_status_answers() {
    let dir = sandbox::TempDir::new("hostile-usage").unwrap();
    let server = Hostile::start(Mode::Overlong).await;
    let (path, _) = sample(dir.path(), "z.bin", 1000);
    let out = run(tusc(dir.path(), &server, &path).args(["--chunk-size", "0"])).await;
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(server.log().is_empty(), "no request on a usage error");
    server
        .state
        .lock()
        .unwrap()
        .uploads
        .insert("9".into(), (Vec::new(), 10));
    let out =
        run(command(TUSC, dir.path()).args(["status", &format!("{}9", server.endpoint())])).await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("beyond"), "{}", out.stderr);
}
