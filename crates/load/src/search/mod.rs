//! Capacity search: "up to what rate does the endpoint keep its
//! thresholds, and what breaks first?". The scenario's thresholds are the
//! criteria. Steps at rising rates (each an open-model run of a set length
//! after an unrecorded warm-up) go from `from`, by a factor or an
//! increment, up to `max`; then a bisection narrows between the last rate
//! that passed and the first that failed, to a set precision. A step with
//! more errors than the cutoff fails whatever the thresholds say, so no
//! higher rate is ever tried after it; a step whose driver fell behind
//! ends the search at once, since then the driver, not the server, is what
//! was measured.
//!
//! Each step is a normal report directory (`step-NN-<rate>/` with its
//! `summary.json`, `latency.hlog` and `report.html`), so `report` and
//! `merge` read it; the search's own result is `search.json` and a
//! `report.html` whose first chart is latency and errors against the
//! offered rate: the knee.

mod engine;
mod merge;
mod run;
mod table;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::recorder::Key;
use crate::report::Summary;

pub use engine::{Engine, Growth, Spec};
pub use merge::merge;
pub use run::run;
pub use table::table;

/// The version of `search.json`'s schema.
pub const SCHEMA: &str = "tokenprobe.search/1";

/// How one step went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum StepVerdict {
    /// Every threshold held.
    Pass,
    /// A threshold broke (the first that did, as written).
    Fail {
        /// The threshold.
        broke: String,
    },
    /// More errors than `error_cutoff`: a failure, whatever the
    /// thresholds say.
    TooManyErrors {
        /// Errors over started acquisitions.
        errors: f64,
    },
    /// The driver fell behind: what was measured is the driver.
    DriverBottleneck {
        /// Why it is the driver.
        why: String,
    },
}

impl StepVerdict {
    fn passed(&self) -> bool {
        matches!(self, StepVerdict::Pass)
    }

    /// In a word, as the table prints it.
    pub fn name(&self) -> &'static str {
        match self {
            StepVerdict::Pass => "pass",
            StepVerdict::Fail { .. } => "fail",
            StepVerdict::TooManyErrors { .. } => "errors",
            StepVerdict::DriverBottleneck { .. } => "driver",
        }
    }

    /// A step's verdict from its summary.
    pub fn of(s: &Summary, spec: &Spec) -> StepVerdict {
        let lag_p99 = s.driver_lag_ms[1];
        let limit = spec.driver_lag_limit.as_secs_f64() * 1000.0;
        if lag_p99 > limit {
            return StepVerdict::DriverBottleneck {
                why: format!(
                    "the driver's lag p99 was {lag_p99:.2} ms, over the {limit:.2} ms limit"
                ),
            };
        }
        if let Some(cpu) = s.cpu.as_ref().filter(|c| !c.includes_stub && c.share > 0.9) {
            return StepVerdict::DriverBottleneck {
                why: format!(
                    "the generator used {:.0}% of its {} core(s)",
                    cpu.share * 100.0,
                    cpu.cores
                ),
            };
        }
        let error_rate = s.error_rate();
        if error_rate > spec.error_cutoff {
            return StepVerdict::TooManyErrors { errors: error_rate };
        }
        match s.thresholds.iter().find(|t| !t.pass) {
            None => StepVerdict::Pass,
            Some(t) => StepVerdict::Fail {
                broke: t.threshold.clone(),
            },
        }
    }
}

/// Why the search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// The bracket narrowed to the precision.
    Found,
    /// Every rate up to `max` passed.
    AboveMax,
    /// Even `from` failed.
    FromFails,
    /// The driver fell behind.
    DriverBottleneck,
    /// Ctrl-C or SIGTERM.
    Interrupted,
}

/// One step, as the result lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRow {
    /// 1, 2, …
    pub index: usize,
    /// The rate asked for.
    pub rate: f64,
    /// The rate achieved.
    pub achieved_rate: f64,
    /// How it went.
    #[serde(flatten)]
    pub verdict: StepVerdict,
    /// Acquisitions started.
    pub started: u64,
    /// Errors over started.
    pub error_rate: f64,
    /// p50 and p99 of successful acquisitions (all flows), from the
    /// intended start, ms.
    pub p50_ms: Option<f64>,
    /// p99.
    pub p99_ms: Option<f64>,
    /// The driver's lag p99, ms.
    pub lag_p99_ms: f64,
    /// Its report directory, under the search's.
    pub dir: String,
}

/// `search.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    /// [`SCHEMA`].
    pub schema: String,
    /// The scenario's name.
    pub scenario: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// How long the search took, seconds.
    pub elapsed_secs: f64,
    /// The settings: first and highest rate, step and warm-up seconds,
    /// precision.
    pub from: f64,
    /// `max`.
    pub max: f64,
    /// Seconds.
    pub step_secs: f64,
    /// Seconds.
    pub warmup_secs: f64,
    /// Fraction.
    pub precision: f64,
    /// The error rate over which a step fails.
    pub error_cutoff: f64,
    /// The driver's lag p99 over which the driver is the bottleneck, ms.
    pub driver_lag_limit_ms: f64,
    /// The run this shard belongs to (sharded searches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// `[I, N]`: shard I of N.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<[u32; 2]>,
    /// The thresholds, as written.
    pub criteria: Vec<String>,
    /// Why it ended.
    pub ending: Ending,
    /// The highest rate that passed, if any.
    pub capacity: Option<f64>,
    /// The lowest rate that failed, if any.
    pub first_failing: Option<f64>,
    /// What broke at `first_failing` (a threshold, the errors, the driver).
    pub broke_first: Option<String>,
    /// With `repeat`: the capacity each bisection found.
    pub capacities: Vec<f64>,
    /// Every step, in the order run.
    pub steps: Vec<StepRow>,
}

impl SearchResult {
    /// 0 when a capacity was found (or everything up to `max` passed); 1
    /// when even `from` failed or the driver was the bottleneck; 130 when
    /// interrupted.
    pub fn exit_code(&self) -> u8 {
        match self.ending {
            Ending::Found | Ending::AboveMax => 0,
            Ending::FromFails | Ending::DriverBottleneck => 1,
            Ending::Interrupted => 130,
        }
    }

    /// One sentence: what was found.
    pub fn conclusion(&self) -> String {
        let rate = |r: Option<f64>| r.map_or("-".into(), |r| format!("{r:.1}/s"));
        let broke = self
            .broke_first
            .as_deref()
            .map_or(String::new(), |b| format!(": {b}"));
        match self.ending {
            Ending::Found => format!(
                "capacity {} (the highest rate that met every threshold); {} failed first{broke}",
                rate(self.capacity),
                rate(self.first_failing)
            ),
            Ending::AboveMax => format!(
                "every rate up to max {} met the thresholds: the capacity is above it",
                rate(Some(self.max))
            ),
            Ending::FromFails => format!(
                "even the first rate {} failed{broke}: lower `from`",
                rate(Some(self.from))
            ),
            Ending::DriverBottleneck => format!(
                "stopped: the driver, not the server, was the bottleneck at {}{broke}; \
                 give it more cores or shard the run",
                rate(self.first_failing)
            ),
            Ending::Interrupted => format!(
                "interrupted; the highest rate that passed so far: {}",
                rate(self.capacity)
            ),
        }
    }
}

/// A finished search.
#[derive(Debug, Clone)]
pub struct Searched {
    /// The search's directory.
    pub dir: PathBuf,
    /// What it found.
    pub result: SearchResult,
    /// The terminal table.
    pub table: String,
}

pub(crate) fn row(
    index: usize,
    rate: f64,
    s: &Summary,
    verdict: StepVerdict,
    dir: &Path,
) -> StepRow {
    let all = s.latency.iter().find(|r| r.key == Key::all_ok());
    StepRow {
        index,
        rate,
        achieved_rate: s.achieved_rate,
        verdict,
        started: s.counts.started,
        error_rate: s.error_rate(),
        p50_ms: all.map(|r| r.p50_ms),
        p99_ms: all.map(|r| r.p99_ms),
        lag_p99_ms: s.driver_lag_ms[1],
        dir: dir
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
    }
}

/// The highest rate that passed below the lowest that failed (on a
/// ladder, a higher rate may pass again by chance), and that failing step.
/// When the first rate failed, nothing passed below it: no capacity.
fn bracket(steps: &[StepRow]) -> (Option<f64>, Option<&StepRow>) {
    let first_failing = steps
        .iter()
        .filter(|s| !s.verdict.passed())
        .min_by(|a, b| a.rate.total_cmp(&b.rate));
    let capacity = steps
        .iter()
        .filter(|s| s.verdict.passed() && first_failing.is_none_or(|f| s.rate < f.rate))
        .map(|s| s.rate)
        .reduce(f64::max);
    (capacity, first_failing)
}

/// What broke at a failing step.
fn broke(s: &StepRow) -> String {
    match &s.verdict {
        StepVerdict::Pass => String::new(),
        StepVerdict::Fail { broke } => broke.clone(),
        StepVerdict::TooManyErrors { errors } => {
            format!("errors {:.2}% over the cutoff", errors * 100.0)
        }
        StepVerdict::DriverBottleneck { why } => why.clone(),
    }
}

/// How a ladder's steps end a search: the first failing, or none.
fn ladder_ending(steps: &[StepRow]) -> Ending {
    let mut by_rate: Vec<&StepRow> = steps.iter().collect();
    by_rate.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    match by_rate.iter().position(|s| !s.verdict.passed()) {
        Some(i) if matches!(by_rate[i].verdict, StepVerdict::DriverBottleneck { .. }) => {
            Ending::DriverBottleneck
        }
        Some(0) => Ending::FromFails,
        Some(_) => Ending::Found,
        None => Ending::AboveMax,
    }
}
