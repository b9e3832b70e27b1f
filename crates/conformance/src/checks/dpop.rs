//! RFC 9449 (DPoP): a token request with a proof gets a token bound to
//! the proof's key, and a server refuses every proof that does not hold.
//! Each negative check sends the flow's working request (which succeeded
//! first) with one thing changed in its proof, signed with the flow's own
//! key (through the client's [`ProofSigner`]), so that only the rule
//! under test is broken; a flow without DPoP skips them.
//!
//! [`ProofSigner`]: tokenprobe_protocol::dpop::ProofSigner

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::Method;
use tokenprobe_protocol::System;
use tokenprobe_protocol::dpop::{self, ProofClaims, ProofHeader, ProofKey};
use tokenprobe_protocol::{DecodeError, ProviderError, Secret};

use super::{Checked, Finding, answer, broken, precondition, refused_as};
use crate::catalog::{Entry, Mark, check, entry, varies};
use crate::endpoint::{Reply, Target, TargetError, WorkingForm};

fn key(target: &Target) -> Result<ProofKey, Finding> {
    target
        .client_credentials()?
        .dpop()
        .cloned()
        .ok_or_else(|| Finding::Skipped("the flow sends no DPoP proof (no `dpop`)".into()))
}

/// DP-01: the token of a request with a proof is bound to its key:
/// `token_type` DPoP, and a JWT's `cnf.jkt` is the key's thumbprint.
pub(crate) async fn token_is_bound(target: &Target) -> Checked {
    key(target)?;
    let reply = target.success().await?;
    match reply.read(target.client_credentials()?) {
        Ok(_) => Ok(()),
        Err(ProviderError::Decode(DecodeError::Contract {
            check: "DP-01",
            reason,
        })) => broken(reason),
        // A success that does not read for another reason is CG-04's.
        Err(e) => Err(Finding::Skipped(format!(
            "the success does not read (CG-04): {e}"
        ))),
    }
}

/// The claims of a proof the flow would send now to the working form's
/// URL, for a check to change one thing in.
fn fresh(key: &ProofKey, form: &WorkingForm) -> ProofClaims {
    let signer = &key.signer;
    ProofClaims::new(
        &Method::POST,
        form.uri(),
        signer.now(),
        signer.unique_id(),
        signer.nonce(),
    )
}

/// `claims` under the key's own header, signed with its key.
fn signed(key: &ProofKey, claims: &ProofClaims) -> Result<Secret, Finding> {
    let header = ProofHeader::new(key.signer.algorithm(), key.signer.jwk().clone());
    key.signer
        .sign(&header.encoded(), claims)
        .map_err(|e| Finding::Errored(super::CheckError::Precondition(e.to_string())))
}

/// Sends the working request (which succeeded first) with the proof
/// `make` gives for fresh claims (none when it gives none); the answer
/// must refuse it. A `use_dpop_nonce` answer refuses the nonce, not the
/// rule: the probe goes once more with the nonce it gave.
async fn refused_with(
    target: &Target,
    make: impl Fn(&ProofKey, ProofClaims) -> Result<Option<Secret>, Finding>,
) -> Checked {
    let key = key(target)?;
    target.control().await?;
    for _ in 0..2 {
        let mut form = target.working_form()?;
        form.dpop = None;
        if let Some(proof) = make(&key, fresh(&key, &form))? {
            let value = dpop::header_value(&proof).map_err(TargetError::build)?;
            form.headers.insert(dpop::HEADER, value);
        }
        let reply = target.send_form(&form).await?;
        key.observe(&reply.headers);
        if !asks_for_nonce(&reply) {
            return proof_refused(&reply);
        }
    }
    precondition("the server asked for a new nonce twice in a row")
}

/// A refusal of the proof: the error RFC 9449 §5 names for it at the
/// token endpoint, `invalid_dpop_proof`.
fn proof_refused(reply: &Reply) -> Checked {
    refused_as(reply, "the probe", dpop::INVALID_PROOF)
}

/// DP-02: a proof seen before is refused (§11.1), even on an otherwise
/// new request (a fresh client assertion where the client signs one). A
/// nonce renewed between the two uses spoils the pair: it is made again.
pub(crate) async fn replay_refused(target: &Target) -> Checked {
    let key = key(target)?;
    target.control().await?;
    for _ in 0..3 {
        let with = |proof: &Secret| -> Result<WorkingForm, Finding> {
            let mut form = target.working_form()?;
            form.dpop = None;
            let value = dpop::header_value(proof).map_err(TargetError::build)?;
            form.headers.insert(dpop::HEADER, value);
            Ok(form)
        };
        let proof = signed(&key, &fresh(&key, &target.working_form()?))?;
        let first = target.send_form(&with(&proof)?).await?;
        key.observe(&first.headers);
        if asks_for_nonce(&first) {
            continue;
        }
        if !first.status.is_success() {
            return precondition(format!(
                "the proof's first use was refused: {}",
                answer(&first)
            ));
        }
        let again = target.send_form(&with(&proof)?).await?;
        key.observe(&again.headers);
        if !asks_for_nonce(&again) {
            return proof_refused(&again);
        }
    }
    precondition("the server renewed its nonce between every first use and its replay")
}

/// Whether an answer refuses a proof for its nonce alone.
fn asks_for_nonce(reply: &Reply) -> bool {
    dpop::asks_for_nonce(reply.status, &reply.body)
}

/// DP-03: a proof for another URL is refused (§4.3 item 9).
pub(crate) async fn other_htu_refused(target: &Target) -> Checked {
    refused_with(target, |key, mut claims| {
        claims.htu.push_str("/elsewhere");
        signed(key, &claims).map(Some)
    })
    .await
}

/// DP-04: a proof for another method is refused (§4.3 item 8).
pub(crate) async fn other_htm_refused(target: &Target) -> Checked {
    refused_with(target, |key, mut claims| {
        claims.htm = Method::GET.as_str().into();
        signed(key, &claims).map(Some)
    })
    .await
}

/// DP-05: a proof made ten minutes ago is refused (§4.3 item 11). A
/// server that gives nonces may judge a proof's age by its nonce instead
/// (the same item: "or a server managed timestamp via the nonce claim"):
/// such a server taking the old proof with its nonce skips, as there is
/// nothing then to hold `iat` to; one that takes it without a nonce fails.
pub(crate) async fn stale_iat_refused(target: &Target) -> Checked {
    let key = key(target)?;
    target.control().await?;
    let mut nonces = key.signer.nonce().is_some();
    for _ in 0..2 {
        let mut form = target.working_form()?;
        form.dpop = None;
        let mut claims = fresh(&key, &form);
        claims.iat = claims.iat.saturating_sub(600);
        let proof = signed(&key, &claims)?;
        let value = dpop::header_value(&proof).map_err(TargetError::build)?;
        form.headers.insert(dpop::HEADER, value);
        let reply = target.send_form(&form).await?;
        key.observe(&reply.headers);
        if asks_for_nonce(&reply) {
            nonces = true;
            continue;
        }
        if nonces && reply.status.is_success() {
            return Err(Finding::Skipped(
                "the server gives nonces and took the old proof with one: a proof's age may be its nonce's, not its iat's (RFC 9449 §4.3 item 11)"
                    .into(),
            ));
        }
        return proof_refused(&reply);
    }
    precondition("the server asked for a new nonce twice in a row")
}

/// DP-06: a bound client's request without a proof is refused (§5.2).
pub(crate) async fn missing_proof_refused(target: &Target) -> Checked {
    if !key(target)?.bound {
        return Err(Finding::Skipped(
            "the flow does not say the client is bound (dpop.bound)".into(),
        ));
    }
    refused_with(target, |_, _| Ok(None)).await
}

/// `claims` under the key's header with `alg` named instead: unsigned for
/// `none`, else an HMAC keyed with the key's thumbprint (which anyone can
/// compute: what a MAC proof would prove).
fn weak(key: &ProofKey, claims: &ProofClaims, alg: &str) -> Result<Secret, Finding> {
    let mut header = ProofHeader::new(key.signer.algorithm(), key.signer.jwk().clone());
    header.alg = alg.into();
    let body = serde_json::to_vec(claims).map_err(TargetError::build)?;
    let input = format!("{}.{}", header.encoded(), URL_SAFE_NO_PAD.encode(body));
    if alg == "none" {
        return Ok(Secret::new(format!("{input}.")));
    }
    let mac = jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &jsonwebtoken::EncodingKey::from_secret(key.signer.jwk().thumbprint().as_bytes()),
        jsonwebtoken::Algorithm::HS256,
    )
    .map_err(TargetError::build)?;
    Ok(Secret::new(format!("{input}.{mac}")))
}

/// DP-07: a proof signed with `none`, or with a MAC, is refused (§4.3
/// item 5); each probe with claims of its own.
pub(crate) async fn weak_alg_refused(target: &Target) -> Checked {
    for alg in ["none", "HS256"] {
        refused_with(target, |key, claims| weak(key, &claims, alg).map(Some)).await?;
    }
    Ok(())
}

/// This module's entries of the catalog, in the order they run.
pub(crate) const ENTRIES: &[Entry] = &[
    entry(
        "DP-01",
        check!(token_is_bound),
        System::CLIENT_CREDENTIALS,
        Mark::Rfc,
        "a DPoP token is bound to the proof's key",
        "the working request with a fresh proof (and the server's nonce, when it asks for one)",
        "`token_type` DPoP (any case); a JWT's `cnf.jkt` is the key's RFC 7638 thumbprint",
    ),
    varies(
        entry(
            "DP-02",
            check!(replay_refused),
            System::CLIENT_CREDENTIALS,
            Mark::Rfc,
            "a replayed DPoP proof is refused",
            "a proof that just got a token, again, on a new request",
            "400 or 401, no token",
        ),
        "the DPoP proof: one already used",
    ),
    varies(
        entry(
            "DP-03",
            check!(other_htu_refused),
            System::CLIENT_CREDENTIALS,
            Mark::Rfc,
            "a DPoP proof for another URL is refused",
            "the working request with a proof whose htu is another path",
            "400 or 401, no token",
        ),
        "the DPoP proof's htu",
    ),
    varies(
        entry(
            "DP-04",
            check!(other_htm_refused),
            System::CLIENT_CREDENTIALS,
            Mark::Rfc,
            "a DPoP proof for another method is refused",
            "the working request with a proof whose htm is GET",
            "400 or 401, no token",
        ),
        "the DPoP proof's htm",
    ),
    varies(
        entry(
            "DP-05",
            check!(stale_iat_refused),
            System::CLIENT_CREDENTIALS,
            Mark::Rfc,
            "a DPoP proof made long ago is refused",
            "the working request with a proof whose iat is 10 minutes old",
            "400 or 401, no token",
        ),
        "the DPoP proof's iat",
    ),
    varies(
        entry(
            "DP-06",
            check!(missing_proof_refused),
            System::CLIENT_CREDENTIALS,
            Mark::Rfc,
            "a bound client without a proof is refused",
            "the working request without its DPoP header (flows with `dpop.bound` only)",
            "400 or 401, no token",
        ),
        "the DPoP header, left out",
    ),
    varies(
        entry(
            "DP-07",
            check!(weak_alg_refused),
            System::CLIENT_CREDENTIALS,
            Mark::Rfc,
            "a proof signed with none or a MAC is refused",
            "the working request with a proof whose alg is none, then HS256",
            "400 or 401, no token, each time",
        ),
        "the DPoP proof's alg and signature",
    ),
];
