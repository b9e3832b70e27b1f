//! The stub's routes, the names configuration uses for them, and the
//! quirks a route can be told to have. Each system's module declares its
//! own endpoints ([`Endpoint`]: paths, handler, the quirks it takes and the
//! check each breaks there); `systems` lists them, the one place that does.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use bytes::Bytes;
use http::{Request, Response};
use serde::Deserialize;

#[cfg(test)]
use crate::systems::ROUTE_COUNT;
use crate::systems::{ROUTES, State};

/// What a system's module says of one of its endpoints.
pub(crate) struct Endpoint {
    /// The name used in configuration, logs and counters.
    pub(crate) name: &'static str,
    pub(crate) paths: Paths,
    /// Its answer, before the quirks that rewrite any answer.
    pub(crate) answer: fn(&State, &Request<Bytes>) -> Response<Bytes>,
    /// The quirks it takes, each with the check id it breaks here.
    pub(crate) breaks: &'static [(Quirk, &'static str)],
}

/// The request paths an endpoint answers, whatever the method (a wrong
/// method is the endpoint's own documented refusal).
pub(crate) enum Paths {
    Exact(&'static [&'static str]),
    /// Every path under a prefix, as `/auth/oauth/session/{profile}`.
    Prefix(&'static str),
}

impl Paths {
    fn matches(&self, path: &str) -> bool {
        match self {
            Paths::Exact(paths) => paths.contains(&path),
            Paths::Prefix(prefix) => path.starts_with(prefix),
        }
    }
}

/// One endpoint of the stub.
#[derive(Clone, Copy)]
pub struct Route(pub(crate) &'static Endpoint);

impl Route {
    /// Every route, in a stable order.
    pub fn all() -> &'static [Route] {
        ROUTES
    }

    /// The route configuration calls `name`.
    pub fn named(name: &str) -> Option<Route> {
        ROUTES.iter().copied().find(|r| r.name() == name)
    }

    /// The name used in configuration, logs and counters.
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// The route a request path belongs to, whatever its method.
    pub fn of(path: &str) -> Option<Route> {
        ROUTES.iter().copied().find(|r| r.0.paths.matches(path))
    }

    /// Its place in [`Route::all`]; `None` for an endpoint `ROUTES` does
    /// not list (which no request can reach).
    pub(crate) fn index(self) -> Option<usize> {
        ROUTES.iter().position(|r| std::ptr::eq(r.0, self.0))
    }

    /// The check id `quirk` breaks here, if it applies here.
    pub(crate) fn breaks(self, quirk: Quirk) -> Option<&'static str> {
        self.0
            .breaks
            .iter()
            .find(|(q, _)| *q == quirk)
            .map(|(_, id)| *id)
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for Route {}

impl Hash for Route {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl PartialOrd for Route {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Route {
    fn cmp(&self, other: &Self) -> Ordering {
        // Names are unique, so this agrees with `eq`.
        (self.index(), self.name()).cmp(&(other.index(), other.name()))
    }
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Route({})", self.name())
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
            RouteKey::All => Route::all(),
            RouteKey::Route(r) => r
                .index()
                .and_then(|i| Route::all().get(i..=i))
                .unwrap_or_default(),
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
        Route::named(&s).map(RouteKey::Route).ok_or_else(|| {
            let names: Vec<_> = Route::all().iter().map(|r| r.name()).collect();
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
    pub fn breaks(self) -> Vec<(Route, &'static str)> {
        Route::all()
            .iter()
            .filter_map(|r| Some((*r, r.breaks(self)?)))
            .collect()
    }

    /// Whether it applies to `route`.
    pub fn applies_to(self, route: Route) -> bool {
        route.breaks(self).is_some()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_has_its_own_name_and_paths_and_each_quirk_a_route() {
        for &route in Route::all() {
            assert_eq!(Route::named(route.name()), Some(route));
            if let Paths::Exact(paths) = route.0.paths {
                for path in paths {
                    assert_eq!(Route::of(path), Some(route), "{path}");
                }
            }
        }
        for quirk in Quirk::ALL {
            assert!(!quirk.breaks().is_empty(), "{quirk:?} applies to no route");
        }
        let mut names: Vec<_> = Route::all().iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ROUTE_COUNT);
    }
}
