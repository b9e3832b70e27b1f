//! Token acquisition over the wire, for the load driver, the conformance
//! checks and anyone scripting against the five token endpoints.
//!
//! - [`Flow`]: one system's steps (a token request, or an IdP token then a
//!   session), each timed on its own, configured from serde types;
//! - [`ClientError`]: one error with a stable short [`ErrorKind`];
//! - [`Transport`]: reqwest with rustls, timeouts, connection reuse or a new
//!   connection per request, custom CA, HTTP/2, and an explicit `insecure`
//!   switch; [`DirectTransport`] keeps the same contract on hyper (its own
//!   HTTP/1.1 connections), for the load path, where reqwest's per-request
//!   cost shows;
//! - [`Account`]: a system's account as a flow sends it, which `check` varies
//!   (each system's configuration, account and steps in a module of its own);
//! - [`TokenCache`]: refresh ahead of expiry, single flight, refresh tokens;
//! - [`RetryPolicy`]: opt-in, bounded, jittered, `Retry-After`-aware.
//!
//! Every rule of the wire comes from `tokenprobe-protocol`; secrets come
//! from the environment or files ([`SecretSource`]) and never print.

mod cache;
mod client_key;
mod direct;
mod discovery;
mod dpop_key;
mod error;
mod flow;
mod retry;
mod secret_source;
mod systems;
mod tls;
mod transport;

pub use cache::TokenCache;
pub use client_key::ClientKey;
pub use direct::DirectTransport;
pub use discovery::discover;
pub use dpop_key::DpopKey;
pub use error::{ClientError, ErrorKind, ErrorLabel, MAX_CODE_CHARS, UnknownLabel};
pub use flow::{Acquired, Flow, FlowError, Step, StepTime};
pub use retry::RetryPolicy;
pub use secret_source::SecretSource;
pub use systems::*;
pub use tls::ClientIdentity;
pub use transport::{Answer, DEFAULT_MAX_BODY_BYTES, Exchange, HttpOptions, Transport};

/// Seconds since the epoch by this machine's clock: the one the client's
/// assertions and expiry checks read (the protocol crate reads none).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
