//! The recorder: one HdrHistogram (1 µs to 60 s, 3 significant digits)
//! per flow, step and outcome, plus the whole acquisition; interval
//! histograms written every second to an HdrHistogram interval log as the
//! run goes, so memory stays flat however long it runs; and the counters
//! that account for every acquisition. Threads record into their own
//! shards ([`Recording`]); the [`Recorder`] merges them at each tick.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use serde::{Deserialize, Serialize};
use tokenprobe_client::{ErrorLabel, Step, StepTime};

mod key;
mod shard;
mod zlib;

pub use zlib::ZlibV2;

pub use key::{ALL_FLOWS, Key, Outcome, Part};
pub use shard::Recording;
use shard::{Layout, Shard, Shards};

/// Microseconds: the unit of every histogram.
pub const LOWEST: u64 = 1;
/// 60 s; longer values are recorded as 60 s.
pub const HIGHEST: u64 = 60_000_000;

/// A new histogram with the recorder's precision. It starts at the
/// smallest size for 3 significant digits (values up to 2 ms, 16 KB) and
/// grows as larger values come (values are clamped to [`HIGHEST`], 136 KB
/// at most): a run keeps a few hundred histograms (per flow, step and
/// outcome; whole-run, per interval and per thread), and most never see a
/// value past a few milliseconds, or any value at all.
pub fn histogram() -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(LOWEST, 2 * LOWEST, 3)
        .expect("1 µs up at 3 significant digits are valid bounds");
    h.auto(true);
    h
}

/// Every acquisition, counted once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Started: `ok` + the sum of `errors`.
    pub started: u64,
    /// Succeeded.
    pub ok: u64,
    /// Failed, by error label (`connect`, `provider(invalid_client)`, …).
    #[serde(with = "by_name")]
    pub errors: BTreeMap<ErrorLabel, u64>,
    /// Never started: the in-flight cap was reached.
    pub dropped_in_flight_cap: u64,
    /// Per flow: (ok, errors).
    pub per_flow: BTreeMap<String, (u64, u64)>,
}

/// A report's errors as text, by label name (the order a reader expects);
/// read back strictly, so a report that names no known label is refused.
mod by_name {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use tokenprobe_client::ErrorLabel;

    pub(super) fn serialize<S: Serializer>(
        errors: &BTreeMap<ErrorLabel, u64>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let named: BTreeMap<String, u64> =
            errors.iter().map(|(l, n)| (l.to_string(), *n)).collect();
        named.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<ErrorLabel, u64>, D::Error> {
        let mut errors = BTreeMap::new();
        for (name, n) in BTreeMap::<String, u64>::deserialize(d)? {
            let label: ErrorLabel = name.parse().map_err(serde::de::Error::custom)?;
            *errors.entry(label).or_default() += n;
        }
        Ok(errors)
    }
}

impl Counts {
    /// All errors.
    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// The most distinct error labels one flow keeps; the rest are counted
/// under [`OTHER_ERRORS`], so a server that answers every request with a
/// new error code cannot grow the table or `summary.json` without bound.
pub const MAX_LABELS_PER_FLOW: usize = 32;

/// Where the labels past [`MAX_LABELS_PER_FLOW`] are counted.
pub const OTHER_ERRORS: ErrorLabel = ErrorLabel::Other;

/// The most distinct labels one flow's shard holds between two merges: a
/// bound on memory against a server that answers each request with a new
/// code (the labels a flow keeps are decided at the merge, from all
/// shards at once, so that they do not depend on how the acquisitions
/// were split across threads; past this many distinct labels in one
/// interval of one thread, they do).
pub const LABEL_MEMORY: usize = 4096;

/// A finished acquisition, as the driver hands it over.
#[derive(Debug, Clone)]
pub struct Acquisition<'a> {
    /// The flow's index in the recorder's layout.
    pub flow: usize,
    /// The steps it ran, each with its name and time.
    pub steps: &'a [StepTime],
    /// How long it waited for the driver before its first step: counted
    /// in that step, whose request was due at the intended start.
    pub queued: Duration,
    /// The whole acquisition's latency (from its intended start).
    pub total: Duration,
    /// `None` for success, else the error label.
    pub error: Option<ErrorLabel>,
}

/// The histograms of one flow/step (or total): [ok, err], for the whole
/// run and for the current interval.
struct Slot {
    flow: String,
    step: Part,
    cumulative: [Histogram<u64>; 2],
    interval: [Histogram<u64>; 2],
}

impl Slot {
    fn new(flow: &str, step: Part) -> Slot {
        Slot {
            flow: flow.to_owned(),
            step,
            cumulative: [histogram(), histogram()],
            interval: [histogram(), histogram()],
        }
    }

    fn key(&self, outcome: Outcome) -> Key {
        Key {
            flow: self.flow.clone(),
            step: self.step,
            outcome,
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros())
        .unwrap_or(u64::MAX)
        .clamp(LOWEST, HIGHEST)
}

/// Merges what every thread recorded and writes the interval histograms.
/// Every histogram is made at the start (one per flow, step and outcome),
/// so recording is a few array writes with no allocation; the threads
/// record into their own shards ([`Recording`]), which this merges at each
/// tick, so the log and the totals are what one recorder would have
/// written.
pub struct Recorder {
    started: Instant,
    shards: Arc<Shards>,
    /// What [`Recorder::record`] writes (tests, benches, the closed model's
    /// callers that hold the recorder).
    own: Shard,
    /// The last slot is `all/total`.
    slots: Vec<Slot>,
    interval_start: Duration,
    lag: Histogram<u64>,
    late: u64,
    counts: Counts,
    per_flow: Vec<(u64, u64)>,
    /// Per flow: the distinct error labels it keeps (at most
    /// [`MAX_LABELS_PER_FLOW`]).
    labels: Vec<Vec<ErrorLabel>>,
    /// Per flow: the errors of every shard since the last merge, by label.
    pending: Vec<BTreeMap<ErrorLabel, u64>>,
    log: BufWriter<File>,
    serializer: ZlibV2,
    /// `errors.csv`: each interval's errors by label, when asked for.
    error_log: Option<BufWriter<File>>,
    interval_errors: BTreeMap<ErrorLabel, u64>,
}

/// The label an error counts under: its own when its flow keeps it, else
/// [`OTHER_ERRORS`].
fn counted_as(kept: &[ErrorLabel], label: ErrorLabel) -> ErrorLabel {
    match kept.contains(&label) {
        true => label,
        false => OTHER_ERRORS,
    }
}

impl Recorder {
    /// Starts a recorder for `flows` (name and steps, in order) whose
    /// interval log is `hlog`.
    pub fn new(
        hlog: &Path,
        started: Instant,
        wall: SystemTime,
        flows: &[(String, &'static [Step])],
    ) -> std::io::Result<Recorder> {
        let mut log = BufWriter::new(File::create(hlog)?);
        let mut serializer = ZlibV2::default();
        IntervalLogWriterBuilder::new()
            .add_comment("tokenprobe latency log; values in microseconds; tags flow/step/outcome")
            .with_start_time(wall)
            .with_base_time(wall)
            .begin_log_with(&mut log, &mut serializer)?;
        let mut slots = Vec::new();
        let mut index = Vec::new();
        for (name, steps) in flows {
            index.push((slots.len(), steps.len()));
            slots.extend(steps.iter().map(|s| Slot::new(name, Part::Step(*s))));
            slots.push(Slot::new(name, Part::Total));
            slots.push(Slot::new(name, Part::Service));
        }
        slots.push(Slot::new(ALL_FLOWS, Part::Total));
        slots.push(Slot::new(ALL_FLOWS, Part::Service));
        let layout = Layout {
            flows: index,
            parts: slots.iter().map(|s| s.step).collect(),
        };
        let own = Shard::new(&layout);
        Ok(Recorder {
            started,
            shards: Arc::new(Shards::new(layout)),
            own,
            per_flow: vec![(0, 0); flows.len()],
            labels: vec![Vec::new(); flows.len()],
            pending: vec![BTreeMap::new(); flows.len()],
            slots,
            interval_start: Duration::ZERO,
            lag: histogram(),
            late: 0,
            counts: Counts::default(),
            log,
            serializer,
            error_log: None,
            interval_errors: BTreeMap::new(),
        })
    }

    /// Also writes each interval's errors by label to `path` (CSV:
    /// `start_secs,length_secs,label,count`), for the report's errors
    /// over time.
    pub fn with_error_log(mut self, path: &Path) -> std::io::Result<Recorder> {
        let mut log = BufWriter::new(File::create(path)?);
        writeln!(log, "start_secs,length_secs,label,count")?;
        self.error_log = Some(log);
        Ok(self)
    }

    /// The handle the recording threads use.
    pub fn recording(&self) -> Recording {
        Recording {
            shards: self.shards.clone(),
        }
    }

    /// Records one finished acquisition here, on the caller's thread.
    pub fn record(&mut self, o: &Acquisition<'_>) {
        self.own.record(&self.shards.layout, o);
    }

    /// Takes no more results from the recording threads; returns once none
    /// is recording (see [`Recording::record`]).
    pub fn close(&self) {
        self.shards.close();
    }

    /// Acquisitions still in flight when the grace period ended: started,
    /// and counted as the error `cancelled` (no latency: they never ended).
    pub fn cancelled(&mut self, n: u64) {
        if n > 0 {
            self.counts.started += n;
            *self.counts.errors.entry(ErrorLabel::Cancelled).or_default() += n;
        }
    }

    /// Folds every shard (and this recorder's own) into the interval and
    /// the counters.
    fn merge(&mut self) {
        let mut own = std::mem::replace(&mut self.own, Shard::new(&self.shards.layout));
        self.absorb(&mut own);
        self.own = own;
        let shards = self.shards.clone();
        shards.each(|shard| self.absorb(shard));
    }

    /// Counts the errors of the interval that ends under the labels each
    /// flow keeps. A flow keeps its first [`MAX_LABELS_PER_FLOW`] labels:
    /// those of earlier intervals first, then, among the new ones of an
    /// interval, the most frequent (ties by name): what was recorded in
    /// which second decides, not which thread recorded it, nor how often
    /// the counts were looked at meanwhile (see [`Recorder::counts`]).
    fn count_errors(&mut self) {
        for (flow, pending) in self.pending.iter_mut().enumerate() {
            let seen = &mut self.labels[flow];
            let mut new: Vec<(&ErrorLabel, &u64)> = pending
                .iter()
                .filter(|(l, _)| **l != OTHER_ERRORS && !seen.contains(l))
                .collect();
            new.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for (label, _) in new {
                if seen.len() < MAX_LABELS_PER_FLOW {
                    seen.push(label.clone());
                }
            }
            for (label, n) in std::mem::take(pending) {
                let label = counted_as(seen, label);
                if self.error_log.is_some() {
                    *self.interval_errors.entry(label.clone()).or_default() += n;
                }
                *self.counts.errors.entry(label).or_default() += n;
                self.counts.started += n;
                self.per_flow[flow].1 += n;
            }
        }
    }

    fn absorb(&mut self, shard: &mut Shard) {
        if !shard.dirty {
            return;
        }
        for (slot, pair) in self.slots.iter_mut().zip(&shard.intervals) {
            let both = slot.interval.iter_mut().zip(&mut slot.cumulative);
            for ((interval, cumulative), h) in both.zip(pair) {
                if !h.is_empty() {
                    // Same bounds on both sides: adding cannot fail.
                    let _ = interval.add(h);
                    let _ = cumulative.add(h);
                }
            }
        }
        let _ = self.lag.add(&shard.lag);
        self.late += shard.late;
        let c = &mut self.counts;
        c.dropped_in_flight_cap += shard.dropped;
        for (flow, ok) in shard.ok.iter().enumerate() {
            c.started += ok;
            c.ok += ok;
            self.per_flow[flow].0 += ok;
        }
        for (flow, labels) in shard.errors.iter_mut().enumerate() {
            let pending = &mut self.pending[flow];
            for (label, n) in std::mem::take(labels) {
                *pending.entry(label).or_default() += n;
            }
        }
        shard.reset();
    }

    /// The counters so far. The errors of the interval still open count
    /// under the labels their flow already keeps, or under
    /// [`OTHER_ERRORS`] until the interval ends and new labels are taken in.
    pub fn counts(&mut self) -> Counts {
        self.merge();
        let mut c = self.counts.clone();
        let mut per_flow = self.per_flow.clone();
        for (flow, pending) in self.pending.iter().enumerate() {
            for (label, n) in pending {
                let label = counted_as(&self.labels[flow], label.clone());
                *c.errors.entry(label).or_default() += n;
                c.started += n;
                per_flow[flow].1 += n;
            }
        }
        for (slot_flow, (ok, err)) in self.flow_names().into_iter().zip(&per_flow) {
            c.per_flow.insert(slot_flow, (*ok, *err));
        }
        c
    }

    /// The errors of the interval still open.
    fn pending_errors(&self) -> u64 {
        self.pending.iter().flat_map(|p| p.values()).sum()
    }

    fn flow_names(&self) -> Vec<String> {
        self.shards
            .layout
            .flows
            .iter()
            .map(|&(first, steps)| self.slots[first + steps].flow.clone())
            .collect()
    }

    /// Calls `f` with each histogram that has values so far (the whole
    /// run's, per flow, step and outcome), for a live view to read.
    pub fn each_histogram(&mut self, mut f: impl FnMut(Key, &Histogram<u64>)) {
        self.merge();
        for slot in &self.slots {
            for outcome in [Outcome::Ok, Outcome::Err] {
                let h = &slot.cumulative[outcome.index()];
                if !h.is_empty() {
                    f(slot.key(outcome), h);
                }
            }
        }
    }

    /// Acquisitions recorded so far.
    pub fn started(&mut self) -> u64 {
        self.merge();
        self.counts.started + self.pending_errors()
    }

    /// p50 and p99 of all successful acquisitions so far, and the errors.
    pub fn live(&mut self) -> (Option<Duration>, Option<Duration>, u64) {
        self.merge();
        let all = self.slots.len() - 2;
        let h = self.slots.get(all).map(|s| &s.cumulative[0]);
        let q = |q| {
            h.filter(|h| !h.is_empty())
                .map(|h| Duration::from_micros(h.value_at_quantile(q)))
        };
        (
            q(0.5),
            q(0.99),
            self.counts.error_total() + self.pending_errors(),
        )
    }

    /// Writes the current interval's histograms to the log and starts a new
    /// interval.
    pub fn rotate(&mut self) -> std::io::Result<()> {
        self.merge();
        self.count_errors();
        let now = self.started.elapsed();
        let length = now.saturating_sub(self.interval_start);
        let mut writer =
            IntervalLogWriterBuilder::new().begin_log_with(&mut self.log, &mut self.serializer)?;
        for slot in &mut self.slots {
            for outcome in [Outcome::Ok, Outcome::Err] {
                let i = outcome.index();
                if slot.interval[i].is_empty() {
                    continue;
                }
                let tag = slot.key(outcome).tag();
                writer
                    .write_histogram(
                        &slot.interval[i],
                        self.interval_start,
                        length,
                        Tag::new(&tag),
                    )
                    .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
                slot.interval[i].reset();
            }
        }
        if let Some(errors) = &mut self.error_log {
            // By name (labels sort so), as the summary lists them. Labels
            // are escaped text; a comma in one is quoted away.
            for (label, n) in std::mem::take(&mut self.interval_errors) {
                let label = label.to_string().replace('"', "'");
                writeln!(
                    errors,
                    "{:.3},{:.3},\"{label}\",{n}",
                    self.interval_start.as_secs_f64(),
                    length.as_secs_f64()
                )?;
            }
            errors.flush()?;
        }
        self.interval_start = now;
        self.log.flush()
    }

    /// Writes the last interval; the counters and the lag histogram.
    pub fn finish(&mut self) -> std::io::Result<(Counts, Histogram<u64>)> {
        self.rotate()?;
        Ok((self.counts(), self.lag.clone()))
    }

    /// Acquisitions the dispatcher sent later than its late bound.
    pub fn late_sends(&mut self) -> u64 {
        self.merge();
        self.late
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A histogram starts at the smallest size (16 KB: values to 2 ms) and
    /// grows to the largest value it records, up to 60 s, reading then
    /// exactly as one made for the whole range (the reference, made here
    /// with hdrhistogram's own fixed bounds) reads.
    #[test]
    fn histograms_start_small_and_grow_to_what_they_record() {
        let mut h = histogram();
        assert!(h.high() < 2048, "{}", h.high());
        let mut reference = Histogram::<u64>::new_with_bounds(LOWEST, HIGHEST, 3).unwrap();
        for v in [1, 150, 2_047, 90_000, 1_500_000, HIGHEST] {
            h.record(v).unwrap();
            reference.record(v).unwrap();
        }
        assert!(h.high() >= HIGHEST, "{}", h.high());
        for q in [0.1, 0.5, 0.9, 0.99, 1.0] {
            assert_eq!(
                h.value_at_quantile(q),
                reference.value_at_quantile(q),
                "q {q}"
            );
        }
        assert_eq!(
            (h.len(), h.max(), h.min()),
            (reference.len(), reference.max(), reference.min())
        );
    }

    /// A label by its name: a kind, or anything else as a provider code.
    fn label(name: &str) -> ErrorLabel {
        name.parse()
            .unwrap_or_else(|_| ErrorLabel::Provider(name.to_owned()))
    }

    fn step(step: Step, ms: u64) -> StepTime {
        StepTime {
            step,
            elapsed: Duration::from_millis(ms),
        }
    }

    /// Each step lands in its own histogram by name, however many a flow
    /// has and in whatever order they come: none is dropped.
    #[test]
    fn steps_are_recorded_by_name_however_many() {
        let dir = std::env::temp_dir().join(format!("tokenprobe-rec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let hlog = dir.join("steps.hlog");
        let layout = [(
            "x".to_owned(),
            &[Step::Idp, Step::Session, Step::Refresh][..],
        )];
        let mut r = Recorder::new(&hlog, Instant::now(), SystemTime::now(), &layout).unwrap();
        let steps = [
            step(Step::Idp, 1),
            step(Step::Session, 2),
            step(Step::Refresh, 3),
        ];
        r.record(&Acquisition {
            flow: 0,
            steps: &steps,
            queued: Duration::from_millis(10),
            total: Duration::from_millis(16),
            error: None,
        });
        r.finish().unwrap();
        let totals = crate::report::read_hlog(&std::fs::read(&hlog).unwrap())
            .unwrap()
            .totals;
        let ms = |step| {
            let key = Key {
                flow: "x".into(),
                step,
                outcome: Outcome::Ok,
            };
            totals.get(&key).map(|h| h.max() / 1000)
        };
        // The wait for the driver counts in the first step only.
        assert_eq!(ms(Part::Step(Step::Idp)), Some(11));
        assert_eq!(ms(Part::Step(Step::Session)), Some(2));
        assert_eq!(ms(Part::Step(Step::Refresh)), Some(3));
        assert_eq!(ms(Part::Total), Some(16));
        // The service time leaves the wait out.
        assert_eq!(ms(Part::Service), Some(6));
        let _ = std::fs::remove_dir_all(dir);
    }

    /// One scripted acquisition: flow, queued µs, error label.
    type Scripted = (usize, u64, Option<String>);

    fn scripted(o: &Scripted) -> Acquisition<'static> {
        const ONE: [StepTime; 1] = [StepTime {
            step: Step::Token,
            elapsed: Duration::from_micros(700),
        }];
        const TWO: [StepTime; 2] = [
            StepTime {
                step: Step::Idp,
                elapsed: Duration::from_micros(2000),
            },
            StepTime {
                step: Step::Session,
                elapsed: Duration::from_micros(3000),
            },
        ];
        Acquisition {
            flow: o.0,
            steps: if o.0 == 0 { &ONE[..] } else { &TWO[..] },
            queued: Duration::from_micros(o.1),
            total: Duration::from_micros(o.1 * 10),
            error: o.2.as_deref().map(label),
        }
    }

    /// Four intervals of acquisitions of two flows, with more error labels
    /// than a flow keeps, some new in each interval: rare ones first, then
    /// frequent ones, so that keeping the first seen is not keeping the
    /// most frequent.
    fn script() -> Vec<Vec<Scripted>> {
        (0..4u64)
            .map(|interval| {
                (0..2500u64)
                    .map(|i| {
                        let n = interval * 2500 + i;
                        // Each flow's errors, numbered: a flow errs on every
                        // sixth acquisition.
                        let k = n / 6 + (n % 2) * 3;
                        let label = (n % 3 == 0).then(|| match i < 600 {
                            true => format!("provider(rare_{})", (k * 13) % 30 + 10 * interval),
                            false => format!("provider(freq_{})", (k * 7) % (5 + 5 * interval)),
                        });
                        ((n % 2) as usize, 1 + (n * 31) % 4999, label)
                    })
                    .collect()
            })
            .collect()
    }

    /// What a run of `threads` threads wrote: its counts, each interval's
    /// histograms by tag, each interval's errors.csv lines (without the
    /// times, which are the clock's).
    type Written = (Counts, Vec<BTreeMap<String, Histogram<u64>>>, Vec<String>);

    /// `peek`: the counts are looked at in the middle of each interval (as
    /// the progress line and the metrics endpoint do), which must change
    /// nothing.
    fn run_split(threads: usize, peek: bool, dir: &Path) -> Written {
        let layout = [
            ("cognito".to_owned(), &[Step::Token][..]),
            ("veeva".to_owned(), &[Step::Idp, Step::Session][..]),
        ];
        let (hlog, csv) = (
            dir.join(format!("{threads}-{peek}.hlog")),
            dir.join(format!("{threads}-{peek}.csv")),
        );
        let mut r = Recorder::new(&hlog, Instant::now(), SystemTime::now(), &layout)
            .unwrap()
            .with_error_log(&csv)
            .unwrap();
        let recording = r.recording();
        for interval in script() {
            // The rare labels come first (see `script`): a look then sees
            // only them.
            let (first, second) = interval.split_at(600);
            for part in [first, second] {
                std::thread::scope(|scope| {
                    for t in 0..threads {
                        let recording = recording.clone();
                        // Round robin: each thread a different mix.
                        scope.spawn(move || {
                            for o in part.iter().skip(t).step_by(threads) {
                                assert!(recording.record(&scripted(o), || {}));
                            }
                        });
                    }
                });
                if peek {
                    let c = r.counts();
                    assert_eq!(c.started, c.ok + c.error_total(), "{c:?}");
                }
            }
            r.rotate().unwrap();
        }
        let (counts, _) = r.finish().unwrap();
        let mut intervals: Vec<(Duration, BTreeMap<String, Histogram<u64>>)> = Vec::new();
        for i in crate::report::Intervals::new(&std::fs::read(&hlog).unwrap()) {
            let (start, _, key, h) = i.unwrap();
            if intervals.last().is_none_or(|(s, _)| *s != start) {
                intervals.push((start, BTreeMap::new()));
            }
            intervals.last_mut().unwrap().1.insert(key.tag(), h);
        }
        let errors = std::fs::read_to_string(&csv)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.splitn(3, ',').nth(2).unwrap().to_owned())
            .collect();
        (
            counts,
            intervals.into_iter().map(|(_, h)| h).collect(),
            errors,
        )
    }

    /// The reference, computed here without the recorder: one histogram
    /// per tag and interval fed every value, every label counted, and the
    /// labels each flow keeps chosen by the rule written out again: its
    /// first 32, earlier intervals first, then by count, then by name.
    fn reference() -> Written {
        let names = ["cognito", "veeva"];
        let mut counts = Counts::default();
        let mut intervals = Vec::new();
        let mut errors = Vec::new();
        let mut kept: [Vec<String>; 2] = [Vec::new(), Vec::new()];
        for interval in script() {
            let mut h: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
            let mut add = |tag: String, us: u64| {
                h.entry(tag).or_insert_with(histogram).record(us).unwrap();
            };
            let mut labels: [BTreeMap<String, u64>; 2] = Default::default();
            for (flow, queued, error) in &interval {
                let outcome = if error.is_some() { "err" } else { "ok" };
                let name = names[*flow];
                if *flow == 0 {
                    add(format!("{name}/token/{outcome}"), 700 + queued);
                } else {
                    add(format!("{name}/idp/{outcome}"), 2000 + queued);
                    add(format!("{name}/session/{outcome}"), 3000);
                }
                for f in [name, "all"] {
                    add(format!("{f}/total/{outcome}"), queued * 10);
                    add(format!("{f}/service/{outcome}"), queued * 9);
                }
                counts.started += 1;
                match error {
                    None => counts.ok += 1,
                    Some(l) => *labels[*flow].entry(l.clone()).or_default() += 1,
                }
            }
            let mut this: BTreeMap<String, u64> = BTreeMap::new();
            for (flow, labels) in labels.iter().enumerate() {
                let mut new: Vec<(&String, &u64)> = labels
                    .iter()
                    .filter(|(l, _)| !kept[flow].contains(l))
                    .collect();
                new.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                for (l, _) in new {
                    if kept[flow].len() < 32 {
                        kept[flow].push(l.clone());
                    }
                }
                for (l, n) in labels {
                    let shown = match kept[flow].contains(l) {
                        true => l.clone(),
                        false => "other".to_owned(),
                    };
                    *this.entry(shown).or_default() += n;
                }
            }
            for (l, n) in &this {
                *counts.errors.entry(label(l)).or_default() += n;
                errors.push(format!("\"{l}\",{n}"));
            }
            intervals.push(h);
        }
        (counts, intervals, errors)
    }

    /// Threads recording into their own shards write what the reference
    /// says, whatever the split: 1, 2 or 8 threads, four intervals, more
    /// labels than a flow keeps, with or without a look at the counts in
    /// the middle of an interval.
    #[test]
    fn any_split_across_threads_writes_the_reference() {
        let dir = std::env::temp_dir().join(format!("tokenprobe-shards-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (counts, intervals, errors) = reference();
        // The two flows keep different labels: more than one flow could.
        assert!(counts.errors.len() > 33, "{:?}", counts.errors.keys());
        assert!(counts.errors[&ErrorLabel::Other] > 0);
        for (threads, peek) in [(1, false), (2, false), (8, false), (2, true)] {
            let (c, i, e) = run_split(threads, peek, &dir);
            assert_eq!(c.started, counts.started, "{threads} threads");
            assert_eq!(c.ok, counts.ok, "{threads} threads");
            assert_eq!(c.errors, counts.errors, "{threads} threads");
            assert_eq!(e, errors, "{threads} threads: errors.csv");
            assert_eq!(i.len(), intervals.len(), "{threads} threads");
            for (n, (got, want)) in i.iter().zip(&intervals).enumerate() {
                assert_eq!(
                    got.keys().collect::<Vec<_>>(),
                    want.keys().collect::<Vec<_>>(),
                    "{threads} threads, interval {n}"
                );
                for (tag, h) in want {
                    assert_eq!(&got[tag], h, "{threads} threads, interval {n}, {tag}");
                }
            }
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Late sends are counted past their bound only; once closed, a
    /// thread's result is refused (the driver counts it as cancelled).
    #[test]
    fn late_sends_and_a_closed_recorder() {
        let dir = std::env::temp_dir().join(format!("tokenprobe-late-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let layout = [("cognito".to_owned(), &[Step::Token][..])];
        let mut r = Recorder::new(
            &dir.join("l.hlog"),
            Instant::now(),
            SystemTime::now(),
            &layout,
        )
        .unwrap();
        let recording = r.recording();
        let bound = Duration::from_millis(1);
        recording.lag(Duration::from_micros(900), bound);
        recording.lag(bound, bound);
        recording.lag(Duration::from_micros(1500), bound);
        assert_eq!(r.late_sends(), 1);
        recording.lag(Duration::from_millis(40), bound);
        assert_eq!(r.late_sends(), 2);
        r.close();
        assert!(!recording.record(&scripted(&(0, 5, None)), || {}));
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The counters by flow, with drops and cancellations; and a label
    /// kept in an earlier interval takes no second place when it comes
    /// back, so the last place goes to the most frequent new one.
    #[test]
    fn counts_add_up_by_flow_and_a_kept_label_keeps_one_place() {
        const TOKEN: [StepTime; 1] = [StepTime {
            step: Step::Token,
            elapsed: Duration::from_millis(1),
        }];
        let dir = crate::testdata::dir("rec-counts");
        std::fs::create_dir_all(&dir).unwrap();
        let layout = [
            ("a".to_owned(), &[Step::Token][..]),
            ("b".to_owned(), &[Step::Token][..]),
            (
                "c".to_owned(),
                &[Step::Idp, Step::Session, Step::Refresh][..],
            ),
        ];
        let mut r = Recorder::new(
            &dir.join("c.hlog"),
            Instant::now(),
            SystemTime::now(),
            &layout,
        )
        .unwrap();
        let one = |flow, error: Option<&str>| Acquisition {
            flow,
            steps: &TOKEN,
            queued: Duration::ZERO,
            total: Duration::from_millis(1),
            error: error.map(label),
        };
        for flow in [0, 0, 0, 1, 1] {
            r.record(&one(flow, None));
        }
        r.record(&one(1, Some("connect")));
        let recording = r.recording();
        recording.dropped();
        recording.dropped();
        for i in 0..MAX_LABELS_PER_FLOW - 1 {
            r.record(&one(0, Some(&format!("L{i:02}"))));
        }
        r.rotate().unwrap();
        // L00, kept already, is the most frequent of this interval: it must
        // not take the last place again.
        for label in ["L00", "L00", "L00", "L32", "L31", "L31"] {
            r.record(&one(0, Some(label)));
        }
        r.rotate().unwrap();
        r.cancelled(0);
        assert!(!r.counts().errors.contains_key(&ErrorLabel::Cancelled));
        r.cancelled(4);
        let c = r.counts();
        assert_eq!(c.per_flow["a"], (3, 37));
        assert_eq!(c.per_flow["b"], (2, 1));
        assert_eq!(c.per_flow.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!((c.ok, c.started, c.dropped_in_flight_cap), (5, 47, 2));
        let count = |name: &str| c.errors.get(&label(name)).copied();
        assert_eq!(count("cancelled"), Some(4));
        assert_eq!(count("connect"), Some(1));
        assert_eq!((count("L00"), count("L30")), (Some(4), Some(1)));
        assert_eq!((count("L31"), count("L32")), (Some(2), None));
        assert_eq!(count("other"), Some(1));
        assert_eq!(c.error_total(), 42);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// What the progress line and the metrics endpoint read mid-run: the
    /// acquisitions so far (errors of the open interval included), the
    /// percentiles, and each histogram with values (the metrics
    /// endpoint's buckets are tested in `metrics`), against the values
    /// recorded.
    #[test]
    fn live_views_count_what_was_recorded() {
        let dir = crate::testdata::dir("rec-live");
        std::fs::create_dir_all(&dir).unwrap();
        let layout = [("a".to_owned(), &[Step::Token][..])];
        let mut r = Recorder::new(
            &dir.join("v.hlog"),
            Instant::now(),
            SystemTime::now(),
            &layout,
        )
        .unwrap();
        let ms = [1, 3, 20, 200];
        for (ms, error) in ms
            .iter()
            .map(|m| (*m, None))
            .chain([(5, Some("connect")), (5, Some("x"))])
        {
            let steps = [step(Step::Token, ms)];
            r.record(&Acquisition {
                flow: 0,
                steps: &steps,
                // The service rows (1 ms less) must not be read as the
                // totals.
                queued: Duration::from_millis(1),
                total: Duration::from_millis(ms),
                error: error.map(label),
            });
        }
        assert_eq!(r.started(), 6);
        let (p50, p99, errors) = r.live();
        let near = |d: Option<Duration>, ms: f64| {
            d.is_some_and(|d| (d.as_secs_f64() * 1000.0 - ms).abs() <= ms * 0.002)
        };
        assert!(near(p50, 3.0) && near(p99, 200.0), "{p50:?} {p99:?}");
        assert_eq!(errors, 2);
        let mut seen = BTreeMap::new();
        r.each_histogram(|key, h| {
            seen.insert(key, (h.len(), h.max() / 1000));
        });
        let key = |step, outcome| Key {
            flow: "a".into(),
            step,
            outcome,
        };
        // Four successes up to 200 ms, two failures; every step's, total's
        // and service's histogram, and nothing empty.
        assert_eq!(seen.get(&key(Part::Total, Outcome::Ok)), Some(&(4, 200)));
        assert_eq!(
            seen.get(&key(Part::Total, Outcome::Err)).map(|c| c.0),
            Some(2)
        );
        assert!(seen.values().all(|(n, _)| *n > 0));
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A log that cannot be written says so (a full disk is `/dev/full`).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_is_an_error_not_a_silent_gap() {
        let layout = [("x".to_owned(), &[Step::Token][..])];
        let full = Path::new("/dev/full");
        let mut r = Recorder::new(full, Instant::now(), SystemTime::now(), &layout).unwrap();
        r.record(&Acquisition {
            flow: 0,
            steps: &[step(Step::Token, 1)],
            queued: Duration::ZERO,
            total: Duration::from_millis(1),
            error: None,
        });
        assert!(r.rotate().is_err());
    }
}
