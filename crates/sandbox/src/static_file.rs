//! A loopback HTTP server that answers every request with the same file: the
//! other end of a pull upload in tests.

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Serves `body` to every request on a free loopback port, for as long as the
/// runtime lives; returns its URL (`http://127.0.0.1:PORT/media/master.mp4`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// let url = sandbox::serve_file(b"hello".to_vec()).await?;
/// let page = sandbox::browse(&url).await?;
/// assert_eq!((page.status, page.body.as_str()), (200, "hello"));
/// # Ok(()) }
/// ```
pub async fn serve_file(body: Vec<u8>) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/media/master.mp4", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: video/mp4\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    Ok(url)
}
