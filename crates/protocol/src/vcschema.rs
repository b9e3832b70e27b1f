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
    with_pair(value, |provider, token| {
        (provider.to_owned(), token.to_owned())
    })
}

/// Whether `value` is the VCSchema value of `provider` and `access_token`
/// (CE-06), without copying what it holds out of it.
pub fn encodes(value: &str, provider: &str, access_token: &str) -> Result<bool, VcSchemaError> {
    with_pair(value, |p, t| p == provider && t == access_token)
}

/// What `f` makes of the provider and the token `value` encodes.
fn with_pair<R>(value: &str, f: impl FnOnce(&str, &str) -> R) -> Result<R, VcSchemaError> {
    let rest = value
        .strip_prefix(SCHEME)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or(VcSchemaError::Scheme)?;
    let raw = STANDARD
        .decode(rest.trim())
        .map_err(|_| VcSchemaError::Base64)?;
    let text = std::str::from_utf8(&raw).map_err(|_| VcSchemaError::Base64)?;
    let (provider, token) = text.split_once(SEPARATOR).ok_or(VcSchemaError::Separator)?;
    Ok(f(provider, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors() {
        assert_eq!(decode("Bearer x"), Err(VcSchemaError::Scheme));
        assert_eq!(decode("VCSchema ***"), Err(VcSchemaError::Base64));
        assert_eq!(decode("VCSchema YWJj"), Err(VcSchemaError::Separator));
        assert_eq!(
            encodes("VCSchema YWJj", "a", "b"),
            Err(VcSchemaError::Separator)
        );
    }

    /// The seed's `Authorization` value (tests/fixtures/cess/token-success.json)
    /// encodes its own provider and token, and no other pair.
    #[test]
    fn the_seed_value_encodes_its_pair_and_no_other() {
        let seed = "VCSchema U09MVVRJSE9NLXw0MTQ0MmE4YzJiYjA2MDlkMjQ4Y2M0NjczNDJjNGYxYjBhNTFjOTJj";
        let token = "41442a8c2bb0609d248cc467342c4f1b0a51c92c";
        assert_eq!(encodes(seed, "SOLUTIHOM", token), Ok(true));
        assert_eq!(encodes(seed, "SOLUTIHOM", "41442a8c"), Ok(false));
        assert_eq!(encodes(seed, "OTHER", token), Ok(false));
        // The separator is not part of either side.
        assert_eq!(encodes(seed, "SOLUTIHOM-", &format!("|{token}")), Ok(false));
    }
}
