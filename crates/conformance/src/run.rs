//! Running the catalog against live targets: which entries apply, in what
//! order, how a finding becomes a result, and the evidence kept with it.
//! Negative checks (wrong secrets and passwords) run only when asked for,
//! each once, after every other check, and spaced out; sessions the checks
//! open are ended before the run returns, also when it is interrupted.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::catalog::{ENTRIES, Entry, Mark, System};
use crate::checks::Finding;
use crate::endpoint::Target;
use crate::evidence::{Capture, millis};

/// A check's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The contract held.
    Pass,
    /// The contract was broken.
    Fail,
    /// A departure that is only a warning (an inferred rule, or one the
    /// contract calls a warning).
    Warn,
    /// Does not apply, or was not asked for; the reason says which.
    Skip,
    /// Could not run (transport failure, no IdP token, …).
    Error,
}

impl Outcome {
    /// As printed.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Warn => "warn",
            Outcome::Skip => "skip",
            Outcome::Error => "error",
        }
    }
}

/// One check's result, with its evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The contract id.
    pub id: &'static str,
    /// The system it ran against.
    pub system: System,
    /// The rule.
    pub title: &'static str,
    /// Where the rule comes from.
    pub mark: Mark,
    /// What was sent.
    pub sends: &'static str,
    /// What had to come back.
    pub expects: &'static str,
    /// For a negative check, what its probe changes in the working request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<&'static str>,
    /// The result.
    pub outcome: Outcome,
    /// Why, in one line (empty on a pass), secrets scrubbed.
    pub reason: String,
    /// When the check began, from the start of the run (zero for one run
    /// alone): with `elapsed`, the timeline of a run, and the spacing of
    /// its negative checks.
    #[serde(rename = "started_ms", serialize_with = "millis")]
    pub started: Duration,
    /// How long the check took.
    #[serde(rename = "elapsed_ms", serialize_with = "millis")]
    pub elapsed: Duration,
    /// What it sent and got back, redacted.
    pub evidence: Vec<Capture>,
}

/// What a run found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// One per check and system, in run order.
    pub verdicts: Vec<Verdict>,
    /// Sessions the checks opened and the run ended.
    pub sessions_ended: usize,
    /// Sessions it could not end, and why.
    pub sessions_left: Vec<String>,
    /// The revokes and logouts that ended them.
    pub cleanup: Vec<Capture>,
    /// The run was interrupted; checks not run are `skip`.
    pub interrupted: bool,
    /// TLS certificates were not verified (`[http] insecure = true`).
    pub insecure: bool,
    /// What the user was warned of at the start (verification off,
    /// credentials in clear to another machine).
    pub warnings: Vec<String>,
}

impl Report {
    /// How many verdicts have `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.verdicts
            .iter()
            .filter(|v| v.outcome == outcome)
            .count()
    }

    /// Whether nothing failed and nothing errored.
    pub fn ok(&self) -> bool {
        self.count(Outcome::Fail) == 0 && self.count(Outcome::Error) == 0
    }
}

/// What to run and how.
#[derive(Debug, Clone)]
pub struct Selection {
    /// Only these ids (all when `None`).
    pub only: Option<BTreeSet<String>>,
    /// Only these systems (all configured when `None`).
    pub systems: Option<BTreeSet<System>>,
    /// Run the checks that send wrong credentials.
    pub include_negative: bool,
    /// The pause before each negative check.
    pub spacing: Duration,
    /// Set to stop: checks not started yet are skipped.
    pub stop: Arc<AtomicBool>,
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            only: None,
            systems: None,
            include_negative: false,
            spacing: Duration::from_secs(2),
            stop: Arc::default(),
        }
    }
}

impl Selection {
    /// The `--only` ids that name no check, or that apply to none of
    /// `systems`: a usage error, since nothing would run them.
    pub fn unknown_ids(&self, systems: &[System]) -> Vec<String> {
        let Some(only) = &self.only else {
            return Vec::new();
        };
        only.iter()
            .filter(|id| {
                !ENTRIES
                    .iter()
                    .any(|e| e.id == id.as_str() && e.systems.iter().any(|s| systems.contains(s)))
            })
            .cloned()
            .collect()
    }

    fn wants(&self, e: &Entry, system: System) -> bool {
        e.systems.contains(&system)
            && self.only.as_ref().is_none_or(|o| o.contains(e.id))
            && self.systems.as_ref().is_none_or(|s| s.contains(&system))
    }
}

/// Runs the selected checks against each target in turn, calling
/// `progress` with each verdict as it comes.
pub async fn run(
    targets: &[Target],
    selection: &Selection,
    mut progress: impl FnMut(&Verdict),
) -> Report {
    let mut report = Report::default();
    let mut negatives_run = 0usize;
    let run_started = Instant::now();
    // Every safe check first, then the negative ones, so that a lock-out
    // they might cause (systems often share one client) spoils nothing else.
    for negative_phase in [false, true] {
        for target in targets {
            let chosen = ENTRIES
                .iter()
                .filter(|e| e.negative == negative_phase && selection.wants(e, target.system));
            for entry in chosen {
                let gated = entry.negative && !selection.include_negative;
                if entry.negative && !gated && negatives_run > 0 {
                    pause(selection).await;
                }
                let started = run_started.elapsed();
                let mut verdict = if selection.stop.load(Ordering::SeqCst) {
                    report.interrupted = true;
                    skipped(entry, target, "interrupted before it ran")
                } else if gated {
                    skipped(
                        entry,
                        target,
                        "sends a wrong credential, which can lock a real account: run with --include-negative",
                    )
                } else {
                    negatives_run += usize::from(entry.negative);
                    one(entry, target).await
                };
                verdict.started = started;
                progress(&verdict);
                report.verdicts.push(verdict);
            }
        }
    }
    for target in targets {
        let (ended, left) = target.end_sessions().await;
        report.cleanup.extend(target.take_evidence());
        report.sessions_ended += ended;
        report.sessions_left.extend(left);
    }
    report
}

/// The spacing before a negative check, cut short by a stop.
async fn pause(selection: &Selection) {
    let until = Instant::now() + selection.spacing;
    while !selection.stop.load(Ordering::SeqCst) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        tokio::time::sleep(left.min(Duration::from_millis(50))).await;
    }
}

fn skipped(entry: &'static Entry, target: &Target, why: &str) -> Verdict {
    verdict(
        entry,
        target.system,
        Outcome::Skip,
        why.to_owned(),
        Duration::ZERO,
        Vec::new(),
    )
}

/// Runs one entry against one target.
pub async fn one(entry: &'static Entry, target: &Target) -> Verdict {
    target.take_evidence();
    let started = Instant::now();
    let found = (entry.check)(target).await;
    let elapsed = started.elapsed();
    let (outcome, reason) = match found {
        Ok(()) => (Outcome::Pass, String::new()),
        Err(Finding::Broken(why)) if entry.warns(target.system) => (Outcome::Warn, why),
        Err(Finding::Broken(why)) => (Outcome::Fail, why),
        Err(Finding::Warning(why)) => (Outcome::Warn, why),
        Err(Finding::Skipped(why)) => (Outcome::Skip, why),
        Err(Finding::Errored(why)) => (Outcome::Error, why.to_string()),
    };
    let reason = target.scrub(&reason.replace(['\n', '\r'], " "));
    verdict(
        entry,
        target.system,
        outcome,
        reason,
        elapsed,
        target.take_evidence(),
    )
}

fn verdict(
    entry: &'static Entry,
    system: System,
    outcome: Outcome,
    reason: String,
    elapsed: Duration,
    evidence: Vec<Capture>,
) -> Verdict {
    Verdict {
        id: entry.id,
        system,
        title: entry.title,
        mark: entry.mark,
        sends: entry.sends,
        expects: entry.expects,
        change: entry.change,
        outcome,
        reason,
        started: Duration::ZERO,
        elapsed,
        evidence,
    }
}
