//! Report directories written without the recorder or the report code,
//! for the unit tests of what reads them (`compare`, `merge`): a
//! `summary.json` of the fields they use, and an interval log written
//! with hdrhistogram's own writer.

use std::path::Path;
use std::time::Duration;

use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

/// One interval: its start second, its tag (`flow/step/outcome`), its
/// values (µs).
pub(crate) type Interval = (u64, String, Vec<u64>);

/// A summary of `flows` as (name, ok, errors), every error labelled
/// `provider(x)`; more fields are set on the value it returns.
pub(crate) fn summary(flows: &[(&str, u64, u64)], elapsed_secs: f64) -> serde_json::Value {
    let per_flow: serde_json::Map<_, _> = flows
        .iter()
        .map(|(f, o, e)| ((*f).to_owned(), serde_json::json!([o, e])))
        .collect();
    let (ok, errors) = flows.iter().fold((0, 0), |(o, e), f| (o + f.1, e + f.2));
    serde_json::json!({
        "schema": crate::report::SCHEMA, "scenario": "s",
        "started_at": "2026-12-04T00:00:00Z", "elapsed_secs": elapsed_secs,
        "partial": false, "model": "open", "achieved_rate": (ok + errors) as f64 / elapsed_secs,
        "scheduled": ok + errors, "driver_lag_ms": [0.0, 0.0, 0.0], "threshold_texts": [],
        "counts": {"started": ok + errors, "ok": ok, "errors": {"provider(x)": errors},
                   "dropped_in_flight_cap": 0, "per_flow": per_flow},
    })
}

/// Writes `summary.json` and `latency.hlog` (one-second intervals) into `dir`.
pub(crate) fn write(dir: &Path, summary: &serde_json::Value, intervals: &[Interval]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("summary.json"), summary.to_string()).unwrap();
    let mut log = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    let mut w = IntervalLogWriterBuilder::new()
        .begin_log_with(&mut log, &mut serializer)
        .unwrap();
    for (second, tag, values) in intervals {
        let mut h = crate::recorder::histogram();
        for v in values {
            h.record(*v).unwrap();
        }
        let start = Duration::from_secs(*second);
        w.write_histogram(&h, start, Duration::from_secs(1), Tag::new(tag))
            .unwrap();
    }
    drop(w);
    std::fs::write(dir.join("latency.hlog"), log).unwrap();
}

/// A directory of its own under the system's temporary one.
pub(crate) fn dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tokenprobe-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}
