//! The search's run loop: the target once, then each step the engine
//! asks for as an open-model run in its own report directory.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use super::{
    Ending, Engine, SCHEMA, SearchResult, Searched, Spec, StepRow, StepVerdict, bracket, broke,
    ladder_ending, row,
};
use crate::scenario::Plan;
use crate::{LoadError, RunOptions};

/// Runs a search plan: the target once, then each step as an open-model
/// run in its own report directory.
pub async fn run(plan: &Plan, options: RunOptions) -> Result<Searched, LoadError> {
    let spec = plan.scenario.load.search_spec().map_err(LoadError::Setup)?;
    let (target, flows, transport, workers) = crate::prepare(plan).await?;
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
            let dir = crate::new_dir(&dir, name)?;
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
                &workers,
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
            &workers,
            &options,
        )
        .await?;
        let summary = crate::summarize(&measured, &recorded);
        let done = crate::write_reports(&step_dir, &summary)?;
        let verdict = StepVerdict::of(&done.summary, &spec);
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
    let table = crate::output::search(&dir, &result)?;
    Ok(Searched { dir, result, table })
}

pub(super) fn result(
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
        (false, Some(_)) if engine.is_ladder() => ladder_ending(&steps),
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
