//! Veeva Vault: the session endpoint refuses what it must.

use super::{Checked, Finding, answer, judged, require};
use crate::endpoint::{Reply, Target};

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
