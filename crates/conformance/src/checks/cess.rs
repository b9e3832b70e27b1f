//! VaultID CESS: the password grant with a one-time password.

use http::StatusCode;
use serde_json::Value;
use tokenprobe_protocol::{DecodeError, ProviderError, cess};

use super::{Checked, answer, broken, expires_in, judged, precondition, require};
use crate::catalog::{Entry, Mark, check, entry, negative, varies};
use crate::endpoint::{Reply, Shared, Target, TargetError};
use tokenprobe_protocol::System::Cess;

impl Target {
    /// The body of the configured CESS grant, as JSON to vary.
    pub fn cess_body(&self) -> Result<Value, TargetError> {
        let req = self
            .account_of::<cess::TokenRequest>()?
            .encode(&self.base)?;
        serde_json::from_slice(req.body()).map_err(TargetError::build)
    }

    /// POSTs a CESS body.
    pub async fn cess(&self, body: &Value) -> Result<Reply, TargetError> {
        let working = self
            .account_of::<cess::TokenRequest>()?
            .encode(&self.base)?;
        self.with_json(working, body).await
    }
}

/// The plain success: the configured grant.
pub(crate) async fn successes(target: &Target, out: &mut Vec<Shared>) -> Result<(), TargetError> {
    let r = target
        .call(target.account_of::<cess::TokenRequest>()?)
        .await?;
    target.keep_success("cess", r, out);
    Ok(())
}

/// The refusal: the working body with another `grant_type`.
pub(crate) async fn refusal(target: &Target) -> Result<(&'static str, Reply), TargetError> {
    let mut b = target.cess_body()?;
    b["grant_type"] = "client_credentials".into();
    Ok(("cess", target.cess(&b).await?))
}

/// CE-06: the success decodes as the protocol's CE-06 rule says.
pub(crate) async fn grant_shape(target: &Target) -> Checked {
    let request = target.account_of::<cess::TokenRequest>()?;
    let reply = target.success().await?;
    match reply.read(request) {
        Err(ProviderError::Decode(DecodeError::Contract {
            check: "CE-06",
            reason,
        })) => broken(reason),
        _ => Ok(()),
    }
}

/// CE-08: the default scope is granted.
pub(crate) async fn default_scope(target: &Target) -> Checked {
    let reply = target.success().await?;
    let scope = reply.member("scope").unwrap_or_default();
    require(scope.split(' ').any(|s| s == cess::DEFAULT_SCOPE), || {
        format!("granted scope {scope:?}")
    })
}

/// CE-09: a wrong OTP gets no token.
pub(crate) async fn wrong_otp_refused(target: &Target) -> Checked {
    target.control().await?;
    let mut body = target.cess_body()?;
    let wrong = match target
        .account_of::<cess::TokenRequest>()?
        .password()
        .expose()
    {
        "000000" => "999999",
        _ => "000000",
    };
    body["password"] = wrong.into();
    let reply = target.cess(&body).await?;
    judged(&reply)?;
    require(
        reply.status.is_client_error() && reply.json()["access_token"].is_null(),
        || format!("a wrong OTP: {}", reply.status),
    )
}

/// CE-10: another grant type is refused as unsupported.
pub(crate) async fn other_grant_refused(target: &Target) -> Checked {
    let reply = target.refusal().await?;
    judged(&reply)?;
    require(
        reply.status == StatusCode::BAD_REQUEST
            && reply.json()["error"] == "unsupported_grant_type",
        || answer(&reply),
    )
}

/// CE-11: a lifetime past the user's limit is refused or cut.
pub(crate) async fn lifetime_limit(target: &Target) -> Checked {
    target.control().await?;
    let limit = u64::from(
        target
            .account_of::<cess::TokenRequest>()?
            .username()
            .max_lifetime(),
    );
    let mut body = target.cess_body()?;
    body["lifetime"] = (limit + 1).into();
    let reply = target.cess(&body).await?;
    judged(&reply)?;
    // A refusal of the credentials (an OTP used up since the working
    // request, say) says nothing of the lifetime.
    let error = &reply.json()["error"];
    let of_credentials = error == "invalid_grant" || error == "invalid_client";
    require(
        (reply.status == StatusCode::BAD_REQUEST && !of_credentials)
            || (reply.status.is_success() && expires_in(&reply).is_some_and(|e| e <= limit)),
        || format!("lifetime {}: {}", limit + 1, answer(&reply)),
    )
}

/// CE-12: the lifetime asked for bounds `expires_in`.
pub(crate) async fn lifetime_honoured(target: &Target) -> Checked {
    let mut body = target.cess_body()?;
    body["lifetime"] = 3600.into();
    let reply = target.cess(&body).await?;
    if !reply.status.is_success() {
        return precondition(format!("no grant for lifetime 3600: {}", answer(&reply)));
    }
    let granted = expires_in(&reply);
    require(granted.is_some_and(|e| e <= 3600), || {
        format!("expires_in {granted:?} for lifetime 3600")
    })
}

/// This module's entries of the catalog, in the order they run.
pub(crate) const ENTRIES: &[Entry] = &[
    entry(
        "CE-06",
        check!(grant_shape),
        &[Cess],
        Mark::Doc,
        "`Authorization` is VCSchema(provider-|token)",
        "a valid password grant",
        "`Authorization` = `VCSchema base64(provider + \"-|\" + access_token)`",
    ),
    entry(
        "CE-08",
        check!(default_scope),
        &[Cess],
        Mark::Doc,
        "the default scope is authentication_session",
        "a valid password grant without `scope`",
        "a granted `scope` that includes `authentication_session`",
    ),
    negative(varies(
        entry(
            "CE-09",
            check!(wrong_otp_refused),
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
            check!(other_grant_refused),
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
            check!(lifetime_limit),
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
        check!(lifetime_honoured),
        &[Cess],
        Mark::Doc,
        "`expires_in` stays within the requested lifetime",
        "a grant with `lifetime` 3600",
        "a grant with `expires_in` ≤ 3600",
    ),
];
