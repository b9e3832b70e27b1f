//! The open model on a worker: its share of the arrivals, each released
//! once it is due, at most one wake-up a tick.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::clock::Clock;
use super::{NamedFlow, Shared, WorkerTransport, stopped};

/// What the open model's workers share.
pub(super) struct Open<T> {
    pub(super) schedule: crate::schedule::Schedule,
    pub(super) arrivals: crate::schedule::Arrivals,
    pub(super) seed: u64,
    pub(super) weights: Vec<f64>,
    /// A shard takes every `stride`-th arrival, from `offset`.
    pub(super) stride: u64,
    pub(super) offset: u64,
    pub(super) limit: u64,
    pub(super) duration: Duration,
    pub(super) end: Option<Instant>,
    pub(super) started: Instant,
    pub(super) max_in_flight: usize,
    pub(super) late_bound: Duration,
    pub(super) shared: Arc<Shared>,
    pub(super) flows: Arc<[NamedFlow]>,
    pub(super) transport: T,
    pub(super) stop: watch::Receiver<bool>,
}

/// What an open-model worker dispatched.
pub(super) struct Dispatched {
    /// Arrivals, each started or dropped at the in-flight cap.
    pub(super) sent: u64,
    /// The same, per flow.
    pub(super) per_flow: Vec<u64>,
    /// The window, when a count or a stop ended it early.
    pub(super) window: Option<Duration>,
    /// A stop ended it.
    pub(super) stopped: bool,
}

impl Dispatched {
    /// A worker whose job was lost (it panicked): counted as stopped.
    pub(super) fn lost() -> Dispatched {
        Dispatched {
            sent: 0,
            per_flow: Vec::new(),
            window: None,
            stopped: true,
        }
    }
}

/// The shortest time between two wake-ups of one worker: the arrivals due
/// within it are released together, each still timed from its own
/// intended start. Below one arrival per tick a worker wakes at each
/// arrival, on time.
const TICK: Duration = Duration::from_millis(1);

/// The open model's arrivals a second per worker: well within what one
/// core sends (about 100,000 a second on loopback), so that a worker is
/// added for throughput, not for each core there is.
const PER_WORKER: f64 = 10_000.0;

/// How many of `cores` workers an open run whose (shard's) schedule peaks
/// at `peak` arrivals a second takes: one per [`PER_WORKER`], at least one.
pub(super) fn workers_for(peak: f64, cores: usize) -> usize {
    cores.min((peak / PER_WORKER).ceil().max(1.0) as usize)
}

/// When a worker next wakes, for an arrival due at `next`: then, or a
/// tick after its last planned wake-up, whichever is later.
fn wake_for(next: Instant, woke: Option<Instant>) -> Instant {
    woke.map_or(next, |w| next.max(w + TICK))
}

impl<T: WorkerTransport> Open<T> {
    /// Worker `worker` of `workers`: releases its share of the arrivals
    /// (every `workers`-th of the shard's), each once it is due, until the
    /// duration, the count or a stop. A wake-up releases every arrival
    /// already due, so a late one catches up at once.
    pub(super) async fn dispatch(&self, worker: usize, workers: usize) -> Dispatched {
        let mut mix = crate::schedule::Mix::new(&self.weights);
        let mut due =
            crate::schedule::Arrival::new(self.schedule.clone(), self.arrivals, self.seed);
        let mut per_flow = vec![0u64; self.flows.len()];
        let (mut n, mut window, mut partial) = (0u64, None, false);
        let mut clock = Clock::new();
        let mut stop = self.stop.clone();
        // What each acquisition task needs, behind one reference count.
        let task = Arc::new((
            self.shared.clone(),
            self.flows.clone(),
            self.transport.for_worker(worker),
        ));
        let (mut now, mut woke) = (Instant::now(), None::<Instant>);
        // The shard's every `workers`-th arrival: every `period`-th of the
        // schedule, from `slot`.
        let period = self.stride * workers as u64;
        let slot = self.offset + self.stride * worker as u64;
        loop {
            let Some((k, at)) = due.next() else {
                // The rate fell to 0 for good: the window still runs to
                // its end (or the stop).
                if let Some(e) = self.end {
                    tokio::select! {
                        () = clock.until(e) => {}
                        () = stopped(&mut stop) => (partial, window) = (true, Some(self.started.elapsed())),
                    }
                }
                break;
            };
            if k >= self.limit {
                window = Some(self.started.elapsed());
                break;
            }
            let index = mix.pick();
            if k % period != slot {
                continue;
            }
            let next = self.started + at;
            if let Some(e) = self.end.filter(|e| next >= *e) {
                // Past the window: it still runs to its end (a step of a
                // search starts when the one before has ended).
                tokio::select! {
                    () = clock.until(e) => window = Some(self.duration),
                    () = stopped(&mut stop) => (partial, window) = (true, Some(self.started.elapsed())),
                }
                break;
            }
            if next > now {
                let wake = wake_for(next, woke);
                tokio::select! {
                    biased;
                    () = stopped(&mut stop) => {
                        (partial, window) = (true, Some(self.started.elapsed()));
                        break;
                    }
                    () = clock.until(wake) => {}
                }
                woke = Some(wake);
                now = Instant::now();
            }
            per_flow[index] += 1;
            let recording = &self.shared.recording;
            recording.lag(now.saturating_duration_since(next), self.late_bound);
            // Taken only below the cap, in one step: workers share it.
            let max = self.max_in_flight;
            let taken =
                self.shared
                    .in_flight
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                        (n < max).then_some(n + 1)
                    });
            if taken.is_err() {
                recording.dropped();
            } else {
                let task = task.clone();
                tokio::spawn(async move {
                    let (shared, flows, transport) = &*task;
                    shared.acquire(transport, index, &flows[index], next).await;
                });
            }
            n += 1;
        }
        Dispatched {
            sent: n,
            per_flow,
            window,
            stopped: partial,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wake-ups a worker plans for arrivals due at `due_us` (µs from
    /// the first), in µs.
    fn wakes(due_us: &[u64]) -> Vec<u64> {
        let start = Instant::now();
        let mut woke = None;
        let mut out = Vec::new();
        for &d in due_us {
            let next = start + Duration::from_micros(d);
            // Due by the last wake-up: released with it.
            if woke.is_some_and(|w| next <= w) {
                continue;
            }
            let w = wake_for(next, woke);
            woke = Some(w);
            out.push(u64::try_from((w - start).as_micros()).unwrap());
        }
        out
    }

    /// A worker per 10,000 arrivals a second at the peak, at least one, at
    /// most one per core.
    #[test]
    fn a_worker_per_ten_thousand_arrivals_a_second() {
        assert_eq!(workers_for(0.0, 2), 1);
        assert_eq!(workers_for(80.0, 2), 1);
        assert_eq!(workers_for(10_000.0, 8), 1);
        assert_eq!(workers_for(10_001.0, 8), 2);
        assert_eq!(workers_for(25_000.0, 8), 3);
        assert_eq!(workers_for(25_000.0, 2), 2);
    }

    /// Arrivals further apart than a tick each get a wake-up of their own,
    /// at their time; closer ones go together, one wake-up a tick (2,000/s
    /// on one worker: two arrivals a wake-up, as oha sends them).
    #[test]
    fn a_worker_wakes_at_most_once_a_tick_and_never_early() {
        assert_eq!(wakes(&[0, 2000, 4000, 7000]), [0, 2000, 4000, 7000]);
        assert_eq!(wakes(&[0, 500, 1000, 1500, 2000]), [0, 1000, 2000]);
        // A burst: one wake-up, then the next arrival a tick later at most.
        assert_eq!(wakes(&[0, 10, 20, 30, 1600]), [0, 1000, 2000]);
    }
}
