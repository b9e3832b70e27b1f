//! RFC 6749 and RFC 6750 rules, checked on every JSON token endpoint.

use http::StatusCode;
use serde_json::Value;
use tokenprobe_protocol::client_auth::ClientAuth;
use tokenprobe_protocol::rfc6749::BasicChallenge;
use tokenprobe_protocol::{System, rfc6749, wire};

use super::{Checked, Finding, access_token, answer, broken, media, refused, require};
use crate::catalog::{Entry, Mark, check, entry, varies, warn_on};
use crate::endpoint::Target;
use tokenprobe_protocol::System::{Cess, Venafi};

/// RFC-01: successes and the refusal are labelled JSON.
pub(crate) async fn labelled_json(target: &Target) -> Checked {
    for (route, reply) in target.successes().await? {
        require(wire::is_json(&reply.headers), || {
            format!("{route}: success labelled {}", media(&reply))
        })?;
    }
    let refusal = refused(target).await?;
    match (wire::is_json(&refusal.headers), target.system) {
        (true, _) => Ok(()),
        // Venafi's error body is only documented as "a message".
        (false, System::Venafi) => Err(Finding::Warning(format!(
            "error labelled {}",
            media(&refusal)
        ))),
        (false, _) => broken(format!("error labelled {}", media(&refusal))),
    }
}

/// RFC-02: successes are not cached (`no-store`; `Pragma` only warned of).
pub(crate) async fn not_cached(target: &Target) -> Checked {
    let mut no_pragma = Vec::new();
    for (route, reply) in target.successes().await? {
        require(wire::has_no_store(&reply.headers), || {
            format!("{route}: no `Cache-Control: no-store`")
        })?;
        if !wire::has_pragma_no_cache(&reply.headers) {
            no_pragma.push(route);
        }
    }
    match no_pragma.is_empty() {
        true => Ok(()),
        false => Err(Finding::Warning(format!(
            "{}: no `Pragma: no-cache` (RFC 6749; OAuth 2.1 drops it)",
            no_pragma.join(", ")
        ))),
    }
}

/// RFC-05: the error body has the RFC 6749 shape.
pub(crate) async fn error_shape(target: &Target) -> Checked {
    let refusal = refused(target).await?;
    let body = refusal.json();
    let string_or_absent = |k: &str| body.get(k).is_none_or(Value::is_string);
    require(
        body["error"].as_str().is_some_and(|c| !c.is_empty())
            && string_or_absent("error_description")
            && string_or_absent("error_uri"),
        || format!("error body {}", answer(&refusal)),
    )
}

/// RFC-06: `expires_in` is a JSON number (a digit string or none is a
/// warning).
pub(crate) async fn expires_in_number(target: &Target) -> Checked {
    let mut notes = Vec::new();
    for (route, reply) in target.successes().await? {
        match &reply.json()["expires_in"] {
            Value::Number(n) if n.is_u64() => {}
            Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                notes.push(format!("{route}: expires_in is the string {s:?}"));
            }
            Value::Null => notes.push(format!("{route}: no expires_in")),
            other => return broken(format!("{route}: expires_in is {other}")),
        }
    }
    match notes.is_empty() {
        true => Ok(()),
        false => Err(Finding::Warning(notes.join("; "))),
    }
}

/// RFC-08: a 401 after HTTP Basic carries a `Basic` challenge with its
/// realm (a challenge for another scheme, or without the realm RFC 7617
/// §2 requires, is a warning). The probe is the working request with its
/// `Authorization` value made malformed, so no real account is tried.
pub(crate) async fn basic_challenge(target: &Target) -> Checked {
    if target.client_credentials()?.auth() != ClientAuth::Basic {
        return Err(Finding::Skipped(
            "the client does not authenticate with HTTP Basic".into(),
        ));
    }
    target.control().await?;
    let mut form = target.working_form()?;
    form.headers.insert(
        http::header::AUTHORIZATION,
        http::HeaderValue::from_static("Basic !!not-base64!!"),
    );
    let reply = target.send_form(&form).await?;
    if reply.status != StatusCode::UNAUTHORIZED {
        return Err(Finding::Skipped(format!(
            "the server answers malformed Basic with {}, not 401",
            reply.status.as_u16()
        )));
    }
    let challenges = || {
        let all: Vec<&str> = reply
            .headers
            .get_all(http::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        all.join(", ")
    };
    match BasicChallenge::of(&reply.headers) {
        BasicChallenge::Complete => Ok(()),
        BasicChallenge::Missing => broken("a 401 without WWW-Authenticate"),
        BasicChallenge::OtherScheme => Err(Finding::Warning(format!(
            "the 401 challenges `{}`, not Basic, the scheme the client used (RFC 6749 §5.2)",
            challenges()
        ))),
        BasicChallenge::NoRealm => Err(Finding::Warning(format!(
            "the Basic challenge `{}` has no realm (RFC 7617 §2 requires it)",
            challenges()
        ))),
    }
}

/// RFC-09: access tokens are RFC 6750 b64tokens.
pub(crate) async fn b64token(target: &Target) -> Checked {
    for (route, reply) in target.successes().await? {
        require(rfc6749::is_b64token(access_token(&reply)), || {
            format!("{route}: the access token has characters outside b64token")
        })?;
    }
    Ok(())
}

/// This module's entries of the catalog, in the order they run.
pub(crate) const ENTRIES: &[Entry] = &[
    varies(
        entry(
            "RFC-01",
            check!(labelled_json),
            System::RFC6749_JSON,
            Mark::Rfc,
            "token and error responses are labelled JSON",
            "a valid token request (and a refresh where there is one), then one with a missing or wrong non-secret parameter",
            "`Content-Type: application/json` (parameters allowed) on the successes and on the error",
        ),
        "the refusal: the client-credentials request's `grant_type` removed, cess's `grant_type` set to `client_credentials`, venafi's `client_id` removed",
    ),
    warn_on(
        entry(
            "RFC-02",
            check!(not_cached),
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
                check!(error_shape),
                System::RFC6749_JSON,
                Mark::Rfc,
                "error bodies have the RFC 6749 shape",
                "a request with a missing or wrong non-secret parameter",
                "a JSON object with a string `error`, and string `error_description` / `error_uri` when present",
            ),
            "the refusal: the client-credentials request's `grant_type` removed, cess's `grant_type` set to `client_credentials`, venafi's `client_id` removed",
        ),
        &[Cess, Venafi],
    ),
    entry(
        "RFC-06",
        check!(expires_in_number),
        System::RFC6749_JSON,
        Mark::Rfc,
        "`expires_in` is a JSON number",
        "a valid token request (and a refresh where there is one)",
        "`expires_in` a JSON number (a digit string or none is a warning)",
    ),
    varies(
        entry(
            "RFC-08",
            check!(basic_challenge),
            System::CLIENT_CREDENTIALS,
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
            check!(b64token),
            System::RFC6749_JSON,
            Mark::Rfc,
            "access tokens are RFC 6750 b64tokens",
            "a valid token request",
            "an `access_token` of `[A-Za-z0-9-._~+/]+=*` (a warning if not)",
        ),
        System::RFC6749_JSON,
    ),
];
