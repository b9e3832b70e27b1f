//! The client's private key for `private_key_jwt` (RFC 7523 §2.2): read
//! once from PKCS#8 PEM, checked by signing at start-up, then a fresh
//! assertion (new `jti`, 60 s `exp`) for every request, whose cost the
//! load driver's CPU figure includes.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use tokenprobe_protocol::Secret;
use tokenprobe_protocol::client_auth::{AssertionClaims, AssertionSigner};

use crate::error::{ClientError, ErrorKind};

/// The assertion's signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum KeyAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256: an RSA key.
    RS256,
    /// ECDSA P-256 with SHA-256: a P-256 key.
    ES256,
}

impl KeyAlgorithm {
    fn jwt(self) -> Algorithm {
        match self {
            KeyAlgorithm::RS256 => Algorithm::RS256,
            KeyAlgorithm::ES256 => Algorithm::ES256,
        }
    }
}

/// A client's signing key. Its `Debug` shows the algorithm and key id only.
pub struct ClientKey {
    key: EncodingKey,
    header: Header,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("alg", &self.header.alg)
            .field("kid", &self.header.kid)
            .finish_non_exhaustive()
    }
}

impl ClientKey {
    /// Reads a PKCS#8 PEM key for `algorithm` (by default, the one the key
    /// is for: ES256 for a P-256 key, RS256 for RSA) and signs once to
    /// prove they fit, so a wrong key fails before any request.
    pub fn from_pem(
        pem: &Secret,
        algorithm: Option<KeyAlgorithm>,
        kid: Option<String>,
    ) -> Result<ClientKey, ClientError> {
        let bytes = pem.expose().as_bytes();
        let (key, algorithm) = match algorithm {
            Some(KeyAlgorithm::ES256) => (EncodingKey::from_ec_pem(bytes), KeyAlgorithm::ES256),
            Some(KeyAlgorithm::RS256) => (EncodingKey::from_rsa_pem(bytes), KeyAlgorithm::RS256),
            None => match EncodingKey::from_ec_pem(bytes) {
                Ok(k) => (Ok(k), KeyAlgorithm::ES256),
                Err(_) => (EncodingKey::from_rsa_pem(bytes), KeyAlgorithm::RS256),
            },
        };
        // The PEM parser's message never holds the key, but say no more
        // than which algorithm wanted which key.
        let refused = |_| {
            ClientError::new(
                ErrorKind::Config,
                format!(
                    "private_key: not a PKCS#8 PEM {} key",
                    match algorithm {
                        KeyAlgorithm::RS256 => "RSA (RS256)",
                        KeyAlgorithm::ES256 => "P-256 (ES256)",
                    }
                ),
            )
        };
        let mut header = Header::new(algorithm.jwt());
        header.kid = kid;
        let client_key = ClientKey {
            key: key.map_err(refused)?,
            header,
        };
        let probe = AssertionClaims::new("probe", "probe", 0, "probe".into());
        client_key
            .sign(&probe)
            .map_err(|why| ClientError::new(ErrorKind::Config, format!("private_key: {why}")))?;
        Ok(client_key)
    }
}

impl AssertionSigner for ClientKey {
    fn sign(&self, claims: &AssertionClaims) -> Result<Secret, String> {
        jsonwebtoken::encode(&self.header, claims, &self.key)
            .map(Secret::new)
            .map_err(|e| format!("cannot sign with this key ({:?})", e.kind()))
    }

    fn unique_id(&self) -> String {
        format!("{:032x}", rand::random::<u128>())
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
    }
}
