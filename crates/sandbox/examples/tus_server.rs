//! Runs the sandbox tus server until killed: `tus_server PORT DIR`.
//! Prints `listening on URL` once ready (used by `cargo xtask bench`).
//! `TUS_HOST` binds another address than 127.0.0.1; `TUS_RELATIVE_LOCATION=1`
//! answers creation with relative `Location`s (so a relay in front keeps
//! the client's requests); `TUS_DISCARD=1` counts PATCH bytes without
//! storing them (a server that is not the limit in a benchmark).

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(port), Some(dir)) = (args.first(), args.get(1)) else {
        eprintln!("usage: tus_server PORT DIR");
        std::process::exit(2);
    };
    let mut config = sandbox::TusConfig::new(dir).port(port.parse()?);
    if let Ok(host) = std::env::var("TUS_HOST") {
        config = config.host(host.parse()?);
    }
    if std::env::var_os("TUS_RELATIVE_LOCATION").is_some() {
        config = config.relative_location();
    }
    if std::env::var_os("TUS_DISCARD").is_some() {
        config = config.discard_bytes();
    }
    let server = sandbox::TusServer::start(config).await?;
    println!("listening on {}", server.endpoint());
    std::future::pending::<()>().await;
    Ok(())
}
