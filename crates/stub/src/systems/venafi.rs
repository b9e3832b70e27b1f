//! Venafi TPP token authentication: authorize, refresh, revoke, verify.

use crate::config::{DEMO_ID, DEMO_PASSWORD};
use bytes::Bytes;
use http::{Request, Response};
use serde::Deserialize;
use tokenprobe_protocol::Secret;
use tokenprobe_protocol::rfc6749::ExpiresIn;
use tokenprobe_protocol::venafi::Scope;
use tokenprobe_protocol::venafi::{
    self, BearerCall, TokenBody, VenafiError, VerifyBody, revoke_response,
};

use super::State;
use crate::route::{Endpoint, Paths, Quirk, Route};
use crate::tokens::{Opaque, Use, now, random_id};

/// `POST /vedauth/authorize/oauth`.
pub(crate) static AUTHORIZE: Endpoint = Endpoint {
    name: "venafi-authorize",
    paths: Paths::Exact(&[venafi::AUTHORIZE_PATH]),
    answer: authorize,
    breaks: &[
        (Quirk::NoCacheControl, "RFC-02"),
        (Quirk::ExpiresInString, "RFC-06"),
        (Quirk::WrongContentType, "RFC-01"),
        (Quirk::UnlistedScopeGranted, "VE-09"),
        (Quirk::ScopeWidened, "VE-12"),
        (Quirk::AnyPasswordAccepted, "VE-08"),
    ],
};
/// `POST /vedauth/authorize/token`.
pub(crate) static REFRESH: Endpoint = Endpoint {
    name: "venafi-refresh",
    paths: Paths::Exact(&[venafi::REFRESH_PATH]),
    answer: refresh,
    breaks: &[
        (Quirk::NoCacheControl, "RFC-02"),
        (Quirk::ExpiresInString, "RFC-06"),
        (Quirk::WrongContentType, "RFC-01"),
        (Quirk::RefreshRejected, "VE-10"),
    ],
};
/// `GET /vedauth/revoke/token`.
pub(crate) static REVOKE: Endpoint = Endpoint {
    name: "venafi-revoke",
    paths: Paths::Exact(&[venafi::REVOKE_PATH]),
    answer: revoke,
    breaks: &[],
};
/// `GET /vedauth/authorize/verify`.
pub(crate) static VERIFY: Endpoint = Endpoint {
    name: "venafi-verify",
    paths: Paths::Exact(&[venafi::VERIFY_PATH]),
    answer: verify,
    breaks: &[(Quirk::RevokedTokenAccepted, "VE-11")],
};

/// A Venafi API integration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenafiApplication {
    /// The Application ID sent as `client_id`.
    pub client_id: String,
    /// The widest scope the integration allows.
    #[serde(deserialize_with = "venafi_scope")]
    pub scope: Scope,
    /// Whether refresh tokens are issued.
    #[serde(default = "yes")]
    pub refresh: bool,
    /// Access token lifetime.
    #[serde(default = "crate::config::one_hour")]
    pub lifetime_secs: u64,
    /// How long the refresh token works.
    #[serde(default = "ninety_days")]
    pub refresh_lifetime_secs: u64,
}

/// A Venafi user.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenafiUser {
    /// e.g. `local:admin`.
    pub username: String,
    /// The password.
    pub password: Secret,
    /// Sent back as `identity`.
    pub identity: String,
}

/// Venafi TPP.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VenafiConfig {
    /// `false`: every authorize gets 400 "Username/Password authentication not enabled".
    pub password_auth: bool,
    /// API integrations.
    pub applications: Vec<VenafiApplication>,
    /// Users.
    pub users: Vec<VenafiUser>,
}

impl Default for VenafiConfig {
    fn default() -> Self {
        VenafiConfig {
            password_auth: true,
            applications: vec![VenafiApplication {
                client_id: DEMO_ID.into(),
                scope: "certificate:discover,manage,delete,revoke;configuration:manage;ssh:manage;statistics"
                    .parse()
                    .expect("the demo scope follows the grammar"),
                refresh: true,
                lifetime_secs: 3600,
                refresh_lifetime_secs: ninety_days(),
            }],
            users: vec![VenafiUser {
                username: "local:admin".into(),
                password: Secret::new(DEMO_PASSWORD),
                identity: "local:{3a6c5d2e-1f0b-4c47-9a53-6d2b8e1f4c7a}".into(),
            }],
        }
    }
}

impl VenafiConfig {
    /// A working `curl` for the first application and user.
    pub(crate) fn example(&self, url: &str, curl: &str) -> Option<String> {
        let (app, user) = (self.applications.first()?, self.users.first()?);
        let scope = &app.scope;
        Some(format!(
            "# venafi\n{curl} -H 'Content-Type: application/json' -d '{{\"client_id\":\"{}\",\"username\":\"{}\",\"password\":\"{}\",\"scope\":\"{scope}\"}}' {url}/vedauth/authorize/oauth",
            app.client_id,
            user.username,
            super::shown(&user.password, "VENAFI_PASSWORD")
        ))
    }
}

fn yes() -> bool {
    true
}

fn venafi_scope<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Scope, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(serde::de::Error::custom)
}

fn ninety_days() -> u64 {
    90 * 86_400
}

fn respond(r: Result<Response<Bytes>, VenafiError>) -> Response<Bytes> {
    r.unwrap_or_else(|e| e.to_response())
}

fn application<'a>(
    state: &'a State,
    client_id: &str,
) -> Result<&'a VenafiApplication, VenafiError> {
    state
        .config
        .venafi
        .applications
        .iter()
        .find(|a| a.client_id == client_id)
        .ok_or_else(|| VenafiError::FailedToIssueGrant("Unknown application".into()))
}

pub(super) fn authorize(state: &State, req: &Request<Bytes>) -> Response<Bytes> {
    respond(authorize_inner(state, req))
}

fn authorize_inner(state: &State, req: &Request<Bytes>) -> Result<Response<Bytes>, VenafiError> {
    let quirk = |q| state.quirk(Route(&AUTHORIZE), q);
    let asked = venafi::parse_authorize(req)?;
    if !state.config.venafi.password_auth {
        return Err(VenafiError::PasswordAuthNotEnabled);
    }
    let app = application(state, asked.client_id())?;
    let user = state
        .config
        .venafi
        .users
        .iter()
        .find(|u| u.username == asked.username())
        .filter(|u| u.password == *asked.password() || quirk(Quirk::AnyPasswordAccepted))
        .ok_or(VenafiError::InvalidCredentials)?;
    if !asked.scope().is_within(&app.scope) && !quirk(Quirk::UnlistedScopeGranted) {
        return Err(VenafiError::ScopeNotAllowed(asked.scope().to_string()));
    }
    let scope = if quirk(Quirk::ScopeWidened) {
        app.scope.to_string()
    } else {
        asked.scope().to_string()
    };
    let now = now();
    let grant = Opaque {
        kind: Use::VenafiRefresh,
        jti: random_id(),
        gid: random_id(),
        cid: app.client_id.clone(),
        sub: user.identity.clone(),
        scope,
        iat: now,
        exp: now + app.refresh_lifetime_secs,
    };
    Ok(issue(state, app, grant))
}

/// A new access token (and refresh token, if the application has them) for
/// `grant`, whose `exp` is when refreshing stops.
fn issue(state: &State, app: &VenafiApplication, grant: Opaque) -> Response<Bytes> {
    let now = now();
    let expires = now + app.lifetime_secs;
    let access = Opaque {
        kind: Use::VenafiAccess,
        jti: random_id(),
        exp: expires.min(grant.exp),
        iat: now,
        ..grant.clone()
    };
    let (refresh_token, refresh_until) = if app.refresh {
        let refresh = Opaque {
            jti: random_id(),
            iat: now,
            ..grant.clone()
        };
        (
            Some(Secret::new(state.opaque.issue(&refresh))),
            Some(grant.exp),
        )
    } else {
        (None, None)
    };
    TokenBody {
        access_token: Secret::new(state.opaque.issue(&access)),
        refresh_token,
        expires_in: Some(ExpiresIn::Number(access.exp - now)),
        expires: Some(access.exp),
        token_type: "Bearer".into(),
        scope: Some(grant.scope),
        identity: Some(grant.sub),
        refresh_until,
    }
    .to_response()
}

pub(super) fn refresh(state: &State, req: &Request<Bytes>) -> Response<Bytes> {
    respond(refresh_inner(state, req))
}

fn refresh_inner(state: &State, req: &Request<Bytes>) -> Result<Response<Bytes>, VenafiError> {
    let asked = venafi::parse_refresh(req)?;
    let app = application(state, &asked.client_id)?;
    let invalid = || VenafiError::FailedToIssueGrant("Invalid or expired refresh token".into());
    if state.quirk(Route(&REFRESH), Quirk::RefreshRejected) {
        return Err(invalid());
    }
    let old = state
        .opaque
        .recognize(asked.refresh_token.expose(), Use::VenafiRefresh, true)
        .filter(|t| t.cid == app.client_id)
        .ok_or_else(invalid)?;
    // Single use: the first of two concurrent refreshes wins.
    if !state.opaque.kill(&old.jti, old.exp) {
        return Err(invalid());
    }
    Ok(issue(state, app, old))
}

/// The live access token a revoke or verify call carries.
fn bearer(
    state: &State,
    req: &Request<Bytes>,
    honour_revocation: bool,
) -> Result<Opaque, VenafiError> {
    let call = BearerCall::parse(req)?;
    state
        .opaque
        .recognize(call.token.expose(), Use::VenafiAccess, honour_revocation)
        .ok_or(VenafiError::InvalidToken)
}

pub(super) fn revoke(state: &State, req: &Request<Bytes>) -> Response<Bytes> {
    respond(bearer(state, req, true).map(|t| {
        // Revoking ends the grant: its access and refresh tokens alike.
        state.opaque.kill(&t.gid, now() + 366 * 86_400);
        revoke_response()
    }))
}

pub(super) fn verify(state: &State, req: &Request<Bytes>) -> Response<Bytes> {
    let honour = !state.quirk(Route(&VERIFY), Quirk::RevokedTokenAccepted);
    respond(bearer(state, req, honour).map(|t| {
        VerifyBody {
            application: t.cid,
            identity: t.sub,
            scope: t.scope,
            expires_unix_time: t.exp,
            valid_for: t.exp.saturating_sub(now()),
        }
        .to_response()
    }))
}
