//! RFC 6749 pieces shared by the JSON token endpoints: error codes and error
//! bodies, the lenient `expires_in`, `token_type`, scope tokens, and the
//! checks on a successful response's headers.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{DecodeError, ProviderError, RequestError};
use crate::grant::Grant;
use crate::secret::Secret;
use crate::wire;

/// An RFC 6749 §5.2 error code. Unknown codes are kept, never rejected (RFC-05).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `invalid_request`
    InvalidRequest,
    /// `invalid_client`
    InvalidClient,
    /// `invalid_grant`
    InvalidGrant,
    /// `unauthorized_client`
    UnauthorizedClient,
    /// `unsupported_grant_type`
    UnsupportedGrantType,
    /// `invalid_scope`
    InvalidScope,
    /// Any other code, as sent.
    Other(String),
}

impl ErrorCode {
    /// The six codes RFC 6749 §5.2 defines.
    pub const DOCUMENTED: [ErrorCode; 6] = [
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidClient,
        ErrorCode::InvalidGrant,
        ErrorCode::UnauthorizedClient,
        ErrorCode::UnsupportedGrantType,
        ErrorCode::InvalidScope,
    ];

    /// The code as it goes on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::Other(s) => s,
        }
    }

    /// The code for a wire value; unknown values become [`ErrorCode::Other`].
    pub fn parse(s: &str) -> Self {
        match s {
            "invalid_request" => ErrorCode::InvalidRequest,
            "invalid_client" => ErrorCode::InvalidClient,
            "invalid_grant" => ErrorCode::InvalidGrant,
            "unauthorized_client" => ErrorCode::UnauthorizedClient,
            "unsupported_grant_type" => ErrorCode::UnsupportedGrantType,
            "invalid_scope" => ErrorCode::InvalidScope,
            other => ErrorCode::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: Cow<'de, str> = Deserialize::deserialize(d)?;
        Ok(ErrorCode::parse(&s))
    }
}

/// An RFC 6749 §5.2 error body:
/// `{"error": code, "error_description"?: text, "error_uri"?: uri}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthError {
    /// The error code.
    #[serde(rename = "error")]
    pub code: ErrorCode,
    /// Human-readable text, if sent.
    #[serde(
        rename = "error_description",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    /// A page about the error, if sent.
    #[serde(rename = "error_uri", default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

impl OAuthError {
    /// An error with a code and no description.
    pub fn new(code: ErrorCode) -> Self {
        OAuthError {
            code,
            description: None,
            uri: None,
        }
    }

    /// The same error with a description.
    pub fn describe(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code.as_str())?;
        if let Some(d) = &self.description {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

/// A server's refusal in RFC 6749 form: status, error body and, after HTTP
/// Basic, the `WWW-Authenticate` challenge that RFC-08 requires with a 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// 400 or 401 (or 405 for a wrong method).
    pub status: StatusCode,
    /// The error body.
    pub error: OAuthError,
}

impl Rejection {
    /// A 400 with `code` and a description.
    pub fn bad_request(code: ErrorCode, description: impl Into<String>) -> Self {
        Rejection {
            status: StatusCode::BAD_REQUEST,
            error: OAuthError::new(code).describe(description),
        }
    }

    /// A 401 `invalid_client`: unknown client, wrong secret or no client
    /// authentication (CG-08, CG-09); [`Rejection::to_response`] adds the
    /// RFC-08 challenge.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Rejection {
            status: StatusCode::UNAUTHORIZED,
            error: OAuthError::new(ErrorCode::InvalidClient).describe(description),
        }
    }

    /// A 405 for a token endpoint asked with another method than POST.
    pub fn method_not_allowed() -> Self {
        Rejection {
            status: StatusCode::METHOD_NOT_ALLOWED,
            error: OAuthError::new(ErrorCode::InvalidRequest)
                .describe("the token endpoint takes POST"),
        }
    }

    /// The documented response: JSON body, `Cache-Control: no-store`, and a
    /// `WWW-Authenticate: Basic` challenge on every 401 (RFC-08).
    pub fn to_response(&self) -> Response<Bytes> {
        let mut res = wire::json_response(self.status, &self.error, wire::no_store_headers());
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"token\""),
            );
        }
        res
    }
}

/// What a 401's challenges say to a client that used HTTP Basic (RFC-08).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BasicChallenge {
    /// A `Basic` challenge with its `realm`.
    Complete,
    /// No `WWW-Authenticate` at all: RFC 6749 §5.2 requires one.
    Missing,
    /// Challenges, but none for `Basic`, the scheme the client used
    /// (RFC 6749 §5.2: "matching the authentication scheme used").
    OtherScheme,
    /// `Basic` without the `realm` parameter RFC 7617 §2 requires.
    NoRealm,
}

impl BasicChallenge {
    /// Reads every `WWW-Authenticate` value of an answer.
    pub fn of(headers: &HeaderMap) -> BasicChallenge {
        let values: Vec<&str> = headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if values.is_empty() {
            return BasicChallenge::Missing;
        }
        let mut found = BasicChallenge::OtherScheme;
        for (scheme, params) in values.iter().flat_map(|v| challenges(v)) {
            if scheme.eq_ignore_ascii_case("basic") {
                let realm = params.iter().any(|p| {
                    p.split_once('=')
                        .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("realm"))
                });
                if realm {
                    return BasicChallenge::Complete;
                }
                found = BasicChallenge::NoRealm;
            }
        }
        found
    }
}

/// The challenges of one `WWW-Authenticate` value (RFC 9110 §11.6.1): each
/// scheme with its `name=value` parameters. Commas inside quoted strings
/// do not split.
fn challenges(value: &str) -> Vec<(&str, Vec<&str>)> {
    let mut pieces = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                pieces.push(value.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(value.get(start..).unwrap_or_default());
    let mut out: Vec<(&str, Vec<&str>)> = Vec::new();
    for piece in pieces.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
        let first_space = piece.find(' ');
        let first_equals = piece.find('=');
        let is_param = match (first_space, first_equals) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(s), Some(e)) => e < s,
        };
        match (is_param, out.last_mut()) {
            (true, Some((_, params))) => params.push(piece),
            _ => {
                let (scheme, rest) = piece.split_once(' ').unwrap_or((piece, ""));
                let rest = rest.trim();
                let params = if rest.is_empty() {
                    Vec::new()
                } else {
                    vec![rest]
                };
                out.push((scheme, params));
            }
        }
    }
    out
}

/// `expires_in` as received: a JSON number, or (non-conforming, RFC-06) a
/// string of digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiresIn {
    /// A JSON number of seconds, as RFC 6749 says.
    Number(u64),
    /// A string of digits, accepted but reported.
    Text(u64),
}

impl ExpiresIn {
    /// The seconds, whichever form they came in.
    pub fn seconds(self) -> u64 {
        match self {
            ExpiresIn::Number(s) | ExpiresIn::Text(s) => s,
        }
    }

    /// Records the RFC-06 warning for the string form and sets the lifetime.
    pub(crate) fn apply(self, grant: &mut Grant) {
        if let ExpiresIn::Text(s) = self {
            grant.warn(
                "RFC-06",
                format!("`expires_in` is the string \"{s}\", not a JSON number"),
            );
        }
        grant.expires_in = Some(std::time::Duration::from_secs(self.seconds()));
    }
}

impl Serialize for ExpiresIn {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ExpiresIn::Number(n) => s.serialize_u64(*n),
            ExpiresIn::Text(n) => s.collect_str(n),
        }
    }
}

impl<'de> Deserialize<'de> for ExpiresIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ExpiresIn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative number of seconds")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ExpiresIn, E> {
                Ok(ExpiresIn::Number(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ExpiresIn, E> {
                u64::try_from(v)
                    .map(ExpiresIn::Number)
                    .map_err(|_| E::custom("negative expires_in"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ExpiresIn, E> {
                if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 1.8e19 {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    Ok(ExpiresIn::Number(v as u64))
                } else {
                    Err(E::custom("expires_in is not a whole number of seconds"))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ExpiresIn, E> {
                v.trim()
                    .parse()
                    .map(ExpiresIn::Text)
                    .map_err(|_| E::custom("expires_in is a string that is not a number"))
            }
        }
        d.deserialize_any(V)
    }
}

/// Whether a `token_type` is Bearer, compared case-insensitively (RFC-03).
pub fn is_bearer(token_type: &str) -> bool {
    token_type.eq_ignore_ascii_case("bearer")
}

/// Refuses a token type other than Bearer (RFC-03), for decoders.
pub(crate) fn require_bearer(check: &'static str, token_type: &str) -> Result<(), DecodeError> {
    if is_bearer(token_type) {
        Ok(())
    } else {
        Err(DecodeError::Contract {
            check,
            reason: format!("`token_type` is \"{token_type}\", expected Bearer (any case)"),
        })
    }
}

/// The token of an `Authorization` value `Bearer {token}`, if that is its
/// scheme (RFC 6750 §2.1; the scheme compared without regard to case).
pub fn bearer_credentials(value: &str) -> Option<&str> {
    wire::split_authorization(value)
        .filter(|(scheme, _)| is_bearer(scheme))
        .map(|(_, token)| token)
}

/// The token of a request's `Authorization: Bearer {token}`.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    wire::header_str(headers, AUTHORIZATION.as_str()).and_then(bearer_credentials)
}

/// Refuses a token that cannot follow `Bearer ` in a header: empty, or not
/// visible ASCII, or holding a space.
pub(crate) fn require_bearer_token(
    check: &'static str,
    field: &'static str,
    token: &str,
) -> Result<(), RequestError> {
    if wire::is_visible_ascii(token) {
        Ok(())
    } else {
        Err(RequestError::new(
            check,
            field,
            "must be visible ASCII without spaces",
        ))
    }
}

/// `Authorization: Bearer {token}`, marked sensitive.
pub(crate) fn bearer_header(
    check: &'static str,
    field: &'static str,
    token: &Secret,
) -> Result<HeaderValue, RequestError> {
    require_bearer_token(check, field, token.expose())?;
    wire::secret_header(check, field, &format!("Bearer {}", token.expose()))
}

/// Whether a token matches RFC 6750's `b64token`: `[A-Za-z0-9-._~+/]+=*` (RFC-09).
pub fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// Whether `s` is an RFC 6749 §3.3 scope-token: `%x21 / %x23-5B / %x5D-7E`.
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// Validates scope tokens and joins them with spaces, RFC 6749 §3.3.
pub(crate) fn join_scopes<I, S>(
    check: &'static str,
    scopes: I,
) -> Result<Option<String>, RequestError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut joined = String::new();
    for s in scopes {
        let s = s.as_ref();
        if !is_scope_token(s) {
            return Err(RequestError::new(
                check,
                "scope",
                format!(
                    "\"{s}\" is not a scope token (visible ASCII, no space, quote or backslash)"
                ),
            ));
        }
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(s);
    }
    Ok((!joined.is_empty()).then_some(joined))
}

/// The RFC-01, RFC-02 and RFC-09 observations on a successful token response,
/// as warnings on the grant. Whether a missing `no-store` fails a check is the
/// checker's business (it does for `cognito`).
pub(crate) fn observe_success(grant: &mut Grant, headers: &HeaderMap) {
    if !wire::is_json(headers) {
        let got = wire::media_type(headers).unwrap_or("none");
        grant.warn("RFC-01", format!("Content-Type is {got}, not JSON"));
    }
    if !wire::has_no_store(headers) {
        grant.warn("RFC-02", "no `Cache-Control: no-store` on a token response");
    }
    if !wire::has_pragma_no_cache(headers) {
        grant.warn(
            "RFC-02",
            "no `Pragma: no-cache` (RFC 6749; dropped by OAuth 2.1)",
        );
    }
    if !is_b64token(grant.secret.expose()) {
        grant.warn("RFC-09", "the access token is not an RFC 6750 b64token");
    }
}

/// The error side of an RFC 6749 endpoint: an error body with an `error`
/// member gives [`ProviderError::OAuth`], anything else a bare status.
pub(crate) fn decode_error(status: StatusCode, body: &[u8]) -> ProviderError {
    match serde_json::from_slice::<OAuthError>(body) {
        Ok(error) => ProviderError::OAuth { status, error },
        Err(_) => ProviderError::Status {
            status,
            excerpt: wire::excerpt(body),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(values: &[&str]) -> BasicChallenge {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(WWW_AUTHENTICATE, HeaderValue::from_str(v).unwrap());
        }
        BasicChallenge::of(&h)
    }

    #[test]
    fn a_basic_challenge_needs_its_realm() {
        use BasicChallenge::*;
        for (values, expected) in [
            (&[][..], Missing),
            (&["Basic realm=\"token\""][..], Complete),
            (&["basic REALM=x, charset=\"UTF-8\""][..], Complete),
            (&["Basic"][..], NoRealm),
            (&["Basic charset=\"UTF-8\""][..], NoRealm),
            (&["Bearer realm=\"a, Basic realm=b\""][..], OtherScheme),
            (&["Bearer error=\"invalid_token\""][..], OtherScheme),
            (
                &["Bearer realm=\"api\", Basic realm=\"token\""][..],
                Complete,
            ),
            (&["Bearer realm=\"api\"", "Basic"][..], NoRealm),
            (
                &["Newauth realm=\"apps\", type=1, title=\"Login\", Basic realm=\"simple\""][..],
                Complete,
            ),
        ] {
            assert_eq!(challenge(values), expected, "{values:?}");
        }
    }

    #[test]
    fn rfc_05_every_code_round_trips_and_unknown_codes_are_kept() {
        for code in ErrorCode::DOCUMENTED {
            assert_eq!(ErrorCode::parse(code.as_str()), code);
        }
        assert_eq!(
            ErrorCode::parse("slow_down"),
            ErrorCode::Other("slow_down".into())
        );
    }

    #[test]
    fn rfc_06_expires_in_number_or_digit_string() {
        let n: ExpiresIn = serde_json::from_str("3600").unwrap();
        assert_eq!(n, ExpiresIn::Number(3600));
        let t: ExpiresIn = serde_json::from_str("\"3600\"").unwrap();
        assert_eq!(t, ExpiresIn::Text(3600));
        assert!(serde_json::from_str::<ExpiresIn>("-1").is_err());
        assert!(serde_json::from_str::<ExpiresIn>("\"soon\"").is_err());
        assert!(serde_json::from_str::<ExpiresIn>("1.5").is_err());
    }

    #[test]
    fn rfc_09_b64token_syntax() {
        assert!(is_b64token("abc.DEF-_~+/=="));
        assert!(!is_b64token("has space"));
        assert!(!is_b64token("=="));
        assert!(!is_b64token("a=b"));
    }

    #[test]
    fn rfc_08_unauthorized_rejection_carries_a_challenge() {
        let r = Rejection {
            status: StatusCode::UNAUTHORIZED,
            error: OAuthError::new(ErrorCode::InvalidClient),
        };
        let res = r.to_response();
        assert!(res.headers().contains_key(WWW_AUTHENTICATE));
        assert_eq!(res.body().as_ref(), br#"{"error":"invalid_client"}"#);
    }
}
