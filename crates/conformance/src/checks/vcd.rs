//! VMware Cloud Director: login refusals, versions and logout.

use http::StatusCode;
use tokenprobe_protocol::ProviderError;
use tokenprobe_protocol::vcd::ApiVersion;

use super::{CheckError, Checked, Finding, answer, broken, judged, precondition, require};
use crate::endpoint::Target;

/// VCD-07: a login without a token is forbidden.
pub(crate) async fn anonymous_forbidden(target: &Target) -> Checked {
    target.control().await?;
    let reply = target.vcd_login_anonymous().await?;
    judged(&reply)?;
    require(reply.status == StatusCode::FORBIDDEN, || {
        format!("status {}", reply.status)
    })
}

/// VCD-08: an invalid token gets the documented 401 error.
pub(crate) async fn invalid_token_refused(target: &Target) -> Checked {
    target.control().await?;
    let (request, reply) = target
        .vcd_login("not-a-token", target.vcd_version()?)
        .await?;
    judged(&reply)?;
    match reply.read(&request) {
        Err(ProviderError::Vcd { status, error })
            if status == StatusCode::UNAUTHORIZED && error.major_code == 401 =>
        {
            Ok(())
        }
        _ => broken(answer(&reply)),
    }
}

/// VCD-09: the session decodes without the protocol's VCD-09 warning.
pub(crate) async fn session_shape(target: &Target) -> Checked {
    let token = target.idp_token().await?;
    let (request, reply) = target.vcd_login(&token, target.vcd_version()?).await?;
    if !reply.status.is_success() {
        return precondition(format!("no session: {}", answer(&reply)));
    }
    let grant = reply
        .read(&request)
        .map_err(|e| Finding::Broken(e.to_string()))?;
    match grant.warnings.iter().find(|w| w.check == "VCD-09") {
        Some(w) => broken(w.message.clone()),
        None => Ok(()),
    }
}

/// VCD-10: an API version the server dropped is not acceptable.
pub(crate) async fn old_version_refused(target: &Target) -> Checked {
    target.control().await?;
    let token = target.idp_token().await?;
    let old = ApiVersion { major: 9, minor: 0 };
    let (_, reply) = target.vcd_login(&token, old).await?;
    judged(&reply)?;
    require(reply.status == StatusCode::NOT_ACCEPTABLE, || {
        format!("version 9.0 gave {}", reply.status)
    })
}

/// VCD-11: a session, then logout, then the session is refused.
pub(crate) async fn logout_ends_session(target: &Target) -> Checked {
    let token = target.idp_token().await?;
    let (request, reply) = target.vcd_login(&token, target.vcd_version()?).await?;
    let session = reply
        .read(&request)
        .map_err(|e| Finding::Errored(CheckError::Precondition(format!("no session to end: {e}"))))?
        .authorization();
    let before = target.vcd_current(session.expose()).await?;
    require(before.status.is_success(), || {
        format!("session before logout: {}", before.status)
    })?;
    let out = target.vcd_logout(session.expose()).await?;
    require(out.status == StatusCode::NO_CONTENT, || {
        format!("logout: {}", out.status)
    })?;
    let after = target.vcd_current(session.expose()).await?;
    require(after.status == StatusCode::UNAUTHORIZED, || {
        format!("session after logout: {}", after.status)
    })
}
