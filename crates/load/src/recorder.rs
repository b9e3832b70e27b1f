//! The recorder: one HdrHistogram (1 µs to 60 s, 3 significant digits)
//! per flow, step and outcome, plus the whole acquisition; interval
//! histograms written every second to an HdrHistogram interval log as the
//! run goes, so memory stays flat however long it runs; and the counters
//! that account for every acquisition.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use serde::{Deserialize, Serialize};
use tokenprobe_client::{Step, StepTime};

/// Microseconds: the unit of every histogram.
pub const LOWEST: u64 = 1;
/// 60 s; longer values are recorded as 60 s.
pub const HIGHEST: u64 = 60_000_000;

/// A new histogram with the recorder's bounds.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(LOWEST, HIGHEST, 3)
        .expect("1 µs to 60 s at 3 significant digits are valid bounds")
}

/// The flow name of the histograms over every flow.
pub const ALL_FLOWS: &str = "all";

/// Whether an acquisition succeeded. Errors sort first, as the rows of
/// `summary.json` always have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Failed (any error label).
    Err,
    /// Succeeded.
    Ok,
}

impl Outcome {
    /// `ok` or `err`, as tags and rows write it.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Err => "err",
        }
    }

    fn from_name(name: &str) -> Option<Outcome> {
        match name {
            "ok" => Some(Outcome::Ok),
            "err" => Some(Outcome::Err),
            _ => None,
        }
    }

    /// Its histogram in a slot's pair.
    fn index(self) -> usize {
        match self {
            Outcome::Ok => 0,
            Outcome::Err => 1,
        }
    }
}

/// What a histogram times: one step of a flow, or the whole acquisition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    /// One request of the flow.
    Step(Step),
    /// From the intended start to the grant (or the error).
    Total,
}

impl Part {
    /// The step's name, or `total`.
    pub fn name(self) -> &'static str {
        match self {
            Part::Step(s) => s.name(),
            Part::Total => "total",
        }
    }

    /// The part a name stands for.
    pub fn from_name(name: &str) -> Option<Part> {
        match name {
            "total" => Some(Part::Total),
            step => Step::from_name(step).map(Part::Step),
        }
    }
}

impl Serialize for Part {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Part {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Part::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown step {name:?}")))
    }
}

/// What a histogram holds: a flow (or [`ALL_FLOWS`]), a step (or the
/// total), and whether the acquisitions succeeded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    /// Flow name, or `all`.
    pub flow: String,
    /// A step, or the total.
    pub step: Part,
    /// Success or error.
    pub outcome: Outcome,
}

impl Key {
    /// The interval log's tag: `flow/step/ok` or `flow/step/err`. Tags are
    /// the file format; in memory a key stays typed.
    pub fn tag(&self) -> String {
        format!("{}/{}/{}", self.flow, self.step.name(), self.outcome.name())
    }

    /// The key of a tag.
    pub fn from_tag(tag: &str) -> Option<Key> {
        let mut parts = tag.split('/');
        let (flow, step, outcome) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        Some(Key {
            flow: flow.to_owned(),
            step: Part::from_name(step)?,
            outcome: Outcome::from_name(outcome)?,
        })
    }

    /// `flow/step`, how thresholds and tables name it.
    pub fn scope(&self) -> String {
        format!("{}/{}", self.flow, self.step.name())
    }

    /// The successful whole acquisitions over every flow.
    pub fn all_ok() -> Key {
        Key {
            flow: ALL_FLOWS.into(),
            step: Part::Total,
            outcome: Outcome::Ok,
        }
    }
}

/// Every acquisition, counted once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Started: `ok` + the sum of `errors`.
    pub started: u64,
    /// Succeeded.
    pub ok: u64,
    /// Failed, by error label (`connect`, `provider(invalid_client)`, …).
    pub errors: BTreeMap<String, u64>,
    /// Never started: the in-flight cap was reached.
    pub dropped_in_flight_cap: u64,
    /// Per flow: (ok, errors).
    pub per_flow: BTreeMap<String, (u64, u64)>,
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
pub const OTHER_ERRORS: &str = "other";

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
    pub error: Option<String>,
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

    fn add(&mut self, outcome: Outcome, micros: u64) {
        let i = outcome.index();
        self.cumulative[i].saturating_record(micros);
        self.interval[i].saturating_record(micros);
    }
}

/// Records acquisitions and writes interval histograms. Every histogram is
/// made at the start (one per flow, step and outcome), so recording is a
/// few array writes with no allocation.
pub struct Recorder {
    started: Instant,
    /// Per flow: the index of its first slot; then its steps, then its total.
    flows: Vec<(usize, usize)>,
    /// The last slot is `all/total`.
    slots: Vec<Slot>,
    interval_start: Duration,
    lag: Histogram<u64>,
    counts: Counts,
    per_flow: Vec<(u64, u64)>,
    /// Per flow: the distinct error labels it has counted.
    labels: Vec<Vec<String>>,
    log: BufWriter<File>,
    serializer: V2DeflateSerializer,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros())
        .unwrap_or(u64::MAX)
        .clamp(LOWEST, HIGHEST)
}

impl Recorder {
    /// Starts a recorder for `flows` (name and step names, in order) whose
    /// interval log is `hlog`.
    pub fn new(
        hlog: &Path,
        started: Instant,
        wall: SystemTime,
        flows: &[(String, &'static [Step])],
    ) -> std::io::Result<Recorder> {
        let mut log = BufWriter::new(File::create(hlog)?);
        let mut serializer = V2DeflateSerializer::new();
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
        }
        slots.push(Slot::new(ALL_FLOWS, Part::Total));
        Ok(Recorder {
            started,
            per_flow: vec![(0, 0); flows.len()],
            labels: vec![Vec::new(); flows.len()],
            flows: index,
            slots,
            interval_start: Duration::ZERO,
            lag: histogram(),
            counts: Counts::default(),
            log,
            serializer,
        })
    }

    /// One finished acquisition: its steps (each into its own slot, found
    /// by name), its total, its bucket.
    pub fn record(&mut self, o: &Acquisition<'_>) {
        let outcome = match o.error {
            None => Outcome::Ok,
            Some(_) => Outcome::Err,
        };
        let Some(&(first, steps)) = self.flows.get(o.flow) else {
            return;
        };
        let own = &mut self.slots[first..first + steps];
        for (i, step) in o.steps.iter().enumerate() {
            let queued = if i == 0 { o.queued } else { Duration::ZERO };
            if let Some(slot) = own.iter_mut().find(|s| s.step == Part::Step(step.step)) {
                slot.add(outcome, micros(step.elapsed + queued));
            }
        }
        let total = micros(o.total);
        self.slots[first + steps].add(outcome, total);
        if let Some(all) = self.slots.last_mut() {
            all.add(outcome, total);
        }
        let c = &mut self.counts;
        c.started += 1;
        let per_flow = &mut self.per_flow[o.flow];
        match &o.error {
            None => {
                c.ok += 1;
                per_flow.0 += 1;
            }
            Some(label) => {
                let seen = &mut self.labels[o.flow];
                let label = if seen.contains(label) {
                    label.as_str()
                } else if seen.len() < MAX_LABELS_PER_FLOW {
                    seen.push(label.clone());
                    label.as_str()
                } else {
                    OTHER_ERRORS
                };
                // The label is new only the first time: no copy after that.
                match c.errors.get_mut(label) {
                    Some(n) => *n += 1,
                    None => {
                        c.errors.insert(label.to_owned(), 1);
                    }
                }
                per_flow.1 += 1;
            }
        }
    }

    /// Acquisitions still in flight when the grace period ended: started,
    /// and counted as the error `cancelled` (no latency: they never ended).
    pub fn cancelled(&mut self, n: u64) {
        if n > 0 {
            self.counts.started += n;
            *self.counts.errors.entry("cancelled".into()).or_default() += n;
        }
    }

    /// An arrival the in-flight cap kept from starting.
    pub fn dropped(&mut self) {
        self.counts.dropped_in_flight_cap += 1;
    }

    /// How late the scheduler started an acquisition.
    pub fn lag(&mut self, late: Duration) {
        self.lag.saturating_record(micros(late));
    }

    /// The counters so far.
    pub fn counts(&self) -> Counts {
        let mut c = self.counts.clone();
        for (i, (ok, err)) in self.per_flow.iter().enumerate() {
            if let Some(&(first, steps)) = self.flows.get(i) {
                c.per_flow
                    .insert(self.slots[first + steps].flow.clone(), (*ok, *err));
            }
        }
        c
    }

    /// Acquisitions recorded so far.
    pub fn started(&self) -> u64 {
        self.counts.started
    }

    /// p50 and p99 of all successful acquisitions so far, and the errors.
    pub fn live(&self) -> (Option<Duration>, Option<Duration>, u64) {
        let h = self.slots.last().map(|s| &s.cumulative[0]);
        let q = |q| {
            h.filter(|h| !h.is_empty())
                .map(|h| Duration::from_micros(h.value_at_quantile(q)))
        };
        (q(0.5), q(0.99), self.counts.error_total())
    }

    /// Writes the current interval's histograms to the log and starts a new
    /// interval.
    pub fn rotate(&mut self) -> std::io::Result<()> {
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
        self.interval_start = now;
        self.log.flush()
    }

    /// Writes the last interval; the counters and the lag histogram.
    pub fn finish(&mut self) -> std::io::Result<(Counts, Histogram<u64>)> {
        self.rotate()?;
        Ok((self.counts(), self.lag.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
