//! The web-form case: a web app receives a file in an HTTP request body and
//! relays it to Vimeo as it arrives, never touching disk. The body is a
//! forward-only stream; `tus::Rewindable` keeps one chunk of it so a failed
//! chunk can be re-sent, so memory stays near one chunk whatever the size.
//!
//! Offline (no `VIMEO_API_URL`): runs against a sandbox and posts a generated
//! 20 MiB body to itself. Otherwise: set `VIMEO_API_URL` and `VIMEO_TOKEN`.

mod support;

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::io::AsyncWriteExt as _;
use vimeo::{UploadOptions, UploadSource, VimeoClient};

/// Chunks of 4 MiB, and a rewind window of the same size.
const CHUNK: u64 = 4 << 20;

/// The web app's upload handler.
async fn handle(
    client: VimeoClient,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = |status: u16, text: String| {
        let mut response = Response::new(Full::new(Bytes::from(text)));
        *response.status_mut() =
            http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        Ok(response)
    };
    let Some(size) = request
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
    else {
        return reply(411, "a Content-Length is required".into());
    };
    let name = request
        .headers()
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("upload.mp4")
        .to_owned();
    // Pump the body into a pipe; its read half is the upload's source.
    let (mut writer, reader) = tokio::io::duplex(256 * 1024);
    let mut body = request.into_body();
    tokio::spawn(async move {
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data()
                && writer.write_all(&data).await.is_err()
            {
                break;
            }
        }
    });
    let source = UploadSource::reader(vimeo::tus::Rewindable::new(reader, CHUNK as usize), size)
        .file_name(name);
    match client
        .upload(source, &UploadOptions::new().chunk_size(CHUNK))
        .await
    {
        Ok(video) => reply(201, format!("{}\n", video.uri)),
        Err(error) => reply(502, format!("upload failed: {error}\n")),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let setting = support::Setting::from_env().await;
    let token = setting.credential("VIMEO_TOKEN", |c| c.personal_token.clone());
    let client = VimeoClient::builder()
        .api_url(&setting.api_url)
        .token(token)
        .build()?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let app = format!("http://{}/upload", listener.local_addr()?);
    println!("the web app listens at {app}");
    let server_client = client.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let client = server_client.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |request| handle(client.clone(), request));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });

    // Play the browser: POST a 20 MiB "video" to the web app.
    let body: Vec<u8> = (0..20u32 << 20).map(|i| (i % 239) as u8).collect();
    let stream = tokio::net::TcpStream::connect(listener_addr(&app)).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = Request::post(&app)
        .header("host", listener_addr(&app))
        .header("x-file-name", "from-the-form.mp4")
        .body(Full::new(Bytes::from(body.clone())))?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let text =
        String::from_utf8_lossy(&response.into_body().collect().await?.to_bytes()).into_owned();
    println!("the web app answered {status}: {}", text.trim());
    if !status.is_success() {
        return Err(text.into());
    }
    if let Some(sandbox) = &setting.sandbox {
        let id: u64 = text.trim().rsplit('/').next().unwrap_or_default().parse()?;
        let link = sandbox.upload_link(id).ok_or("no such video")?;
        let stored = std::fs::read(
            sandbox
                .uploads()
                .stored_file(&link)
                .ok_or("no stored file")?,
        )?;
        println!(
            "the sandbox holds {} bytes, identical to the form's: {}",
            stored.len(),
            stored == body
        );
    }
    Ok(())
}

fn listener_addr(url: &str) -> String {
    url.trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}
