//! `${VAR}` expansion, with every later error placed at its position in
//! the original text (a secret comes from the environment, and a typo next
//! to it must still point at the right line). A `${VAR}` in a comment is
//! left as it is: a commented-out line must not need its variable set.

use crate::error::{ConfigError, toml_message};

/// Where TOML comments are in `text`: from a `#` outside any string to
/// the end of its line. Strings are read as TOML has them (basic with
/// escapes, literal, and both multi-line), so a `#` inside one is not a
/// comment.
fn comments(text: &str) -> Vec<std::ops::Range<usize>> {
    let b = text.as_bytes();
    let at = |i: usize, s: &[u8]| b.get(i..i + s.len()) == Some(s);
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        // The delimiter that ends the string opened here, and whether `\`
        // escapes in it.
        let (close, escapes): (&[u8], bool) = match b[i] {
            b'#' => {
                let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
                out.push(i..end);
                i = end;
                continue;
            }
            b'"' if at(i, b"\"\"\"") => (b"\"\"\"", true),
            b'\'' if at(i, b"'''") => (b"'''", false),
            b'"' => (b"\"", true),
            b'\'' => (b"'", false),
            _ => {
                i += 1;
                continue;
            }
        };
        i += close.len();
        while i < b.len() && !at(i, close) {
            i += if escapes && b[i] == b'\\' { 2 } else { 1 };
        }
        i += close.len();
    }
    out
}

/// Replaces `${VAR}` with the environment's value, outside comments.
/// Returns the text and, for each replacement, (expanded start, expanded
/// end, original start, original end), so positions map back to the file.
fn expand(text: &str, origin: &str) -> Result<(String, Vec<[usize; 4]>), ConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::new();
    let mut rest = 0;
    let comments = comments(text);
    let mut from = 0;
    while let Some(i) = text
        .get(from..)
        .and_then(|t| t.find("${"))
        .map(|i| i + from)
    {
        from = i + 2;
        if comments.iter().any(|c| c.contains(&i)) {
            continue;
        }
        let Some(len) = text.get(i + 2..).and_then(|t| t.find('}')) else {
            return Err(ConfigError::at(
                origin,
                text,
                Some(i..i + 2),
                "`${` without a closing `}`",
            ));
        };
        let name = text.get(i + 2..i + 2 + len).unwrap_or_default();
        let value = std::env::var(name).map_err(|_| {
            ConfigError::at(
                origin,
                text,
                Some(i..i + 3 + len),
                format!("environment variable {name} is not set"),
            )
        })?;
        out.push_str(text.get(rest..i).unwrap_or_default());
        let start = out.len();
        out.push_str(&value);
        map.push([start, out.len(), i, i + 3 + len]);
        rest = i + 3 + len;
        from = rest;
    }
    out.push_str(text.get(rest..).unwrap_or_default());
    Ok((out, map))
}

/// Where an offset of the expanded text was in the original.
fn original(offset: usize, map: &[[usize; 4]]) -> usize {
    match map.iter().rev().find(|m| m[0] <= offset) {
        Some(&[_, exp_end, orig_start, _]) if offset < exp_end => orig_start,
        Some(&[_, exp_end, _, orig_end]) => offset - exp_end + orig_end,
        None => offset,
    }
}

/// A configuration file's text with `${VAR}` expanded from the
/// environment, able to place an error at its position in the original.
#[derive(Debug)]
pub struct Expanded<'a> {
    text: &'a str,
    origin: &'a str,
    map: Vec<[usize; 4]>,
    /// The text after expansion.
    pub expanded: String,
}

impl<'a> Expanded<'a> {
    /// Expands `text`; `origin` names it in errors. An unset variable is
    /// an error at its place.
    pub fn new(text: &'a str, origin: &'a str) -> Result<Self, ConfigError> {
        let (expanded, map) = expand(text, origin)?;
        Ok(Expanded {
            text,
            origin,
            map,
            expanded,
        })
    }

    /// An error at `span` of the expanded text, placed in the original.
    pub fn error(
        &self,
        span: Option<std::ops::Range<usize>>,
        msg: impl Into<String>,
    ) -> ConfigError {
        let span = span.map(|s| original(s.start, &self.map)..original(s.end, &self.map));
        ConfigError::at(self.origin, self.text, span, msg.into())
    }

    /// An error about the file as a whole (placed at its start).
    pub fn whole(&self, msg: impl Into<String>) -> ConfigError {
        self.error(Some(0..self.expanded.len().min(1)), msg)
    }

    /// Parses the expanded text as TOML into `T`.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, ConfigError> {
        toml::from_str(&self.expanded).map_err(|e| self.error(e.span(), toml_message(&e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `${PATH}` (set wherever tests run) expands in every kind of string,
    /// `#` inside one included; in a comment, neither it nor an unset
    /// variable is touched.
    #[test]
    fn variables_expand_in_values_and_not_in_comments() {
        let path = std::env::var("PATH").unwrap();
        let text = [
            r##"a = "${PATH}" # b = "${TOKENPROBE_UNSET}""##,
            r##"# c = ${TOKENPROBE_UNSET}"##,
            r##"d = "# ${PATH}""##,
            r##"e = '''"##,
            r##"# ${PATH}"##,
            r##"'''"##,
            r##"f = "\" # ${PATH}""##,
            r##"g = '#' # ${TOKENPROBE_UNSET}"##,
            r##"h = """"##,
            r##"\""" # ${PATH}""" # ${TOKENPROBE_UNSET}"##,
        ]
        .join("\n");
        let expected = text.replace("${PATH}", &path);
        let (out, map) = expand(&text, "t.toml").unwrap();
        assert_eq!(out, expected);
        assert_eq!(map.len(), 5);
        // A variable in a value is still required.
        let e = expand("a = \"${TOKENPROBE_UNSET}\" # ${PATH}\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("TOKENPROBE_UNSET is not set"), "{e}");
    }

    proptest::proptest! {
        /// Any text, strings left open included: the scanner ends, and
        /// every comment it finds starts at a `#` and stops at a line's end.
        #[test]
        fn comments_are_found_in_any_text(text in "(\\PC|[#'\"\\\\\n]){0,200}") {
            for c in comments(&text) {
                proptest::prop_assert_eq!(text.as_bytes()[c.start], b'#');
                proptest::prop_assert!(c.end == text.len() || text.as_bytes()[c.end] == b'\n');
                proptest::prop_assert!(!text[c.clone()].contains('\n'));
            }
        }
    }
}
