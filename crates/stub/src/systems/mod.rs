//! The five systems, a module each: its part of the configuration (its
//! accounts, with the demo ones as defaults) and its handlers. Each turns an `http::Request<Bytes>` into
//! the documented `http::Response<Bytes>` with the protocol crate's server
//! side; what they add is the stub's own state: accounts, issued tokens,
//! revocations, and the quirks a route was told to have.

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
use tokenprobe_protocol::client_auth::ClientAuth;
use tokenprobe_protocol::discovery::Metadata;

use crate::config::{Config, is_demo_secret};
use crate::route::{Quirk, Route, RouteKey};
use crate::tokens::{JwtSigner, OpaqueTokens, now};
use tokenprobe_protocol::Secret;

impl Config {
    /// One working `curl` command per system (`curl` is the command with
    /// its TLS options), for `serve`'s banner.
    pub fn examples(&self, url: &str, curl: &str) -> Vec<String> {
        [
            self.cognito.example(url, curl),
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
    /// What verifies client assertions (the `private_key_jwt` clients' keys,
    /// the `client_secret_jwt` clients' secrets) and the assertions seen.
    pub(crate) client_keys: crate::client_keys::ClientKeys,
    /// The certificates and CAs the mutual-TLS clients registered.
    pub(crate) client_certs: crate::client_certs::ClientCerts,
    /// The DPoP proofs seen, and the nonce asked for.
    pub(crate) dpop: crate::dpop::Dpop,
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
    let res = match route {
        Route::Cognito => cognito::token(state, req),
        Route::Jwks => jwks(state, req),
        Route::Discovery => discovery(state, req),
        Route::Cess => cess::token(state, req),
        Route::VenafiAuthorize => venafi::authorize(state, req),
        Route::VenafiRefresh => venafi::refresh(state, req),
        Route::VenafiRevoke => venafi::revoke(state, req),
        Route::VenafiVerify => venafi::verify(state, req),
        Route::Veeva => veeva::session(state, req),
        Route::VcdLogin => vcd::login(state, req),
        Route::VcdCurrent => vcd::current(state, req),
    };
    rewrite(state, route, res)
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
    if success && state.quirk(route, Quirk::ExpiresInString) {
        if let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(res.body()) {
            if let Some(v) = body.get_mut("expires_in") {
                *v = serde_json::Value::String(v.to_string());
                *res.body_mut() = Bytes::from(body.to_string());
            }
        }
    }
    res
}

fn jwks(state: &State, req: &Request<Bytes>) -> Response<Bytes> {
    if req.method() != Method::GET {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "use GET");
    }
    let mut res = Response::new(Bytes::copy_from_slice(state.signer.jwks()));
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// The metadata of the `cognito` route (RFC 8414 and OpenID Connect
/// discovery alike): its issuer is the URL the request came to, so that a
/// client discovering it finds this stub wherever it listens.
fn discovery(state: &State, req: &Request<Bytes>) -> Response<Bytes> {
    if req.method() != Method::GET {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "use GET");
    }
    let issuer = own_url(state, req);
    // Mutual TLS only where there is TLS.
    let methods = ClientAuth::ALL
        .iter()
        .filter(|a| state.tls || !a.mutual_tls())
        .map(|a| a.method_name().to_owned());
    Metadata {
        token_endpoint: Some(format!(
            "{issuer}{}",
            tokenprobe_protocol::cognito::TOKEN_PATH
        )),
        jwks_uri: Some(format!(
            "{issuer}{}",
            tokenprobe_protocol::cognito::JWKS_PATH
        )),
        token_endpoint_auth_methods_supported: Some(methods.collect()),
        grant_types_supported: Some(vec![tokenprobe_protocol::cognito::GRANT_TYPE.into()]),
        dpop_signing_alg_values_supported: Some(
            ["ES256", "EdDSA", "RS256"].map(str::to_owned).to_vec(),
        ),
        tls_client_certificate_bound_access_tokens: Some(state.tls),
        mtls_endpoint_aliases: None,
        issuer,
    }
    .to_response()
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
