//! RFC 7523 §3: what a token endpoint must refuse in a client assertion
//! (`private_key_jwt`, or `client_secret_jwt`). Each check signs its own
//! claims with the configured key or secret (through the client's
//! [`AssertionSigner`]), so that only the rule under test is broken; a
//! client that sends its secret skips them.
//!
//! [`AssertionSigner`]: tokenprobe_protocol::client_auth::AssertionSigner

use tokenprobe_protocol::Secret;
use tokenprobe_protocol::client_auth::{AssertionClaims, Credential, Signer};

use super::{CheckError, Checked, Finding, answer, invalid_client};
use crate::catalog::{Entry, Mark, check, entry, negative, varies, warn_on};
use crate::endpoint::{Target, TargetError};
use tokenprobe_protocol::System;

fn key(target: &Target) -> Result<&Signer, Finding> {
    target.client_key().ok_or_else(|| {
        Finding::Skipped(
            "the client sends its secret (not auth = \"client_secret_jwt\" or \"private_key_jwt\")"
                .into(),
        )
    })
}

/// Claims as the client would sign them now for `client_id`.
fn fresh(target: &Target, client_id: &str) -> Result<AssertionClaims, Finding> {
    let audience = target
        .client_credentials()?
        .audience(target.base())
        .map_err(TargetError::from)?;
    let jti = key(target)?.0.unique_id();
    Ok(AssertionClaims::new(
        client_id,
        &audience,
        tokenprobe_client::unix_now(),
        jti,
    ))
}

fn sign(target: &Target, claims: &AssertionClaims) -> Result<Secret, Finding> {
    key(target)?
        .0
        .sign(claims)
        .map_err(|why| Finding::Errored(CheckError::Precondition(why.to_string())))
}

/// An assertion for `client_id` whose signature does not verify: our
/// signature, reversed.
pub(crate) fn forged(target: &Target, client_id: &str) -> Result<Secret, Finding> {
    let signed = sign(target, &fresh(target, client_id)?)?;
    let (head, signature) = signed.expose().rsplit_once('.').unwrap_or_default();
    let reversed: String = signature.chars().rev().collect();
    Ok(Secret::new(format!("{head}.{reversed}")))
}

async fn refused_with(target: &Target, claims: &AssertionClaims) -> Checked {
    let assertion = Credential::Assertion(sign(target, claims)?);
    let id = target.client_credentials()?.client_id().to_owned();
    invalid_client(target, &target.client_request_as(&id, assertion)?).await
}

/// PK-01: an assertion addressed to another audience is refused.
pub(crate) async fn other_audience_refused(target: &Target) -> Checked {
    let id = target.client_credentials()?.client_id().to_owned();
    let claims = AssertionClaims {
        aud: vec!["https://tokenprobe.invalid/oauth2/token".into()],
        ..fresh(target, &id)?
    };
    refused_with(target, &claims).await
}

/// PK-02: an expired assertion is refused.
pub(crate) async fn expired_refused(target: &Target) -> Checked {
    let id = target.client_credentials()?.client_id().to_owned();
    let now = tokenprobe_client::unix_now();
    let claims = AssertionClaims {
        iat: now - 600,
        exp: now - 300,
        ..fresh(target, &id)?
    };
    refused_with(target, &claims).await
}

/// PK-03: an assertion sent twice is refused the second time (RFC 7523
/// lets a server skip this, so a warning).
pub(crate) async fn replay_refused(target: &Target) -> Checked {
    key(target)?;
    target.control().await?;
    let account = target.client_credentials()?;
    let id = account.client_id().to_owned();
    let once = Credential::Assertion(sign(target, &fresh(target, &id)?)?);
    let request = target.client_request_as(&id, once)?;
    let first = target.call(&request).await?;
    if !first.status.is_success() {
        return Err(Finding::Errored(CheckError::Precondition(format!(
            "a fresh assertion was refused: {}",
            answer(&first)
        ))));
    }
    invalid_client(target, &request).await.map_err(|f| match f {
        Finding::Broken(why) => Finding::Warning(format!("a replay got: {why}")),
        other => other,
    })
}

/// This module's entries of the catalog, in the order they run.
pub(crate) const ENTRIES: &[Entry] = &[
    negative(varies(
        entry(
            "PK-01",
            check!(other_audience_refused),
            System::CLIENT_CREDENTIALS,
            Mark::Rfc,
            "an assertion for another audience is refused",
            "one token request with an assertion, signed by the client's key, whose `aud` is another server's",
            "400 or 401 `invalid_client` (RFC 7523 §3 item 3; skipped for a client with a secret)",
        ),
        "the assertion's `aud` replaced by another server's",
    )),
    negative(varies(
        entry(
            "PK-02",
            check!(expired_refused),
            System::CLIENT_CREDENTIALS,
            Mark::Rfc,
            "an expired assertion is refused",
            "one token request with an assertion, signed by the client's key, that expired 5 minutes ago",
            "400 or 401 `invalid_client` (RFC 7523 §3 item 4; skipped for a client with a secret)",
        ),
        "the assertion's `iat` and `exp` moved 10 and 5 minutes into the past",
    )),
    warn_on(
        negative(varies(
            entry(
                "PK-03",
                check!(replay_refused),
                System::CLIENT_CREDENTIALS,
                Mark::Rfc,
                "a replayed assertion is refused",
                "one fresh assertion sent twice",
                "a token, then 400 or 401 `invalid_client` (RFC 7523 §3 item 7 lets a server skip this: a warning)",
            ),
            "none: the same assertion sent a second time",
        )),
        System::CLIENT_CREDENTIALS,
    ),
];
