//! `private_key_jwt` and `client_secret_jwt` on the stub's side (RFC 7523
//! §3): the clients' public keys, read once at start-up (PEM or a JWKS),
//! and their secrets as HS256 keys; the signature checked with the key the
//! assertion's header names (an HS256 header only ever meets a secret,
//! never a public key read as one); the claims held to the rules of
//! `tokenprobe_protocol::client_auth`; and a bounded memory of the `jti`s
//! seen, so that a replayed assertion is refused.

use std::collections::HashMap;

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tokenprobe_protocol::client_auth::AssertionClaims;

use crate::replays::Replays;
use crate::systems::CognitoConfig;
use crate::tokens::KeyError;

/// Why a client assertion is refused: the `error_description` of the
/// `invalid_client` answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refused {
    /// The client is not known to authenticate with an assertion.
    #[error("the client has neither a secret nor a key")]
    NoCredential,
    /// Not a compact JWS.
    #[error("client_assertion is not a JWS")]
    NotJws,
    /// No key (or secret) of the client for its `alg` and `kid`.
    #[error("no key of the client fits the assertion's alg and kid")]
    NoFittingKey,
    /// The signature does not verify.
    #[error("the assertion's signature does not verify")]
    Signature,
    /// A claim breaks the protocol's rules (issuer, audience, expiry).
    #[error("{0}")]
    Claims(String),
    /// Its `jti` was seen before.
    #[error("the assertion's jti was used before (a replay)")]
    Replay,
}

struct Verifier {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

/// Every client's verifiers (its keys, its secret as an HS256 key), and
/// the `jti`s seen.
#[derive(Default)]
pub(crate) struct ClientKeys {
    by_client: HashMap<String, Vec<Verifier>>,
    replays: Replays,
}

fn from_pem(client: &str, pem: &str) -> Result<Verifier, KeyError> {
    let bytes = pem.as_bytes();
    let (alg, key) = if let Ok(k) = DecodingKey::from_ec_pem(bytes) {
        (Algorithm::ES256, k)
    } else if let Ok(k) = DecodingKey::from_ed_pem(bytes) {
        (Algorithm::EdDSA, k)
    } else {
        (
            Algorithm::RS256,
            DecodingKey::from_rsa_pem(bytes).map_err(|_| {
                KeyError::Key(format!(
                    "client {client}: public_keys holds a PEM that is not a P-256, Ed25519 or RSA public key"
                ))
            })?,
        )
    };
    Ok(Verifier {
        kid: None,
        alg,
        key,
    })
}

fn from_jwks(client: &str, text: &str) -> Result<Vec<Verifier>, KeyError> {
    let bad = |why: String| KeyError::Key(format!("client {client}: jwks: {why}"));
    let set: JwkSet = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    set.keys
        .iter()
        .map(|jwk| {
            let alg = match &jwk.algorithm {
                AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
                AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                _ => return Err(bad("only EC P-256, Ed25519 and RSA keys are taken".into())),
            };
            Ok(Verifier {
                kid: jwk.common.key_id.clone(),
                alg,
                key: DecodingKey::from_jwk(jwk).map_err(|e| bad(e.to_string()))?,
            })
        })
        .collect()
}

impl ClientKeys {
    /// Reads every client's `public_keys`, `jwks` and `secret`.
    pub(crate) fn new(config: &CognitoConfig) -> Result<ClientKeys, KeyError> {
        let mut by_client = HashMap::new();
        for c in &config.clients {
            let mut verifiers = Vec::new();
            for pem in &c.public_keys {
                verifiers.push(from_pem(&c.id, pem)?);
            }
            if let Some(jwks) = &c.jwks {
                verifiers.extend(from_jwks(&c.id, jwks)?);
            }
            if let Some(secret) = &c.secret {
                verifiers.push(Verifier {
                    kid: None,
                    alg: Algorithm::HS256,
                    key: DecodingKey::from_secret(secret.expose().as_bytes()),
                });
            }
            if !verifiers.is_empty() {
                by_client.insert(c.id.clone(), verifiers);
            }
        }
        Ok(ClientKeys {
            by_client,
            replays: Replays::default(),
        })
    }

    /// Checks `client`'s `assertion` at `now`, addressed to any of
    /// `audiences`: the reason it is refused, or `Ok`.
    pub(crate) fn verify(
        &self,
        client: &str,
        assertion: &str,
        audiences: &[String],
        now: u64,
    ) -> Result<(), Refused> {
        let verifiers = self.by_client.get(client).ok_or(Refused::NoCredential)?;
        let header = jsonwebtoken::decode_header(assertion).map_err(|_| Refused::NotJws)?;
        let verifier = verifiers
            .iter()
            // A PEM key has no kid: it fits any (a JWKS key must match).
            .find(|v| {
                v.alg == header.alg
                    && (header.kid.is_none() || v.kid.is_none() || v.kid == header.kid)
            })
            .ok_or(Refused::NoFittingKey)?;
        let mut validation = Validation::new(verifier.alg);
        // The claims' rules are the protocol crate's, checked below.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<AssertionClaims>(assertion, &verifier.key, &validation)
            .map_err(|_| Refused::Signature)?
            .claims;
        if let Some(problem) = claims.problem(client, audiences, now) {
            return Err(Refused::Claims(problem));
        }
        match self.replays.first_use(&claims.jti, claims.exp, now) {
            true => Ok(()),
            false => Err(Refused::Replay),
        }
    }
}
