//! The one error every file a command reads gives (scenarios, the stub's
//! configuration): the file, the line and column, and what is wrong, with
//! any value the reader quoted taken out.

use std::fmt;
use std::ops::Range;

/// A configuration file that could not be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or `<inline>`).
    pub origin: String,
    /// 1-based line, where known.
    pub line: Option<usize>,
    /// 1-based column, where known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.origin, self.message),
            _ => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// What a TOML reader said, with every value it quoted taken out: a
/// misplaced secret (`client_secret = "${SECRET}"` where a table was due)
/// must not reach a CI log through an error message. Keys and the expected
/// shape stay; what was found is named by its kind only.
pub fn toml_message(e: &toml::de::Error) -> String {
    without_values(e.message().trim_end())
}

/// `message` (a serde or TOML error) without the values it quotes.
///
/// serde's own shapes are rewritten exactly (`invalid type: string "…",
/// expected …` keeps `invalid type: string, expected …`); in any other
/// message, whatever stands in backticks or double quotes before the word
/// `expected` is a value found and is taken out, what comes after it is the
/// schema and stays.
fn without_values(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            // The found value may itself hold ", expected ": split at the last.
            let (found, expected) = rest.rsplit_once(", expected ").unwrap_or((rest, ""));
            let kind = found
                .split(['`', '"', '\''])
                .next()
                .unwrap_or_default()
                .trim();
            let kind = if kind.is_empty() { "value" } else { kind };
            return match expected {
                "" => format!("{prefix}{kind}"),
                e => format!("{prefix}{kind}, expected {e}"),
            };
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        // The variant found may hold anything; the list after it does not
        // hold "`, expected " or "`, there are".
        return match ["`, expected ", "`, there are "]
            .iter()
            .find_map(|end| rest.rfind(end).map(|i| &rest[i + 3..]))
        {
            Some(tail) => format!("unknown variant, {tail}"),
            None => "unknown variant".to_owned(),
        };
    }
    // Key names are not values: serde's field messages stay as they are.
    if ["unknown field `", "missing field `", "duplicate field `"]
        .iter()
        .any(|p| message.starts_with(p))
    {
        return message.to_owned();
    }
    let (found, schema) = match message.find("expected") {
        Some(i) => message.split_at(i),
        None => (message, ""),
    };
    let mut out = String::with_capacity(message.len());
    let mut quote = None;
    for c in found.chars() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                out.push('…');
            }
            Some(_) => {}
            None if c == '`' || c == '"' => quote = Some(c),
            None => out.push(c),
        }
    }
    out.push_str(schema);
    out
}

impl ConfigError {
    /// An error at byte range `span` of `text`, with its line and column.
    pub fn at(
        origin: &str,
        text: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = match span {
            Some(span) => {
                let before = text.get(..span.start).unwrap_or(text);
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        ConfigError {
            origin: origin.into(),
            line,
            column,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::without_values;

    #[test]
    fn serde_messages_lose_the_values_they_quote() {
        for (said, shown) in [
            (
                "invalid type: string \"s3cr3t\", expected a map",
                "invalid type: string, expected a map",
            ),
            (
                "invalid type: integer `123456`, expected a string",
                "invalid type: integer, expected a string",
            ),
            (
                "invalid value: string \"a, expected b\", expected a rate",
                "invalid value: string, expected a rate",
            ),
            (
                "unknown variant `s3cr3t`, expected one of `env`, `file`, `value`",
                "unknown variant, expected one of `env`, `file`, `value`",
            ),
            (
                "unknown variant `s3cr3t`, there are no variants",
                "unknown variant, there are no variants",
            ),
            (
                "unknown field `colour`, expected one of `a`, `b`",
                "unknown field `colour`, expected one of `a`, `b`",
            ),
            (
                "unknown route `s3cr3t`; expected `all` or one of: cess",
                "unknown route …; expected `all` or one of: cess",
            ),
        ] {
            assert_eq!(without_values(said), shown);
        }
    }
}
