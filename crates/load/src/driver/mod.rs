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

use tokenprobe_client::{DirectTransport, Exchange, Flow};
use tokio::sync::watch;

use crate::recorder::{Acquisition, Recorder, Recording};

mod clock;
mod worker;

use crate::scenario::{LoadModel, Plan};
pub use worker::Workers;

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

/// What the open model's workers share.
struct Open<T> {
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
    transport: T,
    stop: watch::Receiver<bool>,
}

/// What a worker dispatched: arrivals, per flow, the window if it ended
/// early, and whether a stop ended it.
type Dispatched = (u64, Vec<u64>, Option<Duration>, bool);

/// The shortest time between two wake-ups of one worker: the arrivals due
/// within it are released together, each still timed from its own
/// intended start. Below one arrival per tick a worker wakes at each
/// arrival, on time.
const TICK: Duration = Duration::from_millis(1);

impl<T: WorkerTransport> Open<T> {
    /// Worker `worker` of `workers`: releases its share of the arrivals
    /// (every `workers`-th of the shard's), each once it is due, until the
    /// duration, the count or a stop. A wake-up releases every arrival
    /// already due, so a late one catches up at once.
    async fn dispatch(&self, worker: usize, workers: usize) -> Dispatched {
        let mut mix = crate::schedule::Mix::new(&self.weights);
        let mut due =
            crate::schedule::Arrival::new(self.schedule.clone(), self.arrivals, self.seed);
        let mut per_flow = vec![0u64; self.flows.len()];
        let (mut n, mut window, mut partial) = (0u64, None, false);
        let mut clock = clock::Clock::new();
        let mut stop = self.stop.clone();
        let transport = self.transport.for_worker(worker);
        let (mut now, mut woke) = (Instant::now(), None::<Instant>);
        let (worker, workers) = (worker as u64, workers as u64);
        loop {
            let Some((k, at)) = due.next() else {
                // The rate fell to 0 for good: the window still runs to
                // its end (or the stop).
                if let Some(e) = self.end {
                    tokio::select! {
                        () = clock.until(e) => {}
                        () = stopped(&mut stop) => partial = true,
                    }
                }
                break;
            };
            if k >= self.limit {
                window = Some(self.started.elapsed());
                break;
            }
            let index = mix.pick();
            if k % self.stride != self.offset || (k / self.stride) % workers != worker {
                continue;
            }
            let next = self.started + at;
            if let Some(e) = self.end.filter(|e| next >= *e) {
                // Past the window: it still runs to its end (a step of a
                // search starts when the one before has ended).
                tokio::select! {
                    () = clock.until(e) => window = Some(self.duration),
                    () = stopped(&mut stop) => partial = true,
                }
                break;
            }
            if next > now {
                // Not due yet: wake when it is, or a tick after the last
                // wake-up, whichever is later.
                let wake = woke.map_or(next, |w| next.max(w + TICK));
                tokio::select! {
                    biased;
                    () = stopped(&mut stop) => {
                        partial = true;
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
            if self.shared.in_flight.load(Ordering::SeqCst) >= self.max_in_flight {
                recording.dropped();
            } else {
                self.shared.in_flight.fetch_add(1, Ordering::SeqCst);
                let (shared, flows, transport) =
                    (self.shared.clone(), self.flows.clone(), transport.clone());
                tokio::spawn(async move {
                    shared.acquire(&transport, index, &flows[index], next).await;
                });
            }
            n += 1;
        }
        (n, per_flow, window, partial)
    }
}

/// What the closed model's workers share.
struct Closed<T> {
    users: usize,
    think: Duration,
    limit: u64,
    end: Option<Instant>,
    /// Acquisitions begun, over every worker.
    begun: AtomicU64,
    per_flow: Vec<AtomicU64>,
    shared: Arc<Shared>,
    flows: Arc<[NamedFlow]>,
    transport: T,
    stop: watch::Receiver<bool>,
}

impl<T: WorkerTransport> Closed<T> {
    /// Worker `worker` of `workers`: runs its share of the users (every
    /// `workers`-th), each acquiring in a loop, until the duration, the
    /// count or a stop (which it says; the counts are the shared ones).
    async fn users(self: Arc<Self>, worker: usize, workers: usize) -> Dispatched {
        let transport = self.transport.for_worker(worker);
        let mut tasks = Vec::new();
        for user in (worker..self.users).step_by(workers) {
            let (me, transport) = (self.clone(), transport.clone());
            tasks.push(tokio::spawn(async move { me.user(user, &transport).await }));
        }
        let all = async {
            for t in tasks {
                let _ = t.await;
            }
        };
        let mut stop = self.stop.clone();
        let partial = tokio::select! {
            () = all => false,
            () = stopped(&mut stop) => true,
        };
        (0, Vec::new(), None, partial)
    }

    /// One user: acquisitions one after another, each timed from its
    /// actual start, with the think time between.
    async fn user(&self, user: usize, transport: &T) {
        let mut stop = self.stop.clone();
        loop {
            let n = self.begun.fetch_add(1, Ordering::SeqCst);
            let over = self.end.is_some_and(|e| Instant::now() >= e);
            if n >= self.limit || over || *stop.borrow() {
                self.begun.fetch_sub(1, Ordering::SeqCst);
                return;
            }
            let index = ((n + user as u64) % self.flows.len() as u64) as usize;
            self.per_flow[index].fetch_add(1, Ordering::Relaxed);
            self.shared.in_flight.fetch_add(1, Ordering::SeqCst);
            self.shared
                .acquire(transport, index, &self.flows[index], Instant::now())
                .await;
            if !self.think.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(self.think) => {}
                    () = stopped(&mut stop) => return,
                }
            }
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
            let open = Arc::new(Open {
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
                transport,
                stop: stop.clone(),
            });
            let job = move |i| {
                let open = open.clone();
                async move { open.dispatch(i, count).await }
            };
            let mut n = 0;
            for dispatched in workers.run(count, job).await {
                let (sent, counted, ended, stopped) =
                    dispatched.unwrap_or((0, Vec::new(), None, true));
                n += sent;
                for (all, one) in per_flow.iter_mut().zip(counted) {
                    *all += one;
                }
                window = window.max(ended);
                partial |= stopped;
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
                partial |= dispatched.is_none_or(|(_, _, _, stopped)| stopped);
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
