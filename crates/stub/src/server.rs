//! The listener: accepts connections (TLS optional), serves HTTP/1.1 and
//! HTTP/2 with hyper, applies each route's faults, answers, logs one line
//! per request, and shuts down gracefully.
//!
//! hyper directly rather than a router framework: a connection reset must
//! reach the socket of the one connection it belongs to, and the routes
//! are a fixed table (`Route::of`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

use crate::conn::{Admit, Conn, SharedStream, Table};
use crate::fault::{Action, Decision};
use crate::route::{Route, RouteKey};
use crate::systems::{self, ROUTE_COUNT, State, plain};

/// Requests per route, and those that matched no route.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    per_route: [AtomicU64; ROUTE_COUNT],
    unrouted: AtomicU64,
    resets: AtomicU64,
    connections: AtomicU64,
    /// Connections being served now, and the most at once.
    open: AtomicU64,
    peak_open: AtomicU64,
}

impl Counters {
    fn count(&self, route: Option<Route>) {
        let slot = match route {
            Some(r) => r.index().and_then(|i| self.per_route.get(i)),
            None => Some(&self.unrouted),
        };
        if let Some(c) = slot {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn requests(&self, route: Route) -> u64 {
        route
            .index()
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

    pub(crate) fn open(&self) -> (u64, u64) {
        (
            self.open.load(Ordering::SeqCst),
            self.peak_open.load(Ordering::SeqCst),
        )
    }

    fn opened(&self) {
        let now = self.open.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak_open.fetch_max(now, Ordering::SeqCst);
    }

    fn closed(&self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
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

pub(crate) struct Shared {
    pub(crate) state: State,
    pub(crate) counters: Counters,
    /// The routes with a capacity fault, and when each of their slots is
    /// free next.
    pub(crate) slots: BTreeMap<Route, Slots>,
}

/// A capacity fault's serving slots, each on a timeline of deadlines. A
/// request waits its turn for a slot (FIFO; a client that goes away
/// gives its place up), and is served for exactly the service time from
/// when the slot was free: right after the one before it when it had to
/// wait, so a timer that wakes late delays that answer by its lateness
/// but never the slot's next one. The route serves `slots / service` a
/// second exactly, not what rounded sleeps one after another add up to.
pub(crate) struct Slots {
    permits: Semaphore,
    free_at: std::sync::Mutex<Vec<Instant>>,
    service: Duration,
}

impl Slots {
    fn new(slots: usize, service: Duration) -> Slots {
        Slots {
            permits: Semaphore::new(slots),
            free_at: std::sync::Mutex::new(vec![Instant::now(); slots]),
            service,
        }
    }

    /// Waits for a slot and holds it for the service time.
    pub(crate) async fn serve(&self) {
        let (_permit, waited) = match self.permits.try_acquire() {
            Ok(p) => (p, false),
            Err(_) => match self.permits.acquire().await {
                Ok(p) => (p, true),
                Err(_) => return,
            },
        };
        let done = {
            let mut free_at = self
                .free_at
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let Some(slot) = free_at.iter_mut().min() else {
                return;
            };
            let start = match waited {
                true => *slot,
                false => (*slot).max(Instant::now()),
            };
            *slot = start + self.service;
            *slot
        };
        tokio::time::sleep_until(done.into()).await;
    }
}

impl Shared {
    pub(crate) fn new(state: State) -> Shared {
        let slots = Route::all()
            .iter()
            .copied()
            .filter_map(|route| {
                let c = state.config.faults_for(RouteKey::Route(route))?.capacity?;
                Some((route, Slots::new(c.slots, c.service)))
            })
            .collect();
        Shared {
            state,
            counters: Counters::default(),
            slots,
        }
    }
}

/// One connection's part in answering its requests.
struct Served {
    shared: Arc<Shared>,
    table: Arc<Table>,
    conn: Arc<Conn>,
    stream: SharedStream,
    /// The certificate the client presented in the TLS handshake, if any.
    peer: std::sync::OnceLock<Bytes>,
}

/// Accepts until `stop` changes, then lets open requests finish (at most
/// `grace`). Idle and slow connections are closed by their timeouts, and
/// at the connection cap the one idle the longest makes room.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    let limits = shared.state.config.connections.clone();
    let table = Arc::new(Table::new(
        limits.max,
        Duration::from_millis(limits.idle_timeout_ms),
    ));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms));
    let handshake = Duration::from_millis(limits.tls_handshake_timeout_ms);
    let mut refused = 0u64;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: pause, go on.
                    tracing::warn!(error = %e, open = table.len(), "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let (id, conn, displaced) = match table.admit() {
            Admit::Serve(id, conn, displaced) => (id, conn, displaced),
            Admit::Full => {
                refused += 1;
                if refused.is_power_of_two() {
                    tracing::warn!(
                        max = limits.max,
                        refused,
                        "connection cap reached, every connection busy: closing new ones"
                    );
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        shared.counters.connections.fetch_add(1, Ordering::Relaxed);
        let stream = SharedStream::new(stream);
        // What each request of this connection needs, behind one Arc.
        let served = Arc::new(Served {
            shared: shared.clone(),
            table: table.clone(),
            conn: conn.clone(),
            stream: stream.clone(),
            peer: std::sync::OnceLock::new(),
        });
        let peer_slot = served.clone();
        let service = service_fn(move |req| {
            let served = served.clone();
            async move {
                let _busy = served.table.busy(&served.conn);
                handle(&served.shared, req, &served.stream, served.peer.get()).await
            }
        });
        let (builder, watcher, tls, table, counters) = (
            builder.clone(),
            graceful.watcher(),
            tls.clone(),
            table.clone(),
            shared.clone(),
        );
        tokio::spawn(async move {
            // At the cap: served once the connection it displaced is closed,
            // so that no more than `max` are ever open at once.
            if let Some(old) = displaced {
                let _ = tokio::time::timeout(Duration::from_secs(1), old.closed()).await;
            }
            counters.counters.opened();
            let served = async {
                match tls {
                    None => {
                        let conn = builder.serve_connection(TokioIo::new(stream), service);
                        let _ = watcher.watch(conn.into_owned()).await;
                    }
                    Some(acceptor) => {
                        match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
                            Ok(Ok(tls)) => {
                                let leaf =
                                    tls.get_ref().1.peer_certificates().and_then(|c| c.first());
                                if let Some(leaf) = leaf {
                                    let _ = peer_slot.peer.set(Bytes::copy_from_slice(leaf));
                                }
                                let conn = builder.serve_connection(TokioIo::new(tls), service);
                                let _ = watcher.watch(conn.into_owned()).await;
                            }
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            }
                            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                        }
                    }
                }
            };
            // Dropping the connection closes it: idle too long, or made room.
            tokio::select! {
                () = served => {}
                () = table.until_closed(&conn) => {}
            }
            // Counted closed before it leaves the table: a connection
            // admitted in its place then never finds it still counted.
            counters.counters.closed();
            table.remove(id);
            conn.gone();
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(grace, graceful.shutdown()).await;
}

async fn handle(
    shared: &Shared,
    req: Request<Incoming>,
    stream: &SharedStream,
    peer: Option<&Bytes>,
) -> Result<Response<Full<Bytes>>, ResetConnection> {
    let arrived = Instant::now();
    let state = &shared.state;
    let route = Route::of(req.uri().path());
    shared.counters.count(route);
    let decision = route
        .and_then(|r| state.config.faults_for(RouteKey::Route(r)))
        .map(|f| f.decide(arrived - state.started, &mut rand::rng()));
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
            let mut req = Request::from_parts(parts, body.to_bytes());
            if let Some(leaf) = peer {
                req.extensions_mut()
                    .insert(crate::tls::PeerCertificate(leaf.clone()));
            }
            match (route, decision) {
                (None, _) => plain(StatusCode::NOT_FOUND, "no such endpoint"),
                (Some(route), decision) => {
                    let Decision { hold, action } = decision.unwrap_or(Decision {
                        hold: Duration::ZERO,
                        action: Action::Answer,
                    });
                    if !hold.is_zero() {
                        tokio::time::sleep_until((arrived + hold).into()).await;
                    }
                    if let Some(slots) = shared.slots.get(&route) {
                        slots.serve().await;
                    }
                    match action {
                        Action::Reset => {
                            shared.counters.resets.fetch_add(1, Ordering::Relaxed);
                            stream.reset_on_close();
                            log(route.name(), &method, &path, None, arrived);
                            return Err(ResetConnection);
                        }
                        Action::Error(res) => res,
                        Action::Answer => systems::answer(state, route, &req),
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
