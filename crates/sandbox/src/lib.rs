//! An offline, Vimeo-compatible test server on loopback, with fault injection.
//!
//! Two servers: a Vimeo-compatible API ([`Sandbox`]) and the tus 1.0 server behind
//! its upload links ([`TusServer`], usable alone): core protocol, creation and
//! creation-with-upload, termination; uploads stored on disk with request bodies
//! streamed to disk; deterministic faults ([`Fault`]) and a request log tests can
//! inspect. The API covers OAuth 2, the legacy OAuth 1.0a endpoints and REST
//! method calls (signatures verified with `oauth1`), `/me`, videos, versions,
//! paging, `fields`, Vimeo-shaped errors and rate limits; `vimeo sandbox` runs it
//! from the command line.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
//! let dir = sandbox::TempDir::new("doc")?;
//! let server = sandbox::TusServer::start(sandbox::TusConfig::new(dir.path())).await?;
//! assert!(server.endpoint().starts_with("http://127.0.0.1:"));
//! server.faults().inject(http::Method::PATCH, 1, sandbox::Fault::Status { status: 503, retry_after: Some(1) });
//! # Ok(()) }
//! ```

mod assets;
mod browser;
mod faults;
mod latency_link;
mod redis_server;
mod rotating_token;
mod serve;
mod spawned;
mod static_file;
mod temp;
mod tinyproxy;
mod tus_server;
mod vimeo;

pub use browser::{Page, browse};
pub use faults::{Fault, Faults};
pub use latency_link::{LatencyLink, LinkShape};
pub use redis_server::RedisServer;
pub use static_file::serve_file;
pub use temp::TempDir;
pub use tinyproxy::Tinyproxy;
pub use tus_server::{LoggedRequest, TusConfig, TusServer};
pub use vimeo::{ApiRequest, Sandbox, SandboxConfig, SandboxCredentials};
