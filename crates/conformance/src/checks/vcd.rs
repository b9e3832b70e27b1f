//! VMware Cloud Director: login refusals, versions and logout.

use http::Method;
use http::StatusCode;
use tokenprobe_client::VcdAccount;
use tokenprobe_protocol::ProviderError;
use tokenprobe_protocol::Secret;
use tokenprobe_protocol::vcd::{self, ApiVersion, VcdError};

use super::{CheckError, Checked, Finding, answer, broken, judged, precondition, require};
use crate::catalog::{Entry, Mark, check, entry, varies};
use crate::endpoint::{Reply, Shared, Target, TargetError};
use tokenprobe_protocol::System::Vcd;

impl Target {
    /// The configured VCD API version.
    pub fn vcd_version(&self) -> Result<ApiVersion, TargetError> {
        Ok(self.account_of::<VcdAccount>()?.version)
    }

    /// The configured VCD `Accept`.
    pub fn vcd_accept(&self) -> Result<String, TargetError> {
        let account = self.account_of::<VcdAccount>()?;
        Ok(account.format.accept(account.version))
    }

    /// A VCD login with the IdP token `token`, asking for API `version`; a
    /// session it opens is noted.
    pub async fn vcd_login(
        &self,
        token: &str,
        version: ApiVersion,
    ) -> Result<(vcd::SessionRequest, Reply), TargetError> {
        let req = self
            .account_of::<VcdAccount>()?
            .session(Secret::new(token), version)?;
        let r = self.send(req.encode(&self.base)?).await?;
        self.note_vcd_session(&r);
        Ok((req, r))
    }

    /// A VCD login without `Authorization` (a session it opens all the
    /// same is noted).
    pub async fn vcd_login_anonymous(&self) -> Result<Reply, TargetError> {
        let path = match self.account_of::<VcdAccount>()?.provider {
            true => vcd::PROVIDER_SESSIONS_PATH,
            false => vcd::SESSIONS_PATH,
        };
        let accept = self.vcd_accept()?;
        let r = self
            .send(self.raw(Method::POST, path, &[("accept", &accept)], "")?)
            .await?;
        self.note_vcd_session(&r);
        Ok(r)
    }

    /// The current session, for its `Authorization` value.
    pub async fn vcd_current(&self, authorization: &str) -> Result<Reply, TargetError> {
        let accept = self.vcd_accept()?;
        let req = self.raw(
            Method::GET,
            vcd::CURRENT_SESSION_PATH,
            &[("authorization", authorization), ("accept", &accept)],
            "",
        )?;
        self.send(req).await
    }

    /// A VCD logout with the session's `Authorization` value, which ends it.
    pub async fn vcd_logout(&self, authorization: &str) -> Result<Reply, TargetError> {
        let req = vcd::LogoutRequest {
            authorization: Secret::new(authorization),
            version: self.vcd_version()?,
        };
        let r = self.send(req.encode(&self.base)?).await?;
        if r.status.is_success() {
            self.session_ended(&Secret::new(authorization));
        }
        Ok(r)
    }

    /// Notes the VCD session a successful login opened: its
    /// `Authorization` value, from the token headers.
    fn note_vcd_session(&self, r: &Reply) {
        let header = |n| r.headers.get(n).and_then(|v| v.to_str().ok());
        if let (true, Some(token)) = (r.status.is_success(), header(vcd::ACCESS_TOKEN_HEADER)) {
            let kind = header(vcd::TOKEN_TYPE_HEADER).unwrap_or("Bearer");
            self.session_opened(Secret::new(format!("{kind} {token}")));
        }
    }
}

/// The plain success: a login with the IdP token.
pub(crate) async fn successes(target: &Target, out: &mut Vec<Shared>) -> Result<(), TargetError> {
    let token = target.idp_token().await?;
    let (_, r) = target.vcd_login(&token, target.vcd_version()?).await?;
    target.keep_success("vcd-login", r, out);
    Ok(())
}

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
    let refusal = reply.read(&request).err();
    match refusal.as_ref().and_then(ProviderError::system::<VcdError>) {
        Some((StatusCode::UNAUTHORIZED, error)) if error.major_code == 401 => Ok(()),
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

/// This module's entries of the catalog, in the order they run.
pub(crate) const ENTRIES: &[Entry] = &[
    varies(
        entry(
            "VCD-07",
            check!(anonymous_forbidden),
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
            check!(invalid_token_refused),
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
        check!(session_shape),
        &[Vcd],
        Mark::Doc,
        "the session's org is the asked org",
        "a login with a valid IdP token for the configured org",
        "a `Session` naming that org",
    ),
    varies(
        entry(
            "VCD-10",
            check!(old_version_refused),
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
            check!(logout_ends_session),
            &[Vcd],
            Mark::Doc,
            "logout ends the session",
            "a login, GET the current session, DELETE it, GET it again",
            "2xx, 204, then 401",
        ),
        "none: the same session request, after a logout",
    ),
];
