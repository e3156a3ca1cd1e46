//! Shared by the examples: where to run (the real API from the environment, or
//! an in-process sandbox), and a minimal "browser" and callback server.
#![allow(dead_code)] // each example uses a part

use std::collections::HashMap;

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;

/// The API to talk to: `VIMEO_API_URL` (and friends) from the environment,
/// or else a sandbox started here, whose user approves everything at once.
pub(crate) struct Setting {
    /// The sandbox, when running offline.
    pub(crate) sandbox: Option<sandbox::Sandbox>,
    /// The API URL.
    pub(crate) api_url: String,
}

impl Setting {
    pub(crate) async fn from_env() -> Setting {
        match std::env::var("VIMEO_API_URL") {
            Ok(api_url) if !api_url.is_empty() => Setting {
                sandbox: None,
                api_url,
            },
            _ => {
                let sandbox = sandbox::Sandbox::start().await.expect("the sandbox starts");
                println!("(offline: using a sandbox at {})", sandbox.api_url());
                Setting {
                    api_url: sandbox.api_url(),
                    sandbox: Some(sandbox),
                }
            }
        }
    }

    /// An environment variable, or the sandbox's value.
    pub(crate) fn credential(
        &self,
        env: &str,
        sandbox_value: impl Fn(&sandbox::SandboxCredentials) -> String,
    ) -> String {
        match &self.sandbox {
            Some(sandbox) => sandbox_value(sandbox.credentials()),
            None => std::env::var(env).unwrap_or_else(|_| panic!("set {env}")),
        }
    }
}

/// `GET url` over plain HTTP: (status, location header, body).
pub(crate) async fn get(url: &str) -> (u16, Option<String>, String) {
    let page = sandbox::browse(url).await.expect("the page answers");
    (page.status, page.location, page.body)
}

/// Plays the user in a browser: opens `url` and follows one redirect.
pub(crate) async fn approve_in_browser(url: &str) {
    let (_, location, _) = get(url).await;
    if let Some(location) = location {
        get(&location).await;
    }
}

/// A one-shot callback server on 127.0.0.1: returns its URL and a task that
/// resolves to the query parameters of the first request it receives.
pub(crate) async fn callback_server(
    path: &str,
) -> (String, tokio::task::JoinHandle<HashMap<String, String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!(
        "http://{}{path}",
        listener.local_addr().expect("an address")
    );
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("a request");
        let mut reader = BufReader::new(stream);
        let mut request_line = String::new();
        reader
            .read_line(&mut request_line)
            .await
            .expect("a request line");
        let target = request_line.split(' ').nth(1).unwrap_or("/");
        let query = target.split_once('?').map_or("", |(_, q)| q);
        let params = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(n, v)| {
                (
                    n.to_owned(),
                    percent_encoding::percent_decode_str(v)
                        .decode_utf8_lossy()
                        .into_owned(),
                )
            })
            .collect();
        let mut stream = reader.into_inner();
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 36\r\nConnection: close\r\n\r\nAuthorized. You may close this tab.\n")
            .await;
        params
    });
    (url, task)
}
