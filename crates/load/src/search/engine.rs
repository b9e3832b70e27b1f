//! The search's engine: what it runs next, from what the steps said. No
//! I/O and no clock, so every path is a unit test.

use std::time::{Duration, SystemTime};

use super::{Ending, StepVerdict};

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
    /// The error rate over which a step fails whatever the thresholds say
    /// (no higher rate is tried after it).
    pub error_cutoff: f64,
    /// The dispatcher lag (p99) past which the driver is the bottleneck.
    pub driver_lag_limit: Duration,
    /// How many more times the final bisection runs.
    pub repeat: u32,
}

impl Spec {
    /// When step `n` (from 0) of a sharded search starts: shards start
    /// each step at the same time, in slots long enough for a step's
    /// warm-up, its length, the grace and a second to spare.
    pub(super) fn step_due(&self, start_at: SystemTime, grace: Duration, n: usize) -> SystemTime {
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
    pub fn record(&mut self, rate: f64, verdict: &StepVerdict) {
        if self.ladder.is_some() {
            return;
        }
        let growing = self.fail.is_none();
        match verdict {
            StepVerdict::DriverBottleneck { .. } => self.ending = Some(Ending::DriverBottleneck),
            StepVerdict::Pass => {
                self.pass = Some(rate);
                if growing && rate >= self.spec.max {
                    self.ending = Some(Ending::AboveMax);
                }
            }
            StepVerdict::Fail { .. } | StepVerdict::TooManyErrors { .. } => {
                self.fail = Some(rate);
                match self.pass {
                    None => self.ending = Some(Ending::FromFails),
                    Some(pass) if growing => self.grown = Some((pass, rate)),
                    Some(_) => {}
                }
            }
        }
    }

    /// Whether it runs every rate whatever the verdicts (a shard's).
    pub fn is_ladder(&self) -> bool {
        self.ladder.is_some()
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
