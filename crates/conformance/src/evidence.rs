//! Evidence: what each check sent and got back, with every secret
//! redacted before it is kept. Two layers: the members and headers that
//! carry credentials are replaced wherever they appear, and every value
//! ever seen in one (the configured secrets, tokens the server issued) is
//! scrubbed from all other text, reasons included.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request};
use serde::Serialize;
use serde_json::Value;
use tokenprobe_protocol::Secret;

/// What stands where a secret was.
pub const REDACTED: &str = "[redacted]";

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

/// Request headers kept; `authorization` loses its credential.
const REQUEST_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "accept",
    "x-vaultapi-clientid",
];

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
pub struct Exchange {
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

/// The values to scrub: configured secrets and every credential seen.
#[derive(Default)]
pub struct Redactor {
    known: Vec<Secret>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} values)", self.known.len())
    }
}

impl Redactor {
    /// Remembers a value to scrub. Very short values are left alone: a
    /// two-letter "secret" would turn every text into `[redacted]`, and the
    /// members that hold it are redacted anyway.
    pub fn learn(&mut self, value: &str) {
        let value = value.trim();
        if value.chars().count() < 4 || self.known.iter().any(|k| k.expose() == value) {
            return;
        }
        self.known.push(Secret::new(value));
        // `Bearer xyz`, `VCSchema xyz`: the credential alone, too.
        if let Some((_, last)) = value.rsplit_once(' ') {
            self.learn(last);
        }
    }

    /// `text` with every known value replaced.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        // Longest first, so a value containing another goes whole.
        let mut known: Vec<&str> = self.known.iter().map(Secret::expose).collect();
        known.sort_by_key(|k| std::cmp::Reverse(k.len()));
        for k in known {
            if out.contains(k) {
                out = out.replace(k, REDACTED);
            }
        }
        out
    }

    /// The evidence of a request (its answer is added by [`Redactor::answer`]).
    pub fn request(&mut self, req: &Request<Bytes>) -> Exchange {
        let uri = req.uri();
        let mut url = format!(
            "{}://{}{}",
            uri.scheme_str().unwrap_or("http"),
            uri.authority().map(|a| a.as_str()).unwrap_or_default(),
            uri.path()
        );
        if let Some(q) = uri.query() {
            url.push('?');
            url.push_str(&self.form(q));
        }
        let request_headers = self.headers(req.headers(), REQUEST_HEADERS, &[]);
        let body = req.body();
        Exchange {
            request: format!("{} {}", req.method(), self.scrub(&url)),
            request_headers,
            request_body: (!body.is_empty()).then(|| self.body(req.headers(), body)),
            status: None,
            response_headers: Vec::new(),
            response_body: None,
            error: None,
            elapsed: Duration::ZERO,
            shared: false,
        }
    }

    /// Adds an answer to the evidence of its request.
    pub fn answer(
        &mut self,
        exchange: &mut Exchange,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) {
        exchange.status = Some(status);
        exchange.response_headers = self.headers(headers, RESPONSE_HEADERS, SECRET_HEADERS);
        exchange.response_body = (!body.is_empty()).then(|| self.body(headers, body));
    }

    fn headers(
        &mut self,
        headers: &HeaderMap,
        keep: &[&str],
        secret: &[&str],
    ) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for name in keep {
            for value in headers.get_all(*name) {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                let shown = if secret.contains(name) {
                    self.learn(&value);
                    REDACTED.to_owned()
                } else if *name == "authorization" {
                    self.authorization(&value)
                } else {
                    self.scrub(&value)
                };
                out.push(((*name).to_owned(), shown));
            }
        }
        out
    }

    /// `Basic [redacted]`, `Bearer [redacted]; org=Finance`.
    fn authorization(&mut self, value: &str) -> String {
        let (scheme, rest) = value.split_once(' ').unwrap_or(("", value));
        let (credential, params) = match rest.split_once(';') {
            Some((c, p)) => (c, format!(";{p}")),
            None => (rest, String::new()),
        };
        self.learn(credential);
        let shown = format!("{scheme} {REDACTED}{params}");
        self.scrub(shown.trim_start())
    }

    fn body(&mut self, headers: &HeaderMap, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(body);
        let media = tokenprobe_protocol::wire::media_type(headers).unwrap_or_default();
        let redacted = if let Ok(mut v) = serde_json::from_slice::<Value>(body) {
            self.json(&mut v);
            v.to_string()
        } else if media.eq_ignore_ascii_case(tokenprobe_protocol::wire::FORM) {
            self.form(&text)
        } else {
            text.into_owned()
        };
        excerpt(&self.scrub(&redacted))
    }

    fn json(&mut self, v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if is_secret_member(k) {
                        if let Some(s) = v.as_str() {
                            self.learn(s);
                        }
                        if !v.is_null() {
                            *v = Value::String(REDACTED.into());
                        }
                    } else {
                        self.json(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.json(v)),
            _ => {}
        }
    }

    fn form(&mut self, text: &str) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form_urlencoded::parse(text.as_bytes()) {
            if is_secret_member(&k) {
                self.learn(&v);
                out.append_pair(&k, REDACTED);
            } else {
                out.append_pair(&k, &v);
            }
        }
        // `[redacted]` reads better unencoded; it cannot be mistaken for a value.
        out.finish().replace("%5Bredacted%5D", REDACTED)
    }
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

    #[test]
    fn long_bodies_are_cut_on_a_character_boundary() {
        let text = "é".repeat(EXCERPT_CHARS + 10);
        let e = excerpt(&text);
        assert!(e.starts_with(&"é".repeat(EXCERPT_CHARS)));
        assert!(e.ends_with("bytes in all)"), "{e}");
    }
}
