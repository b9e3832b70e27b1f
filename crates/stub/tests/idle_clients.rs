//! Idle and slow clients cannot take the stub down: connections that send
//! nothing, or trickle their headers, or never finish a TLS handshake, are
//! closed by their timeouts; and at the connection cap the one idle the
//! longest makes room, so a real client is served meanwhile. Loopback only, bounded in count and time.

use std::time::{Duration, Instant};

mod support;

use tokenprobe_stub::{Config, Stub, Tls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn config(connections: &str) -> Config {
    tokenprobe_config::stub_config(
        &format!("[jwt]\nalgorithm = \"ES256\"\n[connections]\n{connections}"),
        "idle.toml",
    )
    .unwrap()
}

/// Whether the server closed `stream` (EOF or reset) within `within`.
async fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 64];
    loop {
        match tokio::time::timeout(within, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn hundreds_of_silent_connections_neither_block_a_client_nor_stay_open() {
    let stub = Stub::start(config(
        "max = 40\nidle_timeout_ms = 400\nheader_read_timeout_ms = 400\n",
    ))
    .await
    .unwrap();
    let addr = stub.addr();
    let mut silent = Vec::new();
    for _ in 0..300 {
        silent.push(TcpStream::connect(addr).await.unwrap());
    }
    // Every slot is held by a silent connection, yet a client is served.
    assert_eq!(support::raw_token(addr).await, 200);
    // Every silent connection is closed by the server, by the cap or by
    // the idle timeout, well within a few timeouts.
    let started = Instant::now();
    for s in &mut silent {
        assert!(
            closed_by_server(s, Duration::from_secs(3)).await,
            "a silent connection stayed open"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    stub.shutdown().await;
}

/// At the cap, with timeouts far away, it is the cap that closes silent
/// connections: never more than `max` are open at once, while a client
/// keeps being served.
#[tokio::test]
async fn at_the_cap_no_more_than_max_are_ever_open() {
    let stub = Stub::start(config(
        "max = 8\nidle_timeout_ms = 60000\nheader_read_timeout_ms = 60000\n",
    ))
    .await
    .unwrap();
    let addr = stub.addr();
    let mut silent = Vec::new();
    let mut served = 0;
    for i in 0..300 {
        silent.push(TcpStream::connect(addr).await.unwrap());
        if i % 15 == 0 {
            assert_eq!(support::raw_token(addr).await, 200);
            served += 1;
        }
        let (open, peak) = stub.open_connections();
        assert!(open <= 8 && peak <= 8, "{open} open, peak {peak}");
    }
    assert_eq!(served, 20);
    // The cap, not a timeout (a minute away), closed all but the last 8.
    let mut closed = 0;
    for s in &mut silent {
        closed += usize::from(closed_by_server(s, Duration::from_millis(200)).await);
    }
    assert!(closed >= 300 - 8, "only {closed} of 300 closed");
    let (_, peak) = stub.open_connections();
    assert_eq!(peak, 8, "the cap was reached, never passed");
    assert!(stub.connections() >= 320, "{}", stub.connections());
    assert!(
        stub.stats().contains("at most 8 open at once (cap 8)"),
        "{}",
        stub.stats()
    );
    stub.shutdown().await;
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_cut_off() {
    let stub = Stub::start(config(
        "header_read_timeout_ms = 300\nidle_timeout_ms = 60000\n",
    ))
    .await
    .unwrap();
    let mut s = TcpStream::connect(stub.addr()).await.unwrap();
    s.write_all(b"POST /oauth2/token HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // One more header line every 100 ms would keep an unguarded server
    // waiting for ever; the header read timeout ends it.
    let started = Instant::now();
    let mut cut = false;
    for i in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if s.write_all(format!("X-Slow-{i}: y\r\n").as_bytes())
            .await
            .is_err()
        {
            cut = true;
            break;
        }
        let mut buf = [0u8; 256];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(1), s.read(&mut buf)).await {
            // An answer (408) or EOF: the server gave up on the headers.
            if n == 0 || buf.starts_with(b"HTTP/1.1 408") {
                cut = true;
                break;
            }
        }
    }
    assert!(cut, "still reading headers after {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(3));
    stub.shutdown().await;
}

#[tokio::test]
async fn a_tls_handshake_that_never_comes_is_dropped() {
    let stub = Stub::builder(config(
        "tls_handshake_timeout_ms = 300\nidle_timeout_ms = 60000\n",
    ))
    .tls(Tls::SelfSigned)
    .start()
    .await
    .unwrap();
    let mut s = TcpStream::connect(stub.addr()).await.unwrap();
    assert!(closed_by_server(&mut s, Duration::from_secs(3)).await);
    stub.shutdown().await;
}
