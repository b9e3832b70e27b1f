//! A server that behaves like the five documented token endpoints (Veeva
//! Vault, VaultID CESS, Venafi TPP, RFC 6749 client credentials as Amazon
//! Cognito serves it, VMware Cloud Director) on one listener, so that the
//! whole toolkit runs on a laptop with no staging at hand.
//!
//! Every contract rule comes from `tokenprobe-protocol`'s server side; this
//! crate adds accounts, token state, fault injection (latency, errors,
//! resets, stalls, a scheduled stall window) and quirks that break a named
//! contract on purpose.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tokenprobe_stub::StartError> {
//! let stub = tokenprobe_stub::Stub::start(tokenprobe_stub::Config::default()).await?;
//! println!("serving on {}", stub.base_url());
//! stub.shutdown().await;
//! # Ok(()) }
//! ```

mod client_certs;
mod client_keys;
mod config;
mod conn;
mod dpop;
mod fault;
mod replays;
mod route;
mod server;
mod systems;
mod tls;
mod tokens;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokenprobe_protocol::BaseUrl;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{
    Config, Connections, DEMO_ID, DEMO_OTP, DEMO_PASSWORD, DEMO_SECRET, Invalid, JwtConfig,
};
pub use fault::{
    Capacity, ErrorFault, FaultError, Latency, LatencyDistribution, Probability, Reset,
    RouteFaults, Stall, StallWindow,
};
pub use route::{DEMAND, Quirk, Route, RouteKey};
pub use tls::{Tls, TlsError};
pub use tokens::KeyError;

use server::Shared;
/// Each system's accounts.
pub use systems::*;

/// Why the stub did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The JWT key.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// TLS setup.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// Starts stubs.
pub struct Stub;

impl Stub {
    /// Starts on `127.0.0.1` at a free port, plain HTTP.
    pub async fn start(config: Config) -> Result<StubHandle, StartError> {
        Stub::builder(config).start().await
    }

    /// A stub with a chosen address or TLS.
    pub fn builder(config: Config) -> StubBuilder {
        StubBuilder {
            config,
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: None,
            grace: Duration::from_secs(5),
        }
    }
}

/// Options beyond the configuration file.
#[must_use]
pub struct StubBuilder {
    config: Config,
    listen: SocketAddr,
    tls: Option<Tls>,
    grace: Duration,
}

impl StubBuilder {
    /// Where to listen (port 0: any free port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Serve HTTPS.
    pub fn tls(mut self, tls: Tls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// How long shutdown waits for requests in flight.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Binds, makes keys, and serves in the background.
    pub async fn start(self) -> Result<StubHandle, StartError> {
        let signer = tokens::JwtSigner::new(&self.config.jwt)?;
        let clients = systems::Clients::new(&self.config)?;
        let (acceptor, ca_pem) = match &self.tls {
            Some(tls) => {
                let (config, ca) = tls::server_config(tls, clients.take_certificates())?;
                (Some(tokio_rustls::TlsAcceptor::from(config)), ca)
            }
            None => (None, None),
        };
        let listener = TcpListener::bind(self.listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: self.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: self.listen,
            source,
        })?;
        let shared = Arc::new(Shared::new(State {
            config: self.config,
            signer,
            opaque: tokens::OpaqueTokens::new(),
            started: Instant::now(),
            verified: Default::default(),
            clients,
            tls: acceptor.is_some(),
        }));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(server::serve(
            listener,
            acceptor,
            shared.clone(),
            stopped,
            self.grace,
        ));
        Ok(StubHandle {
            addr,
            tls: self.tls.is_some(),
            ca_pem,
            shared,
            stop,
            task: Some(task),
        })
    }
}

/// A running stub. Dropping it stops the listener; [`StubHandle::shutdown`]
/// also waits for requests in flight.
pub struct StubHandle {
    addr: SocketAddr,
    tls: bool,
    ca_pem: Option<String>,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl StubHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:port` or `https://…`; the generated certificate
    /// names `localhost`, `127.0.0.1` and `::1`.
    pub fn base_url(&self) -> BaseUrl {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
            .parse()
            .expect("a socket address makes a base URL")
    }

    /// The PEM of the CA that signed the generated certificate.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.shared.state.config
    }

    /// Requests that reached `route` so far (faulted ones included).
    pub fn requests(&self, route: Route) -> u64 {
        self.shared.counters.requests(route)
    }

    /// Requests to paths no system has.
    pub fn unrouted_requests(&self) -> u64 {
        self.shared.counters.unrouted()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.counters.connections()
    }

    /// Connections being served now, and the most served at once so far
    /// (never more than `[connections] max`).
    pub fn open_connections(&self) -> (u64, u64) {
        self.shared.counters.open()
    }

    /// One line for the end of a run: requests, connections, the most open
    /// at once against the cap, resets.
    pub fn stats(&self) -> String {
        let requests: u64 = Route::all().iter().map(|r| self.requests(*r)).sum();
        let (_, peak) = self.open_connections();
        format!(
            "served {requests} requests ({} to no route) on {} connections, at most {peak} open at once (cap {}); {} reset",
            self.unrouted_requests(),
            self.connections(),
            self.config().connections.max,
            self.resets()
        )
    }

    /// Connections reset by fault injection.
    pub fn resets(&self) -> u64 {
        self.shared.counters.resets()
    }

    /// Stops accepting, lets requests in flight finish (within the grace
    /// period), and returns when the server is down.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for StubHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
