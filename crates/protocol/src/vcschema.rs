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
    let mut pair = (String::new(), String::new());
    with_pair(value, |provider, token| {
        pair = (provider.to_owned(), token.to_owned());
    })?;
    Ok(pair)
}

/// Whether `value` is the VCSchema value of `provider` and `access_token`
/// (CE-06), without copying what it holds out of it.
pub fn encodes(value: &str, provider: &str, access_token: &str) -> Result<bool, VcSchemaError> {
    let mut same = false;
    with_pair(value, |p, t| same = p == provider && t == access_token)?;
    Ok(same)
}

/// Calls `f` with the provider and the token `value` encodes.
fn with_pair(value: &str, f: impl FnOnce(&str, &str)) -> Result<(), VcSchemaError> {
    let rest = value
        .strip_prefix(SCHEME)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or(VcSchemaError::Scheme)?;
    let raw = STANDARD
        .decode(rest.trim())
        .map_err(|_| VcSchemaError::Base64)?;
    let text = std::str::from_utf8(&raw).map_err(|_| VcSchemaError::Base64)?;
    let (provider, token) = text.split_once(SEPARATOR).ok_or(VcSchemaError::Separator)?;
    f(provider, token);
    Ok(())
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

    /// `encodes` says of a value what comparing `decode`'s pair would.
    #[test]
    fn encodes_is_decode_compared() {
        let value = encode("SOLUTIHOM", "41442a8c");
        for (p, t) in [
            ("SOLUTIHOM", "41442a8c"),
            ("SOLUTIHOM", "41442a8d"),
            ("OTHER", "41442a8c"),
            ("SOLUTIHOM-", "|41442a8c"),
        ] {
            let (dp, dt) = decode(&value).unwrap();
            assert_eq!(encodes(&value, p, t), Ok(dp == p && dt == t), "{p} {t}");
        }
    }
}
