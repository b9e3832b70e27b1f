//! The driver: starts acquisitions by the load model and hands each result
//! to the recorder, through this thread's shard (no lock shared by the
//! acquisitions), over hyper's own client ([`DirectTransport`]).
//!
//! Open model: arrivals follow the schedule (constant or ramped rate); each
//! acquisition's latency counts from its *intended* start, so a stalled
//! server cannot hide behind a waiting driver (coordinated omission). The
//! driver never sends more than the schedule says so far; when it falls
//! behind, the lag histogram says by how much. Closed model: N users in a
//! loop, latency from each actual start.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokenprobe_client::{DirectTransport, Flow};
use tokio::sync::watch;

use crate::recorder::{Acquisition, Recorder, Recording};
use crate::scenario::{LoadModel, Plan};

/// A flow and its name in reports.
#[derive(Debug, Clone)]
pub struct NamedFlow {
    /// e.g. `cognito`, or `cognito-2` for a second cognito flow.
    pub name: String,
    /// The flow.
    pub flow: Flow,
}

/// What the driver knows at the end.
#[derive(Debug, Clone, PartialEq)]
pub struct DriverStats {
    /// Arrivals the schedule called for (open model) or acquisitions begun (closed).
    pub scheduled: u64,
    /// The same, per flow.
    pub scheduled_per_flow: Vec<u64>,
    /// The schedule's window: from the start to the end of the duration,
    /// the last arrival of a counted run, or the stop. Rates are over it;
    /// the grace period after it is not.
    pub window: Duration,
    /// From the first arrival to the last result.
    pub elapsed: Duration,
    /// Stopped early (Ctrl-C, SIGTERM).
    pub partial: bool,
    /// Still in flight when the grace period ended, counted as `cancelled`.
    pub cancelled: u64,
}

/// Shared by the acquisition tasks.
struct Shared {
    recording: Recording,
    transport: DirectTransport,
    in_flight: AtomicUsize,
}

impl Shared {
    /// Runs acquisition of flow `index` and records it, latency from `intended`.
    async fn acquire(&self, index: usize, flow: &NamedFlow, intended: Instant) {
        let began = Instant::now();
        let result = flow.flow.acquire(&self.transport).await;
        let total = intended.elapsed();
        let (steps, error) = match &result {
            Ok(a) => (&a.steps, None),
            Err(e) => (&e.steps, Some(e.error.label())),
        };
        // The first step also waited for the driver: count that wait too.
        let queued = began.saturating_duration_since(intended);
        let done = Acquisition {
            flow: index,
            steps,
            queued,
            total,
            error,
        };
        // Recorded and no longer in flight together, under this thread's
        // shard lock: when the driver closes the recorder, every
        // acquisition is either recorded or still counted in flight (then
        // `cancelled`), never both.
        self.recording.record(&done, || {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// Waits for each intended start on a thread of its own, on the OS timer,
/// spinning only the last stretch (at most [`Waiter::MAX_SPIN`]). tokio's timer rounds a deadline up to the next millisecond, which
/// would add up to one to every latency measured; the OS timer wakes within
/// its slack instead, a few tens of microseconds late. The waiter learns
/// how late (a moving average of its oversleeps), asks to wake that much
/// early, and spins only the rest: a few microseconds, and never more than
/// [`Waiter::MAX_SPIN`], however slack the machine's timer is.
struct Waiter {
    /// How late a sleep ends, on average.
    oversleep: Duration,
}

impl Waiter {
    /// Longest spin before an intended start.
    const MAX_SPIN: Duration = Duration::from_micros(200);
    /// Longest single sleep, so that a stop is seen soon.
    const SLICE: Duration = Duration::from_millis(50);

    fn new() -> Waiter {
        Waiter {
            oversleep: Duration::from_micros(60),
        }
    }

    /// Waits until `at`; `false` when stopped first.
    fn until(&mut self, at: Instant, stop: &watch::Receiver<bool>) -> bool {
        loop {
            if *stop.borrow() {
                return false;
            }
            let now = Instant::now();
            if now >= at {
                return true;
            }
            let left = at - now;
            let early = self.oversleep.min(Self::MAX_SPIN);
            if left <= early {
                while Instant::now() < at {
                    std::hint::spin_loop();
                }
                return true;
            }
            let nap = (left - early).min(Self::SLICE);
            std::thread::sleep(nap);
            let over = now.elapsed().saturating_sub(nap);
            // An eighth of each new sample: steady, yet quick to follow.
            self.oversleep = (self.oversleep * 7 + over) / 8;
        }
    }
}

/// What the open model's dispatcher needs, moved to its thread.
struct Dispatch {
    schedule: crate::schedule::Schedule,
    arrivals: crate::schedule::Arrivals,
    seed: u64,
    weights: Vec<f64>,
    /// A shard takes every `stride`-th arrival, from `offset`.
    stride: u64,
    offset: u64,
    limit: u64,
    duration: Duration,
    end: Option<Instant>,
    started: Instant,
    max_in_flight: usize,
    late_bound: Duration,
    shared: Arc<Shared>,
    flows: Arc<[NamedFlow]>,
    runtime: tokio::runtime::Handle,
    stop: watch::Receiver<bool>,
}

/// What the dispatcher did: arrivals, per flow, the window if it ended
/// early, and whether a stop ended it.
type Dispatched = (u64, Vec<u64>, Option<Duration>, bool);

impl Dispatch {
    /// Releases each arrival at its intended time (every one already due
    /// goes at once, so a late wake-up catches up without sleeping), until
    /// the duration, the count or a stop.
    fn run(self) -> Dispatched {
        let mut mix = crate::schedule::Mix::new(&self.weights);
        let mut due = crate::schedule::Arrival::new(self.schedule, self.arrivals, self.seed);
        let mut per_flow = vec![0u64; self.flows.len()];
        let (mut n, mut window, mut partial) = (0u64, None, false);
        let mut waiter = Waiter::new();
        loop {
            let Some((k, at)) = due.next() else {
                // The rate fell to 0 for good: the window still runs to
                // its end (or the stop).
                if let Some(e) = self.end {
                    partial = !waiter.until(e, &self.stop);
                }
                break;
            };
            if k >= self.limit {
                window = Some(self.started.elapsed());
                break;
            }
            let index = mix.pick();
            if k % self.stride != self.offset {
                continue;
            }
            let next = self.started + at;
            if self.end.is_some_and(|e| next >= e) {
                window = Some(self.duration);
                break;
            }
            if !waiter.until(next, &self.stop) {
                partial = true;
                break;
            }
            per_flow[index] += 1;
            let recording = &self.shared.recording;
            recording.lag(
                Instant::now().saturating_duration_since(next),
                self.late_bound,
            );
            if self.shared.in_flight.load(Ordering::SeqCst) >= self.max_in_flight {
                recording.dropped();
            } else {
                self.shared.in_flight.fetch_add(1, Ordering::SeqCst);
                let (shared, flows) = (self.shared.clone(), self.flows.clone());
                self.runtime.spawn(async move {
                    shared.acquire(index, &flows[index], next).await;
                });
            }
            n += 1;
        }
        (n, per_flow, window, partial)
    }
}

/// Runs the plan's load model until its duration or count, or `stop`.
pub async fn drive(
    plan: &Plan,
    flows: Vec<NamedFlow>,
    transport: DirectTransport,
    recorder: Arc<Mutex<Recorder>>,
    started: Instant,
    mut stop: watch::Receiver<bool>,
) -> DriverStats {
    let recording = match recorder.lock() {
        Ok(r) => r.recording(),
        Err(p) => p.into_inner().recording(),
    };
    let shared = Arc::new(Shared {
        recording,
        transport,
        in_flight: AtomicUsize::new(0),
    });
    let flows: Arc<[NamedFlow]> = flows.into();
    let limit = plan.scenario.limits.acquisitions.unwrap_or(u64::MAX);
    let end = started.checked_add(plan.duration);
    let mut partial = false;
    let mut per_flow = vec![0u64; flows.len()];
    let mut window = None;
    let scheduled = match &plan.scenario.load {
        LoadModel::Open {
            max_in_flight,
            arrivals,
            seed,
            late_bound,
            ..
        } => {
            // A shard takes every N-th arrival of the one schedule (the
            // flow mix runs over all of them, so shares hold across shards).
            let (stride, offset) = plan
                .shard
                .as_ref()
                .map_or((1, 0), |s| (u64::from(s.count), u64::from(s.index - 1)));
            let dispatch = Dispatch {
                schedule: plan.schedule(),
                arrivals: *arrivals,
                seed: *seed,
                weights: plan.weights(),
                stride,
                offset,
                limit,
                duration: plan.duration,
                end,
                started,
                max_in_flight: *max_in_flight,
                late_bound: *late_bound,
                shared: shared.clone(),
                flows: flows.clone(),
                runtime: tokio::runtime::Handle::current(),
                stop: stop.clone(),
            };
            // The dispatcher waits on the OS timer, on a thread of its own.
            let (n, counted, ended, stopped) = tokio::task::spawn_blocking(move || dispatch.run())
                .await
                .unwrap_or((0, vec![0; flows.len()], None, true));
            per_flow = counted;
            window = ended;
            partial = stopped;
            n
        }
        // `search::run` runs a search step by step, each an open-model plan.
        LoadModel::Search { .. } => 0,
        LoadModel::Closed { users, think_time } => {
            let begun = Arc::new(AtomicU64::new(0));
            let counted: Arc<[AtomicU64]> = flows.iter().map(|_| AtomicU64::new(0)).collect();
            let mut tasks = Vec::with_capacity(*users);
            for u in 0..*users {
                let (shared, flows, begun, mut stop, scheduled_per_flow) = (
                    shared.clone(),
                    flows.clone(),
                    begun.clone(),
                    stop.clone(),
                    counted.clone(),
                );
                let think = think_time.unwrap_or_default();
                tasks.push(tokio::spawn(async move {
                    loop {
                        let n = begun.fetch_add(1, Ordering::SeqCst);
                        let over = end.is_some_and(|e| Instant::now() >= e);
                        if n >= limit || over || *stop.borrow() {
                            begun.fetch_sub(1, Ordering::SeqCst);
                            return;
                        }
                        let index = ((n + u as u64) % flows.len() as u64) as usize;
                        scheduled_per_flow[index].fetch_add(1, Ordering::Relaxed);
                        shared.in_flight.fetch_add(1, Ordering::SeqCst);
                        shared.acquire(index, &flows[index], Instant::now()).await;
                        if !think.is_zero() {
                            tokio::select! {
                                () = tokio::time::sleep(think) => {}
                                _ = stop.changed() => return,
                            }
                        }
                    }
                }));
            }
            let all = async {
                for t in tasks {
                    let _ = t.await;
                }
            };
            tokio::select! {
                () = all => {}
                _ = stop.changed() => { partial = true; }
            }
            for (n, c) in per_flow.iter_mut().zip(counted.iter()) {
                *n = c.load(Ordering::Relaxed);
            }
            begun.load(Ordering::SeqCst).min(limit)
        }
    };
    if *stop.borrow() {
        partial = true;
    }
    // The window ends at the duration, unless a count or a stop ended it first.
    let window = window
        .unwrap_or_else(|| started.elapsed())
        .min(plan.duration);
    // Let acquisitions in flight finish, within the grace period.
    let deadline = Instant::now() + plan.grace;
    while shared.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let cancelled = match recorder.lock() {
        Ok(mut r) => {
            // After the close, no result is recorded: what is still in
            // flight is counted once, as cancelled.
            r.close();
            let left = shared.in_flight.load(Ordering::SeqCst) as u64;
            r.cancelled(left);
            left
        }
        Err(_) => 0,
    };
    DriverStats {
        scheduled,
        scheduled_per_flow: per_flow,
        window,
        elapsed: started.elapsed(),
        partial,
        cancelled,
    }
}
