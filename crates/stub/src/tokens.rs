//! The tokens the stub issues and later recognizes.
//!
//! Cognito-style access tokens are JWTs signed with RS256 or ES256 and
//! published as a JWKS. Signing uses aws-lc-rs key pairs held for the life
//! of the stub (jsonwebtoken re-parses its key on every `encode`, which
//! would halve the ES256 rate); verification uses jsonwebtoken with the
//! published JWK, as any relying party would.
//!
//! Venafi and VCD tokens are opaque to clients but self-contained here
//! (HS256 with a key made at start), so memory stays flat however many a
//! load run asks for; only revocations are remembered, until they expire.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, RSAKeyParameters, RSAKeyType,
    ThumbprintHash,
};
use jsonwebtoken::{DecodingKey, Validation};
use rand::RngCore;
use rustls::pki_types::PrivatePkcs8KeyDer;
use rustls::pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};
use tokenprobe_protocol::jwt::{AccessTokenClaims, Algorithm, JwtHeader, compact};

use crate::config::JwtConfig;

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// 128 random bits, hex: ids and opaque tokens.
pub(crate) fn random_id() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Why the JWT key could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read or is not PKCS#8 PEM.
    #[error("JWT key file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// Key generation or the key itself failed.
    #[error("JWT key: {0}")]
    Key(String),
}

enum SigningKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// Signs Cognito-style access tokens and publishes their key.
pub(crate) struct JwtSigner {
    key: SigningKey,
    rng: SystemRandom,
    header: String,
    jwks: Vec<u8>,
    decoding: DecodingKey,
    algorithm: Algorithm,
    /// The same algorithm, as the verifying library names it.
    verified_as: jsonwebtoken::Algorithm,
    issuer: String,
}

impl JwtSigner {
    pub(crate) fn new(config: &JwtConfig) -> Result<Self, KeyError> {
        let pkcs8 = match &config.key_file {
            Some(path) => Some(read_pkcs8(path)?),
            None => None,
        };
        let bad = |e: &dyn std::fmt::Display| KeyError::Key(e.to_string());
        let (key, params, verified_as, key_algorithm) = match config.algorithm {
            Algorithm::RS256 => {
                let pair = match &pkcs8 {
                    Some(der) => RsaKeyPair::from_pkcs8(der).map_err(|e| bad(&e))?,
                    None => RsaKeyPair::generate(KeySize::Rsa2048).map_err(|e| bad(&e))?,
                };
                let public = pair.public_key();
                let params = AlgorithmParameters::RSA(RSAKeyParameters {
                    key_type: RSAKeyType::RSA,
                    n: URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                    e: URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
                });
                (
                    SigningKey::Rsa(pair),
                    params,
                    jsonwebtoken::Algorithm::RS256,
                    KeyAlgorithm::RS256,
                )
            }
            Algorithm::ES256 => {
                let alg = &ECDSA_P256_SHA256_FIXED_SIGNING;
                let pair = match &pkcs8 {
                    Some(der) => EcdsaKeyPair::from_pkcs8(alg, der).map_err(|e| bad(&e))?,
                    None => EcdsaKeyPair::generate(alg).map_err(|e| bad(&e))?,
                };
                // An uncompressed point: 0x04 ‖ x ‖ y.
                let point = pair.public_key().as_ref();
                let (x, y) = point
                    .get(1..33)
                    .zip(point.get(33..65))
                    .ok_or_else(|| KeyError::Key("not a P-256 public key".into()))?;
                let params = AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                    key_type: EllipticCurveKeyType::EC,
                    curve: EllipticCurve::P256,
                    x: URL_SAFE_NO_PAD.encode(x),
                    y: URL_SAFE_NO_PAD.encode(y),
                });
                (
                    SigningKey::Ec(pair),
                    params,
                    jsonwebtoken::Algorithm::ES256,
                    KeyAlgorithm::ES256,
                )
            }
            other => {
                return Err(KeyError::Key(format!(
                    "the stub signs tokens with RS256 or ES256, not {other}"
                )));
            }
        };
        let mut jwk = Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(key_algorithm),
                ..CommonParameters::default()
            },
            algorithm: params,
        };
        let kid = config
            .kid
            .clone()
            .unwrap_or_else(|| jwk.thumbprint(ThumbprintHash::SHA256));
        jwk.common.key_id = Some(kid.clone());
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| bad(&e))?;
        let jwks = serde_json::to_vec(&JwkSet { keys: vec![jwk] }).map_err(|e| bad(&e))?;
        let header = JwtHeader::new(config.algorithm, Some(kid)).encoded();
        Ok(JwtSigner {
            key,
            rng: SystemRandom::new(),
            header,
            jwks,
            decoding,
            algorithm: config.algorithm,
            verified_as,
            issuer: config.issuer.clone(),
        })
    }

    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `{"keys": [the public key]}`.
    pub(crate) fn jwks(&self) -> &[u8] {
        &self.jwks
    }

    /// A compact JWS of `claims` (RFC 7515 §7.1). `kid` replaces the
    /// published one (the CG-15 quirk).
    pub(crate) fn sign(&self, claims: &AccessTokenClaims, kid: Option<&str>) -> String {
        let header = match kid {
            Some(kid) => JwtHeader::new(self.algorithm, Some(kid.into())).encoded(),
            None => self.header.clone(),
        };
        // Signing with a key that loaded cannot fail short of memory
        // exhaustion; an empty signature then fails verification honestly.
        compact(&header, claims, |input| match &self.key {
            SigningKey::Rsa(pair) => {
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &self.rng, input, &mut sig)
                    .map_or_else(|_| Vec::new(), |()| sig)
            }
            SigningKey::Ec(pair) => pair
                .sign(&self.rng, input)
                .map_or_else(|_| Vec::new(), |s| s.as_ref().to_vec()),
        })
    }

    /// The claims of a token this stub signed and that has not expired.
    pub(crate) fn verify(&self, token: &str) -> Option<AccessTokenClaims> {
        let mut v = Validation::new(self.verified_as);
        v.set_issuer(&[&self.issuer]);
        v.validate_aud = false;
        v.leeway = 0;
        jsonwebtoken::decode::<AccessTokenClaims>(token, &self.decoding, &v)
            .ok()
            .map(|t| t.claims)
    }
}

fn read_pkcs8(path: &Path) -> Result<Vec<u8>, KeyError> {
    PrivatePkcs8KeyDer::from_pem_file(path)
        .map(|k| k.secret_pkcs8_der().to_vec())
        .map_err(|e| KeyError::File {
            path: path.display().to_string(),
            reason: format!("expected a PKCS#8 PEM private key ({e})"),
        })
}

/// `{"alg":"HS256","typ":"JWT"}`, encoded.
const HS256_HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// What an opaque token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Use {
    VenafiAccess,
    VenafiRefresh,
    VcdSession,
}

/// The content of an opaque token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Opaque {
    /// What it is for.
    #[serde(rename = "use")]
    pub(crate) kind: Use,
    /// Unique per token.
    pub(crate) jti: String,
    /// The grant (Venafi) or session (VCD) it belongs to: revoking it ends all its tokens.
    pub(crate) gid: String,
    /// Client id or application.
    pub(crate) cid: String,
    /// User identity.
    pub(crate) sub: String,
    /// Scope (Venafi) or org (VCD).
    pub(crate) scope: String,
    /// Issued at.
    pub(crate) iat: u64,
    /// Expiry.
    pub(crate) exp: u64,
}

/// Issues and recognizes opaque tokens; remembers revoked grants and used
/// refresh tokens until they would have expired anyway.
pub(crate) struct OpaqueTokens {
    /// HS256, held: jsonwebtoken would rebuild the key on every call.
    key: hmac::Key,
    /// id (a grant id or a refresh token's jti) → when it can be
    /// forgotten; and the size at which to next forget the expired.
    dead: Mutex<(HashMap<String, u64>, usize)>,
}

impl OpaqueTokens {
    pub(crate) fn new() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        OpaqueTokens {
            key: hmac::Key::new(hmac::HMAC_SHA256, &key),
            dead: Mutex::new((HashMap::new(), 1024)),
        }
    }

    pub(crate) fn issue(&self, token: &Opaque) -> String {
        compact(HS256_HEADER, token, |input| {
            hmac::sign(&self.key, input).as_ref().to_vec()
        })
    }

    /// A live token of the given use: signed here, not expired, and unless
    /// told otherwise (a quirk), its grant not revoked and (for refresh
    /// tokens) not used before.
    pub(crate) fn recognize(
        &self,
        token: &str,
        kind: Use,
        honour_revocation: bool,
    ) -> Option<Opaque> {
        let (input, signature) = token.rsplit_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        hmac::verify(&self.key, input.as_bytes(), &signature).ok()?;
        let claims = URL_SAFE_NO_PAD.decode(input.split_once('.')?.1).ok()?;
        let t: Opaque = serde_json::from_slice(&claims).ok()?;
        let dead = &self.dead.lock().ok()?.0;
        let revoked = dead.contains_key(&t.gid) || dead.contains_key(&t.jti);
        (t.kind == kind && t.exp > now() && !(revoked && honour_revocation)).then_some(t)
    }

    /// Ends a grant or session, or uses up a refresh token, by its id;
    /// `false` if it was already dead (a refresh token used twice at once).
    pub(crate) fn kill(&self, id: &str, until: u64) -> bool {
        let Ok(mut guard) = self.dead.lock() else {
            return false;
        };
        let (dead, prune_at) = &mut *guard;
        if dead.len() >= *prune_at {
            let now = now();
            dead.retain(|_, exp| *exp > now);
            *prune_at = (dead.len() * 2).max(1024);
        }
        dead.insert(id.to_owned(), until).is_none()
    }
}
