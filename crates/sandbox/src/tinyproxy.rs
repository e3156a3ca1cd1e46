//! A real forward proxy on a loopback port: Debian's `tinyproxy`, for the
//! proxy tests of the tus client, the facade and the CLIs. `cargo xtask ci`
//! installs it when it is missing; `TINYPROXY` may name the binary.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::TempDir;

/// A tinyproxy in the foreground with its own config and log, killed on drop.
/// It allows loopback clients, `CONNECT` to any port, and (optionally) asks
/// for Basic credentials.
///
/// ```no_run
/// let proxy = sandbox::Tinyproxy::start();
/// assert!(proxy.url().starts_with("http://127.0.0.1:"));
/// let authed = sandbox::Tinyproxy::with_auth("alice", "s3cret");
/// assert!(authed.url_with_credentials().contains("alice:s3cret@"));
/// ```
#[derive(Debug)]
pub struct Tinyproxy {
    child: Child,
    port: u16,
    auth: Option<(String, String)>,
    log: PathBuf,
    _dir: TempDir,
}

impl Tinyproxy {
    /// Starts one without authentication. Panics (saying what to install)
    /// when the binary is missing: a proxy test must not pass without a proxy.
    pub fn start() -> Tinyproxy {
        Tinyproxy::launch(None)
    }

    /// Starts one that answers 407 unless `user`/`password` come as Basic
    /// `Proxy-Authorization` (tinyproxy's `BasicAuth`).
    pub fn with_auth(user: &str, password: &str) -> Tinyproxy {
        Tinyproxy::launch(Some((user.to_owned(), password.to_owned())))
    }

    fn launch(auth: Option<(String, String)>) -> Tinyproxy {
        Tinyproxy::try_launch(auth).unwrap_or_else(|e| {
            panic!(
                "cannot start tinyproxy (install Debian's tinyproxy, or run `cargo xtask ci`): {e}"
            )
        })
    }

    fn try_launch(auth: Option<(String, String)>) -> std::io::Result<Tinyproxy> {
        let dir = TempDir::new("tinyproxy")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = dir.path().join("tinyproxy.log");
        // No `Allow` lines: every client may connect (it listens on loopback
        // only). No `ConnectPort` lines: CONNECT to any port (test servers sit
        // on random ports).
        let mut config = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 600\nMaxClients 200\n\
             LogFile \"{}\"\nLogLevel Info\nDisableViaHeader Yes\n",
            log.display()
        );
        if let Some((user, password)) = &auth {
            config.push_str(&format!("BasicAuth {user} {password}\n"));
        }
        let config_path = dir.path().join("tinyproxy.conf");
        std::fs::write(&config_path, config)?;
        let binary = std::env::var("TINYPROXY").unwrap_or_else(|_| "tinyproxy".into());
        let mut child = Command::new(&binary)
            .arg("-d")
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        crate::spawned::wait_until_listening(&mut child, port, &binary)?;
        Ok(Tinyproxy {
            child,
            port,
            auth,
            log,
            _dir: dir,
        })
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` (no credentials).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `http://USER:PASSWORD@127.0.0.1:PORT` (as [`url`](Self::url) without auth).
    pub fn url_with_credentials(&self) -> String {
        match &self.auth {
            Some((user, password)) => format!("http://{user}:{password}@127.0.0.1:{}", self.port),
            None => self.url(),
        }
    }

    /// The proxy's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The request lines the proxy logged (`PATCH http://… HTTP/1.1`,
    /// `CONNECT host:port HTTP/1.1`), in order.
    pub fn requests(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|line| {
                line.split_once("): ")
                    .filter(|_| line.contains("Request (file descriptor"))
            })
            .map(|(_, request)| request.trim().to_owned())
            .collect()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
