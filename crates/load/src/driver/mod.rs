//! The driver: starts acquisitions by the load model and hands each result
//! to the recorder, through this thread's shard (no lock shared by the
//! acquisitions), over hyper ([`DirectTransport`]).
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

use tokenprobe_client::{DirectTransport, Exchange, Flow};
use tokio::sync::watch;

use crate::recorder::{Acquisition, Recorder, Recording};

mod clock;
mod closed;
mod open;
mod worker;

use crate::scenario::{LoadModel, Plan};
use closed::Closed;
use open::{Dispatched, Open, workers_for};
pub use worker::{Share, Workers};

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

/// What the driver sends through: an [`Exchange`] of which each worker
/// thread takes its own copy, with connections of its own.
pub trait WorkerTransport: Exchange + Clone + Send + Sync + 'static {
    /// The transport worker `index` uses, the same at each drive.
    fn for_worker(&self, index: usize) -> Self;
}

impl WorkerTransport for DirectTransport {
    fn for_worker(&self, index: usize) -> Self {
        self.worker_pool(index)
    }
}

/// Shared by the acquisition tasks of every worker.
struct Shared {
    recording: Recording,
    in_flight: AtomicUsize,
}

impl Shared {
    /// Runs acquisition of flow `index` and records it, latency from `intended`.
    async fn acquire(
        &self,
        transport: &impl Exchange,
        index: usize,
        flow: &NamedFlow,
        intended: Instant,
    ) {
        let began = Instant::now();
        let result = flow.flow.acquire(transport).await;
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

/// Resolves once `stop` says stop; never when no stop can come any more.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        if stop.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// Runs the plan's load model until its duration or count, or `stop`, on
/// `workers` (a thread per core).
pub async fn drive<T: WorkerTransport>(
    plan: &Plan,
    workers: &Workers,
    flows: Vec<NamedFlow>,
    transport: T,
    recorder: Arc<Mutex<Recorder>>,
    started: Instant,
    stop: watch::Receiver<bool>,
) -> DriverStats {
    let recording = match recorder.lock() {
        Ok(r) => r.recording(),
        Err(p) => p.into_inner().recording(),
    };
    let shared = Arc::new(Shared {
        recording,
        in_flight: AtomicUsize::new(0),
    });
    let flows: Arc<[NamedFlow]> = flows.into();
    let limit = plan.scenario.limits.acquisitions.unwrap_or(u64::MAX);
    let end = started.checked_add(plan.duration);
    let mut partial = false;
    let mut per_flow = vec![0u64; flows.len()];
    let mut window = None;
    let count = workers.count();
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
            let schedule = plan.schedule();
            // A run at a few hundred a second opens one connection, not
            // one per core.
            let count = workers_for(schedule.peak() / stride as f64, count);
            let open = Arc::new(Open {
                schedule,
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
                transport,
                stop: stop.clone(),
            });
            let job = move |i| {
                let open = open.clone();
                async move { open.dispatch(i, count).await }
            };
            let mut n = 0;
            for dispatched in workers.run(count, job).await {
                let d = dispatched.unwrap_or_else(Dispatched::lost);
                n += d.sent;
                for (all, one) in per_flow.iter_mut().zip(d.per_flow) {
                    *all += one;
                }
                window = window.max(d.window);
                partial |= d.stopped;
            }
            n
        }
        // `search::run` runs a search step by step, each an open-model plan.
        LoadModel::Search { .. } => 0,
        LoadModel::Closed { users, think_time } => {
            let closed = Arc::new(Closed {
                users: *users,
                think: think_time.unwrap_or_default(),
                limit,
                end,
                begun: AtomicU64::new(0),
                per_flow: flows.iter().map(|_| AtomicU64::new(0)).collect(),
                shared: shared.clone(),
                flows: flows.clone(),
                transport,
                stop: stop.clone(),
            });
            let count = count.min(*users).max(1);
            let run = closed.clone();
            let job = move |i| {
                let run = run.clone();
                async move { run.users(i, count).await }
            };
            for dispatched in workers.run(count, job).await {
                partial |= dispatched.is_none_or(|stopped| stopped);
            }
            for (n, c) in per_flow.iter_mut().zip(closed.per_flow.iter()) {
                *n = c.load(Ordering::Relaxed);
            }
            closed.begun.load(Ordering::SeqCst).min(limit)
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
