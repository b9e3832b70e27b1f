//! One load thread per core, each with a runtime of its own (tokio's
//! current-thread scheduler), its own connections and its own share of
//! the arrivals or users. An acquisition starts, sends, reads and records
//! on the thread that dispatched it: nothing crosses threads on the hot
//! path, and a worker sleeps in one `epoll` for both its timer and its
//! sockets. The threads outlive a drive: a capacity search's steps reuse
//! them, and with them the connections they opened.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::thread::JoinHandle;

use futures_util::FutureExt as _;
use tokio::sync::{mpsc, oneshot};

/// A job: makes, on its worker's thread, the future that thread runs.
type Job = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()>>> + Send>;

/// The load threads of a run (or a search).
pub struct Workers {
    jobs: Vec<mpsc::UnboundedSender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field("threads", &self.threads.len())
            .finish()
    }
}

impl Workers {
    /// One worker per core this process may run on.
    pub fn start() -> std::io::Result<Workers> {
        let count = crate::cores();
        let mut workers = Workers {
            jobs: Vec::new(),
            threads: Vec::new(),
        };
        for i in 0..count {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (jobs, mut next) = mpsc::unbounded_channel::<Job>();
            let thread = std::thread::Builder::new()
                .name(format!("tokenprobe-load-{i}"))
                .spawn(move || {
                    // A job's own tasks (its acquisitions) run on after
                    // it returns, until they end or the runtime goes.
                    // A job that panics loses its own result (its drive
                    // counts it as stopped), not the thread.
                    runtime.block_on(async move {
                        while let Some(job) = next.recv().await {
                            let _ = AssertUnwindSafe(job()).catch_unwind().await;
                        }
                    });
                })?;
            workers.jobs.push(jobs);
            workers.threads.push(thread);
        }
        Ok(workers)
    }

    /// How many.
    pub fn count(&self) -> usize {
        self.jobs.len()
    }

    /// Runs `job(i)` on worker `i` of each of the first `count`, and
    /// returns what each returned, in order; `None` for a worker whose
    /// job panicked or that is gone.
    pub(super) async fn run<J, F, T>(&self, count: usize, job: J) -> Vec<Option<T>>
    where
        J: Fn(usize) -> F + Clone + Send + 'static,
        F: Future<Output = T> + 'static,
        T: Send + 'static,
    {
        let mut results = Vec::with_capacity(count);
        for (i, jobs) in self.jobs.iter().take(count).enumerate() {
            let (done, result) = oneshot::channel();
            let job = job.clone();
            // A send that fails drops `done`: its result reads as `None`.
            let _ = jobs.send(Box::new(move || {
                Box::pin(async move {
                    let _ = done.send(job(i).await);
                })
            }));
            results.push(result);
        }
        let mut all = Vec::with_capacity(results.len());
        for result in results {
            all.push(result.await.ok());
        }
        all
    }
}

impl Drop for Workers {
    /// Ends every thread (each drops its runtime, and whatever is still in
    /// flight on it) and waits for them.
    fn drop(&mut self) {
        self.jobs.clear();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job that panics loses its own result, and its worker runs the
    /// next job (a search's next step) as before.
    #[tokio::test]
    async fn a_job_that_panics_loses_its_result_not_its_worker() {
        let workers = Workers::start().unwrap();
        let panicked = workers
            .run(1, |i| async move {
                assert!(i > 100, "a job that panics, on purpose");
                i
            })
            .await;
        assert_eq!(panicked, [None]);
        let next = workers.run(1, |i| async move { i + 7 }).await;
        assert_eq!(next, [Some(7)]);
    }
}
