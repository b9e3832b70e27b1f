//! Veeva Vault: the session endpoint refuses what it must.

use super::{Checked, answer, require};
use crate::target::{Reply, Target};

fn is_session(reply: &Reply) -> bool {
    reply.status.is_success() && reply.json()["responseStatus"] == "SUCCESS"
}

/// VV-07: a FAILURE carries its errors.
pub(crate) async fn failure_lists_errors(target: &Target) -> Checked {
    let reply = target.veeva(target.veeva_profile()?, None).await?;
    let body = reply.json();
    require(
        body["responseStatus"] != "FAILURE"
            || body["errors"].as_array().is_some_and(|e| !e.is_empty()),
        || format!("FAILURE without errors: {}", answer(&reply)),
    )
}

/// VV-09: no Authorization, no session.
pub(crate) async fn no_token_no_session(target: &Target) -> Checked {
    let reply = target.veeva(target.veeva_profile()?, None).await?;
    require(!is_session(&reply), || {
        "a session without Authorization".into()
    })
}

/// VV-10: an invalid token gets no session.
pub(crate) async fn invalid_token_no_session(target: &Target) -> Checked {
    let reply = target
        .veeva(target.veeva_profile()?, Some("not-a-token"))
        .await?;
    require(!is_session(&reply), || {
        "a session for an invalid token".into()
    })
}

/// VV-11: an unknown profile gets no session.
pub(crate) async fn unknown_profile_no_session(target: &Target) -> Checked {
    let token = target.idp_token().await?;
    let reply = target.veeva("no-such-profile", Some(&token)).await?;
    require(!is_session(&reply), || {
        "a session for an unknown profile".into()
    })
}
