//! `tokenprobe compare BASE NEW`: is the new run worse than the base? Per
//! flow and step, the percentiles of both side by side, and a verdict
//! judged against the noise the runs themselves show, never on one
//! difference alone.
//!
//! The noise comes from a bootstrap over each run's per-second interval
//! histograms: each run's seconds are drawn again with replacement (a fixed
//! seed), their values pooled, and the percentile taken, many times; the
//! spread of the new/base ratio over those draws is what the run-to-run
//! variation of a second allows. A row is `worse` only when 99.5 % of the
//! draws put the new run above the base and the change is over a minimum
//! effect; `better` the other way round; `same` otherwise. A second is
//! the natural unit: it is what the interval log keeps, and whole seconds
//! carry the correlations (a stall, a GC pause) that single acquisitions
//! drawn apart would hide. A change under 5 %, or under 1, 2 or 5 ms (p50,
//! p90, p99: see [`PERCENTILES`]) is `same`
//! however sure. Error rates are compared with the binomial standard error
//! of their difference.
//!
//! Resampling seconds only sees the noise *inside* each run. Two runs of an
//! unchanged system also differ because the machine around them changed
//! (another job on the core, a noisy neighbour): on a loaded CI machine the
//! bootstrap alone called one clean-pair row in ten a change. That
//! between-run term cannot be measured from one run on each side, but its
//! scale can: each run is split in halves, and the percentile's change from
//! the first half to the second, in ms (the larger of the two runs), is how
//! far the unchanged system drifts in half a run. A change must exceed
//! twice that drift (runs lie further apart in time than halves do), and
//! the floors of [`PERCENTILES`]. Measured on 12 clean 8 s runs beside 0, 1
//! or 2 CPU hogs: the bootstrap with a 1 ms floor alone called 27 of 270
//! rows a change between runs under the same hogs; with the drift and the
//! floors, none of 1,056 rows over all 66 pairs, while a 20 ms fault on one
//! flow is `worse` there.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::recorder::{Key, Outcome, Part};
use crate::report::{At, Intervals, ReportError, Summary, read_summary};

/// The version of `compare.json`'s schema.
pub const SCHEMA: &str = "tokenprobe.compare/1";

/// The percentiles compared, each with the smallest change in
/// milliseconds that can be a verdict: under it, a fast endpoint's
/// percentile moves with the machine, not the server. Measured on a
/// 2-core machine, 8 s runs of the unchanged stub at 100/s: p50 within
/// 0.2 ms between runs, p90 within 1 ms, p99 anywhere from 1.0 to 4.2 ms
/// (it is the 4th-worst of 400 values, and one stall moves it). On a
/// staging endpoint of tens of milliseconds the 5 % of [`MIN_EFFECT`]
/// is the larger floor.
pub const PERCENTILES: [(&str, f64, f64); 3] =
    [("p50", 50.0, 1.0), ("p90", 90.0, 2.0), ("p99", 99.0, 5.0)];

/// Bootstrap draws per row.
const DRAWS: usize = 400;

/// A change smaller than this (relative) is `same`, however sure.
pub const MIN_EFFECT: f64 = 0.05;

/// How a row changed from the base run to the new: the verdict of a
/// comparison row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Lower than the base, beyond the noise.
    Better,
    /// Within the noise, or under the minimum effect.
    Same,
    /// Higher than the base, beyond the noise.
    Worse,
}

/// One rule of `--max-regression`: a metric and how much worse it may get.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// `p50`, `p90`, `p99` or `error_rate`.
    pub metric: String,
    /// Percent (latencies) or percentage points (error rate).
    pub limit: f64,
    /// As written.
    pub text: String,
}

/// `p99=10%,p50=5%,error_rate=0.1pp`.
pub fn parse_rules(text: &str) -> Result<Vec<Rule>, String> {
    let usage = "expected e.g. \"p99=10%,p50=5%,error_rate=0.1pp\"";
    text.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|rule| {
            let (metric, limit) = rule
                .split_once('=')
                .ok_or_else(|| format!("--max-regression {rule}: {usage}"))?;
            let (metric, limit) = (metric.trim(), limit.trim());
            let unit = if metric == "error_rate" { "pp" } else { "%" };
            let known = metric == "error_rate" || PERCENTILES.iter().any(|(p, ..)| *p == metric);
            let value = limit
                .strip_suffix(unit)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0);
            match (known, value) {
                (true, Some(limit)) => Ok(Rule {
                    metric: metric.to_owned(),
                    limit,
                    text: rule.to_owned(),
                }),
                _ => Err(format!("--max-regression {rule}: {usage}")),
            }
        })
        .collect()
}

/// One compared percentile of one flow and step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// `flow/step`.
    pub scope: String,
    /// `p50`, `p90`, `p99`.
    pub metric: String,
    /// ms.
    pub base_ms: f64,
    /// ms.
    pub new_ms: f64,
    /// `new / base − 1`.
    pub change: f64,
    /// The bootstrap's 0.5 % and 99.5 % of the change.
    pub noise: [f64; 2],
    /// The larger change between the halves of either run, relative: how
    /// far the percentile drifts in an unchanged run, ms. A verdict needs
    /// `|new_ms − base_ms| > 2 · drift_ms`.
    #[serde(default)]
    pub drift_ms: f64,
    /// How it compares.
    pub verdict: Change,
    /// The rule it breaks, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaks: Option<String>,
}

/// One flow's error rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorRow {
    /// The flow (or `all`).
    pub flow: String,
    /// Fraction.
    pub base: f64,
    /// Fraction.
    pub new: f64,
    /// How it compares.
    pub verdict: Change,
    /// The rule it breaks, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaks: Option<String>,
}

/// `compare.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// [`SCHEMA`].
    pub schema: String,
    /// The two report directories.
    pub base: String,
    /// The new one.
    pub new: String,
    /// Achieved rates, per second.
    pub base_rate: f64,
    /// The new one's.
    pub new_rate: f64,
    /// The rules, as written.
    pub rules: Vec<String>,
    /// Latency rows.
    pub latency: Vec<Row>,
    /// Error rows.
    pub errors: Vec<ErrorRow>,
}

impl Comparison {
    /// The rules broken, as written with the row that broke each.
    pub fn broken(&self) -> Vec<String> {
        let latency = self.latency.iter().filter_map(|r| {
            r.breaks
                .as_ref()
                .map(|b| format!("{b} by {} {}", r.scope, r.metric))
        });
        let errors = self
            .errors
            .iter()
            .filter_map(|r| r.breaks.as_ref().map(|b| format!("{b} by {}", r.flow)));
        latency.chain(errors).collect()
    }
}

/// Each second's successful values of each flow/step (not the service
/// rows), as (value µs, count) pairs.
type Seconds = BTreeMap<Key, Vec<Vec<(u64, u64)>>>;

fn seconds(dir: &Path) -> Result<Seconds, ReportError> {
    let path = dir.join("latency.hlog");
    let bytes = std::fs::read(&path).at(&path)?;
    let mut out = Seconds::new();
    for interval in Intervals::new(&bytes) {
        let (_, _, key, h) = interval.at(&path)?;
        if key.outcome != Outcome::Ok || key.step == Part::Service {
            continue;
        }
        let values = h
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        out.entry(key).or_default().push(values);
    }
    Ok(out)
}

/// The `q` percentile (0–100) of pooled (value, count) pairs, µs.
fn percentile(pool: &mut [(u64, u64)], q: f64) -> Option<f64> {
    pool.sort_unstable_by_key(|(v, _)| *v);
    let rank = rank(q, pool.iter().map(|(_, n)| n).sum())?;
    let mut seen = 0;
    for (v, n) in pool.iter() {
        seen += n;
        if seen >= rank {
            return Some(*v as f64);
        }
    }
    pool.last().map(|(v, _)| *v as f64)
}

/// A run's seconds over one sorted list of its distinct values, so that a
/// bootstrap draw adds counts instead of sorting a pool: each of the
/// [`DRAWS`] costs the pairs it takes plus one walk of the values.
struct Indexed {
    values: Vec<u64>,
    seconds: Vec<Vec<(usize, u64)>>,
}

impl Indexed {
    fn new(seconds: &[Vec<(u64, u64)>]) -> Self {
        let mut values: Vec<u64> = seconds.iter().flatten().map(|(v, _)| *v).collect();
        values.sort_unstable();
        values.dedup();
        let seconds = seconds
            .iter()
            .map(|s| {
                s.iter()
                    .map(|(v, n)| (values.partition_point(|x| x < v), *n))
                    .collect()
            })
            .collect();
        Indexed { values, seconds }
    }

    /// The `q` percentile of a draw of as many seconds as the run has,
    /// with replacement, pooled.
    fn draw(&self, q: f64, rng: &mut StdRng, counts: &mut Vec<u64>) -> Option<f64> {
        counts.clear();
        counts.resize(self.values.len(), 0);
        for _ in 0..self.seconds.len() {
            for &(i, n) in &self.seconds[rng.random_range(0..self.seconds.len())] {
                counts[i] += n;
            }
        }
        let total = counts.iter().sum::<u64>();
        let rank = rank(q, total)?;
        let mut seen = 0;
        let at = counts.iter().position(|n| {
            seen += n;
            seen >= rank
        })?;
        Some(self.values[at] as f64)
    }
}

/// The 1-based rank of the `q` percentile (0–100) among `total` values.
fn rank(q: f64, total: u64) -> Option<u64> {
    (total > 0).then(|| ((q / 100.0) * total as f64).ceil().max(1.0) as u64)
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

/// How far the `q` percentile moves between the first and second half of a
/// run's seconds, µs (0 for a run under two seconds).
fn drift(seconds: &[Vec<(u64, u64)>], q: f64) -> f64 {
    let half = seconds.len() / 2;
    let (first, second) = seconds.split_at(half);
    match (
        percentile(&mut first.concat(), q),
        percentile(&mut second.concat(), q),
    ) {
        (Some(a), Some(b)) => (b - a).abs(),
        _ => 0.0,
    }
}

/// One percentile of one flow/step in both runs.
struct Measured {
    ms: [f64; 2],
    change: f64,
    noise: [f64; 2],
    /// ms, the larger of both runs'.
    drift_ms: f64,
}

fn latency_row(
    base: &[Vec<(u64, u64)>],
    new: &[Vec<(u64, u64)>],
    q: f64,
    rng: &mut StdRng,
) -> Option<Measured> {
    let b = percentile(&mut base.concat(), q)?;
    let n = percentile(&mut new.concat(), q)?;
    let (base_seconds, new_seconds) = (Indexed::new(base), Indexed::new(new));
    let mut counts = Vec::new();
    let mut changes: Vec<f64> = (0..DRAWS)
        .filter_map(|_| {
            let b = base_seconds.draw(q, rng, &mut counts)?;
            let n = new_seconds.draw(q, rng, &mut counts)?;
            Some(n / b.max(1.0) - 1.0)
        })
        .collect();
    changes.sort_by(f64::total_cmp);
    Some(Measured {
        ms: [b / 1000.0, n / 1000.0],
        change: n / b.max(1.0) - 1.0,
        noise: [quantile(&changes, 0.005), quantile(&changes, 0.995)],
        drift_ms: drift(base, q).max(drift(new, q)) / 1000.0,
    })
}

fn verdict(m: &Measured, min_ms: f64) -> Change {
    let shift = (m.ms[1] - m.ms[0]).abs();
    let large = shift >= min_ms && shift > 2.0 * m.drift_ms;
    let change = m.change;
    if m.noise[0] > 0.0 && change > MIN_EFFECT && large {
        Change::Worse
    } else if m.noise[1] < 0.0 && change < -MIN_EFFECT && large {
        Change::Better
    } else {
        Change::Same
    }
}

/// The rule a row breaks: only a `worse` row, by more than the rule's
/// limit (`change` a fraction; the limit in percent or percentage points).
fn broken_rule(rule: Option<&Rule>, verdict: Change, change: f64) -> Option<String> {
    rule.filter(|r| verdict == Change::Worse && change * 100.0 > r.limit)
        .map(|r| r.text.clone())
}

/// One flow's error rates, judged with the binomial standard error of
/// their difference (two of them make `worse` or `better`), from
/// (ok, errors) in the base and in the new run.
fn error_row(flow: String, base: (u64, u64), new: (u64, u64), rule: Option<&Rule>) -> ErrorRow {
    let ((bok, berr), (nok, nerr)) = (base, new);
    let (bn, nn) = ((bok + berr).max(1) as f64, (nok + nerr).max(1) as f64);
    let (bp, np) = (berr as f64 / bn, nerr as f64 / nn);
    let pooled = (berr + nerr) as f64 / (bn + nn);
    let se = (pooled * (1.0 - pooled) * (1.0 / bn + 1.0 / nn)).sqrt();
    let diff = np - bp;
    // Two standard errors (≥ 0) away: the sign of `diff` follows.
    let verdict = if diff > 2.0 * se {
        Change::Worse
    } else if -diff > 2.0 * se {
        Change::Better
    } else {
        Change::Same
    };
    let breaks = broken_rule(rule, verdict, diff);
    ErrorRow {
        flow,
        base: bp,
        new: np,
        verdict,
        breaks,
    }
}

/// Compares two report directories (single or merged runs) under `rules`.
/// Different flows, or a directory that cannot be read, is an error.
pub fn compare(
    base: &Path,
    new: &Path,
    rules: &[Rule],
    seed: u64,
) -> Result<Comparison, ReportError> {
    let (bs, ns): (Summary, Summary) = (read_summary(base)?, read_summary(new)?);
    let flows = |s: &Summary| s.counts.per_flow.keys().cloned().collect::<Vec<_>>();
    if flows(&bs) != flows(&ns) {
        return Err(ReportError::refused(format!(
            "different flows: {} has {}, {} has {}",
            base.display(),
            flows(&bs).join(", "),
            new.display(),
            flows(&ns).join(", ")
        )));
    }
    let (b, n) = (seconds(base)?, seconds(new)?);
    let mut rng = StdRng::seed_from_u64(seed);
    let rule = |metric: &str| rules.iter().find(|r| r.metric == metric);
    let mut latency = Vec::new();
    for (key, base_seconds) in &b {
        let Some(new_seconds) = n.get(key) else {
            continue;
        };
        for (name, q, min_ms) in PERCENTILES {
            let Some(m) = latency_row(base_seconds, new_seconds, q, &mut rng) else {
                continue;
            };
            let verdict = verdict(&m, min_ms);
            let change = m.change;
            let breaks = broken_rule(rule(name), verdict, change);
            latency.push(Row {
                scope: key.scope(),
                metric: name.into(),
                base_ms: m.ms[0],
                new_ms: m.ms[1],
                change,
                noise: m.noise,
                drift_ms: m.drift_ms,
                verdict,
                breaks,
            });
        }
    }
    let mut errors = Vec::new();
    // Per flow (and all): (ok, errors) in the base and in the new run.
    type OkErrors = (u64, u64);
    let mut rates: Vec<(String, OkErrors, OkErrors)> = bs
        .counts
        .per_flow
        .iter()
        .map(|(flow, b)| (flow.clone(), *b, ns.counts.per_flow[flow]))
        .collect();
    rates.push((
        crate::recorder::ALL_FLOWS.into(),
        (bs.counts.ok, bs.counts.error_total()),
        (ns.counts.ok, ns.counts.error_total()),
    ));
    for (flow, base, new) in rates {
        errors.push(error_row(flow, base, new, rule("error_rate")));
    }
    Ok(Comparison {
        schema: SCHEMA.into(),
        base: base.display().to_string(),
        new: new.display().to_string(),
        base_rate: bs.achieved_rate,
        new_rate: ns.achieved_rate,
        rules: rules.iter().map(|r| r.text.clone()).collect(),
        latency,
        errors,
    })
}

/// The terminal table.
pub fn table(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "base {} ({:.1}/s) against new {} ({:.1}/s)",
        c.base, c.base_rate, c.new, c.new_rate
    );
    let _ = writeln!(
        out,
        "{:<28} {:<4} {:>10} {:>10} {:>8}  {:>17} {:>8}  verdict",
        "flow/step (ok)", "", "base ms", "new ms", "change", "noise (99%)", "drift ms"
    );
    for r in &c.latency {
        let _ = writeln!(
            out,
            "{:<28} {:<4} {:>10.2} {:>10.2} {:>+7.1}%  {:>+7.1}% {:>+7.1}% {:>8.2}  {:?}{}",
            r.scope,
            r.metric,
            r.base_ms,
            r.new_ms,
            r.change * 100.0,
            r.noise[0] * 100.0,
            r.noise[1] * 100.0,
            r.drift_ms,
            r.verdict,
            r.breaks
                .as_ref()
                .map_or(String::new(), |b| format!(" (breaks {b})"))
        );
    }
    for r in &c.errors {
        let _ = writeln!(
            out,
            "errors {:<21} {:>15.3}% {:>9.3}%  {:?}{}",
            r.flow,
            r.base * 100.0,
            r.new * 100.0,
            r.verdict,
            r.breaks
                .as_ref()
                .map_or(String::new(), |b| format!(" (breaks {b})"))
        );
    }
    let broken = c.broken();
    let _ = match broken.is_empty() {
        true => writeln!(out, "no rule broken"),
        false => writeln!(out, "broken: {}", broken.join("; ")),
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_mistakes_say_the_shape() {
        let r = parse_rules("p99=10%, p50=5%,error_rate=0.1pp").unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!((r[2].metric.as_str(), r[2].limit), ("error_rate", 0.1));
        for bad in ["p99", "p98=1%", "p99=10", "error_rate=1%", "p50=-1%"] {
            assert!(parse_rules(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn percentiles_of_pooled_seconds_and_verdicts_need_noise_effect_and_drift() {
        let mut pool = vec![(3, 1), (1, 1), (2, 2)];
        assert_eq!(percentile(&mut pool, 50.0), Some(2.0));
        assert_eq!(percentile(&mut pool, 100.0), Some(3.0));
        let m = |change: f64, noise: [f64; 2], base_ms: f64, drift_ms: f64| Measured {
            ms: [base_ms, base_ms * (1.0 + change)],
            change,
            noise,
            drift_ms,
        };
        assert_eq!(verdict(&m(0.5, [0.1, 0.9], 10.0, 0.0), 1.0), Change::Worse);
        assert_eq!(verdict(&m(0.5, [-0.1, 0.9], 10.0, 0.0), 1.0), Change::Same);
        assert_eq!(
            verdict(&m(0.03, [0.01, 0.05], 100.0, 0.0), 1.0),
            Change::Same
        );
        assert_eq!(verdict(&m(0.5, [0.1, 0.9], 0.8, 0.0), 1.0), Change::Same);
        assert_eq!(
            verdict(&m(-0.5, [-0.9, -0.1], 10.0, 0.0), 1.0),
            Change::Better
        );
        // A run whose own halves differ by 3 ms cannot call a 5 ms change,
        // but can call a 10 ms one.
        assert_eq!(verdict(&m(0.5, [0.1, 0.9], 10.0, 3.0), 1.0), Change::Same);
        assert_eq!(verdict(&m(1.0, [0.5, 1.5], 10.0, 3.0), 1.0), Change::Worse);
        // Each bound is strict: a change of exactly twice the drift, a
        // noise interval that touches 0, a change of exactly the minimum
        // effect is no verdict, either way.
        assert_eq!(verdict(&m(0.5, [0.1, 0.9], 10.0, 2.5), 1.0), Change::Same);
        assert_eq!(
            verdict(&m(-0.5, [-0.9, -0.1], 10.0, 2.5), 1.0),
            Change::Same
        );
        assert_eq!(verdict(&m(0.5, [0.0, 0.9], 10.0, 0.0), 1.0), Change::Same);
        assert_eq!(verdict(&m(-0.5, [-0.9, 0.0], 10.0, 0.0), 1.0), Change::Same);
        let edge = MIN_EFFECT;
        assert_eq!(
            verdict(&m(edge, [0.01, 0.09], 100.0, 0.0), 1.0),
            Change::Same
        );
        assert_eq!(
            verdict(&m(-edge, [-0.09, -0.01], 100.0, 0.0), 1.0),
            Change::Same
        );
        // Better needs all three too: sure but small, or sure and large
        // enough but under the minimum effect, is the same.
        assert_eq!(
            verdict(&m(-0.01, [-0.02, -0.001], 10.0, 0.0), 1.0),
            Change::Same
        );
        assert_eq!(
            verdict(&m(-0.03, [-0.05, -0.01], 100.0, 0.0), 1.0),
            Change::Same
        );
        // The shift floor is inclusive: 1 ms of a 10 ms p50 (10 %) counts.
        assert_eq!(
            verdict(&m(0.1, [0.05, 0.15], 10.0, 0.0), 1.0),
            Change::Worse
        );
        assert_eq!(
            verdict(&m(-0.1, [-0.15, -0.05], 10.0, 0.0), 1.0),
            Change::Better
        );
        // A pool of nothing has no percentile, even with values in it.
        assert_eq!(percentile(&mut [(5, 0)], 50.0), None);
        assert_eq!(percentile(&mut [], 50.0), None);
        // The noise interval's ends: the 0.5 % and 99.5 % of 400 draws.
        let draws: Vec<f64> = (0..400).map(f64::from).collect();
        assert_eq!(
            (quantile(&draws, 0.005), quantile(&draws, 0.995)),
            (2.0, 397.0)
        );
        assert_eq!(quantile(&draws, 1.0), 399.0);
        assert_eq!(quantile(&[7.0], 0.5), 7.0);
    }

    /// A run of `flows` whose every second holds `ok` (µs) under
    /// `flow/total/ok` and `flow/token/ok`, and decoys the comparison must
    /// skip: the same second's errors and service times, far below.
    fn report(dir: &Path, flows: &[(&str, u64, u64)], ok: &[Vec<u64>]) {
        let mut intervals = Vec::new();
        for (second, values) in (0u64..).zip(ok) {
            for (flow, ..) in flows {
                for (part, value) in [
                    ("total/ok", None),
                    ("token/ok", None),
                    ("total/err", Some(900)),
                    ("service/ok", Some(800)),
                ] {
                    let values = values.iter().map(|v| value.unwrap_or(*v)).collect();
                    intervals.push((second, format!("{flow}/{part}"), values));
                }
            }
        }
        crate::testdata::write(
            dir,
            &crate::testdata::summary(flows, ok.len() as f64),
            &intervals,
        );
    }

    /// `compare` on two directories: only successful step and total
    /// times are compared, their percentiles are the values written, a
    /// shift and an error fault break their rules, and runs of different
    /// flows are refused.
    #[test]
    fn two_report_directories_compare_by_their_ok_values() {
        let dir = crate::testdata::dir("compare-unit");
        let seconds = |ms: u64| -> Vec<Vec<u64>> {
            (0..20u64)
                .map(|s| {
                    (0..50u64)
                        .map(|i| (ms * 1000) + (s * 37 + i * 53) % 2000)
                        .collect()
                })
                .collect()
        };
        let (base, new, other) = (dir.join("base"), dir.join("new"), dir.join("other"));
        report(&base, &[("cess", 1000, 10)], &seconds(20));
        report(&new, &[("cess", 1000, 100)], &seconds(35));
        report(&other, &[("veeva", 1000, 10)], &seconds(20));
        let rules = parse_rules("p50=10%,error_rate=1pp").unwrap();
        let c = compare(&base, &new, &rules, 1).unwrap();
        let scopes: Vec<(&str, &str)> = c
            .latency
            .iter()
            .map(|r| (r.scope.as_str(), r.metric.as_str()))
            .collect();
        assert_eq!(
            scopes,
            [
                ("cess/token", "p50"),
                ("cess/token", "p90"),
                ("cess/token", "p99"),
                ("cess/total", "p50"),
                ("cess/total", "p90"),
                ("cess/total", "p99")
            ]
        );
        // The pooled p50 of the values written, by sorting them here.
        let median = |ms| {
            let mut all: Vec<u64> = seconds(ms).concat();
            all.sort_unstable();
            all[all.len() / 2 - 1] as f64 / 1000.0
        };
        let p50 = &c.latency[3];
        assert!(
            (p50.base_ms - median(20)).abs() < 0.05,
            "{} vs {}",
            p50.base_ms,
            median(20)
        );
        assert!(
            (p50.new_ms - median(35)).abs() < 0.05,
            "{} vs {}",
            p50.new_ms,
            median(35)
        );
        let ratio = p50.new_ms / p50.base_ms - 1.0;
        assert!(
            (p50.change - ratio).abs() < 1e-9,
            "{} vs {ratio}",
            p50.change
        );
        assert!(
            c.latency.iter().all(|r| r.verdict == Change::Worse),
            "{:?}",
            c.latency
        );
        assert_eq!(c.errors.len(), 2);
        assert!(
            (c.errors[0].base - 0.01 / 1.01).abs() < 1e-9 && c.errors[0].verdict == Change::Worse
        );
        assert_eq!(c.errors[1].flow, crate::recorder::ALL_FLOWS);
        assert_eq!(
            c.broken(),
            [
                "p50=10% by cess/token p50",
                "p50=10% by cess/total p50",
                "error_rate=1pp by cess",
                "error_rate=1pp by all"
            ]
        );
        assert!(table(&c).contains("broken: p50=10% by cess/token p50;"));
        // Written and read back; the page names every row.
        let out = dir.join("compared");
        crate::output::comparison(&c, &out).unwrap();
        let json: Comparison =
            serde_json::from_slice(&std::fs::read(out.join("compare.json")).unwrap()).unwrap();
        let words = |c: &Comparison| -> Vec<(String, Change, Option<String>)> {
            let rows = c
                .latency
                .iter()
                .map(|r| (r.scope.clone(), r.verdict, r.breaks.clone()));
            let errors = c
                .errors
                .iter()
                .map(|r| (r.flow.clone(), r.verdict, r.breaks.clone()));
            rows.chain(errors).collect()
        };
        assert_eq!(words(&json), words(&c));
        assert_eq!(json.rules, c.rules);
        let page = std::fs::read_to_string(out.join("compare.html")).unwrap();
        assert!(page.contains("cess/total") && page.contains("cess/token"));
        // Against itself: nothing changes, nothing breaks.
        let same = compare(&base, &base, &rules, 1).unwrap();
        assert!(same.broken().is_empty() && same.latency.iter().all(|r| r.verdict == Change::Same));
        assert!(table(&same).contains("no rule broken"));
        let err = compare(&base, &other, &rules, 1).unwrap_err().to_string();
        assert!(
            err.contains("different flows") && err.contains("veeva"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A draw by counts against the plain way: pool the drawn seconds,
    /// sort, walk; the same generator state picks the same seconds.
    #[test]
    fn a_draw_by_counts_is_the_sorted_pool_of_the_same_seconds() {
        let [seconds, _] = runs(7, 5.0, 0.0);
        let seconds: Vec<_> = seconds.into_iter().take(9).collect();
        let indexed = Indexed::new(&seconds);
        let mut counts = Vec::new();
        for q in [0.0, 1.0, 50.0, 99.0, 99.9, 100.0] {
            let (mut a, mut b) = (StdRng::seed_from_u64(3), StdRng::seed_from_u64(3));
            for _ in 0..20 {
                let mut pool = Vec::new();
                for _ in 0..seconds.len() {
                    pool.extend_from_slice(&seconds[b.random_range(0..seconds.len())]);
                }
                let by_counts = indexed.draw(q, &mut a, &mut counts);
                assert_eq!(by_counts, percentile(&mut pool, q), "q {q}");
            }
        }
        assert_eq!(
            Indexed::new(&[vec![], vec![]]).draw(50.0, &mut StdRng::seed_from_u64(0), &mut counts),
            None
        );
    }

    /// A rule is broken by a worse row beyond its limit, and only then.
    #[test]
    fn a_rule_breaks_only_past_its_limit_on_a_worse_row() {
        let rules = parse_rules("p99=10%").unwrap();
        let rule = rules.first();
        let broken = |verdict, change| broken_rule(rule, verdict, change);
        assert_eq!(broken(Change::Worse, 0.11).as_deref(), Some("p99=10%"));
        assert_eq!(broken(Change::Worse, 0.10), None);
        assert_eq!(broken(Change::Worse, 0.05), None);
        assert_eq!(broken(Change::Same, 0.5), None);
        assert_eq!(broken(Change::Better, 0.5), None);
        assert_eq!(broken_rule(None, Change::Worse, 0.5), None);
    }

    #[test]
    fn drift_is_the_change_between_a_runs_halves() {
        let second = |v: u64| vec![(v, 10)];
        let steady = [second(100), second(100), second(100), second(100)];
        assert_eq!(drift(&steady, 50.0), 0.0);
        let slower = [second(100), second(100), second(200), second(200)];
        assert_eq!(drift(&slower, 50.0), 100.0);
        assert_eq!(drift(&[second(100)], 50.0), 0.0);
    }

    /// Synthetic runs: 20 seconds of 100 values each; each second
    /// sits at 20 ms plus its own offset, uniform in ±`spread` ms (the
    /// between-second noise), each value 0 to 2 ms above that; the new
    /// run's values are `shift` ms later. Values in µs.
    fn runs(seed: u64, spread: f64, shift: f64) -> [Vec<Vec<(u64, u64)>>; 2] {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut run = |shift: f64| -> Vec<Vec<(u64, u64)>> {
            (0..20)
                .map(|_| {
                    let offset = rng.random_range(-spread..=spread);
                    (0..100)
                        .map(|_| {
                            let ms = 20.0 + offset + rng.random_range(0.0..2.0) + shift;
                            ((ms * 1000.0) as u64, 1)
                        })
                        .collect()
                })
                .collect()
        };
        [run(0.0), run(shift)]
    }

    /// How often, over 20 synthetic pairs, the p50's bootstrap puts the
    /// change beyond the noise, and how often the verdict is `worse`.
    fn called(spread: f64, shift: f64) -> (usize, usize) {
        let (mut beyond, mut worse) = (0, 0);
        for seed in 0..20 {
            let [base, new] = runs(seed, spread, shift);
            let mut rng = StdRng::seed_from_u64(seed);
            let m = latency_row(&base, &new, 50.0, &mut rng).unwrap();
            beyond += usize::from(m.noise[0] > 0.0);
            worse += usize::from(verdict(&m, 1.0) == Change::Worse);
        }
        (beyond, worse)
    }

    /// The bootstrap itself: with seconds ±10 ms apart, the pooled p50 of
    /// 20 seconds moves by about 1.3 ms (5.8/√20) from run to run, so the
    /// 99 % interval of a change between two runs is some ±5 ms wide; a
    /// 1.5 ms shift (7.5 %, over both floors) is within that noise, a
    /// 15 ms one far beyond it. A bootstrap that always said "beyond"
    /// fails the first; one that never did, the second.
    #[test]
    fn a_shift_within_the_noise_is_same_and_beyond_it_worse() {
        let (beyond, worse) = called(10.0, 1.5);
        assert!(
            beyond <= 1,
            "1.5 ms in ±10 ms noise called beyond {beyond} of 20"
        );
        assert!(worse <= 1, "{worse} of 20");
        // Power: a 15 ms shift is found in at least 19 of 20 pairs.
        let (beyond, worse) = called(10.0, 15.0);
        assert!(
            beyond >= 19,
            "15 ms found beyond the noise in {beyond} of 20"
        );
        assert!(worse >= 19, "{worse} of 20");
        // Without the between-second noise, the same 1.5 ms is found.
        let (beyond, worse) = called(0.0, 1.5);
        assert!(beyond >= 19 && worse >= 19, "{beyond}, {worse} of 20");
    }

    #[test]
    fn an_error_fault_of_a_known_rate_is_worse_and_breaks_its_rule() {
        let rule = parse_rules("error_rate=1pp").unwrap();
        let row = |base, new| error_row("cess".into(), base, new, rule.first());
        // 0.1 % → 2 % over 10,000 each: 19 standard errors.
        let r = row((9_990, 10), (9_800, 200));
        assert_eq!(r.verdict, Change::Worse);
        assert_eq!(r.breaks.as_deref(), Some("error_rate=1pp"));
        assert!((r.new - 0.02).abs() < 1e-12 && (r.base - 0.001).abs() < 1e-12);
        // 0.1 % → 0.15 %: within two standard errors (about 0.05 pp).
        let r = row((9_990, 10), (9_985, 15));
        assert_eq!(r.verdict, Change::Same);
        assert_eq!(r.breaks, None);
        // 0.1 % → 1 %: worse, under the 1 pp rule.
        let r = row((9_990, 10), (9_900, 100));
        assert_eq!((r.verdict, r.breaks), (Change::Worse, None));
        // And the other way: better.
        assert_eq!(row((9_800, 200), (9_990, 10)).verdict, Change::Better);
        // Exactly 1 pp worse: worse, but the 1 pp rule holds.
        let r = row((10_000, 0), (9_900, 100));
        assert_eq!((r.verdict, r.breaks), (Change::Worse, None));
        // No acquisitions on one side: no verdict out of nothing.
        assert_eq!(row((0, 0), (0, 0)).verdict, Change::Same);
        assert_eq!(row((100, 0), (100, 0)).verdict, Change::Same);
        // Against the textbook two-proportion z statistic, over a grid
        // dense enough to put cases within 0.1 % of the two-error bound.
        let (mut near, mut worse, mut better) = (0, 0, 0);
        for b in (40..=160).step_by(3) {
            for n in 40..=260 {
                let (p1, p2) = (b as f64 / 10_000.0, n as f64 / 10_000.0);
                let p = (b + n) as f64 / 20_000.0;
                let z = (p2 - p1) / (p * (1.0 - p) * 2.0 / 10_000.0).sqrt();
                let expected = match z {
                    z if z > 2.0 => Change::Worse,
                    z if z < -2.0 => Change::Better,
                    _ => Change::Same,
                };
                near += usize::from((z.abs() - 2.0).abs() < 0.002);
                worse += usize::from(expected == Change::Worse);
                better += usize::from(expected == Change::Better);
                let r = row((10_000 - b, b), (10_000 - n, n));
                assert_eq!(r.verdict, expected, "{b} and {n} errors in 10,000: z {z}");
            }
        }
        assert!(
            near >= 3 && worse > 100 && better > 100,
            "{near} {worse} {better}"
        );
    }
}
