//! The driver: starts acquisitions by the load model and hands each result
//! to the recorder.
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

use tokenprobe_client::{Flow, Transport};
use tokio::sync::watch;
use tokio::time::sleep_until;

use crate::recorder::{Acquisition, Recorder};
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
    recorder: Arc<Mutex<Recorder>>,
    transport: Transport,
    in_flight: AtomicUsize,
    /// Set once the grace period is over: late results are not recorded
    /// (they were counted as cancelled).
    closed: std::sync::atomic::AtomicBool,
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
        if let Ok(mut r) = self.recorder.lock() {
            if !self.closed.load(Ordering::SeqCst) {
                r.record(&Acquisition {
                    flow: index,
                    steps,
                    queued,
                    total,
                    error,
                });
            }
            // Under the lock: when the driver closes the recorder, every
            // acquisition is either recorded or still counted in flight
            // (then `cancelled`), never both.
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Sleeps until `at`. tokio's timer has millisecond granularity, which
/// would add up to a millisecond to every measured latency; so it sleeps
/// to within a millisecond, then yields until the moment.
async fn wait_until(at: Instant) {
    const SPIN: Duration = Duration::from_millis(1);
    if let Some(early) = at.checked_sub(SPIN) {
        if Instant::now() < early {
            sleep_until(early.into()).await;
        }
    }
    while Instant::now() < at {
        tokio::task::yield_now().await;
    }
}

/// Runs the plan's load model until its duration or count, or `stop`.
pub async fn drive(
    plan: &Plan,
    flows: Vec<NamedFlow>,
    transport: Transport,
    recorder: Arc<Mutex<Recorder>>,
    started: Instant,
    mut stop: watch::Receiver<bool>,
) -> DriverStats {
    let shared = Arc::new(Shared {
        recorder: recorder.clone(),
        transport,
        in_flight: AtomicUsize::new(0),
        closed: false.into(),
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
            ..
        } => {
            // A shard takes every N-th arrival of the one schedule (the
            // flow mix runs over all of them, so shares hold across shards).
            let (stride, offset) = plan
                .shard
                .as_ref()
                .map_or((1, 0), |s| (u64::from(s.count), u64::from(s.index - 1)));
            let mut mix = crate::schedule::Mix::new(&plan.weights());
            let mut due = crate::schedule::Arrival::new(plan.schedule(), *arrivals, *seed);
            let mut n = 0u64;
            loop {
                let Some((k, at)) = due.next() else {
                    // The rate fell to 0 for good: the window still runs
                    // to its end (or the stop).
                    if let Some(e) = end {
                        tokio::select! {
                            () = tokio::time::sleep_until(e.into()) => {}
                            _ = stop.changed() => { partial = true; }
                        }
                    }
                    break;
                };
                if k >= limit {
                    window = Some(started.elapsed());
                    break;
                }
                let index = mix.pick();
                if k % stride != offset {
                    continue;
                }
                let next = started + at;
                if end.is_some_and(|e| next >= e) {
                    window = Some(plan.duration);
                    break;
                }
                tokio::select! {
                    () = wait_until(next) => {}
                    _ = stop.changed() => { partial = true; break; }
                }
                let now = Instant::now();
                per_flow[index] += 1;
                if let Ok(mut r) = recorder.lock() {
                    r.lag(now.saturating_duration_since(next));
                    if shared.in_flight.load(Ordering::SeqCst) >= *max_in_flight {
                        r.dropped();
                    } else {
                        shared.in_flight.fetch_add(1, Ordering::SeqCst);
                        let (shared, flows, intended) = (shared.clone(), flows.clone(), next);
                        tokio::spawn(async move {
                            shared.acquire(index, &flows[index], intended).await;
                        });
                    }
                }
                n += 1;
            }
            n
        }
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
            shared.closed.store(true, Ordering::SeqCst);
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
