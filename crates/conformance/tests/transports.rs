//! One suite, run on both transports: reqwest's (`Transport`, for `check`
//! and the client's API) and hyper's own (`DirectTransport`, the load
//! path). Each keeps the same contract: TLS trust as configured, connection
//! reuse or a new connection per request (each to its own origin, none
//! the server closed), the request line and `Host` HTTP/1.1 asks for, the
//! whole-request and connect timeouts, bounded bodies, HTTP/2, and the
//! same error kinds for each failure. Loopback only: the stub, and raw
//! sockets for what no server should send.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use support::{demo, fast_config};
use tokenprobe_client::{
    ClientError, DirectTransport, ErrorKind, Exchange, Flow, FlowConfig, HttpOptions, Transport,
};
use tokenprobe_protocol::{BaseUrl, System};
use tokenprobe_stub::{Stub, Tls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How a test makes the transport under test.
trait Make: Exchange + Sync + Sized {
    fn make(options: &HttpOptions, ca: Option<&[u8]>) -> Result<Self, ClientError>;
}

impl Make for Transport {
    fn make(options: &HttpOptions, ca: Option<&[u8]>) -> Result<Self, ClientError> {
        Transport::with(options, ca, None)
    }
}

impl Make for DirectTransport {
    fn make(options: &HttpOptions, ca: Option<&[u8]>) -> Result<Self, ClientError> {
        DirectTransport::with(options, ca, None)
    }
}

fn plain<T: Make>(options: HttpOptions) -> T {
    T::make(&options, None).unwrap()
}

fn cognito_flow(base: &BaseUrl) -> Flow {
    let mut config: FlowConfig = demo(System::Cognito);
    config.default_base_url(base);
    Flow::new(&config).unwrap()
}

fn cess_flow(base: &BaseUrl) -> Flow {
    let mut config: FlowConfig = demo(System::Cess);
    config.default_base_url(base);
    Flow::new(&config).unwrap()
}

async fn tls_is_trusted_as_configured<T: Make>() {
    let stub = Stub::builder(fast_config())
        .tls(Tls::SelfSigned)
        .start()
        .await
        .unwrap();
    let flow = cognito_flow(&stub.base_url());
    let ca = stub.ca_pem().unwrap().as_bytes();
    let trusting = T::make(&HttpOptions::default(), Some(ca)).unwrap();
    assert!(flow.acquire(&trusting).await.is_ok());
    let e = flow
        .acquire(&plain::<T>(HttpOptions::default()))
        .await
        .unwrap_err();
    assert_eq!(e.error.kind(), ErrorKind::Tls, "{}", e.error);
    let insecure = plain::<T>(HttpOptions {
        insecure: true,
        ..HttpOptions::default()
    });
    assert!(
        flow.acquire(&insecure).await.is_ok(),
        "only with the explicit switch"
    );
}

async fn connections_are_reused_or_new_as_asked<T: Make>() {
    for (reuse, expected) in [(true, 1), (false, 5)] {
        let stub = Stub::start(fast_config()).await.unwrap();
        let flow = cognito_flow(&stub.base_url());
        let t = plain::<T>(HttpOptions {
            reuse_connections: reuse,
            ..HttpOptions::default()
        });
        for _ in 0..5 {
            flow.acquire(&t).await.unwrap();
        }
        assert_eq!(stub.connections(), expected, "reuse_connections = {reuse}");
    }
}

/// Each connection serves the origin it was opened to: requests that
/// alternate between two servers open one connection to each.
async fn connections_are_kept_per_origin<T: Make>() {
    let (a, b) = (
        Stub::start(fast_config()).await.unwrap(),
        Stub::start(fast_config()).await.unwrap(),
    );
    let (to_a, to_b) = (cess_flow(&a.base_url()), cess_flow(&b.base_url()));
    let t = plain::<T>(HttpOptions::default());
    for _ in 0..3 {
        to_a.acquire(&t).await.unwrap();
        to_b.acquire(&t).await.unwrap();
    }
    assert_eq!((a.connections(), b.connections()), (1, 1));
}

const KEEP_ALIVE_ANSWER: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";

/// HTTP/1.1 asks for the origin-form target and a `Host` header (RFC 9112
/// §3.2); the request line and headers as a raw socket reads them.
async fn the_request_line_is_origin_form_and_names_the_host<T: Make>() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let head = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 16 * 1024];
        let n = socket.read(&mut buf).await.unwrap();
        socket.write_all(KEEP_ALIVE_ANSWER).await.unwrap();
        String::from_utf8_lossy(&buf[..n]).to_lowercase()
    });
    let base: BaseUrl = format!("http://{addr}").parse().unwrap();
    get(&plain::<T>(HttpOptions::default()), &base)
        .await
        .unwrap();
    let head = head.await.unwrap();
    assert!(
        head.starts_with("post /oauth2/token http/1.1\r\n"),
        "{head}"
    );
    assert!(head.contains(&format!("\r\nhost: {addr}\r\n")), "{head}");
}

/// A server that closes each connection after its answer, at once or
/// once it has been idle a while (as a server's keep-alive timeout does),
/// or says `Connection: close` and leaves the closing to the client: the
/// next request goes out on a new connection, not on the closed one.
async fn a_connection_the_server_closed_is_not_used_again<T: Make>() {
    const CLOSE: &[u8] = b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}";
    for (answer, idle) in [
        (KEEP_ALIVE_ANSWER, Duration::ZERO),
        (KEEP_ALIVE_ANSWER, Duration::from_millis(20)),
        (CLOSE, HOLD),
    ] {
        let (base, counts) = raw_server(answer, idle).await;
        let t = plain::<T>(HttpOptions::default());
        for i in 0..5 {
            let answer = get(&t, &base).await;
            assert!(
                answer.is_ok(),
                "request {i}, closed after {idle:?}: {answer:?}"
            );
            // The server's close, then a wait (the runtime reads its
            // sockets when it waits) for the client to read it: a close
            // that crosses the next request is the next test's.
            for _ in 0..500 {
                if idle == HOLD || counts.closed.load(Ordering::SeqCst) > i {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            counts.accepted.load(Ordering::SeqCst),
            5,
            "closed after {idle:?}"
        );
    }
}

/// A server that closes an idle connection just as the next request
/// comes: the close is in the kernel but not yet read by the connection's
/// task when the request takes the connection, so hyper hands the request
/// back unsent, and it goes out on a new connection, not as an error.
async fn a_request_that_never_reached_a_closed_connection_goes_on_another<T: Make>() {
    use tokio::sync::{mpsc, oneshot};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base: BaseUrl = format!("http://{}", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    let (close, mut closing) = mpsc::channel::<oneshot::Sender<()>>(1);
    let server = tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        let (mut first, _) = listener.accept().await.unwrap();
        let _ = first.read(&mut buf).await.unwrap();
        first.write_all(KEEP_ALIVE_ANSWER).await.unwrap();
        let closed = closing.recv().await.unwrap();
        drop(first);
        closed.send(()).unwrap();
        let (mut second, _) = listener.accept().await.unwrap();
        let _ = second.read(&mut buf).await.unwrap();
        second.write_all(KEEP_ALIVE_ANSWER).await.unwrap();
        tokio::time::sleep(HOLD).await;
    });
    let t = plain::<T>(HttpOptions::default());
    get(&t, &base).await.unwrap();
    let (closed, done) = oneshot::channel();
    close.send(closed).await.unwrap();
    done.await.unwrap();
    let second = get(&t, &base).await;
    server.abort();
    assert!(second.is_ok(), "{second:?}");
}

async fn timeouts_and_dead_servers_are_typed<T: Make>() {
    let config = tokenprobe_config::stub_config(
        "[jwt]\nalgorithm = \"ES256\"\n[faults.cess]\nstall = { probability = 1.0, ms = 2000 }\n",
        "slow.toml",
    )
    .unwrap();
    let stub = Stub::start(config).await.unwrap();
    let quick = plain::<T>(HttpOptions {
        timeout_ms: 200,
        ..HttpOptions::default()
    });
    let e = cess_flow(&stub.base_url())
        .acquire(&quick)
        .await
        .unwrap_err();
    assert_eq!(e.error.kind(), ErrorKind::Timeout, "{}", e.error);
    assert_eq!(e.steps.len(), 1, "the failed step is timed too");

    let addr = stub.addr();
    stub.shutdown().await;
    let dead = cognito_flow(&format!("http://{addr}").parse().unwrap());
    let e = dead
        .acquire(&plain::<T>(HttpOptions::default()))
        .await
        .unwrap_err();
    assert_eq!(e.error.kind(), ErrorKind::Connect, "{}", e.error);
}

/// What a raw server counts: connections accepted, and closed.
#[derive(Default)]
struct Counts {
    accepted: AtomicUsize,
    closed: AtomicUsize,
}

/// A raw server on loopback: each connection gets `answer` (after reading
/// the request head), then is closed after `hold`.
async fn raw_server(answer: &'static [u8], hold: Duration) -> (BaseUrl, Arc<Counts>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base: BaseUrl = format!("http://{}", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    let counts = Arc::new(Counts::default());
    let counter = counts.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.accepted.fetch_add(1, Ordering::SeqCst);
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let _ = tokio::time::timeout(Duration::from_secs(2), socket.read(&mut buf)).await;
                let _ = socket.write_all(answer).await;
                tokio::time::sleep(hold).await;
                drop(socket);
                counter.closed.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    (base, counts)
}

/// Long enough to outlast any test.
const HOLD: Duration = Duration::from_secs(10);

async fn get<T: Make>(t: &T, base: &BaseUrl) -> Result<tokenprobe_client::Answer, ClientError> {
    let req = http::Request::post(base.join("/oauth2/token").unwrap())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from_static(b"grant_type=client_credentials"))
        .unwrap();
    t.send(req).await
}

async fn bodies_are_bounded_and_truncation_is_a_body_error<T: Make>() {
    let small = HttpOptions {
        max_body_bytes: 1024,
        timeout_ms: 3000,
        ..HttpOptions::default()
    };
    // Declared over the limit: refused before reading.
    let (base, _) = raw_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000000\r\n\r\n{",
        HOLD,
    )
    .await;
    let e = get(&plain::<T>(small.clone()), &base).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
    // Chunked, growing past the limit (two chunks of 1,024 bytes).
    let chunk = "x".repeat(0x400);
    let chunked = format!(
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n400\r\n{chunk}\r\n400\r\n{chunk}\r\n"
    );
    let (base, _) = raw_server(Box::leak(chunked.into_bytes().into_boxed_slice()), HOLD).await;
    let e = get(&plain::<T>(small.clone()), &base).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
    // A body cut short of its declared length.
    let (base, _) = raw_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"access_",
        Duration::ZERO,
    )
    .await;
    let e = get(&plain::<T>(small), &base).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Body, "{e}");
}

/// A server that takes the connection and never says a word: over TLS the
/// handshake never ends, and the connect timeout (not the request's) ends
/// the wait.
async fn a_silent_tls_server_is_a_connect_timeout<T: Make>() {
    let (base, _) = raw_server(b"", HOLD).await;
    let https: BaseUrl = base
        .to_string()
        .replace("http://", "https://")
        .parse()
        .unwrap();
    let t = plain::<T>(HttpOptions {
        connect_timeout_ms: 200,
        timeout_ms: 20_000,
        ..HttpOptions::default()
    });
    let started = std::time::Instant::now();
    let e = get(&t, &https).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

async fn http2_works_in_clear_and_over_tls<T: Make>() {
    let h2 = HttpOptions {
        http2: true,
        ..HttpOptions::default()
    };
    let stub = Stub::start(fast_config()).await.unwrap();
    let t = plain::<T>(h2.clone());
    for _ in 0..3 {
        cess_flow(&stub.base_url()).acquire(&t).await.unwrap();
    }
    assert_eq!(stub.connections(), 1, "one multiplexed connection");
    let stub = Stub::builder(fast_config())
        .tls(Tls::SelfSigned)
        .start()
        .await
        .unwrap();
    let ca = stub.ca_pem().unwrap().as_bytes();
    let t = T::make(&h2, Some(ca)).unwrap();
    cognito_flow(&stub.base_url()).acquire(&t).await.unwrap();
}

macro_rules! suite {
    ($name:ident, $transport:ty) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn tls_is_trusted_as_configured() {
                super::tls_is_trusted_as_configured::<$transport>().await
            }

            #[tokio::test]
            async fn connections_are_reused_or_new_as_asked() {
                super::connections_are_reused_or_new_as_asked::<$transport>().await
            }

            #[tokio::test]
            async fn connections_are_kept_per_origin() {
                super::connections_are_kept_per_origin::<$transport>().await
            }

            #[tokio::test]
            async fn the_request_line_is_origin_form_and_names_the_host() {
                super::the_request_line_is_origin_form_and_names_the_host::<$transport>().await
            }

            #[tokio::test]
            async fn a_connection_the_server_closed_is_not_used_again() {
                super::a_connection_the_server_closed_is_not_used_again::<$transport>().await
            }

            #[tokio::test]
            async fn a_request_that_never_reached_a_closed_connection_goes_on_another() {
                super::a_request_that_never_reached_a_closed_connection_goes_on_another::<$transport>().await
            }

            #[tokio::test]
            async fn timeouts_and_dead_servers_are_typed() {
                super::timeouts_and_dead_servers_are_typed::<$transport>().await
            }

            #[tokio::test]
            async fn bodies_are_bounded_and_truncation_is_a_body_error() {
                super::bodies_are_bounded_and_truncation_is_a_body_error::<$transport>().await
            }

            #[tokio::test]
            async fn a_silent_tls_server_is_a_connect_timeout() {
                super::a_silent_tls_server_is_a_connect_timeout::<$transport>().await
            }

            #[tokio::test]
            async fn http2_works_in_clear_and_over_tls() {
                super::http2_works_in_clear_and_over_tls::<$transport>().await
            }
        }
    };
}

suite!(reqwest_transport, Transport);
suite!(direct_transport, DirectTransport);
