//! VaultID CESS: the password grant with a one-time password.

use http::StatusCode;
use tokenprobe_protocol::{DecodeError, ProviderError, cess};

use super::{Checked, answer, broken, expires_in, judged, precondition, require};
use crate::endpoint::Target;

/// CE-06: the success decodes as the protocol's CE-06 rule says.
pub(crate) async fn grant_shape(target: &Target) -> Checked {
    let request = target.cess_account()?;
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
    let wrong = match target.cess_account()?.password().expose() {
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
    let limit = u64::from(target.cess_account()?.username().max_lifetime());
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
