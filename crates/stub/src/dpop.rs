//! DPoP on the stub's side (RFC 9449 §4.3, §8): a token request's proof
//! read with the protocol crate's rules, its signature checked with the
//! key its own header carries (only an asymmetric algorithm: `none` and
//! MACs are refused before any key is built), its `jti` remembered so a
//! replay is refused, and, when the stub is told to, a nonce it rotates.
//! The quirks of the `cognito` route switch single rules off.

use std::sync::Mutex;

use bytes::Bytes;
use http::{Request, Uri};
use jsonwebtoken::{DecodingKey, Validation};
use tokenprobe_protocol::dpop::{IAT_WINDOW_SECS, ProofClaims, ProofProblem, ReceivedProof};

use crate::replays::Replays;
use crate::tokens::random_id;

/// Which of its rules the stub breaks on purpose (from the route's
/// quirks).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Lenient {
    /// A `jti` seen before is taken.
    pub replay: bool,
    /// `htu` is not compared.
    pub htu: bool,
    /// `htm` is not compared.
    pub htm: bool,
    /// `iat` is not held to the window.
    pub iat: bool,
    /// `none` and HMAC proofs are taken unverified.
    pub weak_alg: bool,
}

/// The proofs seen and the nonce.
pub(crate) struct Dpop {
    replays: Replays,
    /// The nonce asked for, and when it was made; `None` when the stub
    /// asks for none.
    nonce: Option<Mutex<(String, u64)>>,
    /// How long a nonce is asked for before another.
    nonce_secs: u64,
}

impl Dpop {
    /// No nonce when `nonce_secs` is `None`; else one, renewed that often.
    pub(crate) fn new(nonce_secs: Option<u64>, now: u64) -> Dpop {
        Dpop {
            replays: Replays::default(),
            nonce: nonce_secs.map(|_| Mutex::new((random_id(), now))),
            nonce_secs: nonce_secs.unwrap_or(0).max(1),
        }
    }

    /// The nonce the stub asks for at `now`, if it asks for one.
    pub(crate) fn nonce(&self, now: u64) -> Option<String> {
        let mut n = self
            .nonce
            .as_ref()?
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if now >= n.1 + self.nonce_secs {
            *n = (random_id(), now);
        }
        Some(n.0.clone())
    }

    /// The thumbprint of the key the proof of `req` (sent to `uri`)
    /// proves at `now`; `Ok(None)` without a proof; the problem of a
    /// proof that is refused.
    pub(crate) fn verify(
        &self,
        req: &Request<Bytes>,
        uri: &Uri,
        now: u64,
        lenient: Lenient,
    ) -> Result<Option<String>, ProofProblem> {
        let Some((proof, text)) = ReceivedProof::of(req.headers())? else {
            return Ok(None);
        };
        match proof.header.problem() {
            Some(ProofProblem::Alg) if lenient.weak_alg => {}
            Some(problem) => return Err(problem),
            None => verify_signature(&proof, &text)?,
        }
        let mut claims = proof.claims.clone();
        if lenient.htm {
            claims.htm = req.method().as_str().to_owned();
        }
        if lenient.htu {
            claims.htu = tokenprobe_protocol::dpop::htu(uri);
        }
        if lenient.iat {
            claims.iat = now;
        }
        if let Some(problem) = claims.problem(req.method(), uri, now, self.nonce(now).as_deref()) {
            return Err(problem);
        }
        // A proof is good for the window around its iat: remembered that
        // long, so a replay within it is seen.
        let expires = proof.claims.iat.max(now) + IAT_WINDOW_SECS;
        if !self.replays.first_use(&proof.claims.jti, expires, now) && !lenient.replay {
            return Err(ProofProblem::Replay);
        }
        Ok(Some(proof.header.jwk.thumbprint()))
    }
}

/// The signature, checked with the header's own key and algorithm.
fn verify_signature(proof: &ReceivedProof, text: &str) -> Result<(), ProofProblem> {
    let alg = match proof.header.alg.as_str() {
        "ES256" => jsonwebtoken::Algorithm::ES256,
        "RS256" => jsonwebtoken::Algorithm::RS256,
        "EdDSA" => jsonwebtoken::Algorithm::EdDSA,
        _ => return Err(ProofProblem::Alg),
    };
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::to_value(&proof.header.jwk)
        .and_then(serde_json::from_value)
        .map_err(|_| ProofProblem::Shape)?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| ProofProblem::Shape)?;
    let mut validation = Validation::new(alg);
    // The claims' rules are the protocol crate's.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<ProofClaims>(text, &key, &validation)
        .map(|_| ())
        .map_err(|_| ProofProblem::Signature)
}
