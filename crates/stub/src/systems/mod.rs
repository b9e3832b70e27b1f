//! The five systems, a module each: its part of the configuration (its
//! accounts, with the demo ones as defaults), its endpoints and their
//! handlers. Each turns an `http::Request<Bytes>` into the documented
//! `http::Response<Bytes>` with the protocol crate's server side; what they
//! add is the stub's own state: accounts, issued tokens, revocations, and
//! the quirks a route was told to have. This module is the stub's one list
//! of systems: the whole [`Config`] (one table per system) and every
//! endpoint ([`ROUTES`]).

mod cess;
mod cognito;
mod vcd;
mod veeva;
mod venafi;

pub use cess::{CessClient, CessConfig, CessUser};
pub use cognito::{
    CognitoClient, CognitoConfig, DEMO_DPOP_CLIENT_ID, DEMO_KEY_CLIENT_ID, DEMO_MTLS_CLIENT_ID,
    DEMO_SELF_SIGNED_CLIENT_ID,
};
pub use vcd::VcdConfig;
pub use veeva::{VeevaConfig, VeevaProfile, VeevaVault};
pub use venafi::{VenafiApplication, VenafiConfig, VenafiUser};

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, Request, Response, StatusCode};

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::{Connections, Invalid, JwtConfig, is_demo_secret};
use crate::fault::RouteFaults;
use crate::route::{Quirk, Route, RouteKey};
use crate::tokens::{JwtSigner, OpaqueTokens, now};
pub(crate) use cognito::{Clients, DEFAULT_ISSUER};
use tokenprobe_protocol::Secret;

/// The whole configuration: the server's own settings, then one table per
/// system (here, beside the list of routes, so that a system registers
/// both in one file). `Config::default()` is the embedded demo.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Larger request bodies get `413` (not read further).
    pub max_body_bytes: usize,
    /// How Cognito-style access tokens are signed.
    pub jwt: JwtConfig,
    /// `true`: Vault and VCD take any bearer token; `false`: only tokens the
    /// stub's own `cognito` route signed and that have not expired.
    pub accept_any_token: bool,
    /// RFC 6749 client credentials.
    pub cognito: CognitoConfig,
    /// VaultID CESS.
    pub cess: CessConfig,
    /// Venafi TPP.
    pub venafi: VenafiConfig,
    /// Veeva Vault.
    pub veeva: VeevaConfig,
    /// VMware Cloud Director.
    pub vcd: VcdConfig,
    /// Faults and quirks per route; `all` applies to routes without their own.
    pub faults: BTreeMap<RouteKey, RouteFaults>,
    /// How long idle and slow clients may hold a connection, and how many
    /// connections there may be.
    pub connections: Connections,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_body_bytes: 64 * 1024,
            jwt: JwtConfig::default(),
            accept_any_token: false,
            cognito: CognitoConfig::default(),
            cess: CessConfig::default(),
            venafi: VenafiConfig::default(),
            veeva: VeevaConfig::default(),
            vcd: VcdConfig::default(),
            faults: BTreeMap::new(),
            connections: Connections::default(),
        }
    }
}

impl Config {
    /// What each system's table says of itself that serde cannot see.
    pub(crate) fn validate_systems(&self) -> Result<(), Invalid> {
        self.cognito.validate()
    }

    /// One working `curl` command per system (`curl` is the command with
    /// its TLS options), for `serve`'s banner.
    pub fn examples(&self, url: &str, curl: &str) -> Vec<String> {
        let (cognito, token) = self.cognito.example(url, curl).unzip();
        [
            cognito,
            token.map(|t| format!("# veeva and vcd take that token:\n{t}")),
            self.veeva.example(url, curl),
            self.vcd.example(url, curl),
            self.cess.example(url, curl),
            self.venafi.example(url, curl),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// A secret as an example shows it: only a built-in demo one in clear,
/// others behind a shell variable.
fn shown(secret: &Secret, var: &str) -> String {
    if is_demo_secret(secret) {
        secret.expose().to_owned()
    } else {
        format!("${var}")
    }
}

/// Every endpoint of every system, in a stable order (the order of
/// counters and of `Route::all`).
pub(crate) static ROUTES: &[Route] = &[
    Route(&cognito::TOKEN),
    Route(&cognito::JWKS),
    Route(&cognito::DISCOVERY),
    Route(&cess::TOKEN),
    Route(&venafi::AUTHORIZE),
    Route(&venafi::REFRESH),
    Route(&venafi::REVOKE),
    Route(&venafi::VERIFY),
    Route(&veeva::SESSION),
    Route(&vcd::LOGIN),
    Route(&vcd::CURRENT),
];

/// How many routes there are (the length of the stub's per-route counters).
pub(crate) const ROUTE_COUNT: usize = ROUTES.len();

/// Everything a handler may read or change.
pub(crate) struct State {
    pub(crate) config: Config,
    pub(crate) signer: JwtSigner,
    pub(crate) opaque: OpaqueTokens,
    pub(crate) started: Instant,
    /// IdP tokens already verified → their `exp`: a relying party checks a
    /// signature once, not on every call (bounded; cleared when full).
    pub(crate) verified: Mutex<HashMap<String, u64>>,
    /// Whether it serves HTTPS (the scheme of its discovery documents).
    pub(crate) tls: bool,
    /// The token route's clients: their keys, certificates and proofs.
    pub(crate) clients: Clients,
}

/// At most this many verified IdP tokens are remembered.
const VERIFIED_CAPACITY: usize = 4096;

impl State {
    /// Whether `route` was told to have `quirk`.
    pub(crate) fn quirk(&self, route: Route, quirk: Quirk) -> bool {
        self.config.quirk(RouteKey::Route(route), quirk)
    }

    /// A bearer token the stub's `cognito` route signed (or any, if so
    /// configured); `false` also when `route` has the quirk that accepts
    /// invalid tokens.
    pub(crate) fn accepts_idp_token(&self, route: Route, token: &str) -> bool {
        if self.config.accept_any_token || self.quirk(route, Quirk::InvalidTokenAccepted) {
            return true;
        }
        let now = now();
        let known = self
            .verified
            .lock()
            .ok()
            .and_then(|m| m.get(token).copied());
        if known.is_some_and(|exp| exp > now) {
            return true;
        }
        let Some(exp) = self.signer.verify(token).and_then(|c| c.exp) else {
            return false;
        };
        if let Ok(mut m) = self.verified.lock() {
            if m.len() >= VERIFIED_CAPACITY {
                m.clear();
            }
            m.insert(token.to_owned(), exp);
        }
        true
    }
}

/// The answer of `route` to `req`, quirks included.
pub(crate) fn answer(state: &State, route: Route, req: &Request<Bytes>) -> Response<Bytes> {
    rewrite(state, route, (route.0.answer)(state, req))
}

/// The quirks that change any response of a route after the fact.
fn rewrite(state: &State, route: Route, mut res: Response<Bytes>) -> Response<Bytes> {
    let success = res.status().is_success();
    if success && state.quirk(route, Quirk::NoCacheControl) {
        res.headers_mut().remove(CACHE_CONTROL);
        res.headers_mut().remove(PRAGMA);
    }
    if res.status() == StatusCode::UNAUTHORIZED && state.quirk(route, Quirk::NoWwwAuthenticate) {
        res.headers_mut().remove(WWW_AUTHENTICATE);
    }
    if res.status() == StatusCode::UNAUTHORIZED {
        let challenge = match (
            state.quirk(route, Quirk::BasicChallengeWithoutRealm),
            state.quirk(route, Quirk::BearerChallenge),
        ) {
            (true, _) => Some("Basic"),
            (_, true) => Some("Bearer error=\"invalid_client\""),
            _ => None,
        };
        if let Some(c) = challenge {
            res.headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static(c));
        }
    }
    if state.quirk(route, Quirk::WrongContentType) {
        res.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    }
    if success
        && state.quirk(route, Quirk::ExpiresInString)
        && let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(res.body())
        && let Some(v) = body.get_mut("expires_in")
    {
        *v = serde_json::Value::String(v.to_string());
        *res.body_mut() = Bytes::from(body.to_string());
    }
    res
}

/// This stub as the request addressed it: scheme and `Host` (or the
/// HTTP/2 authority). Its discovery documents name it as the issuer, and
/// `private_key_jwt` assertions name its token endpoint under it.
pub(crate) fn own_url(state: &State, req: &Request<Bytes>) -> String {
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or("127.0.0.1");
    format!("{}://{host}", if state.tls { "https" } else { "http" })
}

/// A short text answer for what no system documents (unknown paths).
pub(crate) fn plain(status: StatusCode, text: &'static str) -> Response<Bytes> {
    let mut res = Response::new(Bytes::from_static(text.as_bytes()));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    res
}

/// `req` with one member of its body changed, for quirks that let through
/// what the protocol refuses. `edit` gets the body and returns the new one.
pub(crate) fn with_body(
    req: &Request<Bytes>,
    method: Method,
    edit: impl FnOnce(&[u8]) -> Option<Vec<u8>>,
) -> Option<Request<Bytes>> {
    let body = edit(req.body())?;
    let mut out = Request::new(Bytes::from(body));
    *out.method_mut() = method;
    *out.uri_mut() = req.uri().clone();
    *out.headers_mut() = req.headers().clone();
    Some(out)
}
