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
//! while idle left behind, and a request that never reached such a
//! connection sent again on a new one (so a server's idle timeout is not
//! an error in the counts).

use std::sync::Mutex;

use bytes::Bytes;
use http::header::HOST;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Request, Response, Uri};
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

/// A connection and what each request on it needs.
pub(super) struct Connection {
    origin: Origin,
    host: HeaderValue,
    sender: SendRequest<Full<Bytes>>,
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
            if conn.sender.ready().await.is_err() {
                if reused {
                    continue;
                }
                return Err(ClientError::new(
                    ErrorKind::Connect,
                    "the connection closed before the request was sent",
                ));
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

    /// Lists `conn` as idle again, if connections are reused and it is open.
    pub(super) fn put_back(&self, conn: Connection) {
        if self.reuse && !conn.sender.is_closed() {
            self.lock().push(conn);
        }
    }

    /// The last connection put back to `origin` that is still open; those
    /// the server closed meanwhile are dropped on the way.
    fn take(&self, origin: &Origin) -> Option<Connection> {
        let mut idle = self.lock();
        loop {
            let at = idle.iter().rposition(|c| c.origin == *origin)?;
            let conn = idle.remove(at);
            if !conn.sender.is_closed() {
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
