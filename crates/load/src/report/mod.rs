//! Reports, always made from the saved data (`summary.json` for the
//! counters and the run's facts, `latency.hlog` for every histogram), so
//! that `tokenprobe report DIR` renders exactly what the run did: the
//! terminal table, `summary.json` (schema `tokenprobe.summary/1`) and a
//! self-contained `report.html`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use serde::{Deserialize, Serialize};

use crate::recorder::{Counts, Key, Outcome, Part};
use crate::threshold::{Metric, Threshold};

mod error;

pub use error::{At, Cause, ReportError};

/// The version of `summary.json`'s schema. Version 2: rates are over the
/// schedule's window (`window_secs`), not over the run with its grace
/// period; per-flow rates under `flows`.
pub const SCHEMA: &str = "tokenprobe.summary/2";

/// The older schema, still read (its rates were over `elapsed_secs`).
pub const SCHEMA_V1: &str = "tokenprobe.summary/1";

/// One flow's share of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowRates {
    /// Its weight in the mix.
    pub weight: f64,
    /// Arrivals the schedule gave it (open model), or acquisitions begun.
    pub scheduled: u64,
    /// Acquisitions recorded (ok or error; `cancelled` ones are not per flow).
    pub started: u64,
    /// `scheduled` over the window (open model).
    pub asked_rate: Option<f64>,
    /// `started` over the window.
    pub achieved_rate: f64,
}

/// Latency of one flow/step/outcome, milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyRow {
    /// The flow (or `all`), the step (or `total`) and the outcome.
    #[serde(flatten)]
    pub key: Key,
    /// Recorded values.
    pub count: u64,
    /// Mean.
    pub mean_ms: f64,
    /// Percentiles.
    pub p50_ms: f64,
    /// p90.
    pub p90_ms: f64,
    /// p99.
    pub p99_ms: f64,
    /// p99.9.
    pub p999_ms: f64,
    /// Max.
    pub max_ms: f64,
}

/// A threshold's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdVerdict {
    /// As written.
    pub threshold: String,
    /// The measured value (ms or fraction); none when nothing was measured.
    pub actual: Option<f64>,
    /// Whether it holds (a threshold on nothing fails).
    pub pass: bool,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// [`SCHEMA`].
    pub schema: String,
    /// The scenario's name.
    pub scenario: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// Seconds from the first arrival to the last result.
    pub elapsed_secs: f64,
    /// Seconds of the schedule's window: the duration, or up to the last
    /// arrival of a counted run, or up to the stop. Rates are over it.
    #[serde(default)]
    pub window_secs: f64,
    /// Seconds after the window spent waiting for acquisitions in flight.
    #[serde(default)]
    pub grace_secs: f64,
    /// Per flow: weight, scheduled, started and rates.
    #[serde(default)]
    pub flows: BTreeMap<String, FlowRates>,
    /// Stopped early by Ctrl-C or SIGTERM.
    pub partial: bool,
    /// `open` or `closed`.
    pub model: String,
    /// Mean rate the schedule asked for (open model).
    pub target_rate: Option<f64>,
    /// Acquisitions started per second of the window.
    pub achieved_rate: f64,
    /// Arrivals scheduled: `started + dropped_in_flight_cap` (open model).
    pub scheduled: u64,
    /// Every acquisition in one bucket: `started = ok + Σ errors`.
    pub counts: Counts,
    /// How late the scheduler started acquisitions (p50, p99, max; ms).
    pub driver_lag_ms: [f64; 3],
    /// The thresholds asked for (written as their text).
    #[serde(rename = "threshold_texts")]
    pub criteria: Vec<Threshold>,
    /// Per flow/step/outcome.
    #[serde(default)]
    pub latency: Vec<LatencyRow>,
    /// Verdicts.
    #[serde(default)]
    pub thresholds: Vec<ThresholdVerdict>,
    /// The run this shard belongs to (sharded runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// `[I, N]`: shard I of N (sharded runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<[u32; 2]>,
    /// A merged report: one row per shard merged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardRow>,
    /// TLS certificates were not verified (`[http] insecure = true`).
    #[serde(default)]
    pub insecure: bool,
    /// What the user was warned of (at the start, and of the driver's
    /// own load at the end).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Open model: the acquisitions the driver sent late.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late: Option<LateSends>,
    /// The generator's own cost: CPU time, per acquisition and as a share
    /// of its cores (absent in older summaries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
}

/// Acquisitions the driver sent later than a bound after their intended
/// start. Their wait counts in their latency (coordinated omission
/// corrected), not in their service time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LateSends {
    /// The bound (`[load] late_bound`), milliseconds.
    pub bound_ms: f64,
    /// How many were sent later than it.
    pub count: u64,
}

/// What the run cost the machine it ran on: the process's CPU time (user
/// and system, every thread), so a reader sees when the generator, not the
/// server, was the bottleneck.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    /// CPU seconds over the run.
    pub secs: f64,
    /// Microseconds per acquisition started.
    pub per_acquisition_us: f64,
    /// The cores the process could run on.
    pub cores: usize,
    /// `secs` over the run's length and cores (0 to 1).
    pub share: f64,
    /// The built-in stub ran in the same process, so its CPU is included.
    pub includes_stub: bool,
}

/// Above this share of its cores, the generator may be what limits the run.
pub const CPU_SHARE_WARNING: f64 = 0.7;

impl Cpu {
    /// The figures for `secs` of CPU over `elapsed` seconds on `cores`,
    /// for `started` acquisitions.
    pub fn new(secs: f64, elapsed: f64, cores: usize, started: u64, includes_stub: bool) -> Cpu {
        Cpu {
            secs,
            per_acquisition_us: secs * 1e6 / started.max(1) as f64,
            cores,
            share: secs / (elapsed.max(1e-9) * cores.max(1) as f64),
            includes_stub,
        }
    }

    /// The warning when the share is high.
    pub fn warning(&self) -> Option<String> {
        (self.share > CPU_SHARE_WARNING).then(|| {
            let who = match self.includes_stub {
                true => "tokenprobe and its built-in stub",
                false => "the driver",
            };
            format!(
                "{who} used {:.0}% of {} core(s): the generator, not the server, may be the \
                 bottleneck; give it more cores or shard the run",
                self.share * 100.0,
                self.cores
            )
        })
    }
}

/// One shard of a merged report, so that one sick load generator shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRow {
    /// `I` of `I/N`.
    pub shard: u32,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// Started acquisitions.
    pub started: u64,
    /// Errors.
    pub errors: u64,
    /// Started per second.
    pub achieved_rate: f64,
    /// p99 of its successful acquisitions, ms.
    pub p99_ms: Option<f64>,
}

impl Summary {
    /// Whether every threshold holds.
    pub fn passed(&self) -> bool {
        self.thresholds.iter().all(|v| v.pass)
    }

    /// Errors over started acquisitions.
    pub fn error_rate(&self) -> f64 {
        let started = self.counts.started.max(1) as f64;
        self.counts.error_total() as f64 / started
    }
}

/// What the over-time charts need of one interval histogram (the
/// histogram itself is folded into the totals and dropped, so reading a
/// long run's log takes memory for its keys, not for its seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalPoint {
    /// Offset from the start.
    pub start: Duration,
    /// Length.
    pub length: Duration,
    /// Its histogram's key.
    pub key: Key,
    /// Values in it.
    pub count: u64,
    /// Its p50 and p99, microseconds.
    pub p50_us: u64,
    /// p99.
    pub p99_us: u64,
}

/// The saved data of a run, read back.
#[derive(Debug, Clone, Default)]
pub struct Log {
    /// Every key's histogram over the whole run.
    pub totals: BTreeMap<Key, Histogram<u64>>,
    /// One point per interval histogram, in log order.
    pub points: Vec<IntervalPoint>,
}

/// One interval of a log, decoded: (start, length, key, histogram).
pub type DecodedInterval = (Duration, Duration, Key, Histogram<u64>);

/// The interval histograms of a log, decoded one at a time with
/// hdrhistogram's own reader (comments and headers skipped).
pub struct Intervals<'a> {
    entries: IntervalLogIterator<'a>,
    deserializer: Deserializer,
}

impl<'a> Intervals<'a> {
    /// Over the bytes of a log.
    pub fn new(bytes: &'a [u8]) -> Self {
        Intervals {
            entries: IntervalLogIterator::new(bytes),
            deserializer: Deserializer::new(),
        }
    }
}

impl Iterator for Intervals<'_> {
    type Item = Result<DecodedInterval, Cause>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let h = match self.entries.next()? {
                Ok(LogEntry::Interval(h)) => h,
                Ok(_) => continue,
                Err(e) => return Some(Err(Cause::Log(format!("{e:?}")))),
            };
            let decoded = (|| {
                let key = h
                    .tag()
                    .and_then(|t| Key::from_tag(t.as_str()))
                    .ok_or_else(|| {
                        Cause::Log("an interval without a flow/step/outcome tag".into())
                    })?;
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(h.encoded_histogram())
                    .map_err(|e| Cause::Log(e.to_string()))?;
                let histogram: Histogram<u64> = self
                    .deserializer
                    .deserialize(&mut raw.as_slice())
                    .map_err(|e| Cause::Log(format!("{e:?}")))?;
                Ok((h.start_timestamp(), h.duration(), key, histogram))
            })();
            return Some(decoded);
        }
    }
}

/// Calls `f` with every interval histogram of a log.
pub fn for_each_interval(
    bytes: &[u8],
    mut f: impl FnMut(Duration, Duration, Key, Histogram<u64>) -> Result<(), Cause>,
) -> Result<(), Cause> {
    for interval in Intervals::new(bytes) {
        let (start, length, key, h) = interval?;
        f(start, length, key, h)?;
    }
    Ok(())
}

/// Reads an interval log back: totals per key, and a point per interval.
pub fn read_hlog(bytes: &[u8]) -> Result<Log, Cause> {
    let mut log = Log::default();
    for_each_interval(bytes, |start, length, key, histogram| {
        log.points.push(IntervalPoint {
            start,
            length,
            key: key.clone(),
            count: histogram.len(),
            p50_us: histogram.value_at_quantile(0.5),
            p99_us: histogram.value_at_quantile(0.99),
        });
        log.totals
            .entry(key)
            .or_insert_with(crate::recorder::histogram)
            .add(&histogram)
            .map_err(|e| Cause::Log(format!("{e:?}")))
    })?;
    Ok(log)
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn row(key: &Key, h: &Histogram<u64>) -> LatencyRow {
    let q = |q| ms(h.value_at_quantile(q));
    LatencyRow {
        key: key.clone(),
        count: h.len(),
        mean_ms: h.mean() / 1000.0,
        p50_ms: q(0.5),
        p90_ms: q(0.9),
        p99_ms: q(0.99),
        p999_ms: q(0.999),
        max_ms: ms(h.max()),
    }
}

fn evaluate(
    t: &Threshold,
    s: &Summary,
    totals: &BTreeMap<Key, Histogram<u64>>,
) -> ThresholdVerdict {
    let key = match &t.scope {
        None => Some(Key::all_ok()),
        Some(scope) => Part::from_name(&scope.step).map(|step| Key {
            flow: scope.flow.clone(),
            step,
            outcome: Outcome::Ok,
        }),
    };
    let h = key.and_then(|k| totals.get(&k)).filter(|h| !h.is_empty());
    let actual = match t.metric {
        Metric::Percentile(q) => h.map(|h| ms(h.value_at_quantile(q / 100.0))),
        Metric::Max => h.map(|h| ms(h.max())),
        Metric::Mean => h.map(|h| h.mean() / 1000.0),
        Metric::ErrorRate => match &t.scope {
            None => Some(s.error_rate()),
            Some(scope) => s
                .counts
                .per_flow
                .get(&scope.flow)
                .map(|(ok, err)| *err as f64 / (*ok + *err).max(1) as f64),
        },
        Metric::AchievedRate => s
            .target_rate
            .filter(|r| *r > 0.0)
            .map(|r| s.achieved_rate / r),
    };
    ThresholdVerdict {
        threshold: t.text.clone(),
        actual,
        pass: actual.is_some_and(|a| t.holds(a)),
    }
}

/// A report directory's `summary.json`, of this schema or version 1.
pub(crate) fn read_summary(dir: &Path) -> Result<Summary, ReportError> {
    let path = dir.join("summary.json");
    let s: Summary = serde_json::from_slice(&std::fs::read(&path).at(&path)?).at(&path)?;
    if s.schema != SCHEMA && s.schema != SCHEMA_V1 {
        let why = format!("schema {:?}, expected {SCHEMA}", s.schema);
        return Err(Cause::Refused(why)).at(&path);
    }
    Ok(s)
}

/// Writes `value` as pretty JSON to `path`.
pub(crate) fn write_json(path: &Path, value: &impl Serialize) -> Result<(), ReportError> {
    let json = serde_json::to_vec_pretty(value).at(path)?;
    std::fs::write(path, json).at(path)
}

/// A report directory brought up to date from what it saved: the summary
/// with its latency rows and threshold verdicts made from `latency.hlog`,
/// the log, and the errors over time from `errors.csv`.
#[derive(Debug)]
pub struct Refreshed {
    /// `summary.json` as rewritten.
    pub summary: Summary,
    /// `latency.hlog` read back.
    pub log: Log,
    /// `errors.csv` as (start, label, count); empty without one.
    pub errors: Vec<(f64, String, f64)>,
}

/// Re-reads a report directory from `summary.json` and `latency.hlog`
/// and rewrites `summary.json` with its latency rows and verdicts (the
/// page and the table are drawn from it by [`crate::output`]).
pub fn refresh(dir: &Path) -> Result<Refreshed, ReportError> {
    let mut summary = read_summary(dir)?;
    let path = dir.join("latency.hlog");
    let log = read_hlog(&std::fs::read(&path).at(&path)?).at(&path)?;
    let totals = &log.totals;
    summary.latency = totals.iter().map(|(k, h)| row(k, h)).collect();
    summary.thresholds = summary
        .criteria
        .iter()
        .map(|t| evaluate(t, &summary, totals))
        .collect();
    write_json(&dir.join("summary.json"), &summary)?;
    let errors = std::fs::read_to_string(dir.join("errors.csv"))
        .map(|text| error_log(&text))
        .unwrap_or_default();
    Ok(Refreshed {
        summary,
        log,
        errors,
    })
}

/// One line of `errors.csv`: an interval's errors of one label.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorInterval {
    /// Seconds from the run's start.
    pub start: f64,
    /// The interval's length, seconds.
    pub length: f64,
    /// The error label.
    pub label: String,
    /// Errors in the interval.
    pub count: u64,
}

/// `errors.csv` read back; a line that does not parse is left out.
pub fn read_error_log(text: &str) -> Vec<ErrorInterval> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let (rest, count) = line.rsplit_once(',')?;
            let mut parts = rest.splitn(3, ',');
            Some(ErrorInterval {
                start: parts.next()?.parse().ok()?,
                length: parts.next()?.parse().ok()?,
                label: parts.next()?.trim_matches('"').to_owned(),
                count: count.parse().ok()?,
            })
        })
        .collect()
}

/// `errors.csv` as the report draws it: (interval start s, label, errors
/// per second).
pub fn error_log(text: &str) -> Vec<(f64, String, f64)> {
    read_error_log(text)
        .into_iter()
        .map(|e| (e.start, e.label, e.count as f64 / e.length.max(1e-3)))
        .collect()
}

/// The terminal table.
pub fn table(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}{} — {} model, {:.1} s, {} started ({:.1}/s{})",
        s.scenario,
        if s.partial {
            " (PARTIAL: stopped early)"
        } else {
            ""
        },
        s.model,
        s.elapsed_secs,
        s.counts.started,
        s.achieved_rate,
        s.target_rate
            .map_or(String::new(), |t| format!(" of {t:.1}/s asked")),
    );
    if s.grace_secs > 0.0005 || s.flows.len() > 1 {
        let _ = writeln!(
            out,
            "window {:.1} s, then {:.1} s of grace for acquisitions in flight",
            s.window_secs, s.grace_secs
        );
    }
    if s.flows.len() > 1 {
        for (name, f) in &s.flows {
            let _ = writeln!(
                out,
                "  flow {name:<12} weight {:<6} {} started ({:.1}/s{})",
                f.weight,
                f.started,
                f.achieved_rate,
                f.asked_rate
                    .map_or(String::new(), |a| format!(" of {a:.1}/s asked"))
            );
        }
    }
    let open = s.model == "open";
    let (from, service) = match open {
        true => (
            "flow/step (ok, from the intended start)",
            "from the actual send",
        ),
        false => ("flow/step (ok)", ""),
    };
    let rows = |out: &mut String, title: &str, keep: &dyn Fn(&LatencyRow) -> bool| {
        let _ = writeln!(
            out,
            "{title:<40} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "count", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"
        );
        for r in s
            .latency
            .iter()
            .filter(|r| r.key.outcome == Outcome::Ok && keep(r))
        {
            let _ = writeln!(
                out,
                "{:<40} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
                r.key.scope(),
                r.count,
                r.p50_ms,
                r.p90_ms,
                r.p99_ms,
                r.p999_ms,
                r.max_ms
            );
        }
    };
    rows(&mut out, from, &|r| r.key.step != Part::Service);
    if open {
        rows(&mut out, service, &|r| r.key.step == Part::Service);
        let _ = writeln!(
            out,
            "note: latencies count from each acquisition's intended start, so a server that \
             stalls cannot hide behind a waiting driver (coordinated omission); service times \
             count from the actual send{}",
            s.late.as_ref().map_or(String::new(), |l| format!(
                "; {} sent more than {} ms late",
                l.count, l.bound_ms
            ))
        );
    } else {
        let _ = writeln!(
            out,
            "note: closed model: latencies are service times, from each actual start; a \
             stalled server slows the users down rather than showing in them (coordinated \
             omission): the open model shows it"
        );
    }
    let c = &s.counts;
    let _ = writeln!(
        out,
        "accounting: started {} = ok {} + errors {}; dropped (in-flight cap) {}; scheduled {}",
        c.started,
        c.ok,
        c.error_total(),
        c.dropped_in_flight_cap,
        s.scheduled
    );
    for (label, n) in &c.errors {
        // Written by this tool, but a summary.json may come from anywhere.
        let label = label.to_string();
        let label = tokenprobe_protocol::wire::printable(&label);
        let _ = writeln!(out, "  error {label}: {n}");
    }
    let [p50, p99, max] = s.driver_lag_ms;
    let _ = writeln!(
        out,
        "driver lag: p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms"
    );
    if let Some(c) = &s.cpu {
        let _ = writeln!(
            out,
            "cpu: {:.2} s, {:.1} µs per acquisition, {:.0}% of {} core(s){}",
            c.secs,
            c.per_acquisition_us,
            c.share * 100.0,
            c.cores,
            if c.includes_stub {
                " (the built-in stub included)"
            } else {
                ""
            }
        );
    }
    if !s.shards.is_empty() {
        let _ = writeln!(
            out,
            "{:<8} {:>10} {:>8} {:>10} {:>9}",
            "shard", "started", "errors", "rate /s", "p99 ms"
        );
        for r in &s.shards {
            let _ = writeln!(
                out,
                "{:<8} {:>10} {:>8} {:>10.1} {:>9}",
                r.shard,
                r.started,
                r.errors,
                r.achieved_rate,
                r.p99_ms.map_or("-".into(), |p| format!("{p:.2}"))
            );
        }
    }
    for w in &s.warnings {
        let _ = writeln!(out, "warning: {}", tokenprobe_protocol::wire::printable(w));
    }
    for v in &s.thresholds {
        let _ = writeln!(
            out,
            "threshold {:<32} {} (measured {})",
            v.threshold,
            if v.pass { "PASS" } else { "FAIL" },
            v.actual.map_or("nothing".into(), |a| format!("{a:.4}"))
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_share_is_over_the_run_and_its_cores_and_warns_past_70_percent() {
        let c = Cpu::new(3.0, 2.0, 2, 1000, false);
        assert_eq!((c.per_acquisition_us, c.share), (3000.0, 0.75));
        assert!(
            c.warning()
                .unwrap()
                .starts_with("the driver used 75% of 2 core(s)")
        );
        let c = Cpu::new(1.0, 2.0, 2, 1000, true);
        assert_eq!(c.warning(), None);
        assert!(
            Cpu::new(2.0, 1.0, 1, 0, true)
                .warning()
                .unwrap()
                .starts_with("tokenprobe and its built-in stub used 200%")
        );
    }
}
