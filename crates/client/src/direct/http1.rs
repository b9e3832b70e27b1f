//! HTTP/1.1 connections driven directly (hyper's `client::conn`), kept by
//! one [`super::DirectTransport`]: a load worker's own. hyper-util's pool,
//! which this replaces on the load path, is built for any number of
//! threads and hosts: each request checks a connection out through a lock
//! and a table keyed by host, wraps it, spawns a task to put it back, and
//! allocates for each. Here a request takes the last connection put back
//! to its origin from a short list, and the caller puts it back when the
//! answer is read whole.
//!
//! It keeps what that client did for us: the `Host` header and the
//! origin-form target HTTP/1.1 asks for, a connection the server closed
//! while idle left behind, a request that never reached such a
//! connection sent again on a new one (a close that crosses a request
//! already written stays an error, as with any client), and idle
//! connections closed after [`IDLE`].

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::HOST;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Request, Response, Uri, Version};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use tower_service::Service;

use crate::error::{ClientError, ErrorKind};

/// Where a connection goes: the scheme and authority of the URL.
#[derive(Clone, PartialEq, Eq)]
struct Origin {
    scheme: Scheme,
    authority: Authority,
}

impl Origin {
    /// The origin of an absolute URL; anything else is the caller's bug,
    /// reported as a configuration error.
    fn of(uri: &Uri) -> Result<Origin, ClientError> {
        match (uri.scheme(), uri.authority()) {
            (Some(scheme), Some(authority)) => Ok(Origin {
                scheme: scheme.clone(),
                authority: authority.clone(),
            }),
            _ => Err(ClientError::new(
                ErrorKind::Config,
                "a request needs an absolute URL (scheme and host)",
            )),
        }
    }

    /// The `Host` header: the host, and the port unless it is the
    /// scheme's own (never the URL's user information).
    fn host(&self) -> Result<HeaderValue, ClientError> {
        let default = match self.scheme.as_str() {
            "https" => 443,
            _ => 80,
        };
        let host = self.authority.host();
        let value = match self.authority.port_u16() {
            Some(port) if port != default => HeaderValue::try_from(format!("{host}:{port}")),
            _ => HeaderValue::from_str(host),
        };
        value.map_err(|_| {
            ClientError::new(ErrorKind::Config, "the URL's host is not a valid header")
        })
    }
}

/// How long a connection stays idle before it is closed: hyper-util's
/// default, which a burst's extra connections, or one to an origin a run
/// used once (discovery), would otherwise outlive until the server
/// closes them.
pub(super) const IDLE: Duration = Duration::from_secs(90);

/// A connection and what each request on it needs.
pub(super) struct Connection {
    origin: Origin,
    host: HeaderValue,
    sender: SendRequest<Full<Bytes>>,
    /// When it was last put back.
    idle_since: Instant,
}

impl Connection {
    /// Closed by either side, or idle too long to keep.
    fn is_spent(&self, now: Instant) -> bool {
        self.sender.is_closed() || now.saturating_duration_since(self.idle_since) >= IDLE
    }
}

/// The connections of one transport, idle ones listed by origin.
pub(super) struct Connections<C> {
    connector: C,
    /// Put back after each answer read whole; `false`: a new connection
    /// per request.
    reuse: bool,
    idle: Mutex<Vec<Connection>>,
}

impl<C> Connections<C>
where
    C: Service<Uri> + Clone + Send + 'static,
    C::Response: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    C::Future: Send,
    C::Error: Into<super::BoxError>,
{
    pub(super) fn new(connector: C, reuse: bool) -> Self {
        Connections {
            connector,
            reuse,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Sends `req` and returns the answer's head, with the connection to
    /// hand to [`Connections::put_back`] once its body is read.
    pub(super) async fn send(
        &self,
        mut req: Request<Bytes>,
    ) -> Result<(Response<Incoming>, Connection), ClientError> {
        let origin = Origin::of(req.uri())?;
        if !matches!(req.version(), Version::HTTP_11 | Version::HTTP_10) {
            return Err(ClientError::new(
                ErrorKind::Config,
                format!(
                    "an HTTP/1.1 connection cannot send a {:?} request",
                    req.version()
                ),
            ));
        }
        let target = match req.uri().path_and_query() {
            Some(path) => path.clone(),
            None => PathAndQuery::from_static("/"),
        };
        *req.uri_mut() = Uri::from(target);
        let mut req = req.map(Full::new);
        loop {
            let (mut conn, reused) = match self.take(&origin) {
                Some(conn) => (conn, true),
                None => (self.connect(&origin).await?, false),
            };
            // A new connection takes its first request at once (hyper
            // buffers one), so that a failure on it (a TLS alert after the
            // handshake) is the error the request gets, cause and all.
            if reused && conn.sender.ready().await.is_err() {
                continue;
            }
            req.headers_mut()
                .entry(HOST)
                .or_insert_with(|| conn.host.clone());
            match conn.sender.try_send_request(req).await {
                Ok(res) => return Ok((res, conn)),
                Err(mut e) => match e.take_message() {
                    // Never written to a connection the server had closed:
                    // send it on another.
                    Some(unsent) if reused => req = unsent,
                    _ => return Err(super::classify(e.error())),
                },
            }
        }
    }

    /// Lists `conn` as idle again, if connections are reused and it is
    /// open; the longest idle one goes if it is spent (one at a time, so
    /// that no request pays for a sweep).
    pub(super) fn put_back(&self, mut conn: Connection) {
        if !self.reuse || conn.sender.is_closed() {
            return;
        }
        let now = Instant::now();
        conn.idle_since = now;
        let mut idle = self.lock();
        if idle.first().is_some_and(|c| c.is_spent(now)) {
            idle.remove(0);
        }
        idle.push(conn);
    }

    /// The last connection put back to `origin` that is still open; spent
    /// ones are dropped on the way.
    fn take(&self, origin: &Origin) -> Option<Connection> {
        let now = Instant::now();
        let mut idle = self.lock();
        loop {
            let at = idle.iter().rposition(|c| c.origin == *origin)?;
            let conn = idle.remove(at);
            if !conn.is_spent(now) {
                return Some(conn);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // The list holds no invariant a panic could break.
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new connection to `origin` (TCP, TLS for `https`, within the
    /// connect timeout), driven by a task on the calling thread's runtime.
    async fn connect(&self, origin: &Origin) -> Result<Connection, ClientError> {
        let uri = Uri::builder()
            .scheme(origin.scheme.clone())
            .authority(origin.authority.clone())
            .path_and_query("/")
            .build()
            .map_err(|e| ClientError::new(ErrorKind::Config, e.to_string()))?;
        let host = origin.host()?;
        let mut connector = self.connector.clone();
        std::future::poll_fn(|cx| connector.poll_ready(cx))
            .await
            .map_err(|e| super::classify(e.into().as_ref()))?;
        let io = connector
            .call(uri)
            .await
            .map_err(|e| super::classify(e.into().as_ref()))?;
        let (sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| super::classify(&e))?;
        tokio::spawn(async move {
            // Its end (closed, reset) shows in the request that was on it.
            let _ = connection.await;
        });
        Ok(Connection {
            origin: origin.clone(),
            host,
            sender,
            idle_since: Instant::now(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper_util::rt::TokioIo;
    use tokio::io::DuplexStream;

    /// A connection to `url` over an in-memory pipe, whose other end is
    /// returned, put back `idle_for` ago.
    async fn piped(url: &str, idle_for: Duration) -> (Connection, DuplexStream) {
        let (ours, theirs) = tokio::io::duplex(4096);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(ours))
            .await
            .unwrap();
        tokio::spawn(connection);
        let origin = Origin::of(&url.parse().unwrap()).unwrap();
        let conn = Connection {
            host: origin.host().unwrap(),
            origin,
            sender,
            idle_since: Instant::now().checked_sub(idle_for).unwrap(),
        };
        (conn, theirs)
    }

    /// Connections that only `put_back` and `take` touch.
    #[derive(Clone)]
    struct NoConnect;

    impl Service<Uri> for NoConnect {
        type Response = TokioIo<DuplexStream>;
        type Error = std::io::Error;
        type Future = std::future::Ready<Result<Self::Response, Self::Error>>;
        fn poll_ready(
            &mut self,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: Uri) -> Self::Future {
            std::future::ready(Err(std::io::Error::other("this test opens none")))
        }
    }

    #[tokio::test]
    async fn a_connection_is_spent_once_closed_or_idle_too_long() {
        let (fresh, _peer) = piped("http://a.test/", Duration::ZERO).await;
        assert!(!fresh.is_spent(Instant::now()));
        let (stale, _peer) = piped("http://a.test/", IDLE).await;
        assert!(stale.is_spent(Instant::now()));
        let (closed, peer) = piped("http://a.test/", Duration::ZERO).await;
        drop(peer);
        for _ in 0..500 {
            if closed.sender.is_closed() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(closed.is_spent(Instant::now()), "the peer hung up");
    }

    /// `take` passes over a spent connection to its origin; `put_back`
    /// drops the longest idle one when it is spent, whatever its origin.
    #[tokio::test]
    async fn spent_connections_are_neither_taken_nor_kept() {
        let connections = Connections::new(NoConnect, true);
        let (a_fresh, _a1) = piped("http://a.test/", Duration::ZERO).await;
        let (a_stale, _a2) = piped("http://a.test/", IDLE).await;
        connections.lock().extend([a_fresh, a_stale]);
        let a = Origin::of(&"http://a.test/".parse().unwrap()).unwrap();
        let taken = connections.take(&a).expect("the fresh one");
        assert!(!taken.is_spent(Instant::now()));
        assert!(connections.lock().is_empty(), "the stale one dropped");

        let (b_stale, _b1) = piped("http://b.test/", IDLE).await;
        connections.lock().push(b_stale);
        connections.put_back(taken);
        let idle = connections.lock();
        assert_eq!(idle.len(), 1, "b's stale connection dropped");
        assert!(idle[0].origin == a);
    }

    fn host(url: &str) -> String {
        let origin = Origin::of(&url.parse().unwrap()).unwrap();
        origin.host().unwrap().to_str().unwrap().to_owned()
    }

    /// RFC 9110 §7.2: the host and port of the target URI, the port left
    /// out when it is the scheme's default; no user information.
    #[test]
    fn the_host_header_is_the_host_and_any_other_port() {
        assert_eq!(host("https://idp.example:443/token"), "idp.example");
        assert_eq!(host("http://idp.example:80/token"), "idp.example");
        assert_eq!(host("https://idp.example:8443/token"), "idp.example:8443");
        assert_eq!(host("http://idp.example:443/token"), "idp.example:443");
        assert_eq!(host("http://[::1]:8080/"), "[::1]:8080");
        assert_eq!(host("https://[::1]/"), "[::1]");
        assert_eq!(
            host("https://user:pw@idp.example:8443/"),
            "idp.example:8443"
        );
    }
}
