//! The catalog under `cargo test`: one test per applicable check and flow,
//! named `<flow>::<ID>` (`cognito::CG-07`, `cognito-2::RFC-02` for a second
//! cognito flow), against the endpoint a check scenario names:
//!
//! ```text
//! TOKENPROBE_CHECK_CONFIG=staging.toml cargo test -p tokenprobe-conformance --test live
//! ```
//!
//! Without the variable, against the built-in stub (`scenarios/demo.toml`),
//! so CI runs it. Filters, `--list`, `--exact`, `--skip` and `--ignored`
//! work as libtest's; the checks that send a wrong credential are ignored
//! unless `TOKENPROBE_INCLUDE_NEGATIVE=1` (or `--include-ignored`), spaced
//! by `[check] spacing`; a check that does not apply is an ignored test
//! with its reason; a failure prints its evidence, redacted. One check at
//! a time: the checks of a flow share its evidence journal and sessions,
//! and a staging endpoint is not to be hammered.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use tokenprobe_conformance::catalog::{ENTRIES, Entry};
use tokenprobe_conformance::endpoint::Target;
use tokenprobe_conformance::report;
use tokenprobe_conformance::run::{Outcome, one};
use tokenprobe_conformance::scenario::Scenario;
use tokio::runtime::Runtime;

#[allow(clippy::print_stderr)]
fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let path = std::env::var_os("TOKENPROBE_CHECK_CONFIG").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/demo.toml"),
        PathBuf::from,
    );
    let include_negative = std::env::var("TOKENPROBE_INCLUDE_NEGATIVE").is_ok_and(|v| v == "1");
    let scenario = match Scenario::read(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("live: {e}");
            return ExitCode::from(2);
        }
    };
    // Each flow's name, as load names them: its system, `-2`… after the first.
    let mut names: Vec<String> = Vec::new();
    for flow in &scenario.setup.flows {
        let system = flow.system().name();
        let n = names
            .iter()
            .filter(|n| n.split('-').next() == Some(system))
            .count();
        names.push(match n {
            0 => system.to_owned(),
            n => format!("{system}-{}", n + 1),
        });
    }
    let applicable = |i: usize| {
        let system = scenario.setup.flows[i].system();
        ENTRIES.iter().filter(move |e| e.systems.contains(&system))
    };
    if args.list {
        let trials = (0..names.len())
            .flat_map(|i| applicable(i).map(move |e| (i, e)))
            .map(|(i, e)| trial(&names[i], e, include_negative, || unreachable!()))
            .collect();
        return libtest_mimic::run(&args, trials).exit_code();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Arc::new(rt),
        Err(e) => {
            eprintln!("live: a runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let (started, targets) = match runtime.block_on(scenario.targets()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("live: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let targets: Vec<Arc<Target>> = targets.into_iter().map(Arc::new).collect();
    let spacing = scenario.settings.spacing.unwrap_or(Duration::from_secs(2));
    // Every safe check first, then the negative ones, as `check` runs them.
    let mut trials: Vec<(bool, Trial)> = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        for entry in applicable(i) {
            let (runtime, target) = (runtime.clone(), target.clone());
            let run = move || run_check(&runtime, entry, &target, spacing);
            trials.push((
                entry.negative,
                trial(&names[i], entry, include_negative, run),
            ));
        }
    }
    trials.sort_by_key(|(negative, _)| *negative);
    let conclusion = libtest_mimic::run(&args, trials.into_iter().map(|(_, t)| t).collect());
    for target in &targets {
        runtime.block_on(target.end_sessions());
    }
    drop(started);
    conclusion.exit_code()
}

/// The test of `entry` on flow `flow`, running `run`.
fn trial(
    flow: &str,
    entry: &'static Entry,
    include_negative: bool,
    run: impl FnOnce() -> Result<Completion, Failed> + Send + 'static,
) -> Trial {
    Trial::ignorable_test(format!("{flow}::{}", entry.id), run)
        .with_ignored_flag(entry.negative && !include_negative)
}

/// One check: a pass (a warning says so), a skip as an ignored test with
/// its reason, a failure with its evidence.
#[allow(clippy::print_stdout)]
fn run_check(
    runtime: &Runtime,
    entry: &'static Entry,
    target: &Target,
    spacing: Duration,
) -> Result<Completion, Failed> {
    if entry.negative {
        std::thread::sleep(spacing);
    }
    let v = runtime.block_on(one(entry, target));
    match v.outcome {
        Outcome::Pass => Ok(Completion::Completed),
        Outcome::Warn => {
            println!("warning: {}", v.reason);
            Ok(Completion::Completed)
        }
        Outcome::Skip => Ok(Completion::ignored_with(v.reason)),
        Outcome::Fail | Outcome::Error => {
            Err(format!("{}\n{}", report::line(&v), report::evidence_text(&v)).into())
        }
    }
}
