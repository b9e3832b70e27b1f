//! Unverified JWT decoding: enough to check claims such as `exp − iat`
//! against `expires_in` (CG-05). Signature checks belong where the keys are.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// A JWS algorithm this workspace signs or verifies with (RFC 7518 §3.1,
/// RFC 8037): the one list for the client's assertions, the stub's tokens
/// and every setting that names one. Headers of other servers' tokens keep
/// `alg` as text ([`JwtHeader::alg`]): they may name any algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256: an RSA key.
    RS256,
    /// ECDSA on P-256 with SHA-256: a P-256 key.
    ES256,
    /// HMAC with SHA-256: a shared secret (`client_secret_jwt`).
    HS256,
    /// EdDSA: an Ed25519 key.
    EdDSA,
}

impl Algorithm {
    /// Its `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::ES256 => "ES256",
            Algorithm::HS256 => "HS256",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// The algorithm an `alg` names, if it is one of these.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        [
            Algorithm::RS256,
            Algorithm::ES256,
            Algorithm::HS256,
            Algorithm::EdDSA,
        ]
        .into_iter()
        .find(|a| a.name() == name)
    }

    /// Whether it signs with a shared secret (anyone who verifies can
    /// sign), not a private key.
    pub fn is_symmetric(self) -> bool {
        self == Algorithm::HS256
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A JWT's JOSE header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtHeader {
    /// The signing algorithm (`RS256`, `ES256`, …), as written: another
    /// server's token may name one outside [`Algorithm`].
    pub alg: String,
    /// The key id, naming a key of the issuer's JWKS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Usually `JWT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
}

impl JwtHeader {
    /// The header of a JWT signed with `alg` by the key `kid`.
    pub fn new(alg: Algorithm, kid: Option<String>) -> JwtHeader {
        JwtHeader {
            alg: alg.name().into(),
            kid,
            typ: Some("JWT".into()),
        }
    }

    /// The header as a compact JWS carries it: JSON, base64url.
    pub fn encoded(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }
}

/// The claims of a Cognito access token, as its documentation lists them.
/// Each is optional: generic RFC 6749 servers send other sets.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// Subject: the client id, for client credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// `access` for an access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_use: Option<String>,
    /// Space-separated granted scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// When the client authenticated, epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
    /// Issuer: `https://cognito-idp.{region}.amazonaws.com/{pool}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Expiry, epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// Issued at, epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Cognito's token format version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// Unique token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The key the token is bound to (RFC 7800), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// A bound token's confirmation claim: the thumbprint of a DPoP key (RFC
/// 9449 §6.1) or of a client certificate (RFC 8705 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Confirmation {
    /// The DPoP key's JWK thumbprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
    /// The client certificate's SHA-256 thumbprint.
    #[serde(default, rename = "x5t#S256", skip_serializing_if = "Option::is_none")]
    pub x5t_s256: Option<String>,
}

/// A decoded (not verified) JWT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwt {
    /// The JOSE header.
    pub header: JwtHeader,
    /// The claims.
    pub claims: AccessTokenClaims,
}

/// Why a token is not a readable JWT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// Not three dot-separated parts.
    #[error("not three dot-separated parts")]
    Shape,
    /// A part is not base64url.
    #[error("the {0} is not base64url")]
    Base64(&'static str),
    /// A part is not the JSON it should be.
    #[error("the {0} is not a JSON object of the expected shape")]
    Json(&'static str),
}

/// A compact JWS (RFC 7515 §7.1): `header.claims.signature`, each part
/// base64url; `header` comes encoded, `sign` signs the first two parts.
/// The one serialization the stub's tokens and the client's assertions
/// share; the signing itself is theirs (this crate holds no keys).
pub fn compact(
    header: &str,
    claims: &impl Serialize,
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
) -> String {
    let claims = serde_json::to_vec(claims).unwrap_or_default();
    let mut out = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims));
    let signature = sign(out.as_bytes());
    out.push('.');
    out.push_str(&URL_SAFE_NO_PAD.encode(signature));
    out
}

/// Decodes a compact JWT's header and claims without checking the signature.
pub fn decode_unverified(token: &str) -> Result<Jwt, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Shape);
    };
    let header = URL_SAFE_NO_PAD
        .decode(h)
        .map_err(|_| JwtError::Base64("header"))?;
    let claims = URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| JwtError::Base64("claims"))?;
    Ok(Jwt {
        header: serde_json::from_slice(&header).map_err(|_| JwtError::Json("header"))?,
        claims: serde_json::from_slice(&claims).map_err(|_| JwtError::Json("claims"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn decodes_header_and_claims() {
        let t = format!(
            "{}.{}.sig",
            b64(r#"{"alg":"RS256","kid":"k1"}"#),
            b64(r#"{"sub":"c","token_use":"access","exp":10,"iat":4,"extra":true}"#)
        );
        let jwt = decode_unverified(&t).unwrap();
        assert_eq!(jwt.header.kid.as_deref(), Some("k1"));
        assert_eq!(jwt.claims.exp, Some(10));
        assert_eq!(jwt.claims.token_use.as_deref(), Some("access"));
    }

    #[test]
    fn refuses_what_is_not_a_jwt() {
        assert_eq!(decode_unverified("opaque"), Err(JwtError::Shape));
        assert_eq!(decode_unverified("a.b.c.d"), Err(JwtError::Shape));
        assert_eq!(decode_unverified("!.b.c"), Err(JwtError::Base64("header")));
        let t = format!("{}.{}.s", b64("{}"), b64("{}"));
        assert_eq!(decode_unverified(&t), Err(JwtError::Json("header")));
    }
}
