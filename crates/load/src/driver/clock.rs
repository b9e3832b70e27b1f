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
        if let Some(fd) = &self.fd {
            if precise(fd, at).await.is_ok() {
                return;
            }
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
        // Arming it again also forgets an expiry nobody read.
        timerfd_settime(fd.get_ref(), TimerfdTimerFlags::empty(), &spec)?;
        let mut ready = fd.readable().await?;
        let mut expiries = [0u8; 8];
        match rustix::io::read(fd.get_ref(), &mut expiries) {
            // Read or not there: either way the next expiry is a new edge.
            Ok(_) | Err(rustix::io::Errno::AGAIN) => ready.clear_ready(),
            Err(e) => return Err(e.into()),
        }
    }
}
