//! The closed model on a worker: its share of the users, each acquiring
//! in a loop.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{NamedFlow, Shared, WorkerTransport, stopped};

/// What the closed model's workers share.
pub(super) struct Closed<T> {
    pub(super) users: usize,
    pub(super) think: Duration,
    pub(super) limit: u64,
    pub(super) end: Option<Instant>,
    /// Acquisitions begun, over every worker.
    pub(super) begun: AtomicU64,
    pub(super) per_flow: Vec<AtomicU64>,
    pub(super) shared: Arc<Shared>,
    pub(super) flows: Arc<[NamedFlow]>,
    pub(super) transport: T,
    pub(super) stop: watch::Receiver<bool>,
}

impl<T: WorkerTransport> Closed<T> {
    /// Worker `worker` of `workers`: runs its share of the users (every
    /// `workers`-th), each acquiring in a loop, until the duration, the
    /// count or a stop (whether a stop ended it; the counts are the shared
    /// ones).
    pub(super) async fn users(self: Arc<Self>, worker: usize, workers: usize) -> bool {
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
        tokio::select! {
            () = all => false,
            () = stopped(&mut stop) => true,
        }
    }

    /// One user: acquisitions one after another, each timed from its
    /// actual start, with the think time between.
    async fn user(&self, user: usize, transport: &T) {
        let mut stop = self.stop.clone();
        loop {
            let n = self.begun.fetch_add(1, Ordering::SeqCst);
            let now = Instant::now();
            let over = self.end.is_some_and(|e| now >= e);
            if n >= self.limit || over || *stop.borrow() {
                self.begun.fetch_sub(1, Ordering::SeqCst);
                return;
            }
            let index = ((n + user as u64) % self.flows.len() as u64) as usize;
            self.per_flow[index].fetch_add(1, Ordering::Relaxed);
            self.shared.in_flight.fetch_add(1, Ordering::SeqCst);
            self.shared
                .acquire(transport, index, &self.flows[index], now)
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
