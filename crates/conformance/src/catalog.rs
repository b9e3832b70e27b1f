//! The catalog: one entry per contract a live server can break, as data.
//! Each names the systems it applies to, what it sends, what must come back
//! and where the rule comes from, so the table, the JSON evidence and the
//! JUnit file all describe a check the same way. The code that runs an
//! entry is in [`crate::checks`]; the rule itself is in `tokenprobe-protocol`.

use serde::Serialize;
pub use tokenprobe_protocol::System;

use crate::checks::{Check, cess, cognito, discovery, rfc, rfc7523, vcd, veeva, venafi};

/// Where a rule comes from (`docs/contracts.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mark {
    /// The vendor documents it.
    Doc,
    /// RFC 6749 or RFC 6750 requires it.
    Rfc,
    /// Our best reading: a break is only a warning.
    Inferred,
}

impl Mark {
    /// As `docs/contracts.md` writes it.
    pub fn name(self) -> &'static str {
        match self {
            Mark::Doc => "doc",
            Mark::Rfc => "rfc",
            Mark::Inferred => "inferred",
        }
    }
}

/// One check: what it is, and the code that runs it. The code is a field,
/// so an entry cannot exist without it:
///
/// ```compile_fail,E0063
/// use tokenprobe_conformance::catalog::{Entry, Mark, System};
/// // No `check`: does not compile.
/// let entry = Entry {
///     id: "XX-01",
///     systems: &[System::Cognito],
///     title: "a rule with no code",
///     sends: "",
///     expects: "",
///     mark: Mark::Doc,
///     warn_on: &[],
///     negative: false,
///     change: None,
/// };
/// ```
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Entry {
    /// The contract id of `docs/contracts.md`.
    pub id: &'static str,
    /// The code that runs it.
    #[serde(skip)]
    pub check: Check,
    /// The systems it runs against.
    pub systems: &'static [System],
    /// The rule, in a few words.
    pub title: &'static str,
    /// What the check sends.
    pub sends: &'static str,
    /// What must come back.
    pub expects: &'static str,
    /// Where the rule comes from.
    pub mark: Mark,
    /// Systems on which a break is only a warning although the mark is not
    /// `inferred` (the rule itself says "a warning", or the body shape is
    /// inferred for that system).
    pub warn_on: &'static [System],
    /// It sends a wrong secret or password: it can lock a real account, so
    /// it runs only when asked for, once, spaced from the others.
    pub negative: bool,
    /// For a check that expects a refusal: the one thing its probe changes
    /// in the flow's working request, which must have succeeded first (a
    /// refusal of a request that differs in more proves nothing).
    pub change: Option<&'static str>,
}

impl Entry {
    /// Whether a break on `system` is a warning rather than a failure.
    pub fn warns(&self, system: System) -> bool {
        self.mark == Mark::Inferred || self.warn_on.contains(&system)
    }
}

use System::{Cess, Cognito, Vcd, Veeva, Venafi};

const JSON_SYSTEMS: &[System] = &[Cognito, Cess, Venafi];

/// A check function as the catalog holds it (boxed, so that every entry
/// has the same type).
macro_rules! check {
    ($f:path) => {
        |target| Box::pin($f(target))
    };
}

#[allow(clippy::too_many_arguments)]
const fn entry(
    id: &'static str,
    check: Check,
    systems: &'static [System],
    mark: Mark,
    title: &'static str,
    sends: &'static str,
    expects: &'static str,
) -> Entry {
    Entry {
        id,
        check,
        systems,
        title,
        sends,
        expects,
        mark,
        warn_on: &[],
        negative: false,
        change: None,
    }
}

const fn warn_on(mut e: Entry, systems: &'static [System]) -> Entry {
    e.warn_on = systems;
    e
}

const fn varies(mut e: Entry, change: &'static str) -> Entry {
    e.change = Some(change);
    e
}

const fn negative(mut e: Entry) -> Entry {
    e.negative = true;
    e
}

/// Every check, in the order they run.
pub const ENTRIES: &[Entry] = &[
    varies(
        entry(
            "RFC-01",
            check!(rfc::labelled_json),
            JSON_SYSTEMS,
            Mark::Rfc,
            "token and error responses are labelled JSON",
            "a valid token request (and a refresh where there is one), then one with a missing or wrong non-secret parameter",
            "`Content-Type: application/json` (parameters allowed) on the successes and on the error",
        ),
        "the refusal: cognito `grant_type` removed, cess `grant_type` set to `client_credentials`, venafi `client_id` removed",
    ),
    warn_on(
        entry(
            "RFC-02",
            check!(rfc::not_cached),
            &[Cess, Venafi],
            Mark::Rfc,
            "successful token responses are not cached",
            "a valid token request (and a refresh where there is one)",
            "`Cache-Control: no-store`; a missing `Pragma: no-cache` is a warning",
        ),
        &[Cess, Venafi],
    ),
    warn_on(
        varies(
            entry(
                "RFC-05",
                check!(rfc::error_shape),
                JSON_SYSTEMS,
                Mark::Rfc,
                "error bodies have the RFC 6749 shape",
                "a request with a missing or wrong non-secret parameter",
                "a JSON object with a string `error`, and string `error_description` / `error_uri` when present",
            ),
            "the refusal: cognito `grant_type` removed, cess `grant_type` set to `client_credentials`, venafi `client_id` removed",
        ),
        &[Cess, Venafi],
    ),
    entry(
        "RFC-06",
        check!(rfc::expires_in_number),
        JSON_SYSTEMS,
        Mark::Rfc,
        "`expires_in` is a JSON number",
        "a valid token request (and a refresh where there is one)",
        "`expires_in` a JSON number (a digit string or none is a warning)",
    ),
    varies(
        entry(
            "RFC-08",
            check!(rfc::basic_challenge),
            &[Cognito],
            Mark::Rfc,
            "a 401 after HTTP Basic challenges",
            "the working request with a malformed HTTP Basic header",
            "401 with `WWW-Authenticate: Basic realm=…` (another scheme, or no realm, is a warning; skipped for a client without Basic)",
        ),
        "`Authorization: Basic` made malformed",
    ),
    warn_on(
        entry(
            "RFC-09",
            check!(rfc::b64token),
            JSON_SYSTEMS,
            Mark::Rfc,
            "access tokens are RFC 6750 b64tokens",
            "a valid token request",
            "an `access_token` of `[A-Za-z0-9-._~+/]+=*` (a warning if not)",
        ),
        JSON_SYSTEMS,
    ),
    varies(
        entry(
            "VV-07",
            check!(veeva::failure_lists_errors),
            &[Veeva],
            Mark::Doc,
            "a FAILURE carries its errors",
            "a session request without `Authorization`",
            "a `FAILURE` body lists `errors`",
        ),
        "`Authorization` removed",
    ),
    varies(
        entry(
            "VV-09",
            check!(veeva::no_token_no_session),
            &[Veeva],
            Mark::Doc,
            "no Authorization, no session",
            "a session request without `Authorization`",
            "a `FAILURE` body or a 4xx, never a session",
        ),
        "`Authorization` removed",
    ),
    varies(
        entry(
            "VV-10",
            check!(veeva::invalid_token_no_session),
            &[Veeva],
            Mark::Doc,
            "an invalid token gets no session",
            "a session request with a bearer token the IdP never issued",
            "a `FAILURE` body or a 4xx, never a session",
        ),
        "the bearer token replaced by one the IdP never issued",
    ),
    varies(
        entry(
            "VV-11",
            check!(veeva::unknown_profile_no_session),
            &[Veeva],
            Mark::Doc,
            "an unknown profile gets no session",
            "a session request with a valid IdP token for a profile that does not exist",
            "a `FAILURE` body or a 4xx, never a session",
        ),
        "the profile id replaced by one that does not exist",
    ),
    entry(
        "CE-06",
        check!(cess::grant_shape),
        &[Cess],
        Mark::Doc,
        "`Authorization` is VCSchema(provider-|token)",
        "a valid password grant",
        "`Authorization` = `VCSchema base64(provider + \"-|\" + access_token)`",
    ),
    entry(
        "CE-08",
        check!(cess::default_scope),
        &[Cess],
        Mark::Doc,
        "the default scope is authentication_session",
        "a valid password grant without `scope`",
        "a granted `scope` that includes `authentication_session`",
    ),
    negative(varies(
        entry(
            "CE-09",
            check!(cess::wrong_otp_refused),
            &[Cess],
            Mark::Inferred,
            "a wrong OTP gets no token",
            "one password grant with a wrong OTP",
            "a 4xx without a token",
        ),
        "`password` (the OTP) replaced",
    )),
    varies(
        entry(
            "CE-10",
            check!(cess::other_grant_refused),
            &[Cess],
            Mark::Inferred,
            "another grant_type is refused",
            "a grant with `grant_type=client_credentials`",
            "400 `unsupported_grant_type`",
        ),
        "`grant_type` set to `client_credentials`",
    ),
    varies(
        entry(
            "CE-11",
            check!(cess::lifetime_limit),
            &[Cess],
            Mark::Inferred,
            "a too-long lifetime is refused or capped",
            "a grant with `lifetime` one second above the user's limit",
            "400, or a grant whose `expires_in` is within the limit",
        ),
        "`lifetime` set one second above the user's limit",
    ),
    entry(
        "CE-12",
        check!(cess::lifetime_honoured),
        &[Cess],
        Mark::Doc,
        "`expires_in` stays within the requested lifetime",
        "a grant with `lifetime` 3600",
        "a grant with `expires_in` ≤ 3600",
    ),
    varies(
        entry(
            "VE-06",
            check!(venafi::missing_application),
            &[Venafi],
            Mark::Doc,
            "no client_id: 400",
            "an authorize request without `client_id`",
            "400 \"Application identifier is missing\"",
        ),
        "`client_id` removed",
    ),
    varies(
        entry(
            "VE-07",
            check!(venafi::missing_password),
            &[Venafi],
            Mark::Doc,
            "no password: 400",
            "an authorize request without `password`",
            "400 \"Missing username or password\"",
        ),
        "`password` removed",
    ),
    negative(varies(
        entry(
            "VE-08",
            check!(venafi::wrong_password),
            &[Venafi],
            Mark::Doc,
            "a wrong password: 401",
            "one authorize request with a wrong password",
            "401 \"Username/password combination not valid\"",
        ),
        "`password` replaced",
    )),
    varies(
        entry(
            "VE-09",
            check!(venafi::unlisted_scope_refused),
            &[Venafi],
            Mark::Inferred,
            "a scope the application lacks gets no token",
            "an authorize request for scope `admin`",
            "400, 401 or 403, never a token",
        ),
        "`scope` replaced by `admin`",
    ),
    entry(
        "VE-10",
        check!(venafi::refresh_rotates),
        &[Venafi],
        Mark::Doc,
        "the refresh token gives a new access token",
        "a grant, then a refresh with its refresh token",
        "2xx with a new `access_token` (skipped when the grant has no refresh token)",
    ),
    varies(
        entry(
            "VE-11",
            check!(venafi::revoke_ends_token),
            &[Venafi],
            Mark::Doc,
            "a revoked token no longer verifies",
            "a grant, verify, revoke, verify again",
            "2xx, 2xx, then 401",
        ),
        "none: the same verify, after a revoke",
    ),
    entry(
        "VE-12",
        check!(venafi::scope_within_request),
        &[Venafi],
        Mark::Inferred,
        "the granted scope stays within the asked one",
        "a valid grant for the configured scope",
        "a granted `scope` within the requested one",
    ),
    entry(
        "CG-05",
        check!(cognito::claims),
        &[Cognito],
        Mark::Doc,
        "the access token's JWT claims match the response",
        "a valid client-credentials request",
        "a JWT with `exp − iat` within 5 s of `expires_in`, `token_use` access and our `client_id` (generic mode: only the lifetime; skipped for opaque tokens)",
    ),
    entry(
        "CG-07",
        check!(cognito::not_cached),
        &[Cognito],
        Mark::Rfc,
        "success is not cached",
        "a valid client-credentials request",
        "`Cache-Control: no-store`",
    ),
    negative(varies(
        entry(
            "CG-08",
            check!(cognito::wrong_secret_refused),
            &[Cognito],
            Mark::Doc,
            "a wrong secret: invalid_client",
            "one token request with a wrong client secret (with a key: an assertion whose signature does not verify)",
            "400 or 401 `invalid_client`",
        ),
        "the client secret replaced (with a key: the assertion's signature broken)",
    )),
    negative(varies(
        entry(
            "CG-09",
            check!(cognito::unknown_client_refused),
            &[Cognito],
            Mark::Doc,
            "an unknown client: invalid_client",
            "one token request for a client id that does not exist",
            "400 or 401 `invalid_client`",
        ),
        "`client_id` replaced by one that does not exist",
    )),
    varies(
        entry(
            "CG-10",
            check!(cognito::unsupported_grant_refused),
            &[Cognito],
            Mark::Rfc,
            "an unsupported grant_type is refused",
            "`grant_type=password` (Cognito has none); in rfc6749 mode a grant type no server knows",
            "400 `unsupported_grant_type` or `unauthorized_client`",
        ),
        "`grant_type` set to `password` (rfc6749 mode: a grant type no server knows)",
    ),
    varies(
        entry(
            "CG-11",
            check!(cognito::missing_grant_type_refused),
            &[Cognito],
            Mark::Rfc,
            "a missing grant_type is refused",
            "a token request without `grant_type`",
            "400 `invalid_request`",
        ),
        "`grant_type` removed",
    ),
    varies(
        entry(
            "CG-12",
            check!(cognito::unlisted_scope_not_granted),
            &[Cognito],
            Mark::Rfc,
            "a scope the client lacks is never granted",
            "a token request for scope `admin/everything`",
            "400 `invalid_scope`, or a grant that leaves the scope out (a grant naming no scope, or another refusal, is a warning)",
        ),
        "`scope` replaced by `admin/everything`",
    ),
    varies(
        entry(
            "CG-13",
            check!(cognito::get_refused),
            &[Cognito],
            Mark::Rfc,
            "GET gives no token",
            "the working request by GET, its form in the query string, then in the body",
            "a 4xx without a token",
        ),
        "the method set to GET, the form in the query string, then in the body",
    ),
    entry(
        "CG-14",
        check!(cognito::no_refresh_token),
        &[Cognito],
        Mark::Rfc,
        "no refresh token for client credentials",
        "a valid client-credentials request",
        "no `refresh_token`",
    ),
    entry(
        "CG-15",
        check!(cognito::signed_by_published_key),
        &[Cognito],
        Mark::Doc,
        "the JWKS verifies the token",
        "a valid client-credentials request, then a GET of the JWKS",
        "a signature that verifies with the key named by `kid` (skipped for opaque tokens or without a JWKS)",
    ),
    entry(
        "DS-01",
        check!(discovery::metadata_served),
        &[Cognito],
        Mark::Rfc,
        "the issuer's metadata is served",
        "GET of the issuer's RFC 8414 and OpenID Connect metadata locations",
        "a JSON document whose `issuer` is the issuer (RFC 8414 §3.3) and whose `token_endpoint` is https or on this machine (skipped without `issuer`)",
    ),
    entry(
        "DS-02",
        check!(discovery::advertised_auth_methods_work),
        &[Cognito],
        Mark::Rfc,
        "advertised client auth methods work",
        "a token request by each advertised method the credential fits (Basic and body for a secret, client_secret_jwt for a secret that signs, private_key_jwt for a key)",
        "a token each time; the configured method unadvertised is a warning (RFC 8414 §2)",
    ),
    entry(
        "DS-03",
        check!(discovery::advertised_jwks_verifies),
        &[Cognito],
        Mark::Rfc,
        "the advertised jwks_uri verifies tokens",
        "a valid token request, then a GET of the metadata's `jwks_uri`",
        "a signature that verifies with the key named by `kid` (skipped for opaque tokens or without `jwks_uri`)",
    ),
    varies(
        entry(
            "DS-04",
            check!(discovery::unadvertised_grant_refused),
            &[Cognito],
            Mark::Rfc,
            "a grant not advertised is refused",
            "a token request with the first of password, device_code, token-exchange, jwt-bearer, refresh_token that `grant_types_supported` lacks",
            "400 `unsupported_grant_type` or `unauthorized_client` (another refusal is a warning: the probe lacks the grant's own parameters; skipped without `grant_types_supported`)",
        ),
        "`grant_type` set to one the metadata does not advertise",
    ),
    negative(varies(
        entry(
            "PK-01",
            check!(rfc7523::other_audience_refused),
            &[Cognito],
            Mark::Rfc,
            "an assertion for another audience is refused",
            "one token request with an assertion, signed by the client's key, whose `aud` is another server's",
            "400 or 401 `invalid_client` (RFC 7523 §3 item 3; skipped for a client with a secret)",
        ),
        "the assertion's `aud` replaced by another server's",
    )),
    negative(varies(
        entry(
            "PK-02",
            check!(rfc7523::expired_refused),
            &[Cognito],
            Mark::Rfc,
            "an expired assertion is refused",
            "one token request with an assertion, signed by the client's key, that expired 5 minutes ago",
            "400 or 401 `invalid_client` (RFC 7523 §3 item 4; skipped for a client with a secret)",
        ),
        "the assertion's `iat` and `exp` moved 10 and 5 minutes into the past",
    )),
    warn_on(
        negative(varies(
            entry(
                "PK-03",
                check!(rfc7523::replay_refused),
                &[Cognito],
                Mark::Rfc,
                "a replayed assertion is refused",
                "one fresh assertion sent twice",
                "a token, then 400 or 401 `invalid_client` (RFC 7523 §3 item 7 lets a server skip this: a warning)",
            ),
            "none: the same assertion sent a second time",
        )),
        &[Cognito],
    ),
    varies(
        entry(
            "VCD-07",
            check!(vcd::anonymous_forbidden),
            &[Vcd],
            Mark::Doc,
            "no Authorization: 403",
            "a login without `Authorization`",
            "403",
        ),
        "`Authorization` removed",
    ),
    varies(
        entry(
            "VCD-08",
            check!(vcd::invalid_token_refused),
            &[Vcd],
            Mark::Doc,
            "an invalid token: 401",
            "a login with a bearer token the IdP never issued",
            "401 with an `Error` whose `majorErrorCode` is 401",
        ),
        "the bearer token replaced by one the IdP never issued",
    ),
    entry(
        "VCD-09",
        check!(vcd::session_shape),
        &[Vcd],
        Mark::Doc,
        "the session's org is the asked org",
        "a login with a valid IdP token for the configured org",
        "a `Session` naming that org",
    ),
    varies(
        entry(
            "VCD-10",
            check!(vcd::old_version_refused),
            &[Vcd],
            Mark::Inferred,
            "an unsupported API version: 406",
            "a login with `Accept: application/*+xml;version=9.0`",
            "406",
        ),
        "the `Accept` version set to 9.0",
    ),
    varies(
        entry(
            "VCD-11",
            check!(vcd::logout_ends_session),
            &[Vcd],
            Mark::Doc,
            "logout ends the session",
            "a login, GET the current session, DELETE it, GET it again",
            "2xx, 204, then 401",
        ),
        "none: the same session request, after a logout",
    ),
];

/// The entry for `id`.
pub fn entry_for(id: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|e| e.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids name checks in `--only`, reports and JUnit: one entry each. (An
    /// entry and its code cannot drift apart: the code is the entry's
    /// `check` field, and a check function no entry holds is dead code,
    /// which the build refuses.)
    #[test]
    fn each_id_is_one_entry() {
        let mut ids: Vec<&str> = ENTRIES.iter().map(|e| e.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ENTRIES.len());
        for id in ids {
            assert_eq!(entry_for(id).map(|e| e.id), Some(id));
        }
    }
}
