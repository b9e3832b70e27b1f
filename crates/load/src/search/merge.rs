//! A sharded search's merge: each step's shard reports merged as runs
//! are, then judged as one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{
    Growth, SCHEMA, SearchResult, Searched, Spec, StepVerdict, bracket, broke, ladder_ending, row,
};
use crate::report::{At, Cause, ReportError};

/// Merges the shards of one sharded search: each step's reports merged as
/// `merge` merges runs, then judged against the search's criteria, so the
/// verdicts are the whole run's.
pub fn merge(dirs: &[&Path], out: &Path) -> Result<Searched, ReportError> {
    let mut shards = Vec::new();
    for dir in dirs {
        let path = dir.join("search.json");
        let r: SearchResult = serde_json::from_slice(&std::fs::read(&path).at(&path)?).at(&path)?;
        if r.schema != SCHEMA {
            let why = format!("schema {:?}, expected {SCHEMA}", r.schema);
            return Err(Cause::Refused(why)).at(&path);
        }
        shards.push((*dir, r));
    }
    let Some((_, first)) = shards.first() else {
        return Err(ReportError::refused("nothing to merge"));
    };
    if first.run_id.is_none() || shards.iter().any(|(_, r)| r.run_id != first.run_id) {
        return Err(ReportError::refused(
            "the searches are not shards of one run (their run ids differ)",
        ));
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
    std::fs::create_dir_all(out).at(out)?;
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
        let (merged, _) = crate::output::merge(&dirs, &merged_dir)?;
        let verdict = StepVerdict::of(&merged.summary, &spec);
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
    let table = crate::output::search(out, &result)?;
    Ok(Searched {
        dir: out.to_owned(),
        result,
        table,
    })
}
