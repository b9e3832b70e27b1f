//! `${VAR}` expansion, with every later error placed at its position in
//! the original text (a secret comes from the environment, and a typo next
//! to it must still point at the right line).

use tokenprobe_stub::ConfigError;

/// Replaces `${VAR}` with the environment's value. Returns the text and,
/// for each replacement, (expanded start, expanded end, original start,
/// original end), so positions map back to the file.
fn expand(text: &str, origin: &str) -> Result<(String, Vec<[usize; 4]>), ConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::new();
    let mut rest = 0;
    while let Some(i) = text
        .get(rest..)
        .and_then(|t| t.find("${"))
        .map(|i| i + rest)
    {
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
        toml::from_str(&self.expanded)
            .map_err(|e| self.error(e.span(), tokenprobe_stub::toml_message(&e)))
    }
}
