//! Veeva Vault: the session endpoint refuses what it must.

use bytes::Bytes;
use http::Request;
use tokenprobe_client::VeevaAccount;
use tokenprobe_protocol::Secret;

use super::{Checked, Finding, answer, judged, require};
use crate::catalog::{Entry, Mark, check, entry, varies};
use crate::endpoint::{Reply, Shared, Target, TargetError};
use tokenprobe_protocol::System::Veeva;

impl Target {
    /// The configured Vault session request (tracking client id
    /// included) for `profile` (the configured one by default) with the
    /// IdP token `token`.
    pub fn veeva_request(
        &self,
        profile: Option<&str>,
        token: &str,
    ) -> Result<Request<Bytes>, TargetError> {
        let req = self
            .account_of::<VeevaAccount>()?
            .session(profile, Secret::new(token))?;
        Ok(req.encode(&self.base)?)
    }
}

/// The plain success: a session for the IdP token.
pub(crate) async fn successes(target: &Target, out: &mut Vec<Shared>) -> Result<(), TargetError> {
    let token = target.idp_token().await?;
    let r = target.send(target.veeva_request(None, &token)?).await?;
    if r.json()["responseStatus"] == "SUCCESS" {
        target.keep_success("veeva", r, out);
    }
    Ok(())
}

fn is_session(reply: &Reply) -> bool {
    reply.status.is_success() && reply.json()["responseStatus"] == "SUCCESS"
}

/// The working session request without `Authorization`.
async fn without_authorization(target: &Target) -> Result<Reply, Finding> {
    target.control().await?;
    let token = target.idp_token().await?;
    let mut req = target.veeva_request(None, &token)?;
    req.headers_mut().remove(http::header::AUTHORIZATION);
    let reply = target.send(req).await?;
    judged(&reply)?;
    Ok(reply)
}

/// VV-07: a FAILURE carries its errors.
pub(crate) async fn failure_lists_errors(target: &Target) -> Checked {
    let reply = without_authorization(target).await?;
    let body = reply.json();
    if body["responseStatus"] != "FAILURE" {
        return Err(Finding::Skipped(format!(
            "no FAILURE to inspect: {}",
            answer(&reply)
        )));
    }
    require(
        body["errors"].as_array().is_some_and(|e| !e.is_empty()),
        || format!("FAILURE without errors: {}", answer(&reply)),
    )
}

/// VV-09: no Authorization, no session.
pub(crate) async fn no_token_no_session(target: &Target) -> Checked {
    let reply = without_authorization(target).await?;
    require(!is_session(&reply), || {
        "a session without Authorization".into()
    })
}

/// VV-10: an invalid token gets no session.
pub(crate) async fn invalid_token_no_session(target: &Target) -> Checked {
    target.control().await?;
    let reply = target
        .send(target.veeva_request(None, "not-a-token")?)
        .await?;
    judged(&reply)?;
    require(!is_session(&reply), || {
        "a session for an invalid token".into()
    })
}

/// VV-11: an unknown profile gets no session.
pub(crate) async fn unknown_profile_no_session(target: &Target) -> Checked {
    target.control().await?;
    let token = target.idp_token().await?;
    let reply = target
        .send(target.veeva_request(Some("no-such-profile"), &token)?)
        .await?;
    judged(&reply)?;
    require(!is_session(&reply), || {
        "a session for an unknown profile".into()
    })
}

/// This module's entries of the catalog, in the order they run.
pub(crate) const ENTRIES: &[Entry] = &[
    varies(
        entry(
            "VV-07",
            check!(failure_lists_errors),
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
            check!(no_token_no_session),
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
            check!(invalid_token_no_session),
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
            check!(unknown_profile_no_session),
            &[Veeva],
            Mark::Doc,
            "an unknown profile gets no session",
            "a session request with a valid IdP token for a profile that does not exist",
            "a `FAILURE` body or a 4xx, never a session",
        ),
        "the profile id replaced by one that does not exist",
    ),
];
