//! The stub's routes (each system at its documented method and path), the
//! names configuration uses for them, and the quirks a route can be told
//! to have.

use std::fmt;

use serde::Deserialize;
use tokenprobe_protocol::{System, cess, cognito, discovery, vcd, veeva, venafi};

/// One endpoint of the stub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Route {
    /// `POST /oauth2/token`.
    Cognito,
    /// `GET /.well-known/jwks.json`.
    Jwks,
    /// `GET /.well-known/oauth-authorization-server` and
    /// `/.well-known/openid-configuration`: the `cognito` route's metadata.
    Discovery,
    /// `POST /oauth`.
    Cess,
    /// `POST /vedauth/authorize/oauth`.
    VenafiAuthorize,
    /// `POST /vedauth/authorize/token`.
    VenafiRefresh,
    /// `GET /vedauth/revoke/token`.
    VenafiRevoke,
    /// `GET /vedauth/authorize/verify`.
    VenafiVerify,
    /// `POST /auth/oauth/session/{profile}`.
    Veeva,
    /// `POST /cloudapi/1.0.0/sessions[/provider]`.
    VcdLogin,
    /// `GET` (the session) or `DELETE` (logout) `/cloudapi/1.0.0/sessions/current`.
    VcdCurrent,
}

pub use cognito::JWKS_PATH;

impl Route {
    /// Every route, in a stable order.
    pub const ALL: [Route; 11] = [
        Route::Cognito,
        Route::Jwks,
        Route::Discovery,
        Route::Cess,
        Route::VenafiAuthorize,
        Route::VenafiRefresh,
        Route::VenafiRevoke,
        Route::VenafiVerify,
        Route::Veeva,
        Route::VcdLogin,
        Route::VcdCurrent,
    ];

    /// The system it belongs to.
    pub fn system(self) -> System {
        match self {
            Route::Cognito | Route::Jwks | Route::Discovery => System::Cognito,
            Route::Cess => System::Cess,
            Route::VenafiAuthorize
            | Route::VenafiRefresh
            | Route::VenafiRevoke
            | Route::VenafiVerify => System::Venafi,
            Route::Veeva => System::Veeva,
            Route::VcdLogin | Route::VcdCurrent => System::Vcd,
        }
    }

    /// The name used in configuration, logs and counters: the system's
    /// own for its one token route.
    pub fn name(self) -> &'static str {
        match self {
            Route::Cognito | Route::Cess | Route::Veeva => self.system().name(),
            Route::Jwks => "jwks",
            Route::Discovery => "discovery",
            Route::VenafiAuthorize => "venafi-authorize",
            Route::VenafiRefresh => "venafi-refresh",
            Route::VenafiRevoke => "venafi-revoke",
            Route::VenafiVerify => "venafi-verify",
            Route::VcdLogin => "vcd-login",
            Route::VcdCurrent => "vcd-current",
        }
    }

    /// The route a request path belongs to, whatever its method (a wrong
    /// method is the route's own documented refusal).
    pub fn of(path: &str) -> Option<Route> {
        Some(match path {
            cognito::TOKEN_PATH => Route::Cognito,
            cognito::JWKS_PATH => Route::Jwks,
            discovery::OAUTH_WELL_KNOWN | discovery::OIDC_WELL_KNOWN => Route::Discovery,
            cess::TOKEN_PATH => Route::Cess,
            venafi::AUTHORIZE_PATH => Route::VenafiAuthorize,
            venafi::REFRESH_PATH => Route::VenafiRefresh,
            venafi::REVOKE_PATH => Route::VenafiRevoke,
            venafi::VERIFY_PATH => Route::VenafiVerify,
            vcd::SESSIONS_PATH | vcd::PROVIDER_SESSIONS_PATH => Route::VcdLogin,
            vcd::CURRENT_SESSION_PATH => Route::VcdCurrent,
            p if p.starts_with(veeva::SESSION_PATH_PREFIX) => Route::Veeva,
            _ => return None,
        })
    }

    fn index(self) -> usize {
        Route::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A key of `[faults.*]`: one route, or `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RouteKey {
    /// Every route without an entry of its own.
    All,
    /// One route.
    Route(Route),
}

impl RouteKey {
    /// The routes it covers.
    pub fn routes(self) -> &'static [Route] {
        match self {
            RouteKey::All => &Route::ALL,
            RouteKey::Route(r) => std::slice::from_ref(&Route::ALL[r.index()]),
        }
    }

    /// As written in configuration.
    pub fn name(self) -> &'static str {
        match self {
            RouteKey::All => "all",
            RouteKey::Route(r) => r.name(),
        }
    }
}

impl<'de> Deserialize<'de> for RouteKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "all" {
            return Ok(RouteKey::All);
        }
        Route::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .map(RouteKey::Route)
            .ok_or_else(|| {
                let names: Vec<_> = Route::ALL.iter().map(|r| r.name()).collect();
                serde::de::Error::custom(format!(
                    "unknown route `{s}`; expected `all` or one of: {}",
                    names.join(", ")
                ))
            })
    }
}

/// A contract a route breaks on purpose, so that a conformance checker can
/// be tested against a server that does not conform. Each names the check
/// id it breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Quirk {
    /// Success without `Cache-Control: no-store` (RFC-02 / CG-07).
    NoCacheControl,
    /// `expires_in` as a JSON string (RFC-06).
    ExpiresInString,
    /// A 401 without `WWW-Authenticate` (RFC-08).
    NoWwwAuthenticate,
    /// JSON bodies labelled `text/plain` (RFC-01).
    WrongContentType,
    /// A `refresh_token` beside a client-credentials grant (CG-14).
    RefreshTokenIssued,
    /// `exp − iat` twice `expires_in` (CG-05).
    JwtLifetimeMismatch,
    /// A `kid` that is not in the JWKS (CG-15).
    JwtUnknownKid,
    /// A scope the client or application may not have is granted (CG-12, VE-09).
    UnlistedScopeGranted,
    /// The grant's scope is the application's whole scope, not the one asked (VE-12).
    ScopeWidened,
    /// Any secret, OTP or password is accepted (CG-08, CE-09, VE-08).
    AnyPasswordAccepted,
    /// An unknown client gets a token (CG-09).
    UnknownClientAccepted,
    /// Any `grant_type` is taken (CG-10, CE-10).
    AnyGrantTypeAccepted,
    /// `GET` on the token endpoint gives a token, the form in its body (CG-13).
    GetAccepted,
    /// `GET` on the token endpoint gives a token, the form in its query
    /// string, as `curl -G` sends it (CG-13).
    GetWithQueryIssuesToken,
    /// A 401's challenge is `Basic` without `realm` (RFC-08, a warning:
    /// RFC 7617 §2 requires the realm).
    BasicChallengeWithoutRealm,
    /// A 401 after HTTP Basic challenges `Bearer` (RFC-08, a warning;
    /// django-oauth-toolkit through oauthlib does this).
    BearerChallenge,
    /// A token request without `scope` is refused (400 `invalid_request`)
    /// before anything else is looked at: a reason of its own, which a
    /// negative check's probe, made from the working request, never meets.
    ScopeRequired,
    /// A CESS grant without `provider` is refused (400 `invalid_request`)
    /// before anything else, as [`Quirk::ScopeRequired`].
    ProviderRequired,
    /// A Vault session request without the tracking `client_id` is a
    /// FAILURE (`PARAMETER_REQUIRED`) before anything else, as
    /// [`Quirk::ScopeRequired`].
    ClientIdRequired,
    /// An unknown `grant_type` is `invalid_grant`, not
    /// `unsupported_grant_type` (CG-10; oauth2-mock-server 8 does this).
    UnknownGrantInvalidGrant,
    /// A missing `grant_type` is `unsupported_grant_type`, not
    /// `invalid_request` (CG-11; django-oauth-toolkit 3 through oauthlib).
    MissingGrantUnsupported,
    /// Without `scope`, no `authentication_session` (CE-08).
    NoDefaultScope,
    /// `expires_in` above the requested `lifetime` (CE-12).
    LifetimeExceeded,
    /// The `Authorization` VCSchema value names another token (CE-06).
    VcschemaMismatch,
    /// The refresh token is refused (VE-10).
    RefreshRejected,
    /// A revoked token still verifies (VE-11).
    RevokedTokenAccepted,
    /// Failures are `FAILURE` bodies with no `errors` (VV-07).
    FailureWithoutErrors,
    /// A session without a valid token (VV-10, VCD-08).
    InvalidTokenAccepted,
    /// A session for an unknown profile (VV-11).
    UnknownProfileAccepted,
    /// 401 instead of 403 when `Authorization` is missing (VCD-07).
    MissingHeaderWrongStatus,
    /// The Session names another org (VCD-09).
    WrongOrg,
    /// Any API version is accepted (VCD-10).
    OldVersionAccepted,
    /// Logout answers 204 but the session keeps working (VCD-11).
    LogoutIgnored,
    /// A DPoP request's token is `token_type` Bearer (DP-01).
    DpopBearerTokenType,
    /// A DPoP request's token has no `cnf.jkt` (DP-01).
    DpopUnbound,
    /// A DPoP proof's `jti` is not remembered: a replay is taken (DP-02).
    DpopReplayAccepted,
    /// A DPoP proof's `htu` is not compared (DP-03).
    DpopHtuIgnored,
    /// A DPoP proof's `htm` is not compared (DP-04).
    DpopHtmIgnored,
    /// A DPoP proof's `iat` may be any time (DP-05).
    DpopIatIgnored,
    /// A bound client gets a token without a proof (DP-06).
    DpopProofOptional,
    /// A proof signed with `none` or a MAC is taken unverified (DP-07).
    DpopWeakAlgAccepted,
    /// A token for a certificate-authenticated client has no `cnf`
    /// `x5t#S256` (MT-01).
    MtlsUnbound,
    /// A mutual-TLS client gets a token without presenting its
    /// certificate (MT-02).
    MtlsCertificateOptional,
}

/// What [`Quirk::breaks`] names for a quirk that breaks no rule but
/// demands something of every request (a different reason to refuse).
pub const DEMAND: &str = "demand";

impl Quirk {
    /// Every quirk.
    pub const ALL: [Quirk; 43] = [
        Quirk::NoCacheControl,
        Quirk::ExpiresInString,
        Quirk::NoWwwAuthenticate,
        Quirk::WrongContentType,
        Quirk::RefreshTokenIssued,
        Quirk::JwtLifetimeMismatch,
        Quirk::JwtUnknownKid,
        Quirk::UnlistedScopeGranted,
        Quirk::ScopeWidened,
        Quirk::AnyPasswordAccepted,
        Quirk::UnknownClientAccepted,
        Quirk::AnyGrantTypeAccepted,
        Quirk::GetAccepted,
        Quirk::GetWithQueryIssuesToken,
        Quirk::BasicChallengeWithoutRealm,
        Quirk::BearerChallenge,
        Quirk::ScopeRequired,
        Quirk::ProviderRequired,
        Quirk::ClientIdRequired,
        Quirk::UnknownGrantInvalidGrant,
        Quirk::MissingGrantUnsupported,
        Quirk::NoDefaultScope,
        Quirk::LifetimeExceeded,
        Quirk::VcschemaMismatch,
        Quirk::RefreshRejected,
        Quirk::RevokedTokenAccepted,
        Quirk::FailureWithoutErrors,
        Quirk::InvalidTokenAccepted,
        Quirk::UnknownProfileAccepted,
        Quirk::MissingHeaderWrongStatus,
        Quirk::WrongOrg,
        Quirk::OldVersionAccepted,
        Quirk::LogoutIgnored,
        Quirk::DpopBearerTokenType,
        Quirk::DpopUnbound,
        Quirk::DpopReplayAccepted,
        Quirk::DpopHtuIgnored,
        Quirk::DpopHtmIgnored,
        Quirk::DpopIatIgnored,
        Quirk::DpopProofOptional,
        Quirk::DpopWeakAlgAccepted,
        Quirk::MtlsUnbound,
        Quirk::MtlsCertificateOptional,
    ];

    /// The routes it applies to, each with the check id it breaks there.
    pub fn breaks(self) -> &'static [(Route, &'static str)] {
        use Route::*;
        match self {
            Quirk::NoCacheControl => &[
                (Cognito, "CG-07"),
                (Cess, "RFC-02"),
                (VenafiAuthorize, "RFC-02"),
                (VenafiRefresh, "RFC-02"),
            ],
            Quirk::ExpiresInString => &[
                (Cognito, "RFC-06"),
                (Cess, "RFC-06"),
                (VenafiAuthorize, "RFC-06"),
                (VenafiRefresh, "RFC-06"),
            ],
            Quirk::NoWwwAuthenticate => &[(Cognito, "RFC-08")],
            Quirk::WrongContentType => &[
                (Cognito, "RFC-01"),
                (Cess, "RFC-01"),
                (VenafiAuthorize, "RFC-01"),
                (VenafiRefresh, "RFC-01"),
            ],
            Quirk::RefreshTokenIssued => &[(Cognito, "CG-14")],
            Quirk::JwtLifetimeMismatch => &[(Cognito, "CG-05")],
            Quirk::JwtUnknownKid => &[(Cognito, "CG-15")],
            Quirk::UnlistedScopeGranted => &[(Cognito, "CG-12"), (VenafiAuthorize, "VE-09")],
            Quirk::ScopeWidened => &[(VenafiAuthorize, "VE-12")],
            Quirk::AnyPasswordAccepted => &[
                (Cognito, "CG-08"),
                (Cess, "CE-09"),
                (VenafiAuthorize, "VE-08"),
            ],
            Quirk::UnknownClientAccepted => &[(Cognito, "CG-09")],
            Quirk::AnyGrantTypeAccepted => &[(Cognito, "CG-10"), (Cess, "CE-10")],
            Quirk::GetAccepted | Quirk::GetWithQueryIssuesToken => &[(Cognito, "CG-13")],
            Quirk::BasicChallengeWithoutRealm | Quirk::BearerChallenge => &[(Cognito, "RFC-08")],
            // A demand, not a broken rule: it breaks no check of a client
            // that sends its working request, and must never make one pass.
            Quirk::ScopeRequired => &[(Cognito, DEMAND)],
            Quirk::ProviderRequired => &[(Cess, DEMAND)],
            Quirk::ClientIdRequired => &[(Veeva, DEMAND)],
            Quirk::UnknownGrantInvalidGrant => &[(Cognito, "CG-10")],
            Quirk::MissingGrantUnsupported => &[(Cognito, "CG-11")],
            Quirk::NoDefaultScope => &[(Cess, "CE-08")],
            Quirk::LifetimeExceeded => &[(Cess, "CE-12")],
            Quirk::VcschemaMismatch => &[(Cess, "CE-06")],
            Quirk::RefreshRejected => &[(VenafiRefresh, "VE-10")],
            Quirk::RevokedTokenAccepted => &[(VenafiVerify, "VE-11")],
            Quirk::FailureWithoutErrors => &[(Veeva, "VV-07")],
            Quirk::InvalidTokenAccepted => &[(Veeva, "VV-10"), (VcdLogin, "VCD-08")],
            Quirk::UnknownProfileAccepted => &[(Veeva, "VV-11")],
            Quirk::MissingHeaderWrongStatus => &[(VcdLogin, "VCD-07")],
            Quirk::WrongOrg => &[(VcdLogin, "VCD-09")],
            Quirk::OldVersionAccepted => &[(VcdLogin, "VCD-10")],
            Quirk::LogoutIgnored => &[(VcdCurrent, "VCD-11")],
            Quirk::DpopBearerTokenType | Quirk::DpopUnbound => &[(Cognito, "DP-01")],
            Quirk::DpopReplayAccepted => &[(Cognito, "DP-02")],
            Quirk::DpopHtuIgnored => &[(Cognito, "DP-03")],
            Quirk::DpopHtmIgnored => &[(Cognito, "DP-04")],
            Quirk::DpopIatIgnored => &[(Cognito, "DP-05")],
            Quirk::DpopProofOptional => &[(Cognito, "DP-06")],
            Quirk::DpopWeakAlgAccepted => &[(Cognito, "DP-07")],
            Quirk::MtlsUnbound => &[(Cognito, "MT-01")],
            Quirk::MtlsCertificateOptional => &[(Cognito, "MT-02")],
        }
    }

    /// Whether it applies to `route`.
    pub fn applies_to(self, route: Route) -> bool {
        self.breaks().iter().any(|(r, _)| *r == route)
    }

    /// The check id it breaks on `route`.
    pub fn check(self, route: Route) -> Option<&'static str> {
        self.breaks()
            .iter()
            .find(|(r, _)| *r == route)
            .map(|(_, id)| *id)
    }

    /// The names of the routes it applies to.
    pub fn route_names(self) -> Vec<&'static str> {
        self.breaks().iter().map(|(r, _)| r.name()).collect()
    }

    /// As written in configuration.
    pub fn name(self) -> String {
        format!("{self:?}")
            .chars()
            .enumerate()
            .flat_map(|(i, c)| {
                let dash = (i > 0 && c.is_ascii_uppercase()).then_some('-');
                dash.into_iter()
                    .chain(std::iter::once(c.to_ascii_lowercase()))
            })
            .collect()
    }
}
