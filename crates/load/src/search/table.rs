//! The terminal table of a search.

use std::fmt::Write as _;

use super::{SearchResult, StepVerdict};

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
            StepVerdict::Pass => String::new(),
            StepVerdict::Fail { broke } => format!(" ({broke})"),
            StepVerdict::TooManyErrors { .. } => " (over the error cutoff)".into(),
            StepVerdict::DriverBottleneck { why } => format!(" ({why})"),
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
