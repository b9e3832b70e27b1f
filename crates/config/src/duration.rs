//! Durations as scenario files and flags write them (`30s`, `2m`,
//! `500ms`): one parser, one message, for every field and flag.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// What a duration that does not parse is told.
pub const EXPECTED: &str = "expected a duration such as \"30s\", \"2m\" or \"500ms\"";

/// `text` as a duration.
pub fn parse(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|_| EXPECTED.to_owned())
}

/// A duration field (`#[serde(deserialize_with = "duration::field")]`).
pub fn field<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// An optional duration field (with `#[serde(default)]`).
pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    field(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_a_typo_names_the_shape_only() {
        assert_eq!(parse("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse(" 500ms "), Ok(Duration::from_millis(500)));
        assert_eq!(parse("soon").unwrap_err(), EXPECTED);
    }
}
