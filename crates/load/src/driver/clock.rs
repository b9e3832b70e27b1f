//! Waking a worker at an intended start, inside its runtime.
//!
//! tokio's timer rounds a deadline up to its next millisecond, which would
//! add up to one to every latency measured. On Linux a worker waits on a
//! `timerfd` instead: the kernel's high-resolution timer, delivered through
//! the same `epoll` as the worker's sockets, so that one wake-up of the
//! worker's own thread both starts the due arrivals and reads the answers
//! that came in meanwhile. No thread hands work to another, and nothing
//! spins. Elsewhere (or with no `timerfd` to be had) the worker falls back
//! to tokio's timer.

use std::time::Instant;

/// A worker's alarm clock.
pub(super) struct Clock {
    #[cfg(target_os = "linux")]
    fd: Option<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>>,
}

impl Clock {
    /// A clock for the current runtime's thread.
    pub(super) fn new() -> Clock {
        Clock {
            #[cfg(target_os = "linux")]
            fd: timerfd().ok(),
        }
    }

    /// Returns at `at` or a little after (the timer's own latency); when
    /// it has passed, once the thread's other tasks have run (a worker
    /// that is behind still reads its answers).
    pub(super) async fn until(&mut self, at: Instant) {
        if Instant::now() >= at {
            return tokio::task::yield_now().await;
        }
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.fd
            && precise(fd, at).await.is_ok()
        {
            return;
        }
        tokio::time::sleep_until(at.into()).await;
    }
}

/// A non-blocking `timerfd` on the monotonic clock (`Instant`'s),
/// registered with the current runtime.
#[cfg(target_os = "linux")]
fn timerfd() -> std::io::Result<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>> {
    use rustix::time::{TimerfdClockId, TimerfdFlags, timerfd_create};
    let fd = timerfd_create(
        TimerfdClockId::Monotonic,
        TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
    )?;
    // The safe constructor is deprecated for descriptors that could be
    // closed under it; an `OwnedFd` moved in cannot be.
    #[allow(deprecated)]
    tokio::io::unix::AsyncFd::with_interest(fd, tokio::io::Interest::READABLE)
}

/// Waits on `fd` until `at`; an error leaves the rest of the wait to
/// tokio's timer.
#[cfg(target_os = "linux")]
async fn precise(
    fd: &tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>,
    at: Instant,
) -> std::io::Result<()> {
    use rustix::time::{Itimerspec, TimerfdTimerFlags, Timespec, timerfd_settime};
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    loop {
        let now = Instant::now();
        if now >= at {
            return Ok(());
        }
        let left = Timespec::try_from(at - now).map_err(std::io::Error::other)?;
        let spec = Itimerspec {
            it_interval: zero,
            it_value: left,
        };
        // Arming it resets its count of expiries, so it is never read: the
        // next expiry is a new edge for `epoll`, one system call a wake-up.
        timerfd_settime(fd.get_ref(), TimerfdTimerFlags::empty(), &spec)?;
        fd.readable().await?.clear_ready();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The clock never returns before the instant asked for (a request
    /// sent early would be one the schedule did not call for yet).
    #[tokio::test(flavor = "current_thread")]
    async fn the_clock_never_wakes_early() {
        let mut clock = Clock::new();
        // On Linux, on the kernel's timer, not tokio's millisecond one.
        #[cfg(target_os = "linux")]
        assert!(clock.fd.is_some(), "no timerfd");
        for us in [0u64, 50, 300, 1500, 4000] {
            let at = Instant::now() + std::time::Duration::from_micros(us);
            clock.until(at).await;
            assert!(Instant::now() >= at, "{us} µs");
        }
    }
}
