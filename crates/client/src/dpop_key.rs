//! The key a flow proves possession of with DPoP (RFC 9449): made fresh
//! for the flow (P-256 by default, or Ed25519) or read from a PKCS#8 PEM
//! file; a proof is signed per request, inside the measured latency, and
//! the server's latest nonce is kept for the next ones.

use std::sync::Mutex;

use aws_lc_rs::rand::SystemRandom;
use tokenprobe_protocol::Secret;
use tokenprobe_protocol::client_auth::SignError;
use tokenprobe_protocol::dpop::{Jwk, ProofClaims, ProofSigner};
use tokenprobe_protocol::jwt::Algorithm;

use crate::client_key::KeyPair;
use crate::error::{ClientError, ErrorKind};

/// A DPoP key. Its `Debug` shows the algorithm and thumbprint only.
pub struct DpopKey {
    pair: KeyPair,
    /// The PEM, when the key was read from one: for scrubbing.
    material: Option<Secret>,
    algorithm: Algorithm,
    jwk: Jwk,
    rng: SystemRandom,
    /// The server's latest `DPoP-Nonce`.
    nonce: Mutex<Option<String>>,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey")
            .field("alg", &self.algorithm)
            .field("jkt", &self.jwk.thumbprint())
            .finish_non_exhaustive()
    }
}

impl DpopKey {
    /// A key made now for `algorithm` (ES256 or EdDSA).
    pub fn generate(algorithm: Algorithm) -> Result<DpopKey, ClientError> {
        let pair = KeyPair::generate(algorithm).ok_or_else(|| {
            config(&format!(
                "DPoP makes its own key for ES256 or EdDSA, not {algorithm} \
                 (give a private_key for another)"
            ))
        })?;
        DpopKey::new(pair, algorithm, None)
    }

    /// A PKCS#8 PEM key (P-256 or Ed25519), for `algorithm` or the one
    /// the key is for. Errors never quote the key.
    pub fn from_pem(pem: &Secret, algorithm: Option<Algorithm>) -> Result<DpopKey, ClientError> {
        let (pair, algorithm) = KeyPair::from_pem(pem, algorithm).map_err(config)?;
        DpopKey::new(pair, algorithm, Some(pem.clone()))
    }

    /// Signs once, so a key that cannot fails before any request.
    fn new(
        pair: KeyPair,
        algorithm: Algorithm,
        material: Option<Secret>,
    ) -> Result<DpopKey, ClientError> {
        let jwk = pair
            .jwk()
            .ok_or_else(|| config("a DPoP key is a P-256 (ES256) or Ed25519 (EdDSA) key"))?;
        let key = DpopKey {
            pair,
            material,
            algorithm,
            jwk,
            rng: SystemRandom::new(),
            nonce: Mutex::new(None),
        };
        key.pair
            .sign(&key.rng, b"probe")
            .map_err(|e| config(&e.to_string()))?;
        Ok(key)
    }

    fn nonce_cell(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.nonce
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn config(why: &str) -> ClientError {
    ClientError::new(ErrorKind::Config, format!("dpop: {why}"))
}

impl ProofSigner for DpopKey {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    fn sign(&self, header: &str, claims: &ProofClaims) -> Result<Secret, SignError> {
        self.pair.jws(&self.rng, header, claims)
    }

    fn unique_id(&self) -> String {
        format!("{:032x}", rand::random::<u128>())
    }

    fn now(&self) -> u64 {
        crate::unix_now()
    }

    fn nonce(&self) -> Option<String> {
        self.nonce_cell().clone()
    }

    fn set_nonce(&self, nonce: String) {
        *self.nonce_cell() = Some(nonce);
    }

    fn material(&self) -> Option<&Secret> {
        self.material.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use http::{Method, Uri};
    use jsonwebtoken::{DecodingKey, Validation, decode, jwk};
    use tokenprobe_protocol::dpop::{ProofKey, ReceivedProof};

    use super::*;

    /// Each key's proof verifies with jsonwebtoken (another implementation)
    /// from the JWK its own header carries, and a P-256 key's thumbprint
    /// is the one jsonwebtoken computes for that JWK.
    #[test]
    fn proofs_verify_elsewhere_from_their_own_jwk() {
        for alg in [Algorithm::ES256, Algorithm::EdDSA] {
            let key = ProofKey::new(Arc::new(DpopKey::generate(alg).unwrap()), false);
            key.signer.set_nonce("n-1".into());
            let uri: Uri = "https://as.example.com/oauth2/token?x=1".parse().unwrap();
            let proof = key.proof(&Method::POST, &uri).unwrap();
            let mut headers = http::HeaderMap::new();
            headers.insert("dpop", proof.expose().parse().unwrap());
            let (read, _) = ReceivedProof::of(&headers).unwrap().unwrap();
            assert_eq!(read.header.problem(), None);
            let theirs: jwk::Jwk =
                serde_json::from_value(serde_json::to_value(&read.header.jwk).unwrap()).unwrap();
            let mut v = Validation::new(match alg {
                Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
                _ => jsonwebtoken::Algorithm::EdDSA,
            });
            v.required_spec_claims.clear();
            v.validate_exp = false;
            let claims =
                decode::<ProofClaims>(proof.expose(), &DecodingKey::from_jwk(&theirs).unwrap(), &v)
                    .unwrap()
                    .claims;
            assert_eq!(claims.htu, "https://as.example.com/oauth2/token");
            assert_eq!(
                (claims.htm.as_str(), claims.nonce.as_deref()),
                ("POST", Some("n-1"))
            );
            // jsonwebtoken 10.3 hashes an OKP key's members without the
            // quotes around `crv`; the protocol's thumbprint is held to
            // RFC 8037's own example instead.
            if alg == Algorithm::ES256 {
                assert_eq!(
                    key.thumbprint(),
                    theirs.thumbprint(jwk::ThumbprintHash::SHA256)
                );
            }
        }
    }

    #[test]
    fn two_proofs_never_share_a_jti() {
        let key = ProofKey::new(
            Arc::new(DpopKey::generate(Algorithm::ES256).unwrap()),
            false,
        );
        let uri: Uri = "https://as.example.com/t".parse().unwrap();
        let jti = |p: Secret| {
            let mut h = http::HeaderMap::new();
            h.insert("dpop", p.expose().parse().unwrap());
            ReceivedProof::of(&h).unwrap().unwrap().0.claims.jti
        };
        let a = jti(key.proof(&Method::POST, &uri).unwrap());
        let b = jti(key.proof(&Method::POST, &uri).unwrap());
        assert_ne!(a, b);
    }

    #[test]
    fn rsa_and_unknown_algorithms_are_configuration_errors() {
        for alg in [Algorithm::RS256, Algorithm::HS256] {
            let e = DpopKey::generate(alg).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{alg}");
        }
    }
}
