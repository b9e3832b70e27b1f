//! Capacity search: "up to what rate does the endpoint keep its
//! thresholds, and what breaks first?". The scenario's thresholds are the
//! criteria. Steps at rising rates (each an open-model run of a set length
//! after an unrecorded warm-up) go from `from`, by a factor or an
//! increment, up to `max`; then a bisection narrows between the last rate
//! that passed and the first that failed, to a set precision. A step with
//! more errors than the cutoff fails whatever the thresholds say, so no
//! higher rate is ever tried after it; a step whose dispatcher fell behind
//! ends the search at once, since then the driver, not the server, is what
//! was measured.
//!
//! Each step is a normal report directory (`step-NN-<rate>/` with its
//! `summary.json`, `latency.hlog` and `report.html`), so `report` and
//! `merge` read it; the search's own result is `search.json` and a
//! `report.html` whose first chart is latency and errors against the
//! offered rate: the knee.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::recorder::Key;
use crate::report::Summary;
use crate::scenario::{LoadModel, MAX_DURATION, Plan};
use crate::{LoadError, RunOptions};

/// The version of `search.json`'s schema.
pub const SCHEMA: &str = "tokenprobe.search/1";

/// How the rate grows from one step to the next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Growth {
    /// Times this.
    Factor(f64),
    /// Plus this.
    Increment(f64),
}

/// A search's settings, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// The first rate.
    pub from: f64,
    /// The highest rate tried.
    pub max: f64,
    /// From one step to the next.
    pub growth: Growth,
    /// Each step's measured length.
    pub step: Duration,
    /// Each step's unrecorded start.
    pub warmup: Duration,
    /// The bisection's stopping width, as a fraction of its lower end.
    pub precision: f64,
    /// The error rate that ends the search at once.
    pub error_cutoff: f64,
    /// The dispatcher lag (p99) past which the driver is the bottleneck.
    pub driver_lag_limit: Duration,
    /// How many more times the final bisection runs.
    pub repeat: u32,
}

impl Spec {
    /// The search settings of `model`, or why they do not make sense.
    pub fn of(model: &LoadModel) -> Result<Spec, String> {
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
        } = model
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

    /// When step `n` (from 0) of a sharded search starts: shards start
    /// each step at the same time, in slots long enough for a step's
    /// warm-up, its length, the grace and a second to spare.
    fn step_due(&self, start_at: SystemTime, grace: Duration, n: usize) -> SystemTime {
        let slot = self.warmup + self.step + grace + Duration::from_secs(1);
        start_at + slot * u32::try_from(n).unwrap_or(u32::MAX)
    }

    fn grow(&self, rate: f64) -> f64 {
        let next = match self.growth {
            Growth::Factor(f) => rate * f,
            Growth::Increment(i) => rate + i,
        };
        next.min(self.max)
    }
}

/// How one step went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
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

impl Verdict {
    fn passed(&self) -> bool {
        matches!(self, Verdict::Pass)
    }

    /// In a word, as the table prints it.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail { .. } => "fail",
            Verdict::TooManyErrors { .. } => "errors",
            Verdict::DriverBottleneck { .. } => "driver",
        }
    }

    /// A step's verdict from its summary.
    pub fn of(s: &Summary, spec: &Spec) -> Verdict {
        let lag_p99 = s.driver_lag_ms[1];
        let limit = spec.driver_lag_limit.as_secs_f64() * 1000.0;
        if lag_p99 > limit {
            return Verdict::DriverBottleneck {
                why: format!(
                    "the dispatcher's lag p99 was {lag_p99:.2} ms, over the {limit:.2} ms limit"
                ),
            };
        }
        if let Some(cpu) = s.cpu.as_ref().filter(|c| !c.includes_stub && c.share > 0.9) {
            return Verdict::DriverBottleneck {
                why: format!(
                    "the generator used {:.0}% of its {} core(s)",
                    cpu.share * 100.0,
                    cpu.cores
                ),
            };
        }
        let error_rate = s.error_rate();
        if error_rate > spec.error_cutoff {
            return Verdict::TooManyErrors { errors: error_rate };
        }
        match s.thresholds.iter().find(|t| !t.pass) {
            None => Verdict::Pass,
            Some(t) => Verdict::Fail {
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

/// What the search does next, from what the steps said: the growth, then
/// the bisection (repeated if asked). No I/O, so every path is testable.
#[derive(Debug, Clone)]
pub struct Engine {
    spec: Spec,
    /// The highest rate that passed, and the lowest that failed.
    pass: Option<f64>,
    fail: Option<f64>,
    /// The bracket the growth found, where each repeat starts again.
    grown: Option<(f64, f64)>,
    repeats_left: u32,
    /// The capacity each finished bisection found.
    capacities: Vec<f64>,
    ending: Option<Ending>,
    /// A sharded search: every rate of the growth up to `max`, whatever
    /// each shard sees (the verdicts are the merged run's).
    ladder: Option<f64>,
}

impl Engine {
    /// A search with `spec`.
    pub fn new(spec: Spec) -> Engine {
        Engine {
            repeats_left: spec.repeat,
            spec,
            pass: None,
            fail: None,
            grown: None,
            capacities: Vec::new(),
            ending: None,
            ladder: None,
        }
    }

    /// A search whose steps do not depend on the verdicts: from `from`,
    /// grown up to `max`. Shards run it, each at its share of every rate,
    /// so that their steps line up; `merge` judges the merged steps.
    pub fn ladder(spec: Spec) -> Engine {
        let mut engine = Engine::new(spec);
        engine.ladder = Some(0.0);
        engine
    }

    /// The next rate to run, or `None` when the search is over.
    pub fn next_rate(&mut self) -> Option<f64> {
        if self.ending.is_some() {
            return None;
        }
        if let Some(last) = self.ladder {
            let next = match last {
                0.0 => self.spec.from,
                l if l >= self.spec.max => {
                    self.ending = Some(Ending::Found);
                    return None;
                }
                l => self.spec.grow(l),
            };
            self.ladder = Some(next);
            return Some(next);
        }
        match (self.pass, self.fail) {
            (None, _) => Some(self.spec.from),
            (Some(pass), None) => Some(self.spec.grow(pass)),
            (Some(pass), Some(fail)) => {
                if fail - pass <= pass * self.spec.precision {
                    self.capacities.push(pass);
                    match (self.repeats_left, self.grown) {
                        (n, Some((low, high))) if n > 0 => {
                            self.repeats_left -= 1;
                            self.pass = Some(low);
                            self.fail = Some(high);
                            self.next_rate()
                        }
                        _ => {
                            self.ending = Some(Ending::Found);
                            None
                        }
                    }
                } else {
                    Some(((pass + fail) / 2.0 * 10.0).round() / 10.0)
                }
            }
        }
    }

    /// What the step at `rate` said.
    pub fn record(&mut self, rate: f64, verdict: &Verdict) {
        if self.ladder.is_some() {
            return;
        }
        let growing = self.fail.is_none();
        match verdict {
            Verdict::DriverBottleneck { .. } => self.ending = Some(Ending::DriverBottleneck),
            Verdict::Pass => {
                self.pass = Some(rate);
                if growing && rate >= self.spec.max {
                    self.ending = Some(Ending::AboveMax);
                }
            }
            Verdict::Fail { .. } | Verdict::TooManyErrors { .. } => {
                self.fail = Some(rate);
                match self.pass {
                    None => self.ending = Some(Ending::FromFails),
                    Some(pass) if growing => self.grown = Some((pass, rate)),
                    Some(_) => {}
                }
            }
        }
    }

    /// Why it ended (when it has).
    pub fn ending(&self) -> Option<Ending> {
        self.ending
    }

    /// The capacity of each bisection (one, plus the repeats).
    pub fn capacities(&self) -> &[f64] {
        &self.capacities
    }
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
    pub verdict: Verdict,
    /// Acquisitions started.
    pub started: u64,
    /// Errors over started.
    pub error_rate: f64,
    /// p50 and p99 of successful acquisitions (all flows), from the
    /// intended start, ms.
    pub p50_ms: Option<f64>,
    /// p99.
    pub p99_ms: Option<f64>,
    /// The dispatcher's lag p99, ms.
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
    /// The dispatcher lag p99 over which the driver is the bottleneck, ms.
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

/// Runs a search plan: the target once, then each step as an open-model
/// run in its own report directory.
pub async fn run(plan: &Plan, options: RunOptions) -> Result<Searched, LoadError> {
    let spec = Spec::of(&plan.scenario.load).map_err(LoadError::Setup)?;
    let (target, flows, transport) = crate::prepare(plan).await?;
    let wall = SystemTime::now();
    let began = Instant::now();
    let dir = crate::run_dir(plan, wall)?;
    let mut engine = match plan.shard {
        Some(_) => Engine::ladder(spec.clone()),
        None => Engine::new(spec.clone()),
    };
    let start_at = plan.shard.as_ref().and_then(|s| s.start_at);
    let mut steps: Vec<StepRow> = Vec::new();
    let mut interrupted = false;
    while let Some(rate) = engine.next_rate() {
        if let Some(at) = start_at {
            let due = spec.step_due(at, plan.grace, steps.len());
            if let Ok(wait) = due.duration_since(SystemTime::now()) {
                let mut stop = options.stop.clone();
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        if *options.stop.borrow() {
            interrupted = true;
            break;
        }
        let step = |length, name: &str| -> Result<(Plan, PathBuf), LoadError> {
            let dir = crate::new_dir(&dir, name).map_err(LoadError::Report)?;
            Ok((plan.step(rate, length, &dir), dir))
        };
        if !spec.warmup.is_zero() {
            let (warm, warm_dir) = step(spec.warmup, ".warmup")?;
            let quiet = RunOptions {
                quiet: true,
                stop: options.stop.clone(),
                metrics_listen: None,
            };
            let warmed = crate::drive(
                &warm,
                warm_dir.clone(),
                flows.clone(),
                transport.clone(),
                &quiet,
            )
            .await;
            let _ = std::fs::remove_dir_all(&warm_dir);
            warmed?;
        }
        let index = steps.len() + 1;
        let (measured, step_dir) = step(spec.step, &format!("step-{index:02}-{rate:.1}"))?;
        let recorded = crate::drive(
            &measured,
            step_dir.clone(),
            flows.clone(),
            transport.clone(),
            &options,
        )
        .await?;
        let summary = crate::summarize(&measured, &recorded);
        let done = crate::write_reports(&step_dir, &summary)?;
        let verdict = Verdict::of(&done.summary, &spec);
        steps.push(row(index, rate, &done.summary, verdict.clone(), &step_dir));
        if done.summary.partial {
            interrupted = true;
            break;
        }
        engine.record(rate, &verdict);
    }
    if let Some(stub) = target.stub {
        stub.shutdown().await;
    }
    let result = result(
        plan,
        &spec,
        &engine,
        steps,
        interrupted,
        wall,
        began.elapsed(),
    );
    let json = serde_json::to_vec_pretty(&result).map_err(|e| LoadError::Report(e.to_string()))?;
    std::fs::write(dir.join("search.json"), json).map_err(|e| LoadError::Report(e.to_string()))?;
    std::fs::write(dir.join("report.html"), crate::html::search_page(&result))
        .map_err(|e| LoadError::Report(e.to_string()))?;
    let table = table(&result);
    Ok(Searched { dir, result, table })
}

fn row(index: usize, rate: f64, s: &Summary, verdict: Verdict, dir: &Path) -> StepRow {
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

fn result(
    plan: &Plan,
    spec: &Spec,
    engine: &Engine,
    steps: Vec<StepRow>,
    interrupted: bool,
    wall: SystemTime,
    elapsed: Duration,
) -> SearchResult {
    let (capacity, first_failing) = bracket(&steps);
    let broke_first = first_failing.map(broke);
    let ending = match (interrupted, engine.ending()) {
        (true, _) | (false, None) => Ending::Interrupted,
        (false, Some(_)) if engine.ladder.is_some() => ladder_ending(&steps),
        (false, Some(e)) => e,
    };
    let mut capacities = engine.capacities().to_vec();
    if capacities.is_empty() {
        capacities.extend(capacity);
    }
    SearchResult {
        schema: SCHEMA.into(),
        scenario: plan.name.clone(),
        started_at: humantime::format_rfc3339_millis(wall).to_string(),
        elapsed_secs: elapsed.as_secs_f64(),
        from: spec.from,
        max: spec.max,
        step_secs: spec.step.as_secs_f64(),
        warmup_secs: spec.warmup.as_secs_f64(),
        precision: spec.precision,
        error_cutoff: spec.error_cutoff,
        driver_lag_limit_ms: spec.driver_lag_limit.as_secs_f64() * 1000.0,
        run_id: plan.shard.as_ref().map(|s| s.run_id.clone()),
        shard: plan.shard.as_ref().map(|s| [s.index, s.count]),
        criteria: plan.thresholds.iter().map(|t| t.text.clone()).collect(),
        ending,
        capacity,
        first_failing: first_failing.map(|s| s.rate),
        broke_first,
        capacities,
        steps,
    }
}

/// Merges the shards of one sharded search: each step's reports merged as
/// `merge` merges runs, then judged against the search's criteria, so the
/// verdicts are the whole run's.
pub fn merge(dirs: &[&Path], out: &Path) -> Result<Searched, String> {
    let mut shards = Vec::new();
    for dir in dirs {
        let path = dir.join("search.json");
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let r: SearchResult =
            serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        if r.schema != SCHEMA {
            return Err(format!(
                "{}: schema {:?}, expected {SCHEMA}",
                path.display(),
                r.schema
            ));
        }
        shards.push((*dir, r));
    }
    let Some((_, first)) = shards.first() else {
        return Err("nothing to merge".into());
    };
    if first.run_id.is_none() || shards.iter().any(|(_, r)| r.run_id != first.run_id) {
        return Err("the searches are not shards of one run (their run ids differ)".into());
    }
    let spec = Spec {
        from: first.from,
        max: first.max,
        growth: Growth::Factor(2.0),
        step: Duration::from_secs_f64(first.step_secs),
        warmup: Duration::from_secs_f64(first.warmup_secs),
        precision: first.precision,
        error_cutoff: first.error_cutoff,
        driver_lag_limit: Duration::from_secs_f64(first.driver_lag_limit_ms / 1000.0),
        repeat: 0,
    };
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut steps = Vec::new();
    for step in &first.steps {
        let dirs: Vec<PathBuf> = shards
            .iter()
            .filter_map(|(dir, r)| {
                let own = r.steps.iter().find(|s| s.index == step.index)?;
                Some(dir.join(&own.dir))
            })
            .collect();
        let dirs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
        let merged_dir = out.join(&step.dir);
        let merged = crate::merge::merge(&dirs, &merged_dir)?;
        let verdict = Verdict::of(&merged.summary, &spec);
        steps.push(row(
            step.index,
            step.rate,
            &merged.summary,
            verdict,
            &merged_dir,
        ));
    }
    let ending = ladder_ending(&steps);
    let elapsed = shards
        .iter()
        .map(|(_, r)| r.elapsed_secs)
        .fold(0.0, f64::max);
    let mut result = SearchResult {
        elapsed_secs: elapsed,
        shard: None,
        ..first.clone()
    };
    let (capacity, first_failing) = bracket(&steps);
    result.capacity = capacity;
    result.broke_first = first_failing.map(broke);
    result.first_failing = first_failing.map(|s| s.rate);
    result.capacities = result.capacity.into_iter().collect();
    result.ending = ending;
    result.steps = steps;
    let json = serde_json::to_vec_pretty(&result).map_err(|e| e.to_string())?;
    std::fs::write(out.join("search.json"), json).map_err(|e| e.to_string())?;
    std::fs::write(out.join("report.html"), crate::html::search_page(&result))
        .map_err(|e| e.to_string())?;
    let table = table(&result);
    Ok(Searched {
        dir: out.to_owned(),
        result,
        table,
    })
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
        Verdict::Pass => String::new(),
        Verdict::Fail { broke } => broke.clone(),
        Verdict::TooManyErrors { errors } => {
            format!("errors {:.2}% over the cutoff", errors * 100.0)
        }
        Verdict::DriverBottleneck { why } => why.clone(),
    }
}

/// How a ladder's steps end a search: the first failing, or none.
fn ladder_ending(steps: &[StepRow]) -> Ending {
    let mut by_rate: Vec<&StepRow> = steps.iter().collect();
    by_rate.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    match by_rate.iter().position(|s| !s.verdict.passed()) {
        Some(i) if matches!(by_rate[i].verdict, Verdict::DriverBottleneck { .. }) => {
            Ending::DriverBottleneck
        }
        Some(0) => Ending::FromFails,
        Some(_) => Ending::Found,
        None => Ending::AboveMax,
    }
}

/// The terminal table of a search.
pub fn table(r: &SearchResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — capacity search from {:.1}/s to {:.1}/s, steps of {:.0} s after {:.0} s of warm-up, \
         precision {:.0}%; criteria: {}",
        r.scenario,
        r.from,
        r.max,
        r.step_secs,
        r.warmup_secs,
        r.precision * 100.0,
        r.criteria.join(", ")
    );
    let _ = writeln!(
        out,
        "{:>4} {:>10} {:>11} {:>9} {:>9} {:>8} {:>11}  verdict",
        "step", "rate/s", "achieved/s", "p50 ms", "p99 ms", "errors", "lag p99 ms"
    );
    let ms = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.2}"));
    for s in &r.steps {
        let why = match &s.verdict {
            Verdict::Pass => String::new(),
            Verdict::Fail { broke } => format!(" ({broke})"),
            Verdict::TooManyErrors { .. } => " (over the error cutoff)".into(),
            Verdict::DriverBottleneck { why } => format!(" ({why})"),
        };
        let _ = writeln!(
            out,
            "{:>4} {:>10.1} {:>11.1} {:>9} {:>9} {:>7.2}% {:>11.2}  {}{why}",
            s.index,
            s.rate,
            s.achieved_rate,
            ms(s.p50_ms),
            ms(s.p99_ms),
            s.error_rate * 100.0,
            s.lag_p99_ms,
            s.verdict.name()
        );
    }
    let _ = writeln!(out, "result: {}", r.conclusion());
    if r.capacities.len() > 1 {
        let (min, max) = r
            .capacities
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), c| (a.min(*c), b.max(*c)));
        let _ = writeln!(
            out,
            "repeats: capacities {} (spread {:.1}/s to {:.1}/s)",
            r.capacities
                .iter()
                .map(|c| format!("{c:.1}"))
                .collect::<Vec<_>>()
                .join(", "),
            min,
            max
        );
    }
    let _ = writeln!(out, "the search took {:.1} s", r.elapsed_secs);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec {
            from: 50.0,
            max: 1000.0,
            growth: Growth::Factor(2.0),
            step: Duration::from_secs(1),
            warmup: Duration::ZERO,
            precision: 0.05,
            error_cutoff: 0.1,
            driver_lag_limit: Duration::from_millis(5),
            repeat: 0,
        }
    }

    fn fail() -> Verdict {
        Verdict::Fail {
            broke: "p99 < 100ms".into(),
        }
    }

    /// Runs the engine against a server whose knee is `knee`.
    fn search(mut engine: Engine, knee: f64) -> (Engine, Vec<f64>) {
        let mut rates = Vec::new();
        while let Some(rate) = engine.next_rate() {
            rates.push(rate);
            assert!(rates.len() < 100, "{rates:?}");
            let v = if rate <= knee { Verdict::Pass } else { fail() };
            engine.record(rate, &v);
        }
        (engine, rates)
    }

    /// A step's verdict from its summary: the driver first (its lag,
    /// then its CPU unless the stub shares it), then the errors, then the
    /// thresholds in order, each limit exclusive.
    #[test]
    fn a_steps_verdict_reads_driver_errors_then_thresholds() {
        // 100 acquisitions, `errors` of them failed; lag p99 and CPU share.
        let step = |errors: u64, lag_p99: f64, share: f64, stub: bool, t: &[(&str, bool)]| {
            let mut s = crate::testdata::summary(&[("cess", 100 - errors, errors)], 1.0);
            s["driver_lag_ms"] = serde_json::json!([0.0, lag_p99, 0.0]);
            s["cpu"] = serde_json::json!({"secs": 0.0, "per_acquisition_us": 0.0,
                "cores": 2, "share": share, "includes_stub": stub});
            s["thresholds"] = t
                .iter()
                .map(|(name, pass)| serde_json::json!({"threshold": name, "actual": 1.0, "pass": pass}))
                .collect();
            let s: Summary = serde_json::from_value(s).unwrap();
            Verdict::of(&s, &spec())
        };
        // spec(): lag limit 5 ms, error cutoff 10 %.
        let holds = [("p99 < 1s", true), ("p50 < 1s", true)];
        assert_eq!(step(10, 5.0, 0.9, false, &holds), Verdict::Pass);
        assert_eq!(step(10, 5.0, 0.9, false, &holds).name(), "pass");
        let lagged = step(0, 5.01, 0.0, false, &holds);
        assert!(
            matches!(&lagged, Verdict::DriverBottleneck { why } if why.contains("5.01 ms, over the 5.00 ms")),
            "{lagged:?}"
        );
        assert_eq!(lagged.name(), "driver");
        let busy = step(0, 0.0, 0.91, false, &holds);
        assert!(
            matches!(&busy, Verdict::DriverBottleneck { why } if why.contains("91% of its 2 core")),
            "{busy:?}"
        );
        // A stub in the same process shares the CPU: not the driver's.
        assert_eq!(step(0, 0.0, 0.99, true, &holds), Verdict::Pass);
        let errors = step(11, 0.0, 0.0, false, &holds);
        assert_eq!(errors, Verdict::TooManyErrors { errors: 0.11 });
        assert_eq!(errors.name(), "errors");
        let broke = step(
            0,
            0.0,
            0.0,
            false,
            &[("p99 < 1s", true), ("p50 < 2ms", false), ("x", false)],
        );
        assert_eq!(
            broke,
            Verdict::Fail {
                broke: "p50 < 2ms".into()
            }
        );
        assert_eq!(broke.name(), "fail");
        assert!(Verdict::Pass.passed() && !broke.passed());
    }

    /// A search's settings, each at the edges of what makes sense.
    #[test]
    fn settings_are_refused_past_their_edges() {
        // `extra`'s keys over a search from 50/s to 400/s.
        let of = |extra: &str| {
            let mut t: toml::Table = "model = \"search\"\nfrom = 50.0\nmax = 400.0"
                .parse()
                .unwrap();
            t.extend(extra.parse::<toml::Table>().unwrap());
            Spec::of(&t.try_into::<LoadModel>().unwrap())
        };
        let ok = |extra: &str| of(extra).unwrap_or_else(|e| panic!("{extra}: {e}"));
        assert_eq!(ok("").growth, Growth::Factor(2.0));
        assert_eq!(ok("max = 50.0").max, 50.0);
        assert_eq!(ok("factor = 1.01").growth, Growth::Factor(1.01));
        assert_eq!(ok("factor = 100.0").growth, Growth::Factor(100.0));
        assert_eq!(ok("increment = 10.0").growth, Growth::Increment(10.0));
        let s = ok("precision = 1.0\nerror_cutoff = 1.0\nrepeat = 20\nstep = \"2s\"");
        assert_eq!((s.precision, s.error_cutoff, s.repeat), (1.0, 1.0, 20));
        assert_eq!(s.step, Duration::from_secs(2));
        assert_eq!(ok("precision = 0.001").precision, 0.001);
        let month = Duration::from_secs(30 * 86_400);
        let s = ok("step = \"30d\"\nwarmup = \"30d\"");
        assert_eq!((s.step, s.warmup), (month, month));
        for (bad, says) in [
            ("from = 0.0", "`from` is above 0"),
            ("max = 49.0", "`max` at least `from`"),
            ("factor = 1.0", "`factor` is from 1.01 to 100"),
            ("factor = 100.5", "`factor` is from 1.01 to 100"),
            ("factor = 2.0\nincrement = 5.0", "not both"),
            ("increment = 0.0", "`increment` is above 0"),
            ("increment = inf", "`increment` is above 0"),
            ("step = \"31d\"", "at most 30 days"),
            ("step = \"0s\"", "`step` is above 0"),
            ("warmup = \"31d\"", "at most 30 days"),
            ("precision = 0.0009", "`precision` is from 0.001 to 1"),
            ("precision = 1.01", "`precision` is from 0.001 to 1"),
            ("error_cutoff = 0.0", "`error_cutoff` is above 0"),
            ("error_cutoff = 1.01", "`error_cutoff` is above 0"),
            ("repeat = 21", "`repeat` is at most 20"),
        ] {
            let e = of(bad).err().unwrap_or_else(|| panic!("{bad} was taken"));
            assert!(e.contains(says), "{bad}: {e}");
        }
        let open = toml::from_str::<LoadModel>("model = \"open\"\nrate = 5.0").unwrap();
        assert_eq!(Spec::of(&open).unwrap_err(), "not a search");
    }

    #[test]
    fn it_grows_then_narrows_to_the_precision() {
        let (engine, rates) = search(Engine::new(spec()), 200.0);
        assert_eq!(&rates[..4], &[50.0, 100.0, 200.0, 400.0]);
        assert_eq!(engine.ending(), Some(Ending::Found));
        let found = engine.capacities()[0];
        assert!((200.0 / 1.05..=200.0).contains(&found), "{found} {rates:?}");
    }

    #[test]
    fn from_failing_ends_it_and_max_passing_ends_it() {
        let (engine, rates) = search(Engine::new(spec()), 10.0);
        assert_eq!(
            (rates, engine.ending()),
            (vec![50.0], Some(Ending::FromFails))
        );
        let (engine, rates) = search(Engine::new(spec()), 5000.0);
        assert_eq!(rates, [50.0, 100.0, 200.0, 400.0, 800.0, 1000.0]);
        assert_eq!(engine.ending(), Some(Ending::AboveMax));
    }

    #[test]
    fn errors_stop_the_growth_and_the_driver_ends_it_at_once() {
        let mut engine = Engine::new(spec());
        engine.next_rate();
        engine.record(50.0, &Verdict::Pass);
        let rate = engine.next_rate().unwrap();
        engine.record(rate, &Verdict::TooManyErrors { errors: 0.5 });
        // Never above 100 again: the bisection stays below it.
        while let Some(r) = engine.next_rate() {
            assert!(r > 50.0 && r < 100.0, "{r}");
            engine.record(r, &fail());
        }
        assert_eq!(engine.ending(), Some(Ending::Found));
        assert_eq!(engine.capacities(), [50.0]);
        let mut engine = Engine::new(spec());
        engine.next_rate();
        engine.record(50.0, &Verdict::DriverBottleneck { why: "lag".into() });
        assert_eq!(
            (engine.next_rate(), engine.ending()),
            (None, Some(Ending::DriverBottleneck))
        );
    }

    #[test]
    fn repeats_narrow_the_same_bracket_again() {
        let mut s = spec();
        s.repeat = 2;
        let (engine, _) = search(Engine::new(s), 300.0);
        assert_eq!(engine.capacities().len(), 3);
        assert_eq!(engine.ending(), Some(Ending::Found));
    }

    #[test]
    fn increments_grow_by_addition() {
        let mut s = spec();
        s.growth = Growth::Increment(100.0);
        let (_, rates) = search(Engine::new(s), 320.0);
        assert_eq!(&rates[..5], &[50.0, 150.0, 250.0, 350.0, 300.0]);
    }

    #[test]
    fn a_ladder_runs_every_rate_whatever_the_verdicts() {
        let mut engine = Engine::ladder(spec());
        let mut rates = Vec::new();
        while let Some(rate) = engine.next_rate() {
            rates.push(rate);
            assert!(rates.len() < 100, "{rates:?}");
            engine.record(rate, &fail());
        }
        assert_eq!(rates, [50.0, 100.0, 200.0, 400.0, 800.0, 1000.0]);
        assert_eq!(engine.ending(), Some(Ending::Found));
        assert!(engine.capacities().is_empty());
    }

    /// A repeat starts again from the bracket the growth found, not from
    /// the one the last bisection narrowed to.
    #[test]
    fn a_repeat_bisects_the_grown_bracket_again() {
        let mut s = spec();
        s.repeat = 1;
        let (engine, rates) = search(Engine::new(s), 300.0);
        // Grown to (200, 400); 300 passes, then (300, 400) narrows to
        // within 5 % of 300: 350, 325, 312.5 fail.
        let bisection = [300.0, 350.0, 325.0, 312.5];
        assert_eq!(&rates[..4], &[50.0, 100.0, 200.0, 400.0]);
        assert_eq!(&rates[4..], [bisection, bisection].concat(), "{rates:?}");
        assert_eq!(engine.capacities(), [300.0, 300.0]);
    }

    /// Sharded steps start at the same times: slots of warm-up, step,
    /// grace and a second.
    #[test]
    fn sharded_steps_start_a_slot_apart() {
        let mut s = spec();
        s.warmup = Duration::from_millis(500);
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let grace = Duration::from_secs(2);
        // 0.5 + 1 + 2 + 1 = 4.5 s a step.
        assert_eq!(s.step_due(at, grace, 0), at);
        assert_eq!(s.step_due(at, grace, 3), at + Duration::from_millis(13_500));
    }

    /// A step as the result lists it.
    fn step(index: usize, rate: f64, verdict: Verdict) -> StepRow {
        StepRow {
            index,
            rate,
            achieved_rate: rate - 0.5,
            verdict,
            started: 10 * index as u64,
            error_rate: 0.25,
            p50_ms: Some(1.5),
            p99_ms: None,
            lag_p99_ms: 0.125,
            dir: format!("step-{index:02}-{rate:.1}"),
        }
    }

    fn too_many() -> Verdict {
        Verdict::TooManyErrors { errors: 0.125 }
    }

    fn driver() -> Verdict {
        Verdict::DriverBottleneck { why: "lag".into() }
    }

    /// The capacity is the highest pass below the lowest failure (a pass
    /// at or above it, by chance on a ladder, does not count); a ladder
    /// ends as its lowest failure says.
    #[test]
    fn the_bracket_and_a_ladders_ending_come_from_the_lowest_failure() {
        let steps = [
            step(1, 50.0, Verdict::Pass),
            step(2, 400.0, Verdict::Pass),
            step(3, 200.0, fail()),
            step(4, 100.0, Verdict::Pass),
            step(5, 200.0, Verdict::Pass),
            step(6, 300.0, driver()),
        ];
        let (capacity, failing) = bracket(&steps);
        assert_eq!((capacity, failing.map(|s| s.index)), (Some(100.0), Some(3)));
        assert_eq!(ladder_ending(&steps), Ending::Found);
        let passes = [step(1, 50.0, Verdict::Pass), step(2, 100.0, Verdict::Pass)];
        assert_eq!(bracket(&passes), (Some(100.0), None));
        assert_eq!(ladder_ending(&passes), Ending::AboveMax);
        assert_eq!(bracket(&[]), (None, None));
        let first = [step(1, 100.0, Verdict::Pass), step(2, 50.0, too_many())];
        assert_eq!(bracket(&first).0, None);
        assert_eq!(ladder_ending(&first), Ending::FromFails);
        let lag = [
            step(1, 50.0, Verdict::Pass),
            step(2, 100.0, driver()),
            step(3, 200.0, fail()),
        ];
        assert_eq!(ladder_ending(&lag), Ending::DriverBottleneck);
        assert_eq!(
            ladder_ending(&[step(1, 50.0, driver())]),
            Ending::DriverBottleneck
        );
        assert_eq!(broke(&step(1, 1.0, fail())), "p99 < 100ms");
        assert_eq!(
            broke(&step(1, 1.0, too_many())),
            "errors 12.50% over the cutoff"
        );
        assert_eq!(broke(&step(1, 1.0, driver())), "lag");
        assert_eq!(broke(&step(1, 1.0, Verdict::Pass)), "");
    }

    /// A result with every setting at a value of its own.
    fn finished(ending: Ending, capacity: Option<f64>, failing: Option<f64>) -> SearchResult {
        SearchResult {
            schema: SCHEMA.into(),
            scenario: "knee".into(),
            started_at: "2026-12-04T00:00:00Z".into(),
            elapsed_secs: 12.25,
            from: 50.0,
            max: 1000.0,
            step_secs: 2.0,
            warmup_secs: 1.0,
            precision: 0.05,
            error_cutoff: 0.1,
            driver_lag_limit_ms: 5.0,
            run_id: None,
            shard: None,
            criteria: vec!["p99 < 100ms".into(), "p50 < 10ms".into()],
            ending,
            capacity,
            first_failing: failing,
            broke_first: failing.map(|_| "p99 < 100ms".into()),
            capacities: capacity.into_iter().collect(),
            steps: Vec::new(),
        }
    }

    #[test]
    fn each_ending_has_its_sentence_and_its_status() {
        let said = |ending, capacity, failing| {
            let r = finished(ending, capacity, failing);
            (r.conclusion(), r.exit_code())
        };
        assert_eq!(
            said(Ending::Found, Some(100.0), Some(150.0)),
            (
                "capacity 100.0/s (the highest rate that met every threshold); \
                 150.0/s failed first: p99 < 100ms"
                    .into(),
                0
            )
        );
        assert_eq!(
            said(Ending::AboveMax, Some(1000.0), None),
            (
                "every rate up to max 1000.0/s met the thresholds: the capacity is above it".into(),
                0
            )
        );
        assert_eq!(
            said(Ending::FromFails, None, Some(50.0)),
            (
                "even the first rate 50.0/s failed: p99 < 100ms: lower `from`".into(),
                1
            )
        );
        assert_eq!(
            said(Ending::DriverBottleneck, Some(50.0), Some(100.0)),
            (
                "stopped: the driver, not the server, was the bottleneck at 100.0/s: p99 < 100ms; \
                 give it more cores or shard the run"
                    .into(),
                1
            )
        );
        assert_eq!(
            said(Ending::Interrupted, None, None),
            (
                "interrupted; the highest rate that passed so far: -".into(),
                130
            )
        );
    }

    /// The terminal table: the settings, a row per step with its reason,
    /// the conclusion, the repeats' spread (only with repeats) and the time.
    #[test]
    fn the_table_lists_every_step_and_the_spread_of_repeats() {
        let mut r = finished(Ending::Found, Some(100.0), Some(150.0));
        r.steps = vec![
            step(1, 100.0, Verdict::Pass),
            step(2, 150.0, fail()),
            step(3, 125.0, too_many()),
            step(4, 112.5, driver()),
        ];
        let table = table(&r);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "knee — capacity search from 50.0/s to 1000.0/s, steps of 2 s after 1 s of warm-up, \
             precision 5%; criteria: p99 < 100ms, p50 < 10ms"
        );
        assert_eq!(
            lines[1],
            "step     rate/s  achieved/s    p50 ms    p99 ms   errors  lag p99 ms  verdict"
        );
        assert_eq!(
            lines[2],
            "   1      100.0        99.5      1.50         -   25.00%        0.12  pass"
        );
        assert!(lines[3].ends_with("  fail (p99 < 100ms)"), "{}", lines[3]);
        assert!(
            lines[4].ends_with("  errors (over the error cutoff)"),
            "{}",
            lines[4]
        );
        assert!(
            lines[5].starts_with("   4      112.5       112.0"),
            "{}",
            lines[5]
        );
        assert!(lines[5].ends_with("  driver (lag)"), "{}", lines[5]);
        assert_eq!(lines[6], format!("result: {}", r.conclusion()));
        assert_eq!(lines[7], "the search took 12.2 s");
        assert_eq!(lines.len(), 8);
        r.capacities = vec![100.0, 112.5, 106.2];
        let table = super::table(&r);
        assert!(
            table.contains(
                "\nrepeats: capacities 100.0, 112.5, 106.2 (spread 100.0/s to 112.5/s)\n"
            ),
            "{table}"
        );
    }

    /// A step's row from its report: the all-flows success percentiles,
    /// not another key's.
    #[test]
    fn a_row_reads_the_steps_summary() {
        let mut s = crate::testdata::summary(&[("cess", 90, 10)], 2.0);
        let latency = |flow: &str, outcome: &str, p50: f64| {
            serde_json::json!({"flow": flow, "step": "total", "outcome": outcome, "count": 1,
                "mean_ms": 0.0, "p50_ms": p50, "p90_ms": 0.0, "p99_ms": p50 * 10.0,
                "p999_ms": 0.0, "max_ms": 0.0})
        };
        s["latency"] = serde_json::json!([
            latency("cess", "ok", 1.0),
            latency("all", "err", 2.0),
            latency("all", "ok", 3.0)
        ]);
        s["driver_lag_ms"] = serde_json::json!([0.5, 0.75, 1.0]);
        let s: Summary = serde_json::from_value(s).unwrap();
        let row = row(3, 60.0, &s, Verdict::Pass, Path::new("out/step-03-60.0"));
        assert_eq!(
            row,
            StepRow {
                index: 3,
                rate: 60.0,
                achieved_rate: 50.0,
                verdict: Verdict::Pass,
                started: 100,
                error_rate: 0.1,
                p50_ms: Some(3.0),
                p99_ms: Some(30.0),
                lag_p99_ms: 0.75,
                dir: "step-03-60.0".into(),
            }
        );
    }

    /// The search's result: its ending from the engine (a ladder's from
    /// its steps), the capacities of each bisection or else the one, and
    /// the settings as the spec and the plan say.
    #[test]
    fn the_result_says_how_the_engine_ended() {
        let text = "target = \"stub\"\nthresholds = [\"p99 < 100ms\"]\n[[flows]]\n\
                    system = \"cognito\"\nclient_id = \"a\"\nclient_secret = { value = \"s\" }\n\
                    [load]\nmodel = \"search\"\nfrom = 50\nmax = 1000\n";
        let plan = crate::Plan::parse(text, "s.toml", "knee").unwrap();
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(86_400);
        let took = Duration::from_millis(2500);
        let (engine, rates) = search(Engine::new(spec()), 200.0);
        let steps: Vec<StepRow> = rates
            .iter()
            .enumerate()
            .map(|(i, r)| step(i + 1, *r, if *r <= 200.0 { Verdict::Pass } else { fail() }))
            .collect();
        let r = result(&plan, &spec(), &engine, steps.clone(), false, wall, took);
        assert_eq!(
            (r.ending, r.capacity, r.first_failing),
            (Ending::Found, Some(200.0), Some(206.3))
        );
        assert_eq!(r.capacities, engine.capacities());
        assert_eq!(r.broke_first.as_deref(), Some("p99 < 100ms"));
        assert_eq!(
            (r.scenario.as_str(), r.started_at.as_str()),
            ("knee", "1970-01-02T00:00:00.000Z")
        );
        assert_eq!(
            (r.elapsed_secs, r.step_secs, r.warmup_secs),
            (2.5, 1.0, 0.0)
        );
        assert_eq!(
            (r.from, r.max, r.precision, r.error_cutoff),
            (50.0, 1000.0, 0.05, 0.1)
        );
        assert_eq!(r.driver_lag_limit_ms, 5.0);
        assert_eq!(r.criteria, ["p99 < 100ms"]);
        assert_eq!((r.run_id, r.shard, r.steps), (None, None, steps));
        // Stopped before the engine ended, or asked to stop.
        let half = Engine::new(spec());
        assert_eq!(
            result(&plan, &spec(), &half, Vec::new(), false, wall, took).ending,
            Ending::Interrupted
        );
        let r = result(&plan, &spec(), &engine, Vec::new(), true, wall, took);
        assert_eq!(r.ending, Ending::Interrupted);
        // A shard's ladder: its own steps' ending, the one capacity.
        let mut ladder = Engine::ladder(spec());
        while ladder.next_rate().is_some() {}
        let sharded = plan
            .clone()
            .sharded(crate::scenario::Shard::parse("2/3", "r1".into(), None).unwrap());
        let steps = [step(1, 50.0, Verdict::Pass), step(2, 100.0, driver())];
        let r = result(
            &sharded,
            &spec(),
            &ladder,
            steps.to_vec(),
            false,
            wall,
            took,
        );
        assert_eq!(
            (r.ending, r.capacities),
            (Ending::DriverBottleneck, vec![50.0])
        );
        assert_eq!((r.run_id.as_deref(), r.shard), (Some("r1"), Some([2, 3])));
    }

    /// Shard `i` of a run's search: its `search.json` (steps at 50, 100
    /// and 200/s) and each step's report, `(ok, errors, lag p99)` a step.
    fn shard_search(dir: &Path, run_id: Option<&str>, i: u32, steps: [(u64, u64, f64); 3]) {
        let mut r = finished(Ending::Found, None, None);
        r.run_id = run_id.map(Into::into);
        r.shard = Some([i, 2]);
        r.elapsed_secs = f64::from(i) * 10.0;
        r.criteria = Vec::new();
        for (n, (rate, (ok, errors, lag))) in
            [50.0, 100.0, 200.0].into_iter().zip(steps).enumerate()
        {
            // Step dirs named by each shard's own order, not the index.
            let own = format!("own-{}-{}", i, 3 - n);
            r.steps.push(StepRow {
                dir: own.clone(),
                ..step(n + 1, rate, Verdict::Pass)
            });
            let mut s = crate::testdata::summary(&[("cess", ok, errors)], 1.0);
            s["run_id"] = run_id.into();
            s["shard"] = serde_json::json!([i, 2]);
            s["driver_lag_ms"] = serde_json::json!([0.0, lag, 0.0]);
            crate::testdata::write(
                &dir.join(own),
                &s,
                &[(0, "cess/total/ok".into(), vec![1000; ok as usize])],
            );
        }
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("search.json"), serde_json::to_vec(&r).unwrap()).unwrap();
    }

    /// The merged steps are judged as one run: their counts add up, the
    /// errors are the whole run's rate, the lag limit is the run's (ms).
    #[test]
    fn merging_shards_judges_each_merged_step() {
        let base = crate::testdata::dir("search-merge");
        let (one, two, out) = (base.join("1"), base.join("2"), base.join("out"));
        // 100/s: 5 errors in 20 (25 % > 10 %); 200/s: a lag of 6 ms > 5 ms.
        shard_search(
            &one,
            Some("r1"),
            1,
            [(10, 0, 1.0), (10, 0, 1.0), (10, 0, 1.0)],
        );
        shard_search(
            &two,
            Some("r1"),
            2,
            [(20, 0, 4.0), (5, 5, 1.0), (20, 0, 6.0)],
        );
        let merged = merge(&[&one, &two], &out).unwrap();
        let r = &merged.result;
        let started: Vec<u64> = r.steps.iter().map(|s| s.started).collect();
        assert_eq!(started, [30, 20, 30]);
        assert_eq!(r.steps[0].verdict, Verdict::Pass);
        assert_eq!(r.steps[1].verdict, Verdict::TooManyErrors { errors: 0.25 });
        assert!(
            matches!(r.steps[2].verdict, Verdict::DriverBottleneck { .. }),
            "{:?}",
            r.steps[2]
        );
        assert_eq!(
            (r.ending, r.capacity, r.first_failing),
            (Ending::Found, Some(50.0), Some(100.0))
        );
        assert_eq!(
            r.broke_first.as_deref(),
            Some("errors 25.00% over the cutoff")
        );
        assert_eq!(
            (r.capacities.as_slice(), r.elapsed_secs, r.shard),
            (&[50.0][..], 20.0, None)
        );
        assert_eq!(r.run_id.as_deref(), Some("r1"));
        // Each merged step in a directory named as the first shard's.
        assert_eq!(r.steps[1].dir, "own-1-2");
        assert!(out.join("own-1-2/summary.json").exists());
        let written: SearchResult =
            serde_json::from_slice(&std::fs::read(out.join("search.json")).unwrap()).unwrap();
        assert_eq!(&written, r);
        // Not shards of one run, or not a search at all.
        shard_search(&two, Some("r2"), 2, [(1, 0, 0.0); 3]);
        assert!(
            merge(&[&one, &two], &out)
                .unwrap_err()
                .contains("run ids differ")
        );
        shard_search(&one, None, 1, [(1, 0, 0.0); 3]);
        shard_search(&two, None, 2, [(1, 0, 0.0); 3]);
        assert!(
            merge(&[&one, &two], &out)
                .unwrap_err()
                .contains("run ids differ")
        );
        let mut other: serde_json::Value =
            serde_json::from_slice(&std::fs::read(one.join("search.json")).unwrap()).unwrap();
        other["schema"] = "tokenprobe.search/0".into();
        std::fs::write(one.join("search.json"), other.to_string()).unwrap();
        assert!(
            merge(&[&one], &out)
                .unwrap_err()
                .contains("schema \"tokenprobe.search/0\"")
        );
        assert_eq!(merge(&[], &out).unwrap_err(), "nothing to merge");
        let _ = std::fs::remove_dir_all(base);
    }
}
