//! A minimal "browser" for tests, examples and the demo: one plain-HTTP GET,
//! no redirects followed, so OAuth approvals (which the sandbox grants at
//! once) can be played without a real browser.

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// What a page answered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page {
    /// The status code.
    pub status: u16,
    /// The `Location` header (a redirect's target).
    pub location: Option<String>,
    /// The body, as text.
    pub body: String,
}

/// `GET url` over plain HTTP/1.1 (`Connection: close`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// let sandbox = sandbox::Sandbox::start().await?;
/// let page = sandbox::browse(&format!("{}/oauth/authorize", sandbox.api_url())).await?;
/// assert_eq!(page.status, 400); // no response_type=code
/// # Ok(()) }
/// ```
pub async fn browse(url: &str) -> std::io::Result<Page> {
    let (head, body) = get(url, u64::MAX / 2).await?;
    let status = status_of(&head)?;
    let location = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("location")
            .then(|| value.trim().to_owned())
    });
    Ok(Page {
        status,
        location,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, what.to_owned())
}

fn status_of(head: &str) -> std::io::Result<u16> {
    head.get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("not an HTTP answer"))
}

/// One GET: (the head as text, at most `limit` body bytes).
async fn get(url: &str, limit: u64) -> std::io::Result<(String, Vec<u8>)> {
    let uri: http::Uri = url.parse().map_err(|_| invalid("not a URL"))?;
    let host = uri.host().ok_or_else(|| invalid("no host"))?;
    let mut stream = tokio::net::TcpStream::connect((host, uri.port_u16().unwrap_or(80))).await?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        uri.path_and_query().map_or("/", |p| p.as_str()),
        uri.authority().map_or(host, |a| a.as_str())
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    (&mut stream)
        .take(limit.saturating_add(64 * 1024))
        .read_to_end(&mut answer)
        .await?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| invalid("not an HTTP answer"))?;
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    Ok((head, answer[split + 4..].to_vec()))
}

/// `GET url` over plain HTTP/1.1 (`Connection: close`), the body as bytes:
/// (status, body). For answers with `Content-Length` or closed at the end
/// (not chunked). At most `limit` body bytes are read.
pub(crate) async fn fetch(url: &str, limit: u64) -> std::io::Result<(u16, Vec<u8>)> {
    let (head, body) = get(url, limit).await?;
    Ok((status_of(&head)?, body))
}
