//! One load thread per core, each with a runtime of its own (tokio's
//! current-thread scheduler), its own connections and its own share of
//! the arrivals or users. An acquisition starts, sends, reads and records
//! on the thread that dispatched it: nothing crosses threads on the hot
//! path, and a worker sleeps in one `epoll` for both its timer and its
//! sockets. The threads outlive a drive: a capacity search's steps reuse
//! them, and with them the connections they opened.
//!
//! In the closed model against a server on this machine the workers
//! after the first run at the lowest priority ([`Share::Spare`]): see
//! there why.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::thread::JoinHandle;

use futures_util::FutureExt as _;
use tokenprobe_protocol::BaseUrl;
use tokio::sync::{mpsc, oneshot};

use crate::scenario::LoadModel;

/// A job: makes, on its worker's thread, the future that thread runs.
type Job = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()>>> + Send>;

/// How a run's workers after the first share the machine's CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Share {
    /// Every worker at the process's priority: the open model (its
    /// arrivals are split evenly, so a worker given less CPU would send
    /// its share late), and any run whose server is elsewhere.
    Equal,
    /// The workers after the first at the lowest priority (nice 19): the
    /// closed model against a server on this machine (a loopback address,
    /// the built-in stub). Its users pace themselves, so a worker given
    /// less CPU only adds fewer acquisitions, and the server keeps its
    /// core: as an equal, a second worker took half the server's core,
    /// and two workers drove less than one (`scripts/bench-driver.sh`,
    /// step 4: 83,000/s against 105,000/s; 112,000/s as spare). Against a
    /// server elsewhere the workers stay equal: there a spare worker
    /// would only lose CPU to the machine's other work, and its users'
    /// latencies would carry the wait. Linux only (elsewhere a thread's
    /// priority is its process's).
    Spare,
}

impl Share {
    /// The share for a run of `model` whose flows send to `servers`.
    pub fn of<'a>(model: &LoadModel, mut servers: impl Iterator<Item = &'a BaseUrl>) -> Share {
        match model {
            LoadModel::Closed { .. } if servers.all(BaseUrl::is_loopback) => Share::Spare,
            _ => Share::Equal,
        }
    }
}

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
    /// One worker per core this process may run on, sharing the CPU as
    /// `share` says.
    pub fn start(share: Share) -> std::io::Result<Workers> {
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
                    if i > 0 && share == Share::Spare {
                        lowest_priority();
                    }
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

/// Lowers the calling thread to the lowest priority, best effort: a
/// thread that cannot lower itself (a sandbox refusing the call) runs as
/// an equal, which costs only speed.
fn lowest_priority() {
    // On Linux a nice value is the thread's own, and `None` names the
    // calling thread.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = rustix::process::setpriority_process(None, 19);
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
        let workers = Workers::start(Share::Equal).unwrap();
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

    /// Spares only for the closed model against servers on this machine.
    #[test]
    fn spares_only_for_a_closed_run_against_this_machine() {
        let closed = LoadModel::Closed {
            users: 4,
            think_time: None,
        };
        let here: Vec<BaseUrl> = [
            "http://127.0.0.1:8080",
            "https://[::1]:8443",
            "http://localhost",
        ]
        .map(|u| u.parse().unwrap())
        .into();
        let elsewhere: BaseUrl = "https://idp.example".parse().unwrap();
        assert_eq!(Share::of(&closed, here.iter()), Share::Spare);
        let mixed = here.iter().chain(std::iter::once(&elsewhere));
        assert_eq!(Share::of(&closed, mixed), Share::Equal);
        let open: LoadModel = toml::from_str::<toml::Table>("model = \"open\"\nrate = 10")
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(Share::of(&open, here.iter()), Share::Equal);
    }

    /// The kernel's own account of a thread's nice value
    /// (`/proc/self/task/<tid>/stat`, field 19), not the call that set it.
    #[cfg(target_os = "linux")]
    fn nice_of(tid: i32) -> i64 {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
        // The fields after the command's closing parenthesis, from field 3.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        rest.split(' ').nth(19 - 3).unwrap().parse().unwrap()
    }

    /// As spares, the workers after the first run at nice 19 and the
    /// first at the process's own; as equals, all at the process's own.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn spare_workers_run_at_the_lowest_priority_and_equals_as_the_process() {
        let tid = || async { rustix::thread::gettid().as_raw_nonzero().get() };
        let own = nice_of(rustix::thread::gettid().as_raw_nonzero().get());
        for (share, extra) in [(Share::Spare, 19), (Share::Equal, own)] {
            let workers = Workers::start(share).unwrap();
            if workers.count() < 2 {
                return; // one core: no worker after the first
            }
            let tids = workers.run(workers.count(), move |_| tid()).await;
            let nice: Vec<i64> = tids.into_iter().map(|t| nice_of(t.unwrap())).collect();
            assert_eq!(nice[0], own, "{share:?}: the first worker");
            assert!(nice[1..].iter().all(|&n| n == extra), "{share:?}: {nice:?}");
        }
    }
}
