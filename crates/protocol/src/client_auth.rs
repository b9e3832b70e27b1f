//! OAuth client authentication (RFC 6749 §2.3.1): HTTP Basic with the
//! form-encoding of id and secret, or both in the request body.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderValue;
use serde::{Deserialize, Serialize};

use crate::error::RequestError;
use crate::secret::Secret;
use crate::wire;

/// Where the client id and secret go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// `Authorization: Basic base64(enc(id) ":" enc(secret))`: what RFC 6749
    /// prefers and every server must support.
    #[default]
    Basic,
    /// `client_id` and `client_secret` as form members.
    Body,
}

/// The `Authorization` value for HTTP Basic client authentication: id and
/// secret each `application/x-www-form-urlencoded` first (RFC-07), so a
/// secret holding `:`, `+`, `%`, space or non-ASCII round-trips.
pub fn basic_authorization(client_id: &str, secret: &Secret) -> Result<HeaderValue, RequestError> {
    let pair = format!(
        "{}:{}",
        form_encode(client_id),
        form_encode(secret.expose())
    );
    wire::secret_header(
        "RFC-07",
        "client_secret",
        &format!("Basic {}", STANDARD.encode(pair)),
    )
}

/// Why an `Authorization: Basic` value could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BasicAuthError {
    /// The scheme is not `Basic`.
    #[error("the Authorization scheme is not Basic")]
    NotBasic,
    /// Not base64, not UTF-8, no `:`, or a bad percent-escape.
    #[error("the Basic credentials are malformed")]
    Malformed,
}

/// Reads HTTP Basic client credentials, undoing the form-encoding (server side).
pub fn parse_basic_authorization(value: &HeaderValue) -> Result<(String, Secret), BasicAuthError> {
    let text = value.to_str().map_err(|_| BasicAuthError::Malformed)?;
    let (scheme, rest) = wire::split_authorization(text).ok_or(BasicAuthError::NotBasic)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(BasicAuthError::NotBasic);
    }
    let raw = STANDARD
        .decode(rest)
        .map_err(|_| BasicAuthError::Malformed)?;
    let raw = String::from_utf8(raw).map_err(|_| BasicAuthError::Malformed)?;
    let (id, secret) = raw.split_once(':').ok_or(BasicAuthError::Malformed)?;
    let id = form_decode(id).ok_or(BasicAuthError::Malformed)?;
    let secret = form_decode(secret).ok_or(BasicAuthError::Malformed)?;
    Ok((id, Secret::new(secret)))
}

fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Reverses [`form_encode`]: `+` is a space, `%XX` a byte. Strict: a `%` not
/// followed by two hex digits, or bytes that are not UTF-8, give `None`.
fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = bytes.iter();
    while let Some(&b) = i.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = hex(*i.next()?)?;
                let lo = hex(*i.next()?)?;
                out.push(hi << 4 | lo);
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_07_basic_form_encodes_before_base64() {
        let v = basic_authorization("my client", &Secret::new("a:b+c%d é")).unwrap();
        let expected = format!(
            "Basic {}",
            STANDARD.encode("my+client:a%3Ab%2Bc%25d+%C3%A9")
        );
        assert_eq!(v.to_str().unwrap(), expected);
        assert!(v.is_sensitive());
        let (id, secret) = parse_basic_authorization(&v).unwrap();
        assert_eq!(id, "my client");
        assert_eq!(secret.expose(), "a:b+c%d é");
    }

    #[test]
    fn malformed_basic_values_are_errors() {
        for bad in ["Bearer x", "Basic !!!", "Basic YWJj", "Basic JTpa"] {
            let v = HeaderValue::from_static(bad);
            assert!(parse_basic_authorization(&v).is_err(), "{bad}");
        }
    }
}
