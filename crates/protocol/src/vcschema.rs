//! CESS's `VCSchema` authorization value: `"VCSchema " + base64(provider + "-|" + token)`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The scheme word in front of the encoded pair.
pub const SCHEME: &str = "VCSchema";
const SEPARATOR: &str = "-|";

/// The value for a provider and an access token.
pub fn encode(provider: &str, access_token: &str) -> String {
    format!(
        "{SCHEME} {}",
        STANDARD.encode(format!("{provider}{SEPARATOR}{access_token}"))
    )
}

/// Why a value is not a VCSchema value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VcSchemaError {
    /// It does not start with `VCSchema `.
    #[error("does not start with `VCSchema `")]
    Scheme,
    /// The rest is not base64 of UTF-8 text.
    #[error("is not base64 of UTF-8 text")]
    Base64,
    /// The decoded text has no `-|` between provider and token.
    #[error("has no `-|` between provider and token")]
    Separator,
}

/// The provider and the access token in a value.
pub fn decode(value: &str) -> Result<(String, String), VcSchemaError> {
    let rest = value
        .strip_prefix(SCHEME)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or(VcSchemaError::Scheme)?;
    let raw = STANDARD
        .decode(rest.trim())
        .map_err(|_| VcSchemaError::Base64)?;
    let text = String::from_utf8(raw).map_err(|_| VcSchemaError::Base64)?;
    let (provider, token) = text.split_once(SEPARATOR).ok_or(VcSchemaError::Separator)?;
    Ok((provider.to_owned(), token.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors() {
        assert_eq!(decode("Bearer x"), Err(VcSchemaError::Scheme));
        assert_eq!(decode("VCSchema ***"), Err(VcSchemaError::Base64));
        assert_eq!(decode("VCSchema YWJj"), Err(VcSchemaError::Separator));
    }
}
