//! Venafi TPP: documented refusals, scopes, refresh and revoke.

use http::StatusCode;
use tokenprobe_protocol::venafi;

use super::{Checked, Finding, access_token, answer, judged, precondition, require};
use crate::endpoint::{Reply, Target};

/// The documented status and message of a refusal.
fn documented(reply: &Reply, status: u16, message: &str) -> Checked {
    require(
        reply.status.as_u16() == status && reply.text().contains(message),
        || answer(reply),
    )
}

/// VE-06: no `client_id` is refused as documented.
pub(crate) async fn missing_application(target: &Target) -> Checked {
    let reply = target.refusal().await?;
    judged(&reply)?;
    documented(&reply, 400, "Application identifier is missing")
}

/// VE-07: no password is refused as documented.
pub(crate) async fn missing_password(target: &Target) -> Checked {
    target.control().await?;
    let mut body = target.venafi_body(None)?;
    if let Some(members) = body.as_object_mut() {
        members.remove("password");
    }
    let reply = target.venafi_authorize(&body).await?;
    judged(&reply)?;
    documented(&reply, 400, "Missing username or password")
}

/// VE-08: a wrong password is refused as documented.
pub(crate) async fn wrong_password(target: &Target) -> Checked {
    target.control().await?;
    let mut body = target.venafi_body(None)?;
    let wrong = format!("{}-wrong", target.venafi_account()?.password().expose());
    body["password"] = wrong.into();
    let reply = target.venafi_authorize(&body).await?;
    judged(&reply)?;
    documented(&reply, 401, "Username/password combination not valid")
}

/// VE-09: a scope the application lacks gets no token.
pub(crate) async fn unlisted_scope_refused(target: &Target) -> Checked {
    target.control().await?;
    let reply = target
        .venafi_authorize(&target.venafi_body(Some("admin"))?)
        .await?;
    judged(&reply)?;
    require(
        matches!(reply.status.as_u16(), 400 | 401 | 403) && reply.json()["access_token"].is_null(),
        || format!("{} for a scope the application lacks", reply.status),
    )
}

/// VE-10: a refresh gives a new access token.
pub(crate) async fn refresh_rotates(target: &Target) -> Checked {
    let first = target.venafi_grant().await?;
    if !first.status.is_success() {
        return precondition(format!("no grant: {}", answer(&first)));
    }
    let Some(refresh) = first.member("refresh_token") else {
        return Err(Finding::Skipped(
            "the grant has no refresh_token (refresh is off for this application)".into(),
        ));
    };
    let reply = target.venafi_refresh(refresh).await?;
    let new = reply.member("access_token");
    require(
        reply.status.is_success() && new.is_some() && new != first.member("access_token"),
        || format!("refresh: {}", answer(&reply)),
    )
}

/// VE-11: a revoked token no longer verifies.
pub(crate) async fn revoke_ends_token(target: &Target) -> Checked {
    let grant = target.venafi_grant().await?;
    if !grant.status.is_success() {
        return precondition(format!("no grant: {}", answer(&grant)));
    }
    let token = access_token(&grant);
    let before = target.venafi_verify(token).await?;
    require(before.status.is_success(), || {
        format!("verify before revoke: {}", before.status)
    })?;
    let revoked = target.venafi_revoke(token).await?;
    require(revoked.status.is_success(), || {
        format!("revoke: {}", revoked.status)
    })?;
    let after = target.venafi_verify(token).await?;
    require(after.status == StatusCode::UNAUTHORIZED, || {
        format!("verify after revoke: {}", after.status)
    })
}

/// VE-12: the granted scope is within the scope asked for.
pub(crate) async fn scope_within_request(target: &Target) -> Checked {
    let asked = target.venafi_account()?.scope();
    let reply = target.success().await?;
    let granted = reply.member("scope").unwrap_or_default();
    let within = granted
        .parse::<venafi::Scope>()
        .is_ok_and(|g| g.is_within(asked));
    require(within, || format!("granted {granted:?} for {asked}"))
}
