//! A real `redis-server` on a loopback port, for tests of the Redis cache
//! backend and of fleet resume. `cargo xtask ci` installs Debian's
//! redis-server when it is missing; `REDIS_SERVER` may name the binary.

use std::process::{Child, Command, Stdio};

/// A redis-server without persistence, killed on drop.
///
/// ```no_run
/// let redis = sandbox::RedisServer::start();
/// assert!(redis.url().starts_with("redis://127.0.0.1:"));
/// ```
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts one on a free port. Panics (saying what to install) when the
    /// binary is missing: a test that needs Redis must not pass without it.
    pub fn start() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        RedisServer::start_on(port)
    }

    /// Starts one on `port` (to restart a server where clients expect it).
    pub fn start_on(port: u16) -> RedisServer {
        RedisServer::try_start_on(port).unwrap_or_else(|e| {
            panic!("cannot start redis-server (install redis-server, or run `cargo xtask ci`): {e}")
        })
    }

    /// Starts one on a free port, or says why it could not (for callers that
    /// can do without Redis, such as a benchmark).
    pub fn try_start() -> std::io::Result<RedisServer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        RedisServer::try_start_on(port)
    }

    fn try_start_on(port: u16) -> std::io::Result<RedisServer> {
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let mut child = Command::new(&binary)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        crate::spawned::wait_until_listening(&mut child, port, &binary)?;
        Ok(RedisServer { child, port })
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
