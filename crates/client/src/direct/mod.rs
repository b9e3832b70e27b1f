//! The load path's transport: hyper with rustls, and nothing else per
//! request (HTTP/1.1 on connections it drives itself, [`http1`]; HTTP/2
//! on hyper-util's client). [`crate::Transport`] (reqwest) converts every
//! request to its own types, clones its client and connector and matches
//! proxies; at thousands of acquisitions a second on a core the server
//! also needs, that cost shows in the latencies measured. This one takes
//! the `http::Request` the protocol crate built as it is.
//!
//! It keeps [`crate::Transport`]'s contract: the same [`HttpOptions`]
//! (timeouts, connection reuse or a new connection per request, CA file,
//! `insecure`, body limit, HTTP/2), the same error kinds, and the same
//! tests (`crates/conformance/tests/transports.rs` runs one suite on both).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::error::{ClientError, ErrorKind};
use crate::tls::ClientIdentity;
use crate::transport::{Answer, Exchange, HttpOptions};

mod http1;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

type Connector = Timed<HttpsConnector<HttpConnector>>;

/// Where requests go out.
#[derive(Clone)]
enum Wire {
    /// HTTP/1.1: connections of its own, driven directly.
    Http1(Arc<http1::Connections<Connector>>),
    /// HTTP/2: hyper-util's client, which multiplexes each connection.
    Http2(Box<Client<Connector, Full<Bytes>>>),
}

/// Sends requests on hyper. Cheap to clone (the connections are shared).
///
/// It sends through one set of connections; a load worker takes a set of
/// its own ([`DirectTransport::worker_pool`]), so that threads never
/// contend for one set's lock (what kept one shared pool from scaling
/// past a core).
#[derive(Clone)]
pub struct DirectTransport {
    /// The connections this value sends through.
    wire: Wire,
    /// One set per load worker, one worker per core.
    workers: Arc<[Wire]>,
    timeout: Duration,
    max_body: u64,
}

impl std::fmt::Debug for DirectTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectTransport")
            .field("timeout", &self.timeout)
            .field("max_body", &self.max_body)
            .finish_non_exhaustive()
    }
}

impl DirectTransport {
    /// A transport with `options`; the CA file is read now, and one that
    /// holds no certificate is an error naming it.
    pub fn new(options: &HttpOptions) -> Result<DirectTransport, ClientError> {
        DirectTransport::with(options, None, None)
    }

    /// A transport that also trusts the CA certificates in `ca_pem` (a
    /// stub started for the run) and presents `identity` to a server
    /// that asks for a client certificate.
    pub fn with(
        options: &HttpOptions,
        ca_pem: Option<&[u8]>,
        identity: Option<&ClientIdentity>,
    ) -> Result<DirectTransport, ClientError> {
        let mut extra = crate::tls::ca_file_roots(options.ca_file.as_deref())?;
        extra.extend(crate::tls::pem_roots(ca_pem)?);
        let mut tls = crate::tls::client_config(&extra, options.insecure, options.http2, identity)?;
        // hyper-rustls sets ALPN itself, from the protocols enabled below.
        tls.alpn_protocols.clear();
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http();
        let https = match options.http2 {
            true => https.enable_http2().wrap_connector(tcp),
            false => https.enable_http1().wrap_connector(tcp),
        };
        let connector = Timed {
            inner: https,
            timeout: Duration::from_millis(options.connect_timeout_ms),
        };
        let wire = || match options.http2 {
            false => Wire::Http1(Arc::new(http1::Connections::new(
                connector.clone(),
                options.reuse_connections,
            ))),
            true => {
                let mut builder = Client::builder(TokioExecutor::new());
                builder
                    .pool_timer(TokioTimer::new())
                    .timer(TokioTimer::new())
                    .http2_only(true);
                if !options.reuse_connections {
                    builder.pool_max_idle_per_host(0);
                }
                Wire::Http2(Box::new(builder.build(connector.clone())))
            }
        };
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Ok(DirectTransport {
            wire: wire(),
            workers: (0..cores).map(|_| wire()).collect(),
            timeout: Duration::from_millis(options.timeout_ms),
            max_body: options.max_body_bytes,
        })
    }

    /// The same transport on the connections of load worker `index` only
    /// (one per core): a worker's connections then belong to its own
    /// runtime, no other thread reads or writes them, and they stay open
    /// from one drive to the next (the steps of a search).
    pub fn worker_pool(&self, index: usize) -> DirectTransport {
        DirectTransport {
            wire: self.workers[index % self.workers.len()].clone(),
            ..self.clone()
        }
    }

    /// Sends one request and reads the whole answer, up to the body limit,
    /// within the whole-request timeout.
    pub async fn send(&self, req: Request<Bytes>) -> Result<Answer, ClientError> {
        match tokio::time::timeout(self.timeout, self.exchange(req)).await {
            Ok(answer) => answer,
            Err(_) => Err(ClientError::new(
                ErrorKind::Timeout,
                format!("no whole answer within {} ms", self.timeout.as_millis()),
            )),
        }
    }

    async fn exchange(&self, req: Request<Bytes>) -> Result<Answer, ClientError> {
        let (res, connection) = match &self.wire {
            Wire::Http1(connections) => {
                let (res, connection) = connections.send(req).await?;
                (res, Some((connections, connection)))
            }
            Wire::Http2(client) => {
                let res = client.request(req.map(Full::new)).await;
                (res.map_err(|e| classify(&e))?, None)
            }
        };
        let (parts, body) = res.into_parts();
        let status = parts.status;
        let too_large = || {
            ClientError::new(
                ErrorKind::TooLarge,
                format!("the response body is over {} bytes", self.max_body),
            )
            .with_status(status)
        };
        let declared = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        // A declared length over the limit is refused before any of it is
        // read; dropping the body closes the connection.
        if declared.is_some_and(|n| n > self.max_body) {
            return Err(too_large());
        }
        let limit = usize::try_from(self.max_body).unwrap_or(usize::MAX);
        let body = match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(too_large()),
            Err(e) => {
                let message = crate::error::chain(e.as_ref());
                return Err(ClientError::new(ErrorKind::Body, message).with_status(status));
            }
        };
        if let Some((connections, connection)) = connection {
            connections.put_back(connection);
        }
        Ok(Answer {
            status,
            headers: parts.headers,
            body,
        })
    }
}

impl Exchange for DirectTransport {
    fn send(
        &self,
        req: Request<Bytes>,
    ) -> impl Future<Output = Result<Answer, ClientError>> + Send {
        DirectTransport::send(self, req)
    }
}

/// The kind of a failure before the answer's head, as the reqwest
/// transport reports it: a connect that timed out is `timeout`, a TLS
/// failure `tls`, anything else (refused, reset, closed early) `connect`.
fn classify(e: &(dyn std::error::Error + 'static)) -> ClientError {
    let kind = if crate::error::has_cause(e, |c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
    }) {
        ErrorKind::Timeout
    } else if crate::error::is_tls(e) {
        ErrorKind::Tls
    } else {
        ErrorKind::Connect
    };
    ClientError::new(kind, crate::error::chain(e))
}

/// A connector whose whole connect (TCP, then TLS) has a deadline: hyper's
/// own bounds the TCP part only.
#[derive(Clone)]
struct Timed<C> {
    inner: C,
    timeout: Duration,
}

impl<C> tower_service::Service<Uri> for Timed<C>
where
    C: tower_service::Service<Uri> + Send,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let (connecting, timeout) = (self.inner.call(uri), self.timeout);
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(connected) => connected.map_err(Into::into),
                Err(_) => Err(Box::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("connect timed out after {} ms", timeout.as_millis()),
                )) as BoxError),
            }
        })
    }
}
