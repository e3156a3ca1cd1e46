//! Waiting for a spawned server binary (redis-server, tinyproxy) to listen.

use std::process::Child;
use std::time::Duration;

/// Waits (at most 5 s) until `port` on loopback accepts connections. If the
/// process exits or never listens, it is killed and the error says which.
pub(crate) fn wait_until_listening(
    child: &mut Child,
    port: u16,
    binary: &str,
) -> std::io::Result<()> {
    for _ in 0..500 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(std::io::Error::other(format!(
                "{binary} exited with {status}"
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(std::io::Error::other(format!(
        "{binary} did not start on port {port}"
    )))
}
