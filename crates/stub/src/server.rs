//! The listener: accepts connections (TLS optional), serves HTTP/1.1 and
//! HTTP/2 with hyper, applies each route's faults, answers, logs one line
//! per request, and shuts down gracefully.
//!
//! hyper directly rather than a router framework: a connection reset must
//! reach the socket of the one connection it belongs to, and the routes
//! are a fixed table (`Route::of`).

use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::fault::{Outcome, Plan};
use crate::route::{Route, RouteKey};
use crate::systems::{self, State, plain};

/// Requests per route, and those that matched no route.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    per_route: [AtomicU64; Route::ALL.len()],
    unrouted: AtomicU64,
    resets: AtomicU64,
    connections: AtomicU64,
}

impl Counters {
    fn count(&self, route: Option<Route>) {
        let slot = match route {
            Some(r) => Route::ALL
                .iter()
                .position(|x| *x == r)
                .and_then(|i| self.per_route.get(i)),
            None => Some(&self.unrouted),
        };
        if let Some(c) = slot {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn requests(&self, route: Route) -> u64 {
        Route::ALL
            .iter()
            .position(|x| *x == route)
            .and_then(|i| self.per_route.get(i))
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    pub(crate) fn unrouted(&self) -> u64 {
        self.unrouted.load(Ordering::Relaxed)
    }

    pub(crate) fn resets(&self) -> u64 {
        self.resets.load(Ordering::Relaxed)
    }

    pub(crate) fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
}

/// The service's error: the connection is to be reset, not answered.
#[derive(Debug)]
struct ResetConnection;

impl std::fmt::Display for ResetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by fault injection")
    }
}

impl std::error::Error for ResetConnection {}

/// A second handle on a connection's socket, so that a reset fault can set
/// `SO_LINGER` to zero: when hyper then drops the connection, the kernel
/// sends RST instead of FIN.
struct Resetter(Mutex<Option<socket2::Socket>>);

impl Resetter {
    fn new(stream: &TcpStream) -> Self {
        let dup = stream
            .as_fd()
            .try_clone_to_owned()
            .ok()
            .map(socket2::Socket::from);
        Resetter(Mutex::new(dup))
    }

    fn arm(&self) {
        if let Ok(mut slot) = self.0.lock() {
            if let Some(socket) = slot.take() {
                let _ = socket.set_linger(Some(Duration::ZERO));
            }
        }
    }
}

pub(crate) struct Shared {
    pub(crate) state: State,
    pub(crate) counters: Counters,
}

/// Accepts until `stop` changes, then lets open requests finish (at most
/// `grace`).
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: pause, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        shared.counters.connections.fetch_add(1, Ordering::Relaxed);
        let resetter = Arc::new(Resetter::new(&stream));
        let shared = shared.clone();
        let service = service_fn(move |req| {
            let (shared, resetter) = (shared.clone(), resetter.clone());
            async move { handle(&shared, req, &resetter).await }
        });
        match &tls {
            None => {
                let conn = builder.serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn.into_owned());
                tokio::spawn(conn);
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let builder = builder.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    match acceptor.accept(stream).await {
                        Ok(tls) => {
                            let conn = builder.serve_connection(TokioIo::new(tls), service);
                            let _ = watcher.watch(conn.into_owned()).await;
                        }
                        Err(e) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    }
                });
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(grace, graceful.shutdown()).await;
}

async fn handle(
    shared: &Shared,
    req: Request<Incoming>,
    resetter: &Resetter,
) -> Result<Response<Full<Bytes>>, ResetConnection> {
    let arrived = Instant::now();
    let state = &shared.state;
    let route = Route::of(req.uri().path());
    shared.counters.count(route);
    let plan = route
        .and_then(|r| state.config.faults_for(RouteKey::Route(r)))
        .map(|f| f.plan(arrived - state.started, &mut rand::rng()));
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());

    let (parts, body) = req.into_parts();
    let res = match Limited::new(body, state.config.max_body_bytes)
        .collect()
        .await
    {
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
        }
        // The client went away mid-body: nothing to answer.
        Err(_) => return Err(ResetConnection),
        Ok(body) => {
            let req = Request::from_parts(parts, body.to_bytes());
            match (route, plan) {
                (None, _) => plain(StatusCode::NOT_FOUND, "no such endpoint"),
                (Some(route), plan) => {
                    let Plan { hold, outcome } = plan.unwrap_or(Plan {
                        hold: Duration::ZERO,
                        outcome: Outcome::Answer,
                    });
                    if !hold.is_zero() {
                        tokio::time::sleep_until((arrived + hold).into()).await;
                    }
                    match outcome {
                        Outcome::Reset => {
                            shared.counters.resets.fetch_add(1, Ordering::Relaxed);
                            resetter.arm();
                            log(route.name(), &method, &path, None, arrived);
                            return Err(ResetConnection);
                        }
                        Outcome::Error(res) => res,
                        Outcome::Answer => systems::answer(state, route, &req),
                    }
                }
            }
        }
    };
    log(
        route.map_or("-", Route::name),
        &method,
        &path,
        Some(res.status()),
        arrived,
    );
    Ok(res.map(Full::new))
}

/// One line per request; the path only (no query, no headers, no body),
/// so no secret can reach the log.
fn log(route: &str, method: &http::Method, path: &str, status: Option<StatusCode>, since: Instant) {
    let ms = since.elapsed().as_secs_f64() * 1000.0;
    match status {
        Some(s) => tracing::info!(
            target: "tokenprobe_stub::access",
            "{method} {path} {route} {} {ms:.1}ms",
            s.as_u16()
        ),
        None => tracing::info!(
            target: "tokenprobe_stub::access",
            "{method} {path} {route} reset {ms:.1}ms"
        ),
    }
}
