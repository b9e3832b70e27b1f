//! Each open connection costs the stub one descriptor. Alone in its test
//! binary, so that no other test's sockets are counted.

use std::time::{Duration, Instant};

use tokenprobe_stub::{Config, Stub};
use tokio::net::TcpStream;

/// Each open connection costs the stub one descriptor: the reset fault
/// keeps a handle on the socket without duplicating it.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn one_descriptor_per_connection() {
    let open_fds = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    let stub = Stub::start(Config::default()).await.unwrap();
    let before = open_fds();
    let mut conns = Vec::new();
    for _ in 0..100 {
        conns.push(TcpStream::connect(stub.addr()).await.unwrap());
    }
    // Let the stub accept them all.
    let deadline = Instant::now() + Duration::from_secs(3);
    while stub.connections() < 100 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // All accepted and being served, or the count below says nothing.
    assert_eq!(stub.connections(), 100);
    assert_eq!(stub.open_connections().0, 100);
    let added = open_fds() - before;
    // 100 client sockets + 100 server sockets (a duplicate each would be 300).
    assert!(
        (200..=210).contains(&added),
        "{added} descriptors for 100 connections"
    );
    drop(conns);
    stub.shutdown().await;
}
