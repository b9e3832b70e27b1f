//! Pass/fail conditions on a run: `p99 < 250ms`, `p50(veeva/session) <
//! 20ms`, `error_rate < 0.1%`, `achieved_rate >= 95%`. A scope in
//! parentheses names a flow (`veeva`) or a flow's step (`veeva/session`);
//! without one, the whole acquisition over all flows.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What is measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Metric {
    /// A latency percentile (0–100).
    Percentile(f64),
    /// The largest latency.
    Max,
    /// The mean latency.
    Mean,
    /// Errors over started acquisitions.
    ErrorRate,
    /// Achieved over target rate.
    AchievedRate,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// What a threshold looks at: a flow's whole acquisition, or one of its
/// steps (a step no flow has measures nothing, and fails).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The flow's name.
    pub flow: String,
    /// The step's name, or `total`.
    pub step: String,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.flow, self.step)
    }
}

/// One condition. It travels typed from the scenario to the verdicts; in
/// `summary.json` it is the text as written, parsed again when read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Threshold {
    /// As written.
    pub text: String,
    /// The metric.
    pub metric: Metric,
    /// A flow or a flow's step; the whole run when absent.
    pub scope: Option<Scope>,
    /// The comparison.
    pub op: Op,
    /// Milliseconds for latencies, a fraction for rates.
    pub value: f64,
}

/// How a threshold is written, for the errors that say it.
const USAGE: &str = "expected e.g. `p99 < 250ms`, `p50(login/session) <= 20ms`, \
                     `error_rate < 0.1%`, `achieved_rate >= 95%`";

/// A threshold that does not read, and the part that does not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdError {
    /// No `<`, `<=`, `>` or `>=`.
    #[error("no comparison in `{0}`; {USAGE}")]
    NoComparison(String),
    /// A scope opened and not closed.
    #[error("unclosed `(` in `{0}`")]
    Unclosed(String),
    /// A metric name not known.
    #[error("unknown metric `{0}`; {USAGE}")]
    UnknownMetric(String),
    /// A rate that is not a number or a percentage.
    #[error("`{0}` is not a rate such as 0.1% or 0.001")]
    NotRate(String),
    /// A latency that is not a duration.
    #[error("`{0}` is not a duration such as 250ms")]
    NotDuration(String),
    /// `achieved_rate` given a scope.
    #[error("achieved_rate applies to the whole run, not a scope")]
    ScopedAchievedRate,
}

impl FromStr for Threshold {
    type Err = ThresholdError;

    fn from_str(text: &str) -> Result<Self, ThresholdError> {
        let (op, at, len) = ["<=", ">=", "<", ">"]
            .iter()
            .find_map(|o| text.find(o).map(|i| (*o, i, o.len())))
            .ok_or_else(|| ThresholdError::NoComparison(text.to_owned()))?;
        let op = match op {
            "<=" => Op::Le,
            ">=" => Op::Ge,
            "<" => Op::Lt,
            _ => Op::Gt,
        };
        let (left, right) = (text[..at].trim(), text[at + len..].trim());
        let (name, scope) = match left.split_once('(') {
            Some((n, rest)) => {
                let scope = rest
                    .strip_suffix(')')
                    .ok_or_else(|| ThresholdError::Unclosed(text.to_owned()))?;
                let scope = scope.trim();
                let (flow, step) = scope.split_once('/').unwrap_or((scope, "total"));
                let scope = Scope {
                    flow: flow.to_owned(),
                    step: step.to_owned(),
                };
                (n.trim(), Some(scope))
            }
            None => (left, None),
        };
        let metric = match name {
            "max" => Metric::Max,
            "mean" => Metric::Mean,
            "error_rate" => Metric::ErrorRate,
            "achieved_rate" => Metric::AchievedRate,
            p => match p.strip_prefix('p').and_then(|n| n.parse::<f64>().ok()) {
                Some(q) if (0.0..=100.0).contains(&q) => Metric::Percentile(q),
                _ => return Err(ThresholdError::UnknownMetric(name.to_owned())),
            },
        };
        let value = match metric {
            Metric::ErrorRate | Metric::AchievedRate => match right.strip_suffix('%') {
                Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
                None => right.parse::<f64>(),
            }
            .map_err(|_| ThresholdError::NotRate(right.to_owned()))?,
            _ => tokenprobe_config::duration::parse(right)
                .map(|d| d.as_secs_f64() * 1000.0)
                .map_err(|_| ThresholdError::NotDuration(right.to_owned()))?,
        };
        if scope.is_some() && metric == Metric::AchievedRate {
            return Err(ThresholdError::ScopedAchievedRate);
        }
        Ok(Threshold {
            text: text.trim().to_owned(),
            metric,
            scope,
            op,
            value,
        })
    }
}

impl From<Threshold> for String {
    fn from(t: Threshold) -> String {
        t.text
    }
}

impl TryFrom<String> for Threshold {
    type Error = ThresholdError;

    fn try_from(text: String) -> Result<Self, ThresholdError> {
        text.parse()
    }
}

impl Threshold {
    /// Whether `actual` meets it.
    pub fn holds(&self, actual: f64) -> bool {
        match self.op {
            Op::Lt => actual < self.value,
            Op::Le => actual <= self.value,
            Op::Gt => actual > self.value,
            Op::Ge => actual >= self.value,
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each comparison at its value and either side of it; the text is
    /// what is shown and stored.
    #[test]
    fn each_comparison_holds_exactly_as_written() {
        for (text, below, at, above) in [
            ("p99 < 10ms", true, false, false),
            ("p99 <= 10ms", true, true, false),
            ("p99 > 10ms", false, false, true),
            ("p99 >= 10ms", false, true, true),
        ] {
            let t: Threshold = text.parse().unwrap();
            assert_eq!(
                (t.holds(9.9), t.holds(10.0), t.holds(10.1)),
                (below, at, above),
                "{text}"
            );
            assert_eq!(t.to_string(), text);
            assert_eq!(String::from(t), text);
        }
    }

    #[test]
    fn thresholds_parse() {
        let t: Threshold = "p99 < 250ms".parse().unwrap();
        assert_eq!(
            (t.metric, t.op, t.value),
            (Metric::Percentile(99.0), Op::Lt, 250.0)
        );
        let t: Threshold = "p99.9(veeva/session) <= 1s".parse().unwrap();
        assert_eq!((t.metric, t.value), (Metric::Percentile(99.9), 1000.0));
        assert_eq!(t.scope.unwrap().to_string(), "veeva/session");
        let t: Threshold = "p50(cess) < 1s".parse().unwrap();
        assert_eq!(t.scope.unwrap().step, "total");
        let t: Threshold = "error_rate < 0.1%".parse().unwrap();
        assert!((t.value - 0.001).abs() < 1e-12);
        let t: Threshold = "achieved_rate >= 95%".parse().unwrap();
        assert!(t.holds(0.95) && !t.holds(0.94));
    }

    #[test]
    fn mistakes_say_what_was_expected() {
        for bad in [
            "p99 250ms",
            "p101 < 1ms",
            "latency < 1ms",
            "p99 < fast",
            "error_rate < lots",
            "p99(x < 1ms",
        ] {
            assert!(bad.parse::<Threshold>().is_err(), "{bad}");
        }
    }
}
