//! Recording without a shared lock: each thread that records (a load
//! worker) gets its own [`Shard`] of the run's interval histograms and
//! counters, found through a thread-local. Only that thread
//! writes it; the recorder merges every shard at each interval tick (its
//! lock on a shard is then the only other one, once a second).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use hdrhistogram::Histogram;
use tokenprobe_client::ErrorLabel;

use super::key::{Outcome, Part};
use super::{Acquisition, LABEL_MEMORY, OTHER_ERRORS, histogram, micros};

/// Where each flow's histograms are: shared by the recorder and its shards.
#[derive(Debug)]
pub(crate) struct Layout {
    /// Per flow: the index of its first slot and its number of steps; its
    /// total and its service time follow its steps.
    pub(crate) flows: Vec<(usize, usize)>,
    /// What each slot times; the last two are `all/total`, `all/service`.
    pub(crate) parts: Vec<Part>,
}

impl Layout {
    fn slots(&self) -> usize {
        self.parts.len()
    }
}

/// One thread's recording since the last merge.
pub(crate) struct Shard {
    /// Per slot: [ok, err].
    pub(crate) intervals: Vec<[Histogram<u64>; 2]>,
    /// Per flow: successes.
    pub(crate) ok: Vec<u64>,
    /// Per flow: error label → count, every label as recorded (the
    /// recorder decides which it keeps, the same whatever the split), up
    /// to [`LABEL_MEMORY`] a flow, then [`OTHER_ERRORS`].
    pub(crate) errors: Vec<BTreeMap<ErrorLabel, u64>>,
    pub(crate) dropped: u64,
    pub(crate) lag: Histogram<u64>,
    /// Sent later than the late bound after their intended start.
    pub(crate) late: u64,
    /// Whether anything was recorded since the last merge.
    pub(crate) dirty: bool,
}

impl Shard {
    pub(crate) fn new(layout: &Layout) -> Shard {
        Shard {
            intervals: (0..layout.slots())
                .map(|_| [histogram(), histogram()])
                .collect(),
            ok: vec![0; layout.flows.len()],
            errors: vec![BTreeMap::new(); layout.flows.len()],
            dropped: 0,
            lag: histogram(),
            late: 0,
            dirty: false,
        }
    }

    /// One finished acquisition: its steps (each into its own slot, found
    /// by name), its total, its bucket.
    pub(crate) fn record(&mut self, layout: &Layout, o: &Acquisition<'_>) {
        let Some(&(first, steps)) = layout.flows.get(o.flow) else {
            return;
        };
        let outcome = match o.error {
            None => Outcome::Ok,
            Some(_) => Outcome::Err,
        };
        let k = outcome.index();
        for (i, step) in o.steps.iter().enumerate() {
            let queued = if i == 0 { o.queued } else { Duration::ZERO };
            let own = layout.parts[first..first + steps]
                .iter()
                .position(|p| *p == Part::Step(step.step));
            if let Some(at) = own {
                record(&mut self.intervals[first + at][k], step.elapsed + queued);
            }
        }
        let (total, service) = (o.total, o.total.saturating_sub(o.queued));
        let all = self.intervals.len() - 2;
        for (slot, value) in [
            (first + steps, total),
            (first + steps + 1, service),
            (all, total),
            (all + 1, service),
        ] {
            record(&mut self.intervals[slot][k], value);
        }
        match &o.error {
            None => self.ok[o.flow] += 1,
            Some(label) => {
                let labels = &mut self.errors[o.flow];
                let label = match labels.contains_key(label) || labels.len() < LABEL_MEMORY {
                    true => label,
                    false => &OTHER_ERRORS,
                };
                match labels.get_mut(label) {
                    Some(n) => *n += 1,
                    None => {
                        labels.insert(label.clone(), 1);
                    }
                }
            }
        }
        self.dirty = true;
    }

    pub(crate) fn lag(&mut self, lag: Duration, bound: Duration) {
        record(&mut self.lag, lag);
        self.late += u64::from(lag > bound);
        self.dirty = true;
    }

    pub(crate) fn dropped(&mut self) {
        self.dropped += 1;
        self.dirty = true;
    }

    /// Empties it after a merge.
    pub(crate) fn reset(&mut self) {
        for pair in &mut self.intervals {
            pair[0].reset();
            pair[1].reset();
        }
        self.ok.fill(0);
        for labels in &mut self.errors {
            labels.clear();
        }
        self.dropped = 0;
        self.lag.reset();
        self.late = 0;
        self.dirty = false;
    }
}

/// Records `d` in microseconds, clamped to the recorder's range; the
/// histogram grows to hold it (`saturating_record` would clamp to its size
/// so far instead).
fn record(h: &mut Histogram<u64>, d: Duration) {
    let _ = h.record(micros(d));
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The shards of one recorder, and whether it still takes results.
#[derive(Debug)]
pub(crate) struct Shards {
    pub(crate) layout: Arc<Layout>,
    list: Mutex<Vec<Arc<Mutex<Shard>>>>,
    closed: AtomicBool,
}

impl Shards {
    pub(crate) fn new(layout: Layout) -> Shards {
        Shards {
            layout: Arc::new(layout),
            list: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        }
    }

    /// Calls `f` with every shard, locked in turn.
    pub(crate) fn each(&self, mut f: impl FnMut(&mut Shard)) {
        let list = lock(&self.list).clone();
        for shard in list {
            f(&mut lock(&shard));
        }
    }

    /// Takes no more results. Returns once no thread is recording: each
    /// shard is locked once after the flag is set, so a result either went
    /// in before or sees the flag.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.each(|_| {});
    }
}

impl std::fmt::Debug for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shard").field("dirty", &self.dirty).finish()
    }
}

/// A thread's shard of one recorder, with the recorder it belongs to.
type Owned = (Weak<Shards>, Arc<Mutex<Shard>>);

thread_local! {
    /// This thread's shard of each live recorder.
    static LOCAL: RefCell<Vec<Owned>> = const { RefCell::new(Vec::new()) };
}

/// What the load workers record through: cheap to
/// clone, and each thread writes only its own shard.
#[derive(Debug, Clone)]
pub struct Recording {
    pub(crate) shards: Arc<Shards>,
}

impl Recording {
    /// Runs `f` on this thread's shard (made and registered the first
    /// time), unless the recorder is closed.
    fn with_shard<R>(&self, f: impl FnOnce(&Layout, &mut Shard) -> R) -> Option<R> {
        LOCAL.with(|local| {
            let mut local = local.borrow_mut();
            let me = Arc::as_ptr(&self.shards);
            let shard = match local.iter().find(|(owner, _)| owner.as_ptr() == me) {
                Some((_, shard)) => shard.clone(),
                None => {
                    // Shards of finished recorders go with them, when a
                    // thread takes a new one (not at each record).
                    local.retain(|(owner, _)| owner.strong_count() > 0);
                    let shard = Arc::new(Mutex::new(Shard::new(&self.shards.layout)));
                    lock(&self.shards.list).push(shard.clone());
                    local.push((Arc::downgrade(&self.shards), shard.clone()));
                    shard
                }
            };
            drop(local);
            let mut shard = lock(&shard);
            // Under the shard's lock: see `Shards::close`.
            match self.shards.closed.load(Ordering::SeqCst) {
                true => None,
                false => Some(f(&self.shards.layout, &mut shard)),
            }
        })
    }

    /// Records a finished acquisition and runs `then` with it recorded,
    /// unless the recorder was closed (the acquisition was then counted
    /// as cancelled). Returns whether it was recorded.
    pub fn record(&self, o: &Acquisition<'_>, then: impl FnOnce()) -> bool {
        self.with_shard(|layout, shard| {
            shard.record(layout, o);
            then();
        })
        .is_some()
    }

    /// How late the dispatcher started an acquisition; past `bound`, it
    /// counts as sent late.
    pub fn lag(&self, lag: Duration, bound: Duration) {
        self.with_shard(|_, shard| shard.lag(lag, bound));
    }

    /// An arrival the in-flight cap kept from starting.
    pub fn dropped(&self) {
        self.with_shard(|_, shard| shard.dropped());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One flow of no step: its total, its service time, then all flows'.
    fn layout() -> Layout {
        Layout {
            flows: vec![(0, 0)],
            parts: vec![Part::Total, Part::Service, Part::Total, Part::Service],
        }
    }

    fn failed(label: ErrorLabel) -> Acquisition<'static> {
        Acquisition {
            flow: 0,
            steps: &[],
            queued: Duration::ZERO,
            total: Duration::from_millis(1),
            error: Some(label),
        }
    }

    /// A server that answers a new error per request costs a shard at most
    /// `LABEL_MEMORY` labels; the rest count under `other`, none lost.
    #[test]
    fn a_shard_remembers_a_bounded_number_of_labels() {
        let layout = layout();
        let mut shard = Shard::new(&layout);
        for i in 0..LABEL_MEMORY + 2 {
            shard.record(&layout, &failed(ErrorLabel::Provider(format!("e{i}"))));
        }
        // A label already kept is still counted under its name.
        let e0 = ErrorLabel::Provider("e0".into());
        shard.record(&layout, &failed(e0.clone()));
        let labels = &shard.errors[0];
        assert_eq!(labels.len(), LABEL_MEMORY + 1);
        assert_eq!(labels.get(&OTHER_ERRORS), Some(&2));
        assert_eq!(labels.get(&e0), Some(&2));
        assert_eq!(labels.values().sum::<u64>(), LABEL_MEMORY as u64 + 3);
    }

    /// A thread forgets the shards of recorders that are gone: a search
    /// makes one recorder a step, a long soak thousands.
    #[test]
    fn a_thread_keeps_no_shard_of_a_finished_recorder() {
        for _ in 0..3 {
            let recording = Recording {
                shards: Arc::new(Shards::new(layout())),
            };
            assert!(recording.record(&failed(ErrorLabel::Other), || {}));
        }
        assert_eq!(LOCAL.with(|l| l.borrow().len()), 1);
    }
}
