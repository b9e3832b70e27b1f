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

/// What a JWT access token's `cnf` says of a certificate (RFC 8705 §3.1):
/// the one rule MT-01 judges by, in the client's decoding and in the
/// live check alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// `x5t#S256` is the certificate's thumbprint.
    Bound,
    /// `x5t#S256` names another certificate: an error.
    Other,
    /// No `x5t#S256`: binding is the server's choice (§3), a warning
    /// unless the server promised it (§3.3).
    Unbound,
}

/// The binding of a token with `claims` to the certificate `thumbprint`.
pub fn binding(claims: &AccessTokenClaims, thumbprint: &str) -> Binding {
    match claims.cnf.as_ref().and_then(|c| c.x5t_s256.as_deref()) {
        Some(bound) if bound == thumbprint => Binding::Bound,
        Some(_) => Binding::Other,
        None => Binding::Unbound,
    }
}

/// Why MT-01 fails a token bound to another certificate.
pub const OTHER_CERTIFICATE: &str =
    "the token's cnf x5t#S256 is not the client certificate's thumbprint";

/// Why MT-01 warns of a token bound to no certificate.
pub const UNBOUND: &str = "the token is not bound to the client certificate (no cnf x5t#S256)";

/// MT-01 on a grant: bound to another certificate is an error, to none a
/// warning.
pub(crate) fn check_binding(
    grant: &mut Grant,
    claims: &AccessTokenClaims,
    thumbprint: &str,
) -> Result<(), DecodeError> {
    match binding(claims, thumbprint) {
        Binding::Bound => Ok(()),
        Binding::Other => Err(DecodeError::Contract {
            check: "MT-01",
            reason: OTHER_CERTIFICATE.into(),
        }),
        Binding::Unbound => {
            grant.warn("MT-01", UNBOUND);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::Confirmation;

    fn claims(x5t: Option<&str>) -> AccessTokenClaims {
        AccessTokenClaims {
            cnf: Some(Confirmation {
                jkt: Some("a-dpop-key".into()),
                x5t_s256: x5t.map(str::to_owned),
            }),
            ..AccessTokenClaims::default()
        }
    }

    /// The certificate's own thumbprint binds; another does not; a `cnf`
    /// without `x5t#S256` (a DPoP key's only) or none at all is unbound.
    #[test]
    fn a_token_is_bound_only_to_the_thumbprint_it_names() {
        assert_eq!(binding(&claims(Some("t1")), "t1"), Binding::Bound);
        assert_eq!(binding(&claims(Some("t2")), "t1"), Binding::Other);
        assert_eq!(binding(&claims(None), "t1"), Binding::Unbound);
        assert_eq!(
            binding(&AccessTokenClaims::default(), "t1"),
            Binding::Unbound
        );
    }

    #[test]
    fn the_thumbprint_is_sha256_of_the_der_in_base64url() {
        // SHA-256 of the empty string, base64url without padding.
        assert_eq!(
            thumbprint(b""),
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
    }
}
