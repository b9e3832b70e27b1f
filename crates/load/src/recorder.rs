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

/// Microseconds: the unit of every histogram.
pub const LOWEST: u64 = 1;
/// 60 s; longer values are recorded as 60 s.
pub const HIGHEST: u64 = 60_000_000;

/// A new histogram with the recorder's bounds.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(LOWEST, HIGHEST, 3)
        .expect("1 µs to 60 s at 3 significant digits are valid bounds")
}

/// What a histogram holds: a flow (or `all`), a step (or `total`), and
/// whether the acquisition succeeded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    /// Flow name, or `all`.
    pub flow: String,
    /// Step name, or `total`.
    pub step: String,
    /// Success or error.
    pub ok: bool,
}

impl Key {
    /// The interval log tag: `flow/step/ok` or `flow/step/err`.
    pub fn tag(&self) -> String {
        format!(
            "{}/{}/{}",
            self.flow,
            self.step,
            if self.ok { "ok" } else { "err" }
        )
    }

    /// The key of a tag.
    pub fn from_tag(tag: &str) -> Option<Key> {
        let mut parts = tag.split('/');
        let (flow, step, outcome) = (parts.next()?, parts.next()?, parts.next()?);
        Some(Key {
            flow: flow.to_owned(),
            step: step.to_owned(),
            ok: match outcome {
                "ok" => true,
                "err" => false,
                _ => return None,
            },
        })
    }

    /// `flow/step`, how thresholds and tables name it.
    pub fn scope(&self) -> String {
        format!("{}/{}", self.flow, self.step)
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
pub struct Outcome<'a> {
    /// The flow's index in the recorder's layout.
    pub flow: usize,
    /// The latency of each step it ran, in the flow's step order.
    pub steps: &'a [Duration],
    /// The whole acquisition's latency (from its intended start).
    pub total: Duration,
    /// `None` for success, else the error label.
    pub error: Option<String>,
}

/// The histograms of one flow/step (or total): [ok, err], for the whole
/// run and for the current interval.
struct Slot {
    flow: String,
    step: &'static str,
    cumulative: [Histogram<u64>; 2],
    interval: [Histogram<u64>; 2],
}

impl Slot {
    fn new(flow: &str, step: &'static str) -> Slot {
        Slot {
            flow: flow.to_owned(),
            step,
            cumulative: [histogram(), histogram()],
            interval: [histogram(), histogram()],
        }
    }

    fn key(&self, ok: bool) -> Key {
        Key {
            flow: self.flow.clone(),
            step: self.step.to_owned(),
            ok,
        }
    }

    fn add(&mut self, ok: bool, micros: u64) {
        let i = usize::from(!ok);
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
        flows: &[(String, &'static [&'static str])],
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
            slots.extend(steps.iter().map(|s| Slot::new(name, s)));
            slots.push(Slot::new(name, "total"));
        }
        slots.push(Slot::new("all", "total"));
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

    /// One finished acquisition: its steps, its total, its bucket.
    pub fn record(&mut self, o: &Outcome<'_>) {
        let ok = o.error.is_none();
        let Some(&(first, steps)) = self.flows.get(o.flow) else {
            return;
        };
        for (slot, d) in self.slots[first..first + steps].iter_mut().zip(o.steps) {
            slot.add(ok, micros(*d));
        }
        let total = micros(o.total);
        self.slots[first + steps].add(ok, total);
        if let Some(all) = self.slots.last_mut() {
            all.add(ok, total);
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
            for (i, ok) in [(0, true), (1, false)] {
                if slot.interval[i].is_empty() {
                    continue;
                }
                let tag = slot.key(ok).tag();
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
