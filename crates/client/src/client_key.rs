//! The client's private key for `private_key_jwt` (RFC 7523 §2.2): read
//! and checked once from PKCS#8 PEM, then a fresh assertion (new `jti`,
//! 60 s `exp`) signed for every request, whose cost the load driver's CPU
//! figure includes. The key is parsed once into aws-lc-rs's key pair:
//! jsonwebtoken parses (and validates) an RSA key again on every signature,
//! which `perf` showed as two thirds of an RS256 acquisition's CPU.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use rustls::pki_types::PrivatePkcs8KeyDer;
use rustls::pki_types::pem::PemObject;
use serde::Deserialize;
use tokenprobe_protocol::Secret;
use tokenprobe_protocol::client_auth::{AssertionClaims, AssertionSigner};
use tokenprobe_protocol::jwt::{JwtHeader, compact};

use crate::error::{ClientError, ErrorKind};

/// The assertion's signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum KeyAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256: an RSA key.
    RS256,
    /// ECDSA P-256 with SHA-256: a P-256 key.
    ES256,
}

enum KeyPair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A client's signing key. Its `Debug` shows the algorithm and key id only.
pub struct ClientKey {
    pair: KeyPair,
    algorithm: KeyAlgorithm,
    kid: Option<String>,
    /// The encoded JOSE header, the same for every assertion.
    header: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("alg", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn rsa(der: &[u8]) -> Option<KeyPair> {
    RsaKeyPair::from_pkcs8(der).ok().map(KeyPair::Rsa)
}

fn ec(der: &[u8]) -> Option<KeyPair> {
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
        .ok()
        .map(KeyPair::Ec)
}

impl ClientKey {
    /// Reads a PKCS#8 PEM key for `algorithm` (by default, the one the key
    /// is for: ES256 for a P-256 key, RS256 for RSA) and signs once to
    /// prove they fit, so a wrong key fails before any request. Errors
    /// never quote the key.
    pub fn from_pem(
        pem: &Secret,
        algorithm: Option<KeyAlgorithm>,
        kid: Option<String>,
    ) -> Result<ClientKey, ClientError> {
        let config = |why: &str| ClientError::new(ErrorKind::Config, format!("private_key: {why}"));
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.expose().as_bytes())
            .map_err(|_| config("not a PKCS#8 PEM key (-----BEGIN PRIVATE KEY-----)"))?;
        let der = der.secret_pkcs8_der();
        let (pair, algorithm) = match algorithm {
            Some(KeyAlgorithm::ES256) => (ec(der), KeyAlgorithm::ES256),
            Some(KeyAlgorithm::RS256) => (rsa(der), KeyAlgorithm::RS256),
            None => match ec(der) {
                Some(pair) => (Some(pair), KeyAlgorithm::ES256),
                None => (rsa(der), KeyAlgorithm::RS256),
            },
        };
        let pair = pair.ok_or_else(|| {
            config(match algorithm {
                KeyAlgorithm::RS256 => "not an RSA key (RS256), nor a P-256 one",
                KeyAlgorithm::ES256 => "not a P-256 key (ES256)",
            })
        })?;
        let header = JwtHeader {
            alg: format!("{algorithm:?}"),
            kid: kid.clone(),
            typ: Some("JWT".into()),
        }
        .encoded();
        let key = ClientKey {
            pair,
            algorithm,
            kid,
            header,
            rng: SystemRandom::new(),
        };
        key.sign(&AssertionClaims::new("probe", "probe", 0, "probe".into()))
            .map_err(|why| config(&why))?;
        Ok(key)
    }
}

impl AssertionSigner for ClientKey {
    fn sign(&self, claims: &AssertionClaims) -> Result<Secret, String> {
        let mut failed = false;
        let jws = compact(&self.header, claims, |input| match &self.pair {
            KeyPair::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                failed = pair
                    .sign(&RSA_PKCS1_SHA256, &self.rng, input, &mut signature)
                    .is_err();
                signature
            }
            KeyPair::Ec(pair) => match pair.sign(&self.rng, input) {
                Ok(s) => s.as_ref().to_vec(),
                Err(_) => {
                    failed = true;
                    Vec::new()
                }
            },
        });
        match failed {
            true => Err("the key could not sign".into()),
            false => Ok(Secret::new(jws)),
        }
    }

    fn unique_id(&self) -> String {
        format!("{:032x}", rand::random::<u128>())
    }

    fn now(&self) -> u64 {
        crate::unix_now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_that_is_not_pem_is_a_config_error_that_does_not_echo_it() {
        let pem = Secret::new("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n");
        let e = ClientKey::from_pem(&pem, None, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(!e.to_string().contains("c2VjcmV0"), "{e}");
        let e = ClientKey::from_pem(&Secret::new("not pem"), None, None).unwrap_err();
        assert!(e.to_string().contains("PKCS#8"), "{e}");
    }
}
