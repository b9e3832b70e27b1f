//! The key a client signs its assertions with (RFC 7523 §2.2): a private
//! key for `private_key_jwt`, read and checked once from PKCS#8 PEM, or
//! the client secret for `client_secret_jwt` (HS256); then a fresh
//! assertion (new `jti`, 60 s `exp`) signed for every request, whose cost
//! the load driver's CPU figure includes. A private key is parsed once
//! into aws-lc-rs's key pair: jsonwebtoken parses (and validates) an RSA
//! key again on every signature, which `perf` showed as two thirds of an
//! RS256 acquisition's CPU.

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls::pki_types::PrivatePkcs8KeyDer;
use rustls::pki_types::pem::PemObject;
use tokenprobe_protocol::Secret;
use tokenprobe_protocol::client_auth::{AssertionClaims, AssertionSigner, SignError};
use tokenprobe_protocol::dpop::Jwk;
use tokenprobe_protocol::jwt::{Algorithm, JwtHeader, compact};

use crate::error::{ClientError, ErrorKind};

/// A key that signs: parsed once, used for every signature.
pub(crate) enum KeyPair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Hmac(Box<hmac::Key>),
}

impl KeyPair {
    /// The signature of `input` (a JWS signing input).
    pub(crate) fn sign(&self, rng: &SystemRandom, input: &[u8]) -> Result<Vec<u8>, SignError> {
        match self {
            KeyPair::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, rng, input, &mut signature)
                    .map_err(|_| SignError)?;
                Ok(signature)
            }
            KeyPair::Ec(pair) => pair
                .sign(rng, input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| SignError),
            KeyPair::Ed(pair) => Ok(pair.sign(input).as_ref().to_vec()),
            KeyPair::Hmac(key) => Ok(hmac::sign(key, input).as_ref().to_vec()),
        }
    }

    /// The compact JWS of `claims` under `header` (already encoded).
    pub(crate) fn jws(
        &self,
        rng: &SystemRandom,
        header: &str,
        claims: &impl serde::Serialize,
    ) -> Result<Secret, SignError> {
        let mut failed = None;
        let jws = compact(header, claims, |input| {
            self.sign(rng, input).unwrap_or_else(|e| {
                failed = Some(e);
                Vec::new()
            })
        });
        match failed {
            Some(e) => Err(e),
            None => Ok(Secret::new(jws)),
        }
    }

    /// The public key as a JWK, for the asymmetric keys whose JWK a proof
    /// carries (P-256, Ed25519).
    pub(crate) fn jwk(&self) -> Option<Jwk> {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        match self {
            KeyPair::Ec(pair) => {
                // SEC 1 uncompressed: 0x04, then x and y, 32 bytes each.
                let point = pair.public_key().as_ref();
                (point.len() == 65).then(|| Jwk::Ec {
                    crv: "P-256".into(),
                    x: b64(&point[1..33]),
                    y: b64(&point[33..]),
                })
            }
            KeyPair::Ed(pair) => Some(Jwk::Okp {
                crv: "Ed25519".into(),
                x: b64(pair.public_key().as_ref()),
            }),
            KeyPair::Rsa(_) | KeyPair::Hmac(_) => None,
        }
    }

    /// A new key for `algorithm` (P-256 or Ed25519), made now.
    pub(crate) fn generate(algorithm: Algorithm) -> Option<KeyPair> {
        match algorithm {
            Algorithm::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .ok()
                .map(KeyPair::Ec),
            Algorithm::EdDSA => Ed25519KeyPair::generate().ok().map(KeyPair::Ed),
            Algorithm::RS256 | Algorithm::HS256 => None,
        }
    }

    /// A PKCS#8 PEM key for `algorithm`, or for the algorithm the key is
    /// for (ES256 for P-256, EdDSA for Ed25519, RS256 for RSA); errors
    /// never quote the key.
    pub(crate) fn from_pem(
        pem: &Secret,
        algorithm: Option<Algorithm>,
    ) -> Result<(KeyPair, Algorithm), &'static str> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.expose().as_bytes())
            .map_err(|_| "not a PKCS#8 PEM key (-----BEGIN PRIVATE KEY-----)")?;
        let der = der.secret_pkcs8_der();
        let (pair, algorithm) = match algorithm {
            Some(Algorithm::ES256) => (ec(der), Algorithm::ES256),
            Some(Algorithm::RS256) => (rsa(der), Algorithm::RS256),
            Some(Algorithm::EdDSA) => (ed(der), Algorithm::EdDSA),
            Some(Algorithm::HS256) => {
                return Err(
                    "HS256 signs with the client secret: auth = \"client_secret_jwt\" \
                     with a client_secret, not a private_key",
                );
            }
            None => match (ec(der), ed(der)) {
                (Some(pair), _) => (Some(pair), Algorithm::ES256),
                (_, Some(pair)) => (Some(pair), Algorithm::EdDSA),
                _ => (rsa(der), Algorithm::RS256),
            },
        };
        let pair = pair.ok_or(match algorithm {
            Algorithm::ES256 => "not a P-256 key (ES256)",
            Algorithm::EdDSA => "not an Ed25519 key (EdDSA)",
            _ => "not an RSA key (RS256), nor a P-256 or Ed25519 one",
        })?;
        Ok((pair, algorithm))
    }
}

/// A client's signing key. Its `Debug` shows the algorithm and key id only.
pub struct ClientKey {
    pair: KeyPair,
    algorithm: Algorithm,
    /// The secret or the PEM, as given: for scrubbing, never sent.
    material: Secret,
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

fn ed(der: &[u8]) -> Option<KeyPair> {
    Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
        .ok()
        .map(KeyPair::Ed)
}

impl ClientKey {
    /// Reads a PKCS#8 PEM key for `algorithm` (by default, the one the key
    /// is for: ES256 for a P-256 key, RS256 for RSA) and signs once to
    /// prove they fit, so a wrong key fails before any request. Errors
    /// never quote the key.
    pub fn from_pem(
        pem: &Secret,
        algorithm: Option<Algorithm>,
        kid: Option<String>,
    ) -> Result<ClientKey, ClientError> {
        let config = |why: &str| ClientError::new(ErrorKind::Config, format!("private_key: {why}"));
        let (pair, algorithm) = KeyPair::from_pem(pem, algorithm).map_err(config)?;
        ClientKey::new(pair, algorithm, pem.clone(), kid).map_err(|why| config(&why.to_string()))
    }

    /// The client secret as an HS256 key (`client_secret_jwt`): the
    /// secret's UTF-8 bytes, as OpenID Connect Core §9 has it.
    pub fn hmac(secret: &Secret, kid: Option<String>) -> Result<ClientKey, ClientError> {
        let pair = KeyPair::Hmac(Box::new(hmac::Key::new(
            hmac::HMAC_SHA256,
            secret.expose().as_bytes(),
        )));
        ClientKey::new(pair, Algorithm::HS256, secret.clone(), kid)
            .map_err(|why| ClientError::new(ErrorKind::Config, format!("client_secret: {why}")))
    }

    /// Signs once to prove the key and the algorithm fit, so a wrong key
    /// fails before any request.
    fn new(
        pair: KeyPair,
        algorithm: Algorithm,
        material: Secret,
        kid: Option<String>,
    ) -> Result<ClientKey, SignError> {
        let header = JwtHeader::new(algorithm, kid.clone()).encoded();
        let key = ClientKey {
            pair,
            algorithm,
            material,
            kid,
            header,
            rng: SystemRandom::new(),
        };
        key.sign(&AssertionClaims::new("probe", "probe", 0, "probe".into()))?;
        Ok(key)
    }
}

impl AssertionSigner for ClientKey {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn material(&self) -> &Secret {
        &self.material
    }

    fn sign(&self, claims: &AssertionClaims) -> Result<Secret, SignError> {
        self.pair.jws(&self.rng, &self.header, claims)
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

    /// An HS256 assertion as jsonwebtoken (another implementation) reads
    /// it: its header, its claims, verified with the secret and with no
    /// other.
    #[test]
    fn a_secret_signs_hs256_that_another_implementation_verifies() {
        let secret = Secret::new("Kx7/Canary+Secret=Value%31");
        let key = ClientKey::hmac(&secret, Some("k1".into())).unwrap();
        assert_eq!(key.algorithm(), Algorithm::HS256);
        assert_eq!(key.material(), &secret);
        let claims = AssertionClaims::new(
            "client-1",
            "https://as.example/token",
            1_700_000_000,
            "j1".into(),
        );
        let jws = key.sign(&claims).unwrap();
        let header = jsonwebtoken::decode_header(jws.expose()).unwrap();
        assert_eq!(
            (header.alg, header.kid.as_deref()),
            (jsonwebtoken::Algorithm::HS256, Some("k1"))
        );
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        v.validate_exp = false;
        v.validate_aud = false;
        let verify = |with: &str| {
            let key = jsonwebtoken::DecodingKey::from_secret(with.as_bytes());
            jsonwebtoken::decode::<AssertionClaims>(jws.expose(), &key, &v).map(|t| t.claims)
        };
        assert_eq!(verify(secret.expose()).unwrap(), claims);
        assert!(verify("another secret").is_err());
    }

    /// HS256 is the secret's, EdDSA not yet: asked of a private key, each
    /// says so.
    #[test]
    fn a_private_key_refuses_the_algorithms_it_cannot_sign() {
        let pem = Secret::new(
            std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../stub/demo-keys/client-es256.pem"
            ))
            .unwrap(),
        );
        let e = ClientKey::from_pem(&pem, Some(Algorithm::HS256), None).unwrap_err();
        assert!(e.to_string().contains("client_secret_jwt"), "{e}");
        let e = ClientKey::from_pem(&pem, Some(Algorithm::EdDSA), None).unwrap_err();
        assert!(e.to_string().contains("EdDSA"), "{e}");
        let key = ClientKey::from_pem(&pem, None, None).unwrap();
        assert_eq!((key.algorithm(), key.material()), (Algorithm::ES256, &pem));
    }
}
