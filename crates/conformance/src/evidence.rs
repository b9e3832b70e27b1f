//! Evidence: what each check sent and got back, with every secret
//! redacted before it is kept. Two layers: the members and headers that
//! carry credentials are replaced wherever they appear, and every value
//! ever seen in one (the configured secrets, tokens the server issued) is
//! scrubbed from all other text, reasons included.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request};
use serde::Serialize;
use serde_json::Value;
pub use tokenprobe_protocol::redact::{REDACTED, Redactor};

/// How much of a body is kept.
const EXCERPT_CHARS: usize = 600;

/// Members (JSON or form, any case) whose values are credentials.
const SECRET_MEMBERS: &[&str] = &[
    "client_secret",
    "password",
    "otp",
    "access_token",
    "refresh_token",
    "id_token",
    "token",
    "sessionid",
    "authorization",
    "assertion",
    "client_assertion",
];

/// Request headers kept; `authorization` loses its credential, a DPoP
/// proof its whole value (replayable for its window on a server that keeps
/// no memory of proofs): the evidence says one was sent, not which.
const REQUEST_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "accept",
    "x-vaultapi-clientid",
    "dpop",
];

/// Request headers whose whole value is a credential.
const SECRET_REQUEST_HEADERS: &[&str] = &["dpop"];

/// Response headers kept; the token headers lose their values.
const RESPONSE_HEADERS: &[&str] = &[
    "content-type",
    "cache-control",
    "pragma",
    "www-authenticate",
    "retry-after",
    "location",
    "x-vmware-vcloud-token-type",
    "x-vmware-vcloud-access-token",
    "set-cookie",
];

/// Response headers whose whole value is a credential.
const SECRET_HEADERS: &[&str] = &["x-vmware-vcloud-access-token", "set-cookie"];

/// One request and its answer (or the transport failure), redacted.
#[derive(Debug, Clone, Serialize)]
pub struct Capture {
    /// `POST https://host/path?query`.
    pub request: String,
    /// The request headers that matter.
    pub request_headers: Vec<(String, String)>,
    /// The start of the request body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    /// The status, unless the transport failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The response headers that matter.
    pub response_headers: Vec<(String, String)>,
    /// The start of the response body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
    /// Why no answer came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// From sending to the whole body read.
    #[serde(rename = "elapsed_ms", serialize_with = "millis")]
    pub elapsed: Duration,
    /// Sent once and shared by several checks (a plain success is asked
    /// for once per system, so a real account sees one request, not six).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub shared: bool,
}

/// A duration as fractional milliseconds.
pub fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// Evidence made by the one redactor ([`Redactor`]): members and headers
/// that carry credentials are replaced, and every value met in one is
/// learned, so later text is scrubbed of it too.
pub trait Capturing {
    /// The evidence of a request (its answer is added by [`Capturing::answer`]).
    fn request(&mut self, req: &Request<Bytes>) -> Capture;
    /// Adds an answer to the evidence of its request.
    fn answer(&mut self, capture: &mut Capture, status: u16, headers: &HeaderMap, body: &[u8]);
}

impl Capturing for Redactor {
    fn request(&mut self, req: &Request<Bytes>) -> Capture {
        let uri = req.uri();
        let mut url = format!(
            "{}://{}{}",
            uri.scheme_str().unwrap_or("http"),
            uri.authority().map(|a| a.as_str()).unwrap_or_default(),
            uri.path()
        );
        if let Some(q) = uri.query() {
            url.push('?');
            url.push_str(&form(self, q));
        }
        let request_headers =
            kept_headers(self, req.headers(), REQUEST_HEADERS, SECRET_REQUEST_HEADERS);
        let sent = req.body();
        Capture {
            request: format!("{} {}", req.method(), self.scrub(&url)),
            request_headers,
            request_body: (!sent.is_empty()).then(|| redacted_body(self, req.headers(), sent)),
            status: None,
            response_headers: Vec::new(),
            response_body: None,
            error: None,
            elapsed: Duration::ZERO,
            shared: false,
        }
    }

    fn answer(&mut self, capture: &mut Capture, status: u16, headers: &HeaderMap, body: &[u8]) {
        capture.status = Some(status);
        capture.response_headers = kept_headers(self, headers, RESPONSE_HEADERS, SECRET_HEADERS);
        capture.response_body = (!body.is_empty()).then(|| redacted_body(self, headers, body));
    }
}

fn kept_headers(
    r: &mut Redactor,
    headers: &HeaderMap,
    keep: &[&str],
    secret: &[&str],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in keep {
        for value in headers.get_all(*name) {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            let shown = if secret.contains(name) {
                r.learn(&value);
                REDACTED.to_owned()
            } else if *name == "authorization" {
                authorization(r, &value)
            } else {
                r.scrub(&value)
            };
            out.push(((*name).to_owned(), shown));
        }
    }
    out
}

/// `Basic [redacted]`, `Bearer [redacted]; org=Finance`.
fn authorization(r: &mut Redactor, value: &str) -> String {
    let (scheme, rest) = value.split_once(' ').unwrap_or(("", value));
    let (credential, params) = match rest.split_once(';') {
        Some((c, p)) => (c, format!(";{p}")),
        None => (rest, String::new()),
    };
    r.learn(credential);
    let shown = format!("{scheme} {REDACTED}{params}");
    r.scrub(shown.trim_start())
}

fn redacted_body(r: &mut Redactor, headers: &HeaderMap, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let media = tokenprobe_protocol::wire::media_type(headers).unwrap_or_default();
    let redacted = if let Ok(mut v) = serde_json::from_slice::<Value>(body) {
        json(r, &mut v);
        v.to_string()
    } else if media.eq_ignore_ascii_case(tokenprobe_protocol::wire::FORM) {
        form(r, &text)
    } else {
        text.into_owned()
    };
    excerpt(&r.scrub(&redacted))
}

fn json(r: &mut Redactor, v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_secret_member(k) {
                    if let Some(s) = v.as_str() {
                        r.learn(s);
                    }
                    if !v.is_null() {
                        *v = Value::String(REDACTED.into());
                    }
                } else {
                    json(r, v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| json(r, v)),
        _ => {}
    }
}

fn form(r: &mut Redactor, text: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(text.as_bytes()) {
        if is_secret_member(&k) {
            r.learn(&v);
            out.append_pair(&k, REDACTED);
        } else {
            out.append_pair(&k, &v);
        }
    }
    // `[redacted]` reads better unencoded; it cannot be mistaken for a value.
    out.finish().replace("%5Bredacted%5D", REDACTED)
}

fn is_secret_member(name: &str) -> bool {
    SECRET_MEMBERS.iter().any(|m| m.eq_ignore_ascii_case(name))
}

/// The first [`EXCERPT_CHARS`] characters, marked when cut.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((i, _)) => format!("{}… ({} bytes in all)", &text[..i], text.len()),
        None => text.to_owned(),
    }
}

/// The evidence a target keeps: every capture since the last
/// [`Journal::take`], redacted by one [`Redactor`] that learns each secret
/// it meets. Shared by the checks of one target.
#[derive(Debug, Default)]
pub struct Journal {
    redactor: Mutex<Redactor>,
    captures: Mutex<Vec<Capture>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Journal {
    /// Remembers a value to scrub ([`Redactor::learn`]).
    pub fn learn(&self, value: &str) {
        lock(&self.redactor).learn(value);
    }

    /// The start of a capture: the request, redacted.
    pub fn request(&self, req: &Request<Bytes>) -> Capture {
        lock(&self.redactor).request(req)
    }

    /// Adds the answer to a capture.
    pub fn answer(&self, capture: &mut Capture, status: u16, headers: &HeaderMap, body: &[u8]) {
        lock(&self.redactor).answer(capture, status, headers, body);
    }

    /// Keeps a finished capture.
    pub fn keep(&self, capture: Capture) {
        lock(&self.captures).push(capture);
    }

    /// The last capture kept.
    pub fn last(&self) -> Option<Capture> {
        lock(&self.captures).last().cloned()
    }

    /// The captures kept since the last call.
    pub fn take(&self) -> Vec<Capture> {
        std::mem::take(&mut *lock(&self.captures))
    }

    /// `text` scrubbed of every secret and token seen so far.
    pub fn scrub(&self, text: &str) -> String {
        lock(&self.redactor).scrub(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_headers_and_known_values_are_redacted() {
        let mut r = Redactor::default();
        r.learn("planted-Secret-42");
        let req = Request::builder()
            .method("POST")
            .uri("https://idp.example/oauth2/token?client_secret=s3cr3t-value&x=1")
            .header("authorization", "Bearer tok-123456; org=Finance")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Bytes::from(
                "grant_type=password&password=pw-987654&note=planted-Secret-42",
            ))
            .unwrap();
        let mut e = r.request(&req);
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        headers.insert(
            "x-vmware-vcloud-access-token",
            "vcd-token-abc".parse().unwrap(),
        );
        r.answer(
            &mut e,
            200,
            &headers,
            br#"{"access_token":"at-555555","nested":{"Authorization":"VCSchema b64-value"},"echo":"pw-987654"}"#,
        );
        let all = serde_json::to_string(&e).unwrap();
        for secret in [
            "s3cr3t-value",
            "tok-123456",
            "pw-987654",
            "planted-Secret-42",
            "vcd-token-abc",
            "at-555555",
            "b64-value",
        ] {
            assert!(!all.contains(secret), "{secret} in {all}");
        }
        assert!(all.contains("Bearer [redacted]; org=Finance"), "{all}");
        assert!(all.contains("grant_type=password"), "{all}");
        assert_eq!(r.scrub("got at-555555 back"), "got [redacted] back");
    }

    proptest::proptest! {
        /// Whatever a server sends, with a known secret anywhere in it (in
        /// JSON, form or plain text, in a header, cut at any length), the
        /// evidence holds no copy of it, and nothing panics.
        #[test]
        fn a_known_secret_never_survives(
            before in ".{0,700}",
            after in ".{0,80}",
            media in proptest::sample::select(vec!["application/json", "application/x-www-form-urlencoded", "text/plain", ""]),
            json in proptest::bool::ANY,
        ) {
            const SECRET: &str = "S3cret-planted-XYZ";
            let mut r = Redactor::default();
            r.learn(SECRET);
            let body = if json {
                serde_json::json!({"note": format!("{before}{SECRET}{after}")}).to_string()
            } else {
                format!("{before}{SECRET}{after}")
            };
            let mut headers = HeaderMap::new();
            if let Ok(v) = media.parse() {
                headers.insert("content-type", v);
            }
            if let Ok(v) = format!("Bearer x{SECRET}").parse() {
                headers.insert("www-authenticate", v);
            }
            let req = Request::builder().uri("http://127.0.0.1/t").body(Bytes::from(body.clone())).unwrap();
            let mut e = r.request(&req);
            r.answer(&mut e, 200, &headers, body.as_bytes());
            let all = serde_json::to_string(&e).unwrap();
            proptest::prop_assert!(!all.contains(SECRET), "{}", all);
        }
    }

    /// Every run of four characters of `secret` that `text` holds, leaving
    /// out those the body would hold without it.
    fn leaked(text: &str, secret: &str, innocent: &str, run: usize) -> Vec<String> {
        let chars: Vec<char> = secret.chars().collect();
        chars
            .windows(run)
            .map(|w| w.iter().collect::<String>())
            .filter(|w| text.contains(w.as_str()) && !innocent.contains(w.as_str()))
            .collect()
    }

    proptest::proptest! {
        /// A server that echoes a known secret, plain, JSON-escaped,
        /// form-encoded or in base64, at any offset of its body: neither
        /// the one-line reason (cut at 200 bytes before it is scrubbed) nor
        /// the evidence (cut at 600) keeps more than three characters of it
        /// in a row.
        #[test]
        fn no_piece_of_a_secret_survives_a_cut(
            secret in "[A-Za-z0-9+/=&%\"\\-]{8,30}",
            encoding in 0..4usize,
            json in proptest::bool::ANY,
        ) {
            use base64::Engine as _;
            let basic = |s: &str| base64::engine::general_purpose::STANDARD.encode(format!("client:{s}"));
            let echoed = match encoding {
                0 => secret.clone(),
                1 => serde_json::to_string(&secret).unwrap().trim_matches('"').to_owned(),
                2 => form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
                _ => basic(&secret),
            };
            let mut r = Redactor::default();
            r.learn(&secret);
            let mut headers = HeaderMap::new();
            headers.insert("content-type", "application/json".parse().unwrap());
            for offset in (0..700).step_by(7) {
                let body = if json {
                    format!("{{\"error\":\"invalid_request\",\"error_description\":\"{}{echoed}.\"}}", ".".repeat(offset))
                } else {
                    format!("{}{echoed} and more", ".".repeat(offset))
                };
                let innocent = format!("{} {}", body.replace(&echoed, ""), basic(&".".repeat(secret.len())));
                let reason = r.scrub(&format!("400 {}", tokenprobe_protocol::wire::excerpt(body.as_bytes())));
                let req = Request::builder().uri("http://127.0.0.1/t").body(Bytes::new()).unwrap();
                let mut e = r.request(&req);
                r.answer(&mut e, 400, &headers, body.as_bytes());
                let evidence = e.response_body.unwrap_or_default();
                for text in [&reason, &evidence] {
                    let found = leaked(text, &secret, &innocent, 4);
                    proptest::prop_assert!(found.is_empty(), "offset {}: {:?} in {}", offset, found, text);
                    if encoding == 3 {
                        // Each base64 group made of the secret's bytes alone.
                        let n = "client:".len();
                        for g in (n.div_ceil(3)..(n + secret.len()) / 3).map(|g| &echoed[4 * g..4 * g + 4]) {
                            proptest::prop_assert!(!text.contains(g) || innocent.contains(g), "offset {}: {} in {}", offset, g, text);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn long_bodies_are_cut_on_a_character_boundary() {
        let text = "é".repeat(EXCERPT_CHARS + 10);
        let e = excerpt(&text);
        assert!(e.starts_with(&"é".repeat(EXCERPT_CHARS)));
        assert!(e.ends_with("bytes in all)"), "{e}");
    }
}
