//! The login header `Authorization: Bearer {token}; org={org}`.

use http::HeaderValue;

use crate::error::RequestError;
use crate::rfc6749;
use crate::secret::Secret;
use crate::wire;

/// Refuses an org name that would break the header: empty, or holding `;`,
/// `=`, `,`, a quote or a control character (VCD-02).
pub fn validate_org(org: &str) -> Result<(), RequestError> {
    if org.trim().is_empty() {
        return Err(RequestError::new("VCD-02", "org", "must not be empty"));
    }
    if let Some(c) = org
        .chars()
        .find(|c| matches!(c, ';' | '=' | ',' | '"') || c.is_control())
    {
        return Err(RequestError::new(
            "VCD-02",
            "org",
            format!("must not hold {c:?}"),
        ));
    }
    if org.trim() != org {
        return Err(RequestError::new(
            "VCD-02",
            "org",
            "must not start or end with white space",
        ));
    }
    Ok(())
}

/// Refuses a token that cannot sit before `; org=`.
pub(crate) fn validate_token(token: &str) -> Result<(), RequestError> {
    rfc6749::require_bearer_token("VCD-01", "token", token)?;
    if token.contains([';', ',']) {
        return Err(RequestError::new(
            "VCD-01",
            "token",
            "must not hold `;` or `,`, which would end the token early",
        ));
    }
    Ok(())
}

/// The header value for a token and an org (VCD-01), marked sensitive.
pub fn format_authorization(token: &Secret, org: &str) -> Result<HeaderValue, RequestError> {
    validate_org(org)?;
    validate_token(token.expose())?;
    wire::secret_header(
        "VCD-01",
        "org",
        &format!("Bearer {}; org={org}", token.expose()),
    )
}

/// Reads the token and org of a login header (server side).
pub fn parse_authorization(value: &HeaderValue) -> Result<(Secret, String), &'static str> {
    let text = value.to_str().map_err(|_| "not visible ASCII")?;
    let (scheme, rest) = wire::split_authorization(text).ok_or("no scheme or no token")?;
    if !rfc6749::is_bearer(scheme) {
        return Err("the scheme is not Bearer");
    }
    let (token, attrs) = rest.split_once(';').ok_or("no org attribute")?;
    let org = attrs
        .split(';')
        .filter_map(|a| a.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("org"))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
        .ok_or("no org attribute")?;
    let token = token.trim();
    if token.is_empty() {
        return Err("no token");
    }
    Ok((Secret::new(token), org.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_header_round_trips() {
        let v = format_authorization(&Secret::new("OAuth-token"), "Finance").unwrap();
        assert_eq!(v.to_str().unwrap(), "Bearer OAuth-token; org=Finance");
        let (t, org) = parse_authorization(&v).unwrap();
        assert_eq!((t.expose(), org.as_str()), ("OAuth-token", "Finance"));
    }
}
