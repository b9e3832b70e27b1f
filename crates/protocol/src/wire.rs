//! Small pieces of HTTP that every system shares: media types, building
//! requests and responses, body excerpts, header-safe text.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, PRAGMA};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};

use crate::error::{DecodeError, RequestError, json_error};

/// `application/json`, as the token endpoints send it.
pub const JSON: &str = "application/json";
/// `application/x-www-form-urlencoded`.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// The media type of a `Content-Type` value, without parameters, as sent:
/// compare it with [`media_type_is`] or `eq_ignore_ascii_case`. Borrowed,
/// since every decoded response asks.
pub fn media_type(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    value.split(';').next().map(str::trim)
}

/// Whether the `Content-Type`'s media type is `expected`, ignoring case.
pub fn media_type_is(headers: &HeaderMap, expected: &str) -> bool {
    media_type(headers).is_some_and(|m| m.eq_ignore_ascii_case(expected))
}

/// Whether the `Content-Type` is JSON (`application/json` or `…+json`), RFC-01.
pub fn is_json(headers: &HeaderMap) -> bool {
    media_type(headers)
        .is_some_and(|m| m.eq_ignore_ascii_case(JSON) || ends_with_ignore_case(m, "+json"))
}

/// `str::ends_with`, ignoring ASCII case.
pub(crate) fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    s.len()
        .checked_sub(suffix.len())
        .and_then(|i| s.as_bytes().get(i..))
        .is_some_and(|end| end.eq_ignore_ascii_case(suffix.as_bytes()))
}

/// Whether a successful token response forbids caching (`Cache-Control:
/// no-store`), RFC-02.
pub fn has_no_store(headers: &HeaderMap) -> bool {
    headers.get_all(CACHE_CONTROL).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(',')
                .any(|d| d.trim().eq_ignore_ascii_case("no-store"))
        })
    })
}

/// Whether `Pragma: no-cache` is present (RFC 6749 §5.1; dropped by OAuth 2.1).
pub fn has_pragma_no_cache(headers: &HeaderMap) -> bool {
    headers
        .get(PRAGMA)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|s| s.trim().eq_ignore_ascii_case("no-cache"))
}

/// At most 200 characters of a body, as text, for error messages about a
/// response that is not in any documented shape.
pub fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body.get(..MAX.min(body.len())).unwrap_or_default());
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    out = out.trim().to_owned();
    if body.len() > MAX {
        out.push('…');
    }
    if out.is_empty() {
        "(empty body)".to_owned()
    } else {
        out
    }
}

/// `text` safe to print on a terminal: control characters (ESC, CR, tab,
/// …) and the invisible bidirectional overrides, which a hostile server
/// could use to move the cursor or disguise a line, are shown escaped
/// (`\x1b`, `\u{202e}`). Borrowed when there is nothing to escape.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `text` made [`printable`] and cut to at most `max` characters (marked
/// with `…`), for server-chosen words such as error codes.
pub fn printable_cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", printable(text.get(..i).unwrap_or_default())),
        None => printable(text).into_owned(),
    }
}

/// Decodes a JSON body into `T`, with an error that never quotes the body.
pub(crate) fn decode_json<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Result<T, DecodeError> {
    serde_json::from_slice(body).map_err(|e| json_error(&e))
}

/// Whether `s` can travel as a header value token: visible ASCII, no space.
pub(crate) fn is_visible_ascii(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// Refuses an empty value or one with control characters.
pub(crate) fn require_text(
    check: &'static str,
    field: &'static str,
    s: &str,
) -> Result<(), RequestError> {
    if s.trim().is_empty() {
        return Err(RequestError::new(check, field, "must not be empty"));
    }
    if s.chars().any(char::is_control) {
        return Err(RequestError::new(
            check,
            field,
            "must not hold control characters",
        ));
    }
    Ok(())
}

/// A header value that carries a secret: marked sensitive, so `http`'s own
/// `Debug` hides it.
pub(crate) fn secret_header(
    check: &'static str,
    field: &'static str,
    value: &str,
) -> Result<HeaderValue, RequestError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        RequestError::new(
            check,
            field,
            "holds a character not allowed in an HTTP header",
        )
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// Builds a request from parts that were validated already.
pub(crate) fn request(
    method: Method,
    uri: Uri,
    headers: impl IntoIterator<Item = (HeaderName, HeaderValue)>,
    body: impl Into<Bytes>,
) -> Request<Bytes> {
    let mut req = Request::new(body.into());
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    req.headers_mut().extend(headers);
    req
}

/// `GET url` asking for JSON: how a metadata document or a key set is
/// fetched (client discovery, the DS and CG-15 checks). `url` is absolute.
pub fn get_json(url: &str) -> Result<Request<Bytes>, RequestError> {
    let uri: Uri = url
        .parse()
        .map_err(|_| RequestError::new("URL", "url", format!("{url:?} is not a URL")))?;
    Ok(request(
        Method::GET,
        uri,
        [(http::header::ACCEPT, HeaderValue::from_static(JSON))],
        Bytes::new(),
    ))
}

/// Builds a response with a body and headers.
pub(crate) fn response(
    status: StatusCode,
    headers: impl IntoIterator<Item = (HeaderName, HeaderValue)>,
    body: impl Into<Bytes>,
) -> Response<Bytes> {
    let mut res = Response::new(body.into());
    *res.status_mut() = status;
    res.headers_mut().extend(headers);
    res
}

/// A JSON response: `Content-Type: application/json;charset=UTF-8`.
pub(crate) fn json_response<T: serde::Serialize>(
    status: StatusCode,
    body: &T,
    headers: impl IntoIterator<Item = (HeaderName, HeaderValue)>,
) -> Response<Bytes> {
    // Serializing our own plain structs cannot fail; an empty body would be
    // caught by any client as a decode error rather than crash a server.
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut res = response(status, headers, bytes);
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    res
}

/// The headers RFC 6749 §5.1 puts on a successful token response.
pub fn no_store_headers() -> [(HeaderName, HeaderValue); 2] {
    [
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

/// An `Authorization` value split into scheme and credentials at the first
/// space, both trimmed; `None` when either is missing. (Trimmed first, a
/// value split at a space has something on both sides.)
pub(crate) fn split_authorization(value: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    Some((scheme, rest.trim()))
}

/// A header as text, if present and visible ASCII.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_01_json_media_type_allows_parameters() {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("Application/JSON; charset=utf-8"),
        );
        assert!(is_json(&h));
        h.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
        assert!(!is_json(&h));
        for (media, json) in [
            ("application/problem+JSON", true),
            ("application/xjson", false),
            ("json", false),
            ("+json", true),
        ] {
            h.insert(CONTENT_TYPE, HeaderValue::from_static(media));
            assert_eq!(is_json(&h), json, "{media}");
        }
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("APPLICATION/X-WWW-FORM-URLENCODED"),
        );
        assert!(media_type_is(&h, FORM));
    }

    #[test]
    fn excerpt_is_bounded_and_printable() {
        let long = vec![b'a'; 1000];
        assert_eq!(excerpt(&long).chars().count(), 201);
        assert_eq!(excerpt(b"\n"), "(empty body)");
        assert_eq!(printable("plain é"), "plain é");
        assert_eq!(
            printable("a\x1b[31mred\r\u{202e}x"),
            "a\\x1b[31mred\\x0d\\u{202e}x"
        );
        assert_eq!(printable_cut("abcdef", 3), "abc…");
        assert_eq!(printable_cut("\x1b\x1b", 1), "\\x1b…");
        assert_eq!(excerpt(b"<h1>Bad\ngateway</h1>"), "<h1>Bad gateway</h1>");
    }
}
