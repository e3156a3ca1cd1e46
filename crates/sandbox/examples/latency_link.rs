//! Relays a loopback port to `UPSTREAM` over a slow link until killed:
//! `latency_link UPSTREAM RTT_MS WINDOW_KIB` (see [`sandbox::LatencyLink`]).
//! Prints `listening on ADDR` once ready (used by `cargo xtask bench`).

use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [upstream, rtt_ms, window_kib] = args.as_slice() else {
        eprintln!("usage: latency_link UPSTREAM RTT_MS WINDOW_KIB");
        std::process::exit(2);
    };
    let shape = sandbox::LinkShape::round_trip(
        Duration::from_millis(rtt_ms.parse()?),
        window_kib.parse::<usize>()? << 10,
    );
    let link = sandbox::LatencyLink::start(upstream.parse()?, shape).await?;
    println!("listening on {}", link.addr());
    std::future::pending::<()>().await;
    Ok(())
}
