//! Merging the shards of one run into one report. HdrHistograms add without
//! loss, so the merged percentiles are exactly those of one histogram fed
//! every sample; the counters add up; each shard keeps a row of its own.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

use crate::recorder::{Counts, Key, histogram};
use crate::report::{
    At, Cause, Cpu, DecodedInterval, FlowRates, Intervals, LateSends, ReportError, SCHEMA,
    ShardRow, Summary, read_error_log, read_summary, write_json,
};

/// A merged report and what the merge noticed.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The merged summary: its latency rows and verdicts are made from the
    /// merged log when the directory is rendered ([`crate::output::merge`]).
    pub summary: Summary,
    /// Missing shards, clocks that disagree.
    pub warnings: Vec<String>,
}

/// Merges the shard report directories `dirs` into `out`: the data
/// (`summary.json`, `latency.hlog`, `errors.csv`); [`crate::output::merge`]
/// adds the page.
pub fn merge(dirs: &[&Path], out: &Path) -> Result<Merged, ReportError> {
    let mut shards = Vec::new();
    for dir in dirs {
        shards.push((*dir, read_summary(dir)?));
    }
    let Some((_, first)) = shards.first() else {
        return Err(ReportError::refused("nothing to merge"));
    };
    let run_id = first
        .run_id
        .clone()
        .ok_or_else(|| Cause::Refused("not a shard (no run id)".into()))
        .at(dirs[0])?;
    let count = first.shard.map_or(0, |s| s[1]);
    for (dir, s) in &shards {
        if s.run_id.as_deref() != Some(run_id.as_str()) {
            let why = format!(
                "run id {:?}, not {run_id:?}: refusing to merge different runs",
                s.run_id.as_deref().unwrap_or("none")
            );
            return Err(Cause::Refused(why)).at(dir);
        }
        if s.shard.map(|s| s[1]) != Some(count) {
            return Err(Cause::Refused("a shard of a different count".into())).at(dir);
        }
    }
    let mut warnings = Vec::new();
    let mut missing = false;
    let present: Vec<u32> = shards
        .iter()
        .filter_map(|(_, s)| s.shard.map(|s| s[0]))
        .collect();
    for i in 1..=count {
        match present.iter().filter(|p| **p == i).count() {
            0 => {
                missing = true;
                warnings.push(format!("shard {i}/{count} of run {run_id} is missing"));
            }
            1 => {}
            n => {
                return Err(ReportError::refused(format!(
                    "shard {i}/{count} given {n} times"
                )));
            }
        }
    }
    let starts: Vec<SystemTime> = shards
        .iter()
        .filter_map(|(_, s)| humantime::parse_rfc3339_weak(&s.started_at).ok())
        .collect();
    let earliest = starts
        .iter()
        .min()
        .copied()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let latest = starts.iter().max().copied().unwrap_or(earliest);
    let spread = latest.duration_since(earliest).unwrap_or_default();
    if spread > Duration::from_secs(1) {
        warnings.push(format!(
            "the shards started {:.1} s apart (more than one interval): their intervals do not line up",
            spread.as_secs_f64()
        ));
    }

    // The shards' logs, merged in time order one second at a time, so that
    // memory holds one second of histograms, however long the run.
    let mut logs = Vec::new();
    for (dir, s) in &shards {
        let offset = humantime::parse_rfc3339_weak(&s.started_at)
            .ok()
            .and_then(|t| t.duration_since(earliest).ok())
            .unwrap_or_default();
        let path = dir.join("latency.hlog");
        logs.push((std::fs::read(&path).at(&path)?, path, offset));
    }
    let mut heads: Vec<_> = logs
        .iter()
        .map(|(bytes, path, offset)| (Intervals::new(bytes).peekable(), path, *offset))
        .collect();
    std::fs::create_dir_all(out).at(out)?;
    let merged_log = out.join("latency.hlog");
    let mut log = HlogWriter::create(&merged_log, earliest).at(&merged_log)?;
    let second_of = |i: &Result<DecodedInterval, Cause>, offset: Duration| {
        i.as_ref()
            .map_or(0, |(start, ..)| (*start + offset).as_secs())
    };
    loop {
        let next = heads
            .iter_mut()
            .filter_map(|(it, _, offset)| it.peek().map(|i| second_of(i, *offset)))
            .min();
        let Some(second) = next else { break };
        let mut this_second: BTreeMap<Key, (Duration, Histogram<u64>)> = BTreeMap::new();
        for (it, path, offset) in &mut heads {
            while it.peek().is_some_and(|i| second_of(i, *offset) == second) {
                let Some(interval) = it.next() else { break };
                let (_, length, key, h) = interval.at(path)?;
                let slot = this_second
                    .entry(key)
                    .or_insert_with(|| (length, histogram()));
                slot.0 = slot.0.max(length);
                slot.1
                    .add(&h)
                    .map_err(|e| Cause::Log(format!("{e:?}")))
                    .at(path)?;
            }
        }
        for (key, (length, h)) in &this_second {
            log.write(Duration::from_secs(second), *length, key, h)
                .at(&merged_log)?;
        }
    }
    log.finish().at(&merged_log)?;
    merge_error_logs(&shards, earliest, out)?;

    let mut counts = Counts::default();
    let mut rows = Vec::new();
    let (mut scheduled, mut elapsed, mut target, mut lag) = (0, 0f64, None::<f64>, [0f64; 3]);
    let mut window = 0f64;
    for (_, s) in &shards {
        let c = &s.counts;
        counts.started += c.started;
        counts.ok += c.ok;
        counts.dropped_in_flight_cap += c.dropped_in_flight_cap;
        for (label, n) in &c.errors {
            *counts.errors.entry(label.clone()).or_default() += n;
        }
        for (flow, (ok, err)) in &c.per_flow {
            let e = counts.per_flow.entry(flow.clone()).or_default();
            e.0 += ok;
            e.1 += err;
        }
        scheduled += s.scheduled;
        elapsed = elapsed.max(s.elapsed_secs);
        // A /1 summary has no window: its elapsed time stands in.
        window = window.max(if s.window_secs > 0.0 {
            s.window_secs
        } else {
            s.elapsed_secs
        });
        target = match (target, s.target_rate) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        for (m, v) in lag.iter_mut().zip(s.driver_lag_ms) {
            *m = m.max(v);
        }
        rows.push(ShardRow {
            shard: s.shard.map_or(0, |s| s[0]),
            started_at: s.started_at.clone(),
            started: c.started,
            errors: c.error_total(),
            achieved_rate: s.achieved_rate,
            p99_ms: s
                .latency
                .iter()
                .find(|r| r.key == Key::all_ok())
                .map(|r| r.p99_ms),
        });
    }
    rows.sort_by_key(|r| r.shard);
    let summary = Summary {
        schema: SCHEMA.into(),
        scenario: first.scenario.clone(),
        started_at: humantime::format_rfc3339_millis(earliest).to_string(),
        elapsed_secs: elapsed,
        window_secs: window,
        grace_secs: (elapsed - window).max(0.0),
        flows: merged_flows(shards.iter().map(|(_, s)| s), window.max(1e-9)),
        partial: missing || shards.iter().any(|(_, s)| s.partial),
        model: first.model.clone(),
        target_rate: target,
        achieved_rate: counts.started as f64 / window.max(1e-9),
        scheduled,
        counts,
        driver_lag_ms: lag,
        criteria: first.criteria.clone(),
        latency: Vec::new(),
        thresholds: Vec::new(),
        run_id: Some(run_id),
        shard: None,
        shards: rows,
        insecure: shards.iter().any(|(_, s)| s.insecure),
        warnings: first.warnings.clone(),
        late: first.late.as_ref().map(|l| LateSends {
            bound_ms: l.bound_ms,
            count: shards
                .iter()
                .filter_map(|(_, s)| s.late.as_ref())
                .map(|l| l.count)
                .sum(),
        }),
        cpu: merged_cpu(shards.iter().map(|(_, s)| s), elapsed),
    };
    write_json(&out.join("summary.json"), &summary)?;
    Ok(Merged { summary, warnings })
}

/// Each shard's `errors.csv`, shifted by its start and summed per second
/// and label, into `out/errors.csv`: the merged report's errors over time.
/// Shards without one (older runs) add nothing.
fn merge_error_logs(
    shards: &[(&Path, Summary)],
    earliest: SystemTime,
    out: &Path,
) -> Result<(), ReportError> {
    let mut merged: BTreeMap<(u64, String), (f64, u64)> = BTreeMap::new();
    for (dir, s) in shards {
        let Ok(text) = std::fs::read_to_string(dir.join("errors.csv")) else {
            continue;
        };
        let offset = humantime::parse_rfc3339_weak(&s.started_at)
            .ok()
            .and_then(|t| t.duration_since(earliest).ok())
            .unwrap_or_default();
        for e in read_error_log(&text) {
            let second = (e.start + offset.as_secs_f64()).floor() as u64;
            let slot = merged.entry((second, e.label)).or_default();
            slot.0 = slot.0.max(e.length);
            slot.1 += e.count;
        }
    }
    let mut csv = String::from("start_secs,length_secs,label,count\n");
    for ((second, label), (length, count)) in &merged {
        let _ = writeln!(csv, "{second}.000,{length:.3},\"{label}\",{count}");
    }
    let path = out.join("errors.csv");
    std::fs::write(&path, csv).at(&path)
}

/// Writes a merged interval log, one histogram at a time.
struct HlogWriter {
    file: BufWriter<File>,
    serializer: crate::recorder::ZlibV2,
}

impl HlogWriter {
    fn create(path: &Path, start: SystemTime) -> std::io::Result<HlogWriter> {
        let mut file = BufWriter::new(File::create(path)?);
        let mut serializer = crate::recorder::ZlibV2::default();
        IntervalLogWriterBuilder::new()
            .add_comment("tokenprobe latency log, merged from shards; values in microseconds")
            .with_start_time(start)
            .with_base_time(start)
            .begin_log_with(&mut file, &mut serializer)?;
        Ok(HlogWriter { file, serializer })
    }

    fn write(
        &mut self,
        start: Duration,
        length: Duration,
        key: &Key,
        h: &Histogram<u64>,
    ) -> std::io::Result<()> {
        let tag = key.tag();
        IntervalLogWriterBuilder::new()
            .begin_log_with(&mut self.file, &mut self.serializer)?
            .write_histogram(h, start, length, Tag::new(&tag))
            .map_err(|e| std::io::Error::other(format!("{e:?}")))
    }

    fn finish(mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// The shards' CPU added up (each generator on its own cores), when every
/// shard reports it.
fn merged_cpu<'a>(shards: impl Iterator<Item = &'a Summary>, elapsed: f64) -> Option<Cpu> {
    let (mut secs, mut cores, mut started, mut includes_stub) = (0.0, 0, 0, false);
    for s in shards {
        let c = s.cpu.as_ref()?;
        secs += c.secs;
        cores += c.cores;
        started += s.counts.started;
        includes_stub |= c.includes_stub;
    }
    Some(Cpu::new(secs, elapsed, cores, started, includes_stub))
}

/// The shards' flows added up, with rates over the merged window.
fn merged_flows<'a>(
    shards: impl Iterator<Item = &'a Summary>,
    window: f64,
) -> BTreeMap<String, FlowRates> {
    let mut out: BTreeMap<String, FlowRates> = BTreeMap::new();
    for s in shards {
        for (name, f) in &s.flows {
            let m = out.entry(name.clone()).or_insert(FlowRates {
                weight: f.weight,
                scheduled: 0,
                started: 0,
                asked_rate: f.asked_rate.map(|_| 0.0),
                achieved_rate: 0.0,
            });
            m.scheduled += f.scheduled;
            m.started += f.started;
        }
    }
    for f in out.values_mut() {
        f.asked_rate = f.asked_rate.map(|_| f.scheduled as f64 / window);
        f.achieved_rate = f.started as f64 / window;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    /// Shard `i` of 3 of run `r1`, started `at`, with its counts, cost and
    /// rates, its intervals and its `errors.csv`.
    fn shard(
        dir: &Path,
        i: u32,
        at: &str,
        (ok, errors, secs): (u64, u64, f64),
        intervals: &[testdata::Interval],
        errors_csv: &str,
    ) {
        let mut s = testdata::summary(&[("cess", ok, errors)], secs);
        let n = ok + errors;
        // Each shard's p99 as its own summary says it (a row of all/total/ok
        // and decoys of other keys), its drops, and a grace period of half
        // a second after its window.
        let row = |flow: &str, outcome: &str, p99: f64| {
            serde_json::json!({
                "flow": flow, "step": "total", "outcome": outcome, "count": 1, "mean_ms": 0.0,
                "p50_ms": 0.0, "p90_ms": 0.0, "p99_ms": p99, "p999_ms": 0.0, "max_ms": 0.0,
            })
        };
        s["latency"] = serde_json::json!([
            row("cess", "ok", 1.0),
            row("all", "err", 2.0),
            row("all", "ok", 10.0 * f64::from(i))
        ]);
        s["counts"]["dropped_in_flight_cap"] = i.into();
        s["elapsed_secs"] = (secs + 0.5).into();
        let extra = serde_json::json!({
            "run_id": "r1", "shard": [i, 3], "started_at": at, "window_secs": secs,
            "target_rate": 2.0 * f64::from(i), "driver_lag_ms": [f64::from(i), 5.0 - f64::from(i), 1.0],
            "late": {"bound_ms": 10.0, "count": i},
            "cpu": {"secs": f64::from(i), "per_acquisition_us": 0.0, "cores": 1, "share": 0.0, "includes_stub": i == 2},
            "flows": {"cess": {"weight": 1.0, "scheduled": n + 1, "started": n, "asked_rate": 0.0, "achieved_rate": 0.0}},
        });
        for (k, v) in extra.as_object().unwrap() {
            s[k] = v.clone();
        }
        testdata::write(dir, &s, intervals);
        std::fs::write(
            dir.join("errors.csv"),
            format!("start_secs,length_secs,label,count\n{errors_csv}"),
        )
        .unwrap();
    }

    fn values(seed: u64, n: u64) -> Vec<u64> {
        (0..n)
            .map(|k| 1000 + (seed * 7919 + k * 104_729) % 50_000)
            .collect()
    }

    /// Two shards of three, the second started 0.4 s later: counters,
    /// rates and costs add up, each second's histograms are those of one
    /// histogram fed both shards' values of that second, the errors over
    /// time line up by start, and the missing shard makes the run partial.
    #[test]
    fn shards_add_up_second_by_second() {
        let dir = testdata::dir("merge-unit");
        let tag = "cess/total/ok".to_owned();
        let one: Vec<testdata::Interval> =
            (0..3).map(|s| (s, tag.clone(), values(s, 40))).collect();
        let two: Vec<testdata::Interval> = (0..2)
            .map(|s| (s, tag.clone(), values(10 + s, 25)))
            .collect();
        shard(
            &dir.join("1"),
            1,
            "2026-12-04T00:00:00Z",
            (10, 1, 3.0),
            &one,
            "0.000,1.000,\"provider(x)\",1\n",
        );
        shard(
            &dir.join("2"),
            2,
            "2026-12-04T00:00:00.400Z",
            (20, 2, 2.0),
            &two,
            "0.600,1.000,\"provider(x)\",2\n",
        );
        let out = dir.join("merged");
        let m = merge(&[&dir.join("2"), &dir.join("1")], &out).unwrap();
        let s = &m.summary;
        assert_eq!(m.warnings, ["shard 3/3 of run r1 is missing"]);
        assert!(s.partial);
        assert_eq!((s.counts.started, s.counts.ok, s.scheduled), (33, 30, 33));
        assert_eq!(
            s.counts.errors[&tokenprobe_client::ErrorLabel::Provider("x".into())],
            3
        );
        assert_eq!(s.counts.per_flow["cess"], (30, 3));
        assert_eq!(
            (s.elapsed_secs, s.window_secs, s.achieved_rate),
            (3.5, 3.0, 11.0)
        );
        assert_eq!((s.grace_secs, s.counts.dropped_in_flight_cap), (0.5, 3));
        assert_eq!(s.target_rate, Some(6.0));
        assert_eq!(s.driver_lag_ms, [2.0, 4.0, 1.0]);
        assert_eq!(
            s.late.as_ref().map(|l| (l.bound_ms, l.count)),
            Some((10.0, 3))
        );
        let cpu = s.cpu.as_ref().unwrap();
        assert_eq!((cpu.secs, cpu.cores, cpu.includes_stub), (3.0, 2, true));
        assert!(
            (cpu.per_acquisition_us - 3e6 / 33.0).abs() < 1e-6,
            "{cpu:?}"
        );
        let f = &s.flows["cess"];
        assert_eq!((f.scheduled, f.started), (35, 33));
        assert_eq!((f.asked_rate, f.achieved_rate), (Some(35.0 / 3.0), 11.0));
        assert_eq!(s.started_at, "2026-12-04T00:00:00.000Z");
        let rows: Vec<(u32, u64, u64, Option<f64>)> = s
            .shards
            .iter()
            .map(|r| (r.shard, r.started, r.errors, r.p99_ms))
            .collect();
        assert_eq!(rows, [(1, 11, 1, Some(10.0)), (2, 22, 2, Some(20.0))]);
        // Second by second, against one histogram of the values written.
        let bytes = std::fs::read(out.join("latency.hlog")).unwrap();
        let merged: Vec<(u64, Key, Histogram<u64>)> = Intervals::new(&bytes)
            .map(|i| {
                i.map(|(start, _, key, h)| (start.as_secs(), key, h))
                    .unwrap()
            })
            .collect();
        assert_eq!(merged.len(), 3);
        for (second, key, h) in &merged {
            let mut reference = histogram();
            for (s, _, v) in one.iter().chain(&two) {
                if s == second {
                    for v in v {
                        reference.record(*v).unwrap();
                    }
                }
            }
            assert_eq!(key.tag(), tag);
            assert_eq!(h.len(), reference.len(), "second {second}");
            for q in [0.0, 0.5, 0.9, 0.99, 1.0] {
                assert_eq!(
                    h.value_at_quantile(q),
                    reference.value_at_quantile(q),
                    "second {second} q {q}"
                );
            }
        }
        let csv = std::fs::read_to_string(out.join("errors.csv")).unwrap();
        assert_eq!(
            csv,
            "start_secs,length_secs,label,count\n0.000,1.000,\"provider(x)\",1\n1.000,1.000,\"provider(x)\",2\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// What cannot be one run is refused by name; shards started more than
    /// an interval apart are merged with a warning.
    #[test]
    fn what_is_not_one_run_is_refused() {
        let dir = testdata::dir("merge-refusals");
        let one = [(0, "cess/total/ok".to_owned(), values(1, 5))];
        let at = "2026-12-04T00:00:00Z";
        shard(&dir.join("1"), 1, at, (5, 0, 1.0), &one, "");
        shard(
            &dir.join("2"),
            2,
            "2026-12-04T00:00:02.5Z",
            (5, 0, 1.0),
            &one,
            "",
        );
        shard(&dir.join("3"), 3, at, (5, 0, 1.0), &one, "");
        let (d1, d2, d3) = (dir.join("1"), dir.join("2"), dir.join("3"));
        let out = dir.join("out");
        let m = merge(&[&d1, &d2, &d3], &out).unwrap();
        assert!(!m.summary.partial);
        assert_eq!(
            m.warnings,
            [
                "the shards started 2.5 s apart (more than one interval): their intervals do not line up"
            ]
        );
        // A second apart is within one interval: no warning.
        let late = dir.join("late");
        shard(&late, 2, "2026-12-04T00:00:01Z", (5, 0, 1.0), &one, "");
        assert!(merge(&[&d1, &late, &d3], &out).unwrap().warnings.is_empty());
        let err = |dirs: &[&Path]| merge(dirs, &out).unwrap_err().to_string();
        assert_eq!(err(&[]), "nothing to merge");
        assert_eq!(err(&[&d1, &d1]), "shard 1/3 given 2 times");
        let edit = |name: &str, k: &str, v: serde_json::Value| {
            let path = dir.join(name);
            shard(&path, 3, at, (5, 0, 1.0), &one, "");
            let mut s: serde_json::Value =
                serde_json::from_slice(&std::fs::read(path.join("summary.json")).unwrap()).unwrap();
            s[k] = v;
            std::fs::write(path.join("summary.json"), s.to_string()).unwrap();
            path
        };
        // A summary of the first schema has no window: its elapsed time
        // (1.5 s, with the grace) stands in.
        let old = edit("old", "window_secs", 0.0.into());
        let m = merge(&[&d1, &late, &old], &out).unwrap();
        assert_eq!(m.summary.window_secs, 1.5);
        let other_run = edit("other-run", "run_id", "r2".into());
        assert!(
            err(&[&d1, &other_run])
                .ends_with("run id \"r2\", not \"r1\": refusing to merge different runs")
        );
        let other_count = edit("other-count", "shard", serde_json::json!([3, 4]));
        assert!(err(&[&d1, &other_count]).ends_with("a shard of a different count"));
        let no_run = edit("no-run", "run_id", serde_json::Value::Null);
        assert!(err(&[&no_run, &d1]).ends_with("not a shard (no run id)"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
