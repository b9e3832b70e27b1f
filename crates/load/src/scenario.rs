//! Load scenarios: a [`Setup`] (target, `[http]`, `[[flows]]`, `[stub]`,
//! read by `tokenprobe-config` as `check` reads it) and the tables only a
//! load run has: the model, limits, thresholds and where reports go. Every
//! mistake is reported with file, line and column before any traffic.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use serde_spanned::Spanned;
use tokenprobe_config::{ConfigError, Expanded, Setup, Tables, duration};

use crate::schedule::{Arrivals, Schedule};
use crate::search::{Growth, Spec};
use crate::threshold::Threshold;

/// The highest rate a scenario or `--rate` may ask for, per second: far
/// above what one generator sends, low enough that a typo (`3e9`) is an
/// error rather than a flood.
pub const MAX_RATE: f64 = 1_000_000.0;

/// `r` as a rate, or why not.
pub fn check_rate(r: f64) -> Result<f64, String> {
    if r.is_finite() && (0.0..=MAX_RATE).contains(&r) {
        Ok(r)
    } else {
        Err(format!("a rate is from 0 to {MAX_RATE} per second"))
    }
}

fn rate<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    check_rate(f64::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// One step of an open model's rate: ramp linearly to `rate` over `duration`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// How long.
    #[serde(deserialize_with = "duration::field")]
    pub duration: Duration,
    /// Acquisitions per second at its end.
    #[serde(deserialize_with = "rate")]
    pub rate: f64,
}

/// How acquisitions are started.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "model", rename_all = "lowercase", deny_unknown_fields)]
pub enum LoadModel {
    /// A constant arrival rate (optionally ramped by stages); latency is
    /// measured from each acquisition's intended start.
    Open {
        /// Acquisitions per second (at the start, when there are stages).
        #[serde(deserialize_with = "rate")]
        rate: f64,
        /// Ramps after the start.
        #[serde(default)]
        stages: Vec<Stage>,
        /// At most this many in flight; further arrivals are dropped and counted.
        #[serde(default = "default_in_flight")]
        max_in_flight: usize,
        /// `uniform` (evenly spaced) or `poisson` (seeded).
        #[serde(default)]
        arrivals: Arrivals,
        /// The seed of `poisson` arrivals.
        #[serde(default = "default_seed")]
        seed: u64,
        /// Each flow's share of the arrivals, by flow name (`cognito`,
        /// `vcd`, `cognito-2`, …); 1 for a flow not named.
        #[serde(default)]
        weights: BTreeMap<String, f64>,
        /// An acquisition the driver sent later than this after its
        /// intended start is counted as late (1 ms when absent).
        #[serde(default = "default_late_bound", deserialize_with = "duration::field")]
        late_bound: Duration,
    },
    /// A capacity search: open-model steps at rising rates, then a
    /// bisection between the last that met the thresholds and the first
    /// that did not (see [`crate::search`]).
    Search {
        /// The first rate, per second.
        #[serde(deserialize_with = "rate")]
        from: f64,
        /// The highest rate tried.
        #[serde(deserialize_with = "rate")]
        max: f64,
        /// Each step's rate is the last one's times this (2 when neither
        /// this nor `increment` is given)…
        factor: Option<f64>,
        /// …or the last one's plus this.
        increment: Option<f64>,
        /// How long each step is measured.
        #[serde(default = "default_step", deserialize_with = "duration::field")]
        step: Duration,
        /// How long each step runs first, unrecorded.
        #[serde(default = "default_warmup", deserialize_with = "duration::field")]
        warmup: Duration,
        /// The bisection stops when the bracket is narrower than this
        /// fraction of its lower end.
        #[serde(default = "default_precision")]
        precision: f64,
        /// A step with more errors than this fraction ends the search at
        /// once: no higher rate is tried.
        #[serde(default = "default_error_cutoff")]
        error_cutoff: f64,
        /// A step whose dispatcher lag p99 is above this ends the search:
        /// the driver, not the server, is then the bottleneck.
        #[serde(
            default = "default_driver_lag_limit",
            deserialize_with = "duration::field"
        )]
        driver_lag_limit: Duration,
        /// Repeat the final bisection this many times, for the spread of
        /// the capacity found.
        #[serde(default)]
        repeat: u32,
        /// At most this many in flight; further arrivals are dropped and counted.
        #[serde(default = "default_in_flight")]
        max_in_flight: usize,
        /// Each flow's share of the arrivals, by flow name.
        #[serde(default)]
        weights: BTreeMap<String, f64>,
        /// An acquisition sent later than this after its intended start is
        /// counted as late.
        #[serde(default = "default_late_bound", deserialize_with = "duration::field")]
        late_bound: Duration,
    },
    /// N virtual users, each acquiring in a loop.
    Closed {
        /// How many.
        users: usize,
        /// Pause between one user's acquisitions.
        #[serde(default, deserialize_with = "duration::optional")]
        think_time: Option<Duration>,
    },
}

impl LoadModel {
    /// A search's settings, checked, or why they do not make sense.
    pub fn search_spec(&self) -> Result<Spec, String> {
        let LoadModel::Search {
            from,
            max,
            factor,
            increment,
            step,
            warmup,
            precision,
            error_cutoff,
            driver_lag_limit,
            repeat,
            ..
        } = self
        else {
            return Err("not a search".into());
        };
        if *from <= 0.0 || max < from {
            return Err("search: `from` is above 0 and `max` at least `from`".into());
        }
        let growth = match (factor, increment) {
            (Some(_), Some(_)) => {
                return Err("search: a `factor` or an `increment`, not both".into());
            }
            (Some(f), None) if (1.01..=100.0).contains(f) => Growth::Factor(*f),
            (Some(_), None) => return Err("search: `factor` is from 1.01 to 100".into()),
            (None, Some(i)) if *i > 0.0 && i.is_finite() => Growth::Increment(*i),
            (None, Some(_)) => return Err("search: `increment` is above 0".into()),
            (None, None) => Growth::Factor(2.0),
        };
        if step.is_zero() || *step > MAX_DURATION || *warmup > MAX_DURATION {
            return Err("search: `step` is above 0; `step` and `warmup` at most 30 days".into());
        }
        if !(0.001..=1.0).contains(precision) {
            return Err("search: `precision` is from 0.001 to 1".into());
        }
        if !(*error_cutoff > 0.0 && *error_cutoff <= 1.0) {
            return Err("search: `error_cutoff` is above 0 and at most 1".into());
        }
        if *repeat > 20 {
            return Err("search: `repeat` is at most 20".into());
        }
        Ok(Spec {
            from: *from,
            max: *max,
            growth,
            step: *step,
            warmup: *warmup,
            precision: *precision,
            error_cutoff: *error_cutoff,
            driver_lag_limit: *driver_lag_limit,
            repeat: *repeat,
        })
    }
}

fn default_in_flight() -> usize {
    1000
}

fn default_seed() -> u64 {
    1
}

fn default_late_bound() -> Duration {
    Duration::from_millis(1)
}

fn default_step() -> Duration {
    Duration::from_secs(10)
}

fn default_warmup() -> Duration {
    Duration::from_secs(2)
}

fn default_precision() -> f64 {
    0.05
}

fn default_error_cutoff() -> f64 {
    0.1
}

fn default_driver_lag_limit() -> Duration {
    Duration::from_millis(5)
}

/// The longest run, stage or grace period a scenario may ask for.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 86_400);
/// The most acquisitions in flight, or closed-model users.
pub const MAX_CONCURRENCY: usize = 1_000_000;
/// The largest flow weight.
pub const MAX_WEIGHT: f64 = 1_000_000.0;

/// When the run ends: its duration or acquisition count, whichever first.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// How long (for an open model with stages, their sum when absent).
    #[serde(default, deserialize_with = "duration::optional")]
    pub duration: Option<Duration>,
    /// At most this many acquisitions.
    pub acquisitions: Option<u64>,
    /// After the end (or Ctrl-C), how long acquisitions in flight may finish.
    #[serde(default, deserialize_with = "duration::optional")]
    pub grace: Option<Duration>,
}

/// A whole scenario file: what every command reads, and the load run's
/// own tables.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Target, `[http]`, `[[flows]]`, `[stub]`.
    pub setup: Setup,
    /// The load model.
    pub load: LoadModel,
    /// When to stop (optional when the stages say how long).
    pub limits: Limits,
    /// Where report directories go.
    pub output: PathBuf,
}

/// The tables only a load run reads.
#[derive(Deserialize)]
struct LoadTables {
    load: LoadModel,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    thresholds: Vec<Spanned<String>>,
    #[serde(default = "default_output")]
    output: PathBuf,
}

impl Tables for LoadTables {
    const KEYS: &'static [&'static str] = &["load", "limits", "thresholds", "output"];
}

fn default_output() -> PathBuf {
    PathBuf::from("reports")
}

/// A checked scenario: thresholds parsed, limits resolved.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The file's content.
    pub scenario: Scenario,
    /// The name.
    pub name: String,
    /// The thresholds, parsed here once.
    pub thresholds: Vec<Threshold>,
    /// The run's length.
    pub duration: Duration,
    /// The grace period.
    pub grace: Duration,
    /// Part of a sharded run, when it is one.
    pub shard: Option<Shard>,
}

/// One of N load generators of one run: it takes 1/N of the rate and of
/// the count, tags its report, and starts at the common start time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// 1-based index.
    pub index: u32,
    /// How many.
    pub count: u32,
    /// Names the run; every shard of it has the same.
    pub run_id: String,
    /// When every shard starts; at once when absent.
    pub start_at: Option<std::time::SystemTime>,
}

impl Shard {
    /// `I/N` with 1 ≤ I ≤ N.
    pub fn parse(
        text: &str,
        run_id: String,
        start_at: Option<std::time::SystemTime>,
    ) -> Result<Shard, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("--shard {text}: expected I/N, e.g. 2/5"))?;
        let (index, count) = (i.trim().parse::<u32>(), n.trim().parse::<u32>());
        match (index, count) {
            (Ok(index), Ok(count)) if index >= 1 && index <= count => Ok(Shard {
                index,
                count,
                run_id,
                start_at,
            }),
            _ => Err(format!("--shard {text}: expected I/N with 1 ≤ I ≤ N")),
        }
    }
}

impl Plan {
    /// Makes this plan shard `shard`. Open model: it takes every N-th
    /// arrival of the one schedule (so the shards make exactly the whole,
    /// count included). Closed model: 1/N of the acquisition count (the
    /// first shards take the remainder).
    pub fn sharded(mut self, shard: Shard) -> Plan {
        if let (LoadModel::Closed { .. }, Some(total)) =
            (&self.scenario.load, self.scenario.limits.acquisitions)
        {
            let (n, i) = (u64::from(shard.count), u64::from(shard.index));
            self.scenario.limits.acquisitions = Some(total / n + u64::from(i <= total % n));
        }
        self.shard = Some(shard);
        self
    }
}

/// What the command line may change in a scenario.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Overrides {
    /// `--rate`.
    pub rate: Option<f64>,
    /// `--duration`.
    pub duration: Option<Duration>,
    /// `--acquisitions`.
    pub acquisitions: Option<u64>,
}

impl Plan {
    /// Reads, expands, parses and checks a scenario file.
    pub fn load(path: &std::path::Path) -> Result<Plan, ConfigError> {
        let text = tokenprobe_config::read_text(path)?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        let origin = path.display().to_string();
        Plan::parse(&text, &origin, stem.as_deref().unwrap_or("scenario"))
    }

    /// Parses scenario text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str, default_name: &str) -> Result<Plan, ConfigError> {
        let file = Expanded::new(text, origin)?;
        let (setup, tables): (Setup, LoadTables) = file.read()?;
        let thresholds = tables
            .thresholds
            .iter()
            .map(|t| {
                t.get_ref()
                    .parse::<Threshold>()
                    .map_err(|e| file.error(Some(t.span()), e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let scenario = Scenario {
            setup,
            load: tables.load,
            limits: tables.limits,
            output: tables.output,
        };
        let stages: Duration = match &scenario.load {
            LoadModel::Open { stages, .. } => stages.iter().map(|s| s.duration).sum(),
            LoadModel::Search { step, .. } => *step,
            LoadModel::Closed { .. } => Duration::ZERO,
        };
        let too_long = |d: &Duration| *d > MAX_DURATION;
        if too_long(&stages)
            || scenario.limits.duration.as_ref().is_some_and(too_long)
            || scenario.limits.grace.as_ref().is_some_and(too_long)
        {
            return Err(file.whole(format!(
                "a run, its stages and its grace period last at most {} days",
                MAX_DURATION.as_secs() / 86_400
            )));
        }
        match &scenario.load {
            LoadModel::Open {
                max_in_flight: n, ..
            }
            | LoadModel::Search {
                max_in_flight: n, ..
            }
            | LoadModel::Closed { users: n, .. }
                if !(1..=MAX_CONCURRENCY).contains(n) =>
            {
                return Err(file.whole(format!(
                    "[load] max_in_flight and users are from 1 to {MAX_CONCURRENCY}"
                )));
            }
            _ => {}
        }
        if let LoadModel::Search { .. } = &scenario.load {
            scenario
                .load
                .search_spec()
                .map_err(|e| file.whole(format!("[load] {e}")))?;
            if thresholds.is_empty() {
                return Err(file.whole(
                    "a search needs thresholds: they decide which rates pass (e.g. \"p99 < 250ms\")",
                ));
            }
        }
        let duration = match &scenario.load {
            LoadModel::Search { step, .. } => *step,
            _ => scenario.limits.duration.unwrap_or(stages),
        };
        if duration.is_zero() && scenario.limits.acquisitions.is_none() {
            return Err(file.whole("[limits] needs a duration or an acquisition count"));
        }
        let plan_names = scenario.setup.flow_names();
        if let LoadModel::Open { weights, .. } | LoadModel::Search { weights, .. } = &scenario.load
        {
            for (name, w) in weights {
                if !plan_names.contains(name) {
                    return Err(file.whole(format!(
                        "[load] weights: no flow is named {name}; the flows are {}",
                        plan_names.join(", ")
                    )));
                }
                if !(w.is_finite() && *w > 0.0 && *w <= MAX_WEIGHT) {
                    return Err(file.whole(format!(
                        "[load] weights: {name}: a weight is above 0 and at most {MAX_WEIGHT}"
                    )));
                }
            }
        }
        let grace = scenario.limits.grace.unwrap_or_else(|| {
            Duration::from_millis(scenario.setup.http.timeout_ms) + Duration::from_secs(1)
        });
        Ok(Plan {
            name: scenario
                .setup
                .name
                .clone()
                .unwrap_or_else(|| default_name.to_owned()),
            duration: if duration.is_zero() {
                Duration::MAX
            } else {
                duration
            },
            scenario,
            thresholds,
            grace,
            shard: None,
        })
    }

    /// What to warn of before any traffic: TLS verification off, or
    /// credentials sent in clear to another machine.
    pub fn warnings(&self) -> Vec<String> {
        self.scenario.setup.warnings()
    }

    /// The open model's rate over time (the whole run's, before sharding).
    pub fn schedule(&self) -> Schedule {
        match &self.scenario.load {
            LoadModel::Open { rate, stages, .. } => Schedule::new(
                *rate,
                &stages
                    .iter()
                    .map(|s| (s.duration, s.rate))
                    .collect::<Vec<_>>(),
            ),
            LoadModel::Search { .. } | LoadModel::Closed { .. } => Schedule::new(0.0, &[]),
        }
    }

    /// The open model's rate `t` after the start (linear ramps between stages).
    pub fn rate_at(&self, t: Duration) -> f64 {
        self.schedule().rate_at(t)
    }

    /// The flows' names in order, as reports name them: the system, then
    /// `-2`, `-3`… for a second or third flow of one system.
    pub fn flow_names(&self) -> Vec<String> {
        self.scenario.setup.flow_names()
    }

    /// Each flow's weight, in flow order.
    pub fn weights(&self) -> Vec<f64> {
        let named = match &self.scenario.load {
            LoadModel::Open { weights, .. } | LoadModel::Search { weights, .. } => Some(weights),
            LoadModel::Closed { .. } => None,
        };
        self.flow_names()
            .iter()
            .map(|n| named.and_then(|w| w.get(n)).copied().unwrap_or(1.0))
            .collect()
    }

    /// Applies command-line overrides, each checked as the file's values
    /// are: nothing out of range reaches the driver.
    pub fn apply(&mut self, o: &Overrides) -> Result<(), String> {
        if let Some(r) = o.rate {
            let r = check_rate(r).map_err(|e| format!("--rate: {e}"))?;
            match &mut self.scenario.load {
                LoadModel::Open { rate, .. } => *rate = r,
                LoadModel::Closed { .. } => {
                    return Err("--rate: the scenario's model is closed (users, not a rate)".into());
                }
                LoadModel::Search { .. } => {
                    return Err("--rate: a search finds the rate (its [load] from and max)".into());
                }
            }
        }
        if let Some(d) = o.duration {
            if d.is_zero() || d > MAX_DURATION {
                return Err(format!(
                    "--duration: from 1 ms to {} days",
                    MAX_DURATION.as_secs() / 86_400
                ));
            }
            self.duration = d;
            // A search's --duration is its steps' length.
            if let LoadModel::Search { step, .. } = &mut self.scenario.load {
                *step = d;
            }
        }
        if let Some(n) = o.acquisitions {
            if let LoadModel::Search { .. } = self.scenario.load {
                return Err("--acquisitions: a search's steps run for a time, not a count".into());
            }
            self.scenario.limits.acquisitions = Some(n);
        }
        Ok(())
    }

    /// One step of a search: this plan as an open model at `rate` for
    /// `length`, writing into `output`.
    pub fn step(&self, rate: f64, length: Duration, output: &std::path::Path) -> Plan {
        let mut plan = self.clone();
        if let LoadModel::Search {
            max_in_flight,
            weights,
            late_bound,
            ..
        } = &self.scenario.load
        {
            plan.scenario.load = LoadModel::Open {
                rate,
                stages: Vec::new(),
                max_in_flight: *max_in_flight,
                arrivals: Arrivals::default(),
                seed: default_seed(),
                weights: weights.clone(),
                late_bound: *late_bound,
            };
        }
        plan.scenario.limits.acquisitions = None;
        plan.scenario.output = output.to_owned();
        plan.duration = length;
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "target = \"stub\"\n[[flows]]\nsystem = \"cognito\"\nclient_id = \"a\"\n\
                           client_secret = { value = \"s\" }\n[load]\nmodel = \"open\"\nrate = 10\n\
                           [limits]\nduration = \"1s\"\n";

    fn err(text: &str) -> String {
        Plan::parse(text, "s.toml", "s").unwrap_err().to_string()
    }

    #[test]
    fn a_minimal_scenario_parses() {
        let p = Plan::parse(MINIMAL, "s.toml", "s").unwrap();
        assert_eq!((p.name.as_str(), p.duration), ("s", Duration::from_secs(1)));
        assert_eq!(p.grace, Duration::from_secs(31));
    }

    #[test]
    fn mistakes_name_file_line_and_column() {
        // Inside the tagged tables ([load], [[flows]]) serde buffers the
        // values, so the place is the table's own line.
        let e = err(&MINIMAL.replace("rate = 10", "rate = -1"));
        assert!(
            e.starts_with("s.toml:6:1: a rate is from 0 to 1000000 per second"),
            "{e}"
        );
        let e = err(&MINIMAL.replace("cognito", "kerberos"));
        assert!(
            e.starts_with("s.toml:3:10: unknown variant, expected one of"),
            "{e}"
        );
        let e = err(&format!("{MINIMAL}colour = 1\n"));
        assert!(e.starts_with("s.toml:11:1: unknown field `colour`"), "{e}");
        let e = err(&MINIMAL.replace("\"1s\"", "\"soon\""));
        assert!(
            e.starts_with("s.toml:10:12: expected a duration such as"),
            "{e}"
        );
        let e = err(&format!(
            "thresholds = [\"p99 < 1ms\", \"p99 << 2\"]\n{MINIMAL}"
        ));
        assert!(e.starts_with("s.toml:1:28: `< 2` is not a duration"), "{e}");
    }

    #[test]
    fn variables_expand_and_a_missing_one_is_an_error_at_its_place() {
        // SAFETY-free: set_var is safe in edition 2024 only inside unsafe; use an always-set variable.
        let p = Plan::parse(&MINIMAL.replace("\"a\"", "\"${HOME}\""), "s.toml", "s").unwrap();
        let tokenprobe_client::FlowConfig::Cognito(c) = &p.scenario.setup.flows[0] else {
            panic!()
        };
        assert_eq!(c.client_id, std::env::var("HOME").unwrap());
        let e = err(&MINIMAL.replace("\"a\"", "\"${TOKENPROBE_NOT_SET_ANYWHERE}\""));
        assert_eq!(
            e,
            "s.toml:4:14: environment variable TOKENPROBE_NOT_SET_ANYWHERE is not set"
        );
        // Positions after an expansion map back to the original text.
        let text = MINIMAL.replace("client_id = \"a\"", "client_id = \"${HOME}\", oops = 1");
        assert!(err(&text).starts_with("s.toml:4:"), "{}", err(&text));
    }

    #[test]
    fn stages_ramp_linearly() {
        let text = MINIMAL.replace("rate = 10\n", "rate = 0\nstages = [{ duration = \"10s\", rate = 100 }, { duration = \"10s\", rate = 100 }]\n")
            .replace("duration = \"1s\"\n", "");
        let p = Plan::parse(&text, "s.toml", "s").unwrap();
        assert_eq!(p.duration, Duration::from_secs(20));
        assert!((p.rate_at(Duration::from_secs(5)) - 50.0).abs() < 1e-9);
        assert!((p.rate_at(Duration::from_secs(15)) - 100.0).abs() < 1e-9);
    }
}
