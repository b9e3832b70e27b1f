//! The code of the catalog's checks, one async function each, grouped by
//! the rule's source: [`rfc`] (RFC 6749/6750, several systems), then one
//! module per system, which also holds that system's requests (an `impl
//! Target` block), its plain successes and its refusal; the functions
//! below dispatch to them, the one place here that lists the systems. A check sends its requests through the [`Target`],
//! reads the typed [`Reply`] and says how the contract was broken, or why
//! it could not tell; the rules themselves come from `tokenprobe-protocol`.
//!
//! The catalog binds each entry to its function ([`crate::catalog::Entry::check`]),
//! so an entry without code does not compile, and a function no entry
//! names is dead code, which the build refuses (`-D warnings`).

pub(crate) mod cess;
pub(crate) mod cognito;
pub(crate) mod discovery;
pub(crate) mod dpop;
pub(crate) mod mtls;
pub(crate) mod rfc;
pub(crate) mod rfc7523;
pub(crate) mod vcd;
pub(crate) mod veeva;
pub(crate) mod venafi;

use std::pin::Pin;

use tokenprobe_protocol::{Call, Secret, System, wire};

use crate::catalog::Entry;
use crate::endpoint::{Reply, Shared, Target, TargetError};

/// The catalog's entries, the rules several systems share first.
pub(crate) fn entries() -> Vec<Entry> {
    [
        rfc::ENTRIES,
        veeva::ENTRIES,
        cess::ENTRIES,
        venafi::ENTRIES,
        cognito::ENTRIES,
        discovery::ENTRIES,
        rfc7523::ENTRIES,
        dpop::ENTRIES,
        mtls::ENTRIES,
        vcd::ENTRIES,
    ]
    .concat()
}

/// The plain successful answers of the target's system, into `out`.
pub(crate) async fn successes(t: &Target, out: &mut Vec<Shared>) -> Result<(), TargetError> {
    match t.system {
        System::Cognito => cognito::successes(t, out).await,
        System::Cess => cess::successes(t, out).await,
        System::Venafi => venafi::successes(t, out).await,
        System::Veeva => veeva::successes(t, out).await,
        System::Vcd => vcd::successes(t, out).await,
    }
}

/// The target's answer to its working token request with one non-secret
/// change, and the route it went to.
pub(crate) async fn refusal(t: &Target) -> Result<(&'static str, Reply), TargetError> {
    match t.system {
        System::Cognito => cognito::refusal(t).await,
        System::Cess => cess::refusal(t).await,
        System::Venafi => venafi::refusal(t).await,
        System::Veeva | System::Vcd => Err(TargetError::NoTokenEndpoint),
    }
}

/// Ends a session a check opened, known by the credential that ends it.
pub(crate) async fn end_session(t: &Target, key: &Secret) -> Result<Reply, TargetError> {
    match t.system {
        System::Venafi => t.venafi_revoke(key.expose()).await,
        System::Vcd => t.vcd_logout(key.expose()).await,
        System::Cognito | System::Cess | System::Veeva => Err(TargetError::Build(format!(
            "{} opens no sessions",
            t.system
        ))),
    }
}

/// `invalid_client` with 400 or 401, for the working request with another
/// credential or client.
async fn invalid_client(target: &Target, request: &impl Call) -> Checked {
    target.control().await?;
    let reply = target.call(request).await?;
    judged(&reply)?;
    require(
        matches!(reply.status.as_u16(), 400 | 401) && reply.json()["error"] == "invalid_client",
        || answer(&reply),
    )
}

/// Why a check did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The contract is broken, as observed.
    Broken(String),
    /// A departure the contract itself calls a warning.
    Warning(String),
    /// The check does not apply to this server, and why.
    Skipped(String),
    /// The check could not run, and why.
    Errored(CheckError),
}

/// Why a check could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// A request it needed got no answer to read.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// What it builds on did not happen (no grant to refresh, no session
    /// to end), so the rule it checks cannot be observed.
    #[error("{0}")]
    Precondition(String),
}

impl From<TargetError> for Finding {
    fn from(e: TargetError) -> Self {
        Finding::Errored(e.into())
    }
}

/// A check's verdict: `Err` says how it did not pass.
pub type Checked = Result<(), Finding>;

/// A check, as the catalog holds it.
pub type Check = for<'a> fn(&'a Target) -> Pin<Box<dyn Future<Output = Checked> + Send + 'a>>;

/// `Ok` when `holds`, else the contract is broken for the reason `why`.
fn require(holds: bool, why: impl FnOnce() -> String) -> Checked {
    if holds {
        Ok(())
    } else {
        Err(Finding::Broken(why()))
    }
}

fn broken<T>(why: impl Into<String>) -> Result<T, Finding> {
    Err(Finding::Broken(why.into()))
}

fn precondition<T>(why: impl Into<String>) -> Result<T, Finding> {
    Err(Finding::Errored(CheckError::Precondition(why.into())))
}

/// `401 {"error":"invalid_client"}` as a one-line reason (the runner
/// scrubs it of secrets).
fn answer(reply: &Reply) -> String {
    format!("{} {}", reply.status.as_u16(), wire::excerpt(&reply.body))
}

/// The media type a reply is labelled with.
fn media(reply: &Reply) -> String {
    wire::media_type(&reply.headers)
        .unwrap_or("nothing")
        .to_owned()
}

/// `expires_in`, as the protocol reads it (a number, or a digit string).
fn expires_in(reply: &Reply) -> Option<u64> {
    serde_json::from_value::<tokenprobe_protocol::rfc6749::ExpiresIn>(
        reply.json()["expires_in"].clone(),
    )
    .ok()
    .map(tokenprobe_protocol::rfc6749::ExpiresIn::seconds)
}

/// The access token of a reply, or empty.
fn access_token(reply: &Reply) -> &str {
    reply.member("access_token").unwrap_or_default()
}

/// A negative check's probe, answered with something it can judge: a 429
/// or a 5xx refuses nothing in particular (the server was busy or broke),
/// so the check cannot tell whether the rule holds.
fn judged(reply: &Reply) -> Result<&Reply, Finding> {
    if reply.status == http::StatusCode::TOO_MANY_REQUESTS || reply.status.is_server_error() {
        return precondition(format!(
            "the probe got {}, which refuses nothing in particular",
            answer(reply)
        ));
    }
    Ok(reply)
}

/// A probe refused as an RFC 6749 §5.2 error names it: 400 or 401, no
/// token, and the error `code`. Refused with another error, it is only a
/// warning: the rule the probe broke was not what the server refused
/// for. `what` names the probe in the reasons.
fn refused_as(reply: &Reply, what: &str, code: &str) -> Checked {
    judged(reply)?;
    require(
        reply.status == http::StatusCode::BAD_REQUEST
            || reply.status == http::StatusCode::UNAUTHORIZED,
        || format!("{what} was not refused: {}", answer(reply)),
    )?;
    require(reply.member("access_token").is_none(), || {
        format!("the refusal of {what} carries an access_token")
    })?;
    match reply.member("error") {
        Some(error) if error == code => Ok(()),
        _ => Err(Finding::Warning(format!(
            "refused, but not as {code}: {}",
            answer(reply)
        ))),
    }
}

/// The target's refusal, for the checks that read an error answer; a
/// server that does not refuse leaves nothing to read.
async fn refused(target: &Target) -> Result<Reply, Finding> {
    let refusal = target.refusal().await?;
    if refusal.status.is_client_error() {
        Ok(refusal)
    } else {
        Err(Finding::Skipped(format!(
            "no error to inspect: {}",
            answer(&refusal)
        )))
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::{HeaderMap, StatusCode};

    use super::*;

    fn reply(status: u16, body: &'static str) -> Reply {
        Reply::new(
            StatusCode::from_u16(status).unwrap(),
            HeaderMap::new(),
            Bytes::from_static(body.as_bytes()),
        )
    }

    fn verdict(status: u16, body: &'static str) -> &'static str {
        match refused_as(&reply(status, body), "the probe", "invalid_client") {
            Ok(()) => "pass",
            Err(Finding::Warning(_)) => "warning",
            Err(Finding::Broken(_)) => "broken",
            Err(Finding::Errored(_)) => "errored",
            Err(Finding::Skipped(_)) => "skipped",
        }
    }

    /// 400 and 401 with the error asked for pass; with another error, a
    /// warning; another status, or a token, is broken; a 429 or a 5xx
    /// judges nothing.
    #[test]
    fn a_refusal_is_400_or_401_without_a_token_and_with_its_error() {
        let named = r#"{"error":"invalid_client"}"#;
        assert_eq!(verdict(400, named), "pass");
        assert_eq!(verdict(401, named), "pass");
        assert_eq!(verdict(400, r#"{"error":"invalid_request"}"#), "warning");
        assert_eq!(verdict(401, "not json"), "warning");
        assert_eq!(verdict(403, named), "broken");
        assert_eq!(verdict(200, r#"{"error":"invalid_client"}"#), "broken");
        assert_eq!(verdict(200, r#"{"access_token":"t"}"#), "broken");
        assert_eq!(
            verdict(401, r#"{"error":"invalid_client","access_token":"t"}"#),
            "broken"
        );
        assert_eq!(verdict(429, named), "errored");
        assert_eq!(verdict(503, named), "errored");
    }
}
