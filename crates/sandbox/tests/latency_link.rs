//! The user-space slow link the `--parallel` benchmark runs over: every byte
//! arrives intact and in order, the end of a stream passes through, and an
//! answer never comes sooner than a round trip.

use std::time::Duration;

use sandbox::{LatencyLink, LinkShape};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An echo server: writes back what it reads until the client's end of stream.
async fn echo_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut read, mut write) = socket.into_split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
                let _ = write.shutdown().await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn bytes_cross_a_small_window_intact_both_ways_and_the_end_follows() {
    // A window much smaller than the data, so the reader waits for room many times.
    let shape = LinkShape::round_trip(Duration::from_millis(4), 16 << 10);
    let link = LatencyLink::start(echo_server().await, shape)
        .await
        .unwrap();
    let data: Vec<u8> = (0..1_500_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let (mut read, mut write) = TcpStream::connect(link.addr()).await.unwrap().into_split();
    let sent = data.clone();
    let sending = tokio::spawn(async move {
        write.write_all(&sent).await.unwrap();
        write.shutdown().await.unwrap();
    });
    let mut echoed = Vec::new();
    // read_to_end returns only once the server's end of stream came back.
    tokio::time::timeout(Duration::from_secs(60), read.read_to_end(&mut echoed))
        .await
        .expect("the link stalled")
        .unwrap();
    sending.await.unwrap();
    assert_eq!(echoed.len(), data.len());
    assert!(echoed == data, "the bytes changed on the way");
}

#[tokio::test]
async fn an_answer_takes_at_least_a_round_trip_and_connecting_another() {
    let rtt = Duration::from_millis(60);
    let link = LatencyLink::start(echo_server().await, LinkShape::round_trip(rtt, 1 << 20))
        .await
        .unwrap();
    let mut client = TcpStream::connect(link.addr()).await.unwrap();
    let started = tokio::time::Instant::now();
    client.write_all(b"ping").await.unwrap();
    let mut answer = [0u8; 4];
    client.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"ping");
    // The handshake's round trip, then the request's and the answer's way.
    assert!(started.elapsed() >= rtt * 2, "{:?}", started.elapsed());
    let again = tokio::time::Instant::now();
    client.write_all(b"pong").await.unwrap();
    client.read_exact(&mut answer).await.unwrap();
    assert!(again.elapsed() >= rtt, "{:?}", again.elapsed());
}

#[test]
fn a_connection_moves_at_most_a_window_per_round_trip() {
    let shape = LinkShape::round_trip(Duration::from_millis(100), 4 << 20);
    assert_eq!(shape.max_rate(), 40 << 20);
    assert_eq!(
        LinkShape::round_trip(Duration::ZERO, 1).max_rate(),
        u64::MAX
    );
}
