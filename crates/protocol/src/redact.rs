//! The one redactor: every path from what a server said to any output
//! (check evidence and reasons, load error labels, logs, metrics) goes
//! through [`Redactor::scrub`], so a secret echoed in any encoding is
//! caught the same way everywhere.

use crate::Secret;

/// What stands where a secret was.
pub const REDACTED: &str = "[redacted]";

/// The shortest value worth scrubbing: a two-letter "secret" would turn
/// every text into `[redacted]`, and the members that hold it are redacted
/// anyway.
const MIN_KNOWN: usize = 4;

/// The shortest piece of a secret taken out where a text was cut: one or
/// two characters tell nothing and would only mangle innocent text.
const MIN_FRAGMENT: usize = 3;

/// Where a text was cut short ([`crate::wire::excerpt`], `printable_cut`).
const CUT: char = '…';

/// The values to scrub, each with the forms a server may echo it in, and
/// any compact JWT whoever signed it.
#[derive(Default, Clone)]
pub struct Redactor {
    known: Vec<Known>,
}

/// One form of a value, and for a base64 form whether the groups beside
/// it mix the value's bytes with its neighbours' (and go with it).
#[derive(Clone)]
struct Known {
    form: Secret,
    group_before: bool,
    group_after: bool,
}

impl Known {
    fn text(&self) -> &str {
        self.form.expose()
    }
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} values)", self.known.len())
    }
}

impl Redactor {
    /// A redactor that knows `values` (see [`Redactor::learn`]).
    pub fn knowing<'a>(values: impl IntoIterator<Item = &'a str>) -> Redactor {
        let mut r = Redactor::default();
        for v in values {
            r.learn(v);
        }
        r
    }

    /// Remembers a value to scrub, with the forms a server may echo it in:
    /// JSON-escaped, form- and percent-encoded, and base64 (at each of the
    /// three alignments, so `Basic base64(id:secret)` is caught too).
    pub fn learn(&mut self, value: &str) {
        let value = value.trim();
        if value.chars().count() < MIN_KNOWN || self.knows(value) {
            return;
        }
        for known in encodings(value) {
            if known.text().chars().count() >= MIN_KNOWN && !self.knows(known.text()) {
                self.known.push(known);
            }
        }
        // Longest first, so a value containing another goes whole.
        self.known
            .sort_by_key(|k| std::cmp::Reverse(k.text().len()));
        // `Bearer xyz`, `VCSchema xyz`: the credential alone, too.
        if let Some((_, last)) = value.rsplit_once(' ') {
            self.learn(last);
        }
    }

    fn knows(&self, value: &str) -> bool {
        self.known.iter().any(|k| k.text() == value)
    }

    /// `text` with every known value and every compact JWT replaced, and,
    /// where the text was cut (a `…`, or its end), a trailing piece of a
    /// known value too: a cut made before the text reached here must not
    /// leave half a secret.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = without_jwts(text).unwrap_or_else(|| text.to_owned());
        for k in &self.known {
            if let Some(replaced) = replace_all(&out, k) {
                out = replaced;
            }
        }
        let cuts: Vec<usize> = out
            .match_indices(CUT)
            .map(|(i, _)| i)
            .chain([out.len()])
            .collect();
        // From the last cut back, so earlier offsets stay valid.
        for &cut in cuts.iter().rev() {
            let before = out.get(..cut).unwrap_or_default();
            let piece = self
                .known
                .iter()
                .filter_map(|k| fragment_before(before, k.text()))
                .max();
            if let Some(len) = piece {
                out.replace_range(cut - len..cut, REDACTED);
            }
        }
        out
    }
}

/// The length of the longest start of `value` (at least [`MIN_FRAGMENT`]
/// characters, short of the whole) that `text` ends with.
fn fragment_before(text: &str, value: &str) -> Option<usize> {
    value
        .char_indices()
        .map(|(i, _)| i)
        .skip(MIN_FRAGMENT)
        .filter(|&i| value.get(..i).is_some_and(|start| text.ends_with(start)))
        .max()
}

/// `text` with every occurrence of `k` (and the base64 groups it shares
/// with its neighbours) replaced; `None` when it has none.
fn replace_all(text: &str, k: &Known) -> Option<String> {
    let needle = k.text();
    if !text.contains(needle) {
        return None;
    }
    let b64 = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(needle) {
        let before = rest.get(..at).unwrap_or_default();
        let mixed_before = if k.group_before {
            before.bytes().rev().take(4).take_while(b64).count()
        } else {
            0
        };
        out.push_str(before.get(..at - mixed_before).unwrap_or_default());
        out.push_str(REDACTED);
        let after = rest.get(at + needle.len()..).unwrap_or_default();
        let mixed_after = if k.group_after {
            let group = after.bytes().take(4).take_while(b64).count();
            group
                + after
                    .bytes()
                    .skip(group)
                    .take(2)
                    .take_while(|&c| c == b'=')
                    .count()
        } else {
            0
        };
        rest = after.get(mixed_after..).unwrap_or_default();
    }
    out.push_str(rest);
    Some(out)
}

/// `value` and the forms it may be echoed in.
fn encodings(value: &str) -> Vec<Known> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let json = serde_json::to_string(value).unwrap_or_default();
    let json = json.trim_matches('"').to_owned();
    let form: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let mut texts = vec![
        value.to_owned(),
        json.replace('/', "\\/"),
        json_escaped(&json, |c| matches!(c, '&' | '<' | '>')),
        json_escaped(&json, |c| !c.is_ascii()),
        json,
        form.replace('+', "%20"),
        form.clone(),
    ];
    // Percent-encoding as each common encoder writes it (see the sets),
    // in upper- and lower-case hex, with a space as `%20` or `+`.
    for keep in [
        &UNRESERVED,
        &UNRESERVED_AND_SLASH,
        &URI_COMPONENT,
        percent_encoding::NON_ALPHANUMERIC,
    ] {
        let upper = percent_encoding::utf8_percent_encode(value, keep).to_string();
        for text in [lower_hex(&upper), upper] {
            texts.push(text.replace("%20", "+"));
            texts.push(text);
        }
    }
    texts.sort();
    texts.dedup();
    let mut out: Vec<Known> = texts
        .into_iter()
        .map(|form| Known {
            form: Secret::new(form),
            group_before: false,
            group_after: false,
        })
        .collect();
    // The base64 of a text holding `value` at offset k (mod 3) holds a
    // stretch that depends on `value` alone: drop the group it shares with
    // what comes before, and the one it shares with what comes after (they
    // go with it when it is found). Of the value, and of its form encoding,
    // which HTTP Basic encodes (RFC 6749 §2.3.1).
    let mut sources = vec![value.to_owned(), form];
    sources.dedup();
    for source in sources {
        for k in 0..3 {
            let mut bytes = vec![0u8; k];
            bytes.extend_from_slice(source.as_bytes());
            for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
                let encoded = engine.encode(&bytes);
                let start = if k == 0 { 0 } else { 4 };
                // Whole groups only: a last partial one depends on what follows.
                let end = bytes.len() / 3 * 4;
                if let Some(stable) = encoded.get(start..end)
                    && stable.len() >= 4
                {
                    out.push(Known {
                        form: Secret::new(stable),
                        group_before: k != 0,
                        group_after: bytes.len() % 3 != 0,
                    });
                }
            }
        }
    }
    out
}

/// A JSON string's inside with each character `escape` picks written as
/// `\uXXXX` (lower-case hex, UTF-16), as Go escapes `&<>` and Python's
/// `ensure_ascii` non-ASCII.
fn json_escaped(json: &str, escape: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if escape(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What RFC 3986 §2.3 leaves unencoded, and `/` (Python's `quote`).
const UNRESERVED_AND_SLASH: percent_encoding::AsciiSet = UNRESERVED.remove(b'/');

/// What `encodeURIComponent` leaves unencoded: letters, digits and
/// `-_.!~*'()`.
const URI_COMPONENT: percent_encoding::AsciiSet = UNRESERVED
    .remove(b'!')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// What RFC 3986 §2.3 leaves unencoded: letters, digits and `-._~`.
const UNRESERVED: percent_encoding::AsciiSet = percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A percent-encoded text with its escapes in lower-case hex.
fn lower_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut escape = 0;
    for c in encoded.chars() {
        if c == '%' {
            escape = 2;
            out.push(c);
        } else if escape > 0 {
            escape -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` with every compact JWT (`eyJ…` header, claims and signature,
/// base64url, dot-separated) replaced by `[redacted]`; `None` when it has
/// none. A JWT is a credential for its lifetime (an access token, a
/// `private_key_jwt` assertion a server echoes), and nobody keeps a list
/// of the ones made per request to compare with.
fn without_jwts(text: &str) -> Option<String> {
    let b64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut found = false;
    while let Some(start) = rest.find("eyJ") {
        let (before, candidate) = rest.split_at(start);
        let len = candidate
            .find(|c: char| !(b64url(c) || c == '.'))
            .unwrap_or(candidate.len());
        // A sentence's full stop after a token is not part of it.
        let len = candidate
            .get(..len)
            .map_or(len, |t| t.trim_end_matches('.').len());
        let (token, after) = candidate.split_at(len);
        let parts: Vec<&str> = token.split('.').collect();
        // A JWS has three parts, a JWE five.
        let is_jwt = matches!(parts.len(), 3 | 5) && parts.iter().take(2).all(|p| p.len() >= 4);
        out.push_str(before);
        if is_jwt {
            out.push_str(REDACTED);
            found = true;
        } else {
            out.push_str(token);
        }
        rest = after;
    }
    out.push_str(rest);
    found.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    /// What is kept to scrub: every form at least MIN_KNOWN long (a
    /// shorter one would take common text out), and each once, however
    /// many values share it.
    #[test]
    fn the_forms_kept_are_long_enough_and_unique() {
        let mut r = Redactor::default();
        for v in ["abcd", "Kx7/", "abcd", "a+b c", "abcde", "é/é+"] {
            r.learn(v);
        }
        let texts: Vec<&str> = r.known.iter().map(Known::text).collect();
        assert!(
            texts.iter().all(|t| t.chars().count() >= MIN_KNOWN),
            "{texts:?}"
        );
        let mut unique = texts.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), texts.len(), "{texts:?}");
    }

    /// Every run of four characters of `secret` that `text` holds.
    fn runs_of_four(text: &str, secret: &str) -> Vec<String> {
        let chars: Vec<char> = secret.chars().collect();
        chars
            .windows(4)
            .map(|w| w.iter().collect::<String>())
            .filter(|w| text.contains(w.as_str()))
            .collect()
    }

    #[test]
    fn every_encoding_of_a_canary_is_taken_out() {
        const CANARY: &str = "Kx7/Canary+Secret=Value%31";
        let r = Redactor::knowing([CANARY]);
        let b64 = base64::engine::general_purpose::STANDARD;
        // Each form written by hand or by an independent encoder, not by
        // the redactor's own `encodings`.
        let echoes = [
            CANARY.to_owned(),
            "Kx7%2FCanary%2BSecret%3DValue%2531".to_owned(),
            "Kx7%2fCanary%2bSecret%3dValue%2531".to_owned(),
            "Kx7\\/Canary+Secret=Value%31".to_owned(),
            b64.encode(CANARY),
            b64.encode(format!("client:{CANARY}")),
            b64.encode(format!("xy{CANARY}")),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(CANARY),
        ];
        for echo in &echoes {
            let said = format!("bad_{echo} and more");
            let shown = r.scrub(&said);
            assert!(
                runs_of_four(&shown, CANARY).is_empty(),
                "{echo}: {shown} (from {said})"
            );
            // Whole base64 groups of what stood before stay; nothing of
            // the secret's own groups, padding included.
            let expected = if echo.starts_with("Y2xpZW50") {
                "bad_Y2xpZW50[redacted] and more"
            } else {
                "bad_[redacted] and more"
            };
            assert_eq!(shown, expected, "{echo}");
        }
    }

    /// The forms real encoders write, each spelled out here: Node's
    /// `encodeURIComponent`, Python's `quote` and `quote_plus`, Go's
    /// `QueryEscape` and `encoding/json`, Python's `json.dumps`, and the
    /// HTTP Basic credential (form-encoded, then base64, RFC 6749 §2.3.1).
    #[test]
    fn what_common_encoders_write_is_taken_out() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let cases: &[(&str, &[String])] = &[
            ("Pa$$w0rd!", &["Pa%24%24w0rd!".into()]),
            (
                "Kx7/Canary+Secret=Value",
                &[
                    "Kx7/Canary%2BSecret%3DValue".into(),
                    b64.encode("client:Kx7%2FCanary%2BSecret%3DValue"),
                ],
            ),
            ("a~b c+d", &["a~b+c%2Bd".into()]),
            ("P&ssw0rd", &["P\\u0026ssw0rd".into()]),
            ("Pässwört", &["P\\u00e4ssw\\u00f6rt".into()]),
            (
                "123456",
                &[b64.encode("client:123456"), b64.encode("x123456")],
            ),
        ];
        for (secret, echoes) in cases {
            let r = Redactor::knowing([*secret]);
            for echo in *echoes {
                let shown = r.scrub(&format!("bad: {echo} and more"));
                assert!(
                    !shown.contains(echo.as_str()),
                    "{secret}: {echo} in {shown}"
                );
                assert!(shown.contains(REDACTED), "{secret}: {shown}");
                assert!(shown.ends_with(" and more"), "{secret}: {shown}");
            }
        }
    }

    /// The base64 of a value whose length is a multiple of three ends on a
    /// group boundary: what follows it is other data, and stays.
    #[test]
    fn base64_groups_go_with_a_value_only_where_they_mix_with_it() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let r = Redactor::knowing(["123456"]);
        assert_eq!(r.scrub(&b64.encode("123456ABC")), "[redacted]QUJD");
        let r = Redactor::knowing(["1234567"]);
        // "7AB" mixes with it and goes; "C" is other data.
        assert_eq!(r.scrub(&b64.encode("1234567ABC")), "[redacted]Qw==");
    }

    #[test]
    fn jwts_are_redacted_whoever_signed_them() {
        let r = Redactor::default();
        let said = "bad assertion eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl, try again";
        assert_eq!(r.scrub(said), "bad assertion [redacted], try again");
        // At the end of a sentence; and a JWE, of five parts.
        assert_eq!(
            r.scrub("bad: eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln."),
            "bad: [redacted]."
        );
        assert_eq!(
            r.scrub("eyJhbGciOiJSU0EifQ.ZW5jcnlwdGVk.aXY.Y2lwaGVy.dGFn"),
            "[redacted]"
        );
        // base64url's own `-` and `_` are part of the token.
        assert_eq!(
            r.scrub("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2l-n_YXR1cmU end"),
            "[redacted] end"
        );
        for plain in ["no token here", "eyJ alone", "eyJhbGci.only-two", "x.y.z"] {
            assert_eq!(r.scrub(plain), plain);
        }
    }

    #[test]
    fn a_secret_cut_short_by_an_earlier_excerpt_is_taken_out() {
        let mut r = Redactor::default();
        r.learn("abcdefghij-klmnop");
        assert_eq!(r.scrub("echo: abcdefgh…"), "echo: [redacted]…");
        assert_eq!(r.scrub("echo: abcdefgh"), "echo: [redacted]");
        assert_eq!(
            r.scrub("tail ab… and abcdefghij-klmnop"),
            "tail ab… and [redacted]"
        );
        r.learn("s3cr3t/with+plus");
        assert_eq!(r.scrub("x=s3cr3t%2Fwith%2Bplus&y"), "x=[redacted]&y");
        assert_eq!(r.scrub(r#""s3cr3t\/with+plus""#), r#""[redacted]""#);
    }

    #[test]
    fn four_characters_are_enough_and_each_form_is_kept_once() {
        let r = Redactor::knowing(["abc", " wxyz "]);
        assert_eq!(r.scrub("abc wxyz"), "abc [redacted]");
        // Nothing of a too-short value is learnt, its base64 neither.
        assert_eq!(r.scrub("YWJj"), "YWJj");
        assert_eq!(r.scrub("wxyz"), "[redacted]");
        let once = Redactor::knowing(["wxyz"]);
        let twice = Redactor::knowing(["wxyz", "wxyz", " wxyz"]);
        assert_eq!(format!("{once:?}"), format!("{twice:?}"));
        // `Bearer xyz`: the credential alone is learnt too.
        let r = Redactor::knowing(["Bearer tok-1234"]);
        assert_eq!(r.scrub("got tok-1234"), "got [redacted]");
    }

    #[test]
    fn short_values_and_innocent_text_are_left_alone() {
        let r = Redactor::knowing(["ab", "", "   "]);
        assert_eq!(r.scrub("ab abc"), "ab abc");
        assert!(!format!("{r:?}").contains("ab"));
    }
}
