//! Mutual TLS (RFC 8705): a client certificate's thumbprint, and what a
//! token bound to it names in `cnf` (§3.1). Which certificate a
//! connection carried is the TLS layer's to say; this module only reads
//! and compares.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::DecodeError;
use crate::grant::Grant;
use crate::jwt::AccessTokenClaims;

/// `x5t#S256` of a certificate: SHA-256 of its DER, base64url.
pub fn thumbprint(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(der))
}

/// MT-01: a JWT access token bound to a certificate names the one the
/// client presented; a token bound to another is an error, one not bound
/// a warning (binding is the server's choice, RFC 8705 §3).
pub(crate) fn check_binding(
    grant: &mut Grant,
    claims: &AccessTokenClaims,
    thumbprint: &str,
) -> Result<(), DecodeError> {
    match claims.cnf.as_ref().and_then(|c| c.x5t_s256.as_deref()) {
        Some(bound) if bound == thumbprint => Ok(()),
        Some(_) => Err(DecodeError::Contract {
            check: "MT-01",
            reason: "the token's cnf x5t#S256 is not the client certificate's thumbprint".into(),
        }),
        None => {
            grant.warn(
                "MT-01",
                "the token is not bound to the client certificate (no cnf x5t#S256)",
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thumbprint_is_sha256_of_the_der_in_base64url() {
        // SHA-256 of the empty string, base64url without padding.
        assert_eq!(
            thumbprint(b""),
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
    }
}
