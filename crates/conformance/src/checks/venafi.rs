//! Venafi TPP: documented refusals, scopes, refresh and revoke.

use http::StatusCode;
use serde_json::Value;
use tokenprobe_protocol::{Secret, venafi};

use super::{Checked, Finding, access_token, answer, judged, precondition, require};
use crate::catalog::{Entry, Mark, check, entry, negative, varies};
use crate::endpoint::{Reply, Shared, Target, TargetError};
use tokenprobe_protocol::System::Venafi;

impl Target {
    /// The body of an authorize request, for another scope or the
    /// account's own, as JSON to vary.
    pub fn venafi_body(&self, scope: Option<&str>) -> Result<Value, TargetError> {
        let account = self.account_of::<venafi::AuthorizeRequest>()?;
        let req = match scope {
            Some(scope) => &venafi::AuthorizeRequest::new(
                account.client_id(),
                account.username(),
                account.password().clone(),
                scope,
            )?,
            None => account,
        };
        let req = req.encode(&self.base)?;
        serde_json::from_slice(req.body()).map_err(TargetError::build)
    }

    /// POSTs an authorize body; a grant it gets is a session to end.
    pub async fn venafi_authorize(&self, body: &Value) -> Result<Reply, TargetError> {
        let working = self
            .account_of::<venafi::AuthorizeRequest>()?
            .encode(&self.base)?;
        let r = self.with_json(working, body).await?;
        self.note_venafi_grant(&r);
        Ok(r)
    }

    /// A grant for the account.
    pub async fn venafi_grant(&self) -> Result<Reply, TargetError> {
        let r = self
            .send(
                self.account_of::<venafi::AuthorizeRequest>()?
                    .encode(&self.base)?,
            )
            .await?;
        self.note_venafi_grant(&r);
        Ok(r)
    }

    /// A refresh with a grant's refresh token; the new grant is a session.
    pub async fn venafi_refresh(&self, refresh_token: &str) -> Result<Reply, TargetError> {
        let req = venafi::RefreshRequest {
            client_id: self
                .account_of::<venafi::AuthorizeRequest>()?
                .client_id()
                .to_owned(),
            refresh_token: Secret::new(refresh_token),
        };
        let r = self.send(req.encode(&self.base)?).await?;
        self.note_venafi_grant(&r);
        Ok(r)
    }

    async fn venafi_bearer(&self, path: &str, token: &str) -> Result<Reply, TargetError> {
        let req = venafi::BearerCall {
            token: Secret::new(token),
        };
        self.send(req.encode(&self.base, path)?).await
    }

    /// Verifies an access token.
    pub async fn venafi_verify(&self, token: &str) -> Result<Reply, TargetError> {
        self.venafi_bearer(venafi::VERIFY_PATH, token).await
    }

    /// Revokes an access token, which ends its session.
    pub async fn venafi_revoke(&self, token: &str) -> Result<Reply, TargetError> {
        let r = self.venafi_bearer(venafi::REVOKE_PATH, token).await?;
        if r.status.is_success() {
            self.session_ended(&Secret::new(token));
        }
        Ok(r)
    }

    /// Notes the session a successful grant or refresh opened.
    fn note_venafi_grant(&self, r: &Reply) {
        if let (true, Some(t)) = (r.status.is_success(), r.member("access_token")) {
            self.session_opened(Secret::new(t));
        }
    }
}

/// The plain successes: a grant, and its refresh.
pub(crate) async fn successes(target: &Target, out: &mut Vec<Shared>) -> Result<(), TargetError> {
    let grant = target.venafi_grant().await?;
    let refresh = grant.member("refresh_token").map(str::to_owned);
    target.keep_success("venafi-authorize", grant, out);
    if let Some(refresh) = refresh {
        let r = target.venafi_refresh(&refresh).await?;
        target.keep_success("venafi-refresh", r, out);
    }
    Ok(())
}

/// The refusal: the working body without `client_id`.
pub(crate) async fn refusal(target: &Target) -> Result<(&'static str, Reply), TargetError> {
    let mut b = target.venafi_body(None)?;
    if let Some(o) = b.as_object_mut() {
        o.remove("client_id");
    }
    Ok(("venafi-authorize", target.venafi_authorize(&b).await?))
}

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
    let wrong = format!(
        "{}-wrong",
        target
            .account_of::<venafi::AuthorizeRequest>()?
            .password()
            .expose()
    );
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
    let asked = target.account_of::<venafi::AuthorizeRequest>()?.scope();
    let reply = target.success().await?;
    let granted = reply.member("scope").unwrap_or_default();
    let within = granted
        .parse::<venafi::Scope>()
        .is_ok_and(|g| g.is_within(asked));
    require(within, || format!("granted {granted:?} for {asked}"))
}

/// This module's entries of the catalog, in the order they run.
pub(crate) const ENTRIES: &[Entry] = &[
    varies(
        entry(
            "VE-06",
            check!(missing_application),
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
            check!(missing_password),
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
            check!(wrong_password),
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
            check!(unlisted_scope_refused),
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
        check!(refresh_rotates),
        &[Venafi],
        Mark::Doc,
        "the refresh token gives a new access token",
        "a grant, then a refresh with its refresh token",
        "2xx with a new `access_token` (skipped when the grant has no refresh token)",
    ),
    varies(
        entry(
            "VE-11",
            check!(revoke_ends_token),
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
        check!(scope_within_request),
        &[Venafi],
        Mark::Inferred,
        "the granted scope stays within the asked one",
        "a valid grant for the configured scope",
        "a granted `scope` within the requested one",
    ),
];
