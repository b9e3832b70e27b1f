//! `POST /oauth`: VaultID CESS's password grant (CPF/CNPJ and OTP).

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response};
use tokenprobe_protocol::cess::{self, TokenBody, TokenRequest};
use tokenprobe_protocol::rfc6749::{ErrorCode, Rejection};
use tokenprobe_protocol::{Secret, vcschema};

use super::{State, with_body};
use crate::route::{Quirk, Route};
use crate::tokens::random_id;

pub(super) fn token(state: &State, req: &Request<Bytes>) -> Response<Bytes> {
    match grant(state, req) {
        Ok(res) => res,
        Err(rejection) => rejection.to_response(),
    }
}

fn parse(state: &State, req: &Request<Bytes>) -> Result<TokenRequest, Rejection> {
    match cess::parse_request(req) {
        Err(r)
            if r.error.code == ErrorCode::UnsupportedGrantType
                && state.quirk(Route::Cess, Quirk::AnyGrantTypeAccepted) =>
        {
            let swapped = with_body(req, Method::POST, |body| {
                let mut v: serde_json::Value = serde_json::from_slice(body).ok()?;
                *v.get_mut("grant_type")? = cess::GRANT_TYPE.into();
                serde_json::to_vec(&v).ok()
            });
            swapped.map_or(Err(r), |req| cess::parse_request(&req))
        }
        other => other,
    }
}

fn grant(state: &State, req: &Request<Bytes>) -> Result<Response<Bytes>, Rejection> {
    let quirk = |q| state.quirk(Route::Cess, q);
    let has_provider = || {
        serde_json::from_slice::<serde_json::Value>(req.body())
            .is_ok_and(|v| v.get("provider").is_some())
    };
    if quirk(Quirk::ProviderRequired) && !has_provider() {
        return Err(Rejection::bad_request(
            ErrorCode::InvalidRequest,
            "provider is required",
        ));
    }
    let asked = parse(state, req)?;
    let config = &state.config.cess;
    let client_ok = config
        .clients
        .iter()
        .any(|c| c.id == asked.client_id() && c.secret == *asked.client_secret());
    if !client_ok {
        return Err(Rejection::invalid_client("client authentication failed"));
    }
    let user = config
        .users
        .iter()
        .find(|u| u.username == *asked.username())
        .filter(|u| u.otp == *asked.password() || quirk(Quirk::AnyPasswordAccepted))
        .ok_or_else(|| {
            Rejection::bad_request(ErrorCode::InvalidGrant, "invalid username or OTP")
        })?;
    let scope = match asked.scope() {
        Some(s) => s,
        None if quirk(Quirk::NoDefaultScope) => "signature_session",
        None => cess::DEFAULT_SCOPE,
    };
    // The protocol already refused a `lifetime` above the user's limit (CE-11).
    let limit = asked.username().max_lifetime();
    let mut lifetime = asked.lifetime().unwrap_or(config.lifetime_secs).min(limit);
    if quirk(Quirk::LifetimeExceeded) {
        lifetime = lifetime.saturating_add(3600);
    }
    let provider = asked.provider().unwrap_or(&user.provider);
    let token = random_id();
    let mut body = TokenBody::new(
        &token,
        Duration::from_secs(lifetime.into()),
        scope,
        provider,
    );
    if quirk(Quirk::VcschemaMismatch) {
        body.authorization = Some(Secret::new(vcschema::encode(provider, &random_id())));
    }
    Ok(body.to_response())
}
