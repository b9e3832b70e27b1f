//! `POST /oauth`: VaultID CESS's password grant (CPF/CNPJ and OTP).

use crate::config::{DEMO_ID, DEMO_OTP, DEMO_SECRET};
use serde::Deserialize;
use std::time::Duration;
use tokenprobe_protocol::taxid::TaxId;

use bytes::Bytes;
use http::{Method, Request, Response};
use tokenprobe_protocol::cess::{self, TokenBody, TokenRequest};
use tokenprobe_protocol::rfc6749::{ErrorCode, Rejection};
use tokenprobe_protocol::{Secret, vcschema};

use super::{State, with_body};
use crate::route::{DEMAND, Endpoint, Paths, Quirk, Route};
use crate::tokens::random_id;

/// `POST /oauth`.
pub(crate) static TOKEN: Endpoint = Endpoint {
    name: "cess",
    paths: Paths::Exact(&[cess::TOKEN_PATH]),
    answer: token,
    breaks: &[
        (Quirk::NoCacheControl, "RFC-02"),
        (Quirk::ExpiresInString, "RFC-06"),
        (Quirk::WrongContentType, "RFC-01"),
        (Quirk::AnyPasswordAccepted, "CE-09"),
        (Quirk::AnyGrantTypeAccepted, "CE-10"),
        (Quirk::ProviderRequired, DEMAND),
        (Quirk::NoDefaultScope, "CE-08"),
        (Quirk::LifetimeExceeded, "CE-12"),
        (Quirk::VcschemaMismatch, "CE-06"),
    ],
};
const ROUTE: Route = Route(&TOKEN);

/// A CESS API client.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CessClient {
    /// `client_id`.
    pub id: String,
    /// `client_secret`.
    pub secret: Secret,
}

/// A CESS user: a CPF or CNPJ and the OTP it accepts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CessUser {
    /// CPF or CNPJ with valid check digits.
    #[serde(deserialize_with = "tax_id")]
    pub username: TaxId,
    /// The one OTP the stub accepts for this user.
    pub otp: Secret,
    /// The user's cloud, echoed as `provider`.
    #[serde(default = "demo_provider")]
    pub provider: String,
}

/// VaultID CESS.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CessConfig {
    /// Known clients.
    pub clients: Vec<CessClient>,
    /// Known users.
    pub users: Vec<CessUser>,
    /// `expires_in` when no `lifetime` is asked (capped by the user's
    /// limit). A `lifetime` above the limit is refused with 400 (CE-11).
    pub lifetime_secs: u32,
}

impl Default for CessConfig {
    fn default() -> Self {
        CessConfig {
            clients: vec![CessClient {
                id: DEMO_ID.into(),
                secret: Secret::new(DEMO_SECRET),
            }],
            users: vec![CessUser {
                username: demo_tax_id(),
                otp: Secret::new(DEMO_OTP),
                provider: demo_provider(),
            }],
            lifetime_secs: 604_800,
        }
    }
}

impl CessConfig {
    /// A working `curl` for the first client and user.
    pub(crate) fn example(&self, url: &str, curl: &str) -> Option<String> {
        let (client, user) = (self.clients.first()?, self.users.first()?);
        Some(format!(
            "# cess\n{curl} -H 'Content-Type: application/json' -d '{{\"client_id\":\"{}\",\"client_secret\":\"{}\",\"username\":\"{}\",\"password\":\"{}\",\"grant_type\":\"password\"}}' {url}/oauth",
            client.id,
            super::shown(&client.secret, "CESS_SECRET"),
            user.username,
            super::shown(&user.otp, "CESS_OTP")
        ))
    }
}

fn demo_provider() -> String {
    "SOLUTIHOM".into()
}

fn demo_tax_id() -> TaxId {
    // 123.456.789-09: a CPF whose check digits are right.
    TaxId::complete("123456789").expect("a nine-digit CPF base")
}

fn tax_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<TaxId, D::Error> {
    let s = String::deserialize(d)?;
    TaxId::parse(&s).map_err(|e| serde::de::Error::custom(format!("a CPF or CNPJ: {e}")))
}

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
                && state.quirk(ROUTE, Quirk::AnyGrantTypeAccepted) =>
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
    let quirk = |q| state.quirk(ROUTE, q);
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
