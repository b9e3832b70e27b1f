//! Connection lifetimes: what keeps idle and slow clients from taking the
//! stub down. Each connection is one descriptor ([`SharedStream`]: the
//! reset fault reaches the socket through the same handle hyper reads
//! from, no duplicate), is closed when idle for too long, and counts
//! against a cap at which the connection idle the longest makes room.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// A TCP stream that hyper (or rustls) reads and writes while the reset
/// fault keeps a handle on it, through one descriptor.
#[derive(Clone)]
pub(crate) struct SharedStream(Arc<TcpStream>);

impl SharedStream {
    pub(crate) fn new(stream: TcpStream) -> Self {
        SharedStream(Arc::new(stream))
    }

    /// Makes the close that follows a reset (RST) instead of a FIN.
    pub(crate) fn reset_on_close(&self) {
        let _ = socket2::SockRef::from(&*self.0).set_linger(Some(Duration::ZERO));
    }
}

impl AsyncRead for SharedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.0.poll_read_ready(cx))?;
            // A would-block clears the readiness, so the next poll waits.
            // Into the unfilled part as it is: nothing to zero first.
            match self.0.try_read_buf(buf) {
                Ok(_) => return Poll::Ready(Ok(())),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for SharedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => return Poll::Ready(other),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let done = socket2::SockRef::from(&*self.0).shutdown(std::net::Shutdown::Write);
        Poll::Ready(match done {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        })
    }
}

/// One open connection, as the table sees it.
#[derive(Debug, Default)]
pub(crate) struct Conn {
    /// Milliseconds since the table's start, at the last request's start or end.
    last_active_ms: AtomicU64,
    /// Requests being answered now.
    busy: AtomicUsize,
    /// Told to close (to make room at the cap).
    close: Notify,
    /// Closed: its socket is gone.
    gone: AtomicBool,
    /// Told when it is gone.
    gone_notify: Notify,
}

impl Conn {
    /// Marks it closed (its socket dropped) and tells who waits.
    pub(crate) fn gone(&self) {
        self.gone.store(true, Ordering::SeqCst);
        self.gone_notify.notify_waiters();
    }

    /// Resolves once it is closed.
    pub(crate) async fn closed(&self) {
        let notified = self.gone_notify.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        if !self.gone.load(Ordering::SeqCst) {
            notified.await;
        }
    }
}

/// Marks a connection busy while a request is answered.
pub(crate) struct Busy<'a> {
    table: &'a Table,
    conn: &'a Conn,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.table.touch(self.conn);
        self.conn.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The open connections.
#[derive(Debug)]
pub(crate) struct Table {
    started: Instant,
    max: usize,
    idle: Duration,
    next: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Conn>>>,
}

/// What to do with a connection just accepted.
pub(crate) enum Admit {
    /// Serve it, once the connection it displaced (at the cap) is closed.
    Serve(u64, Arc<Conn>, Option<Arc<Conn>>),
    /// At the cap with every connection busy: close it at once.
    Full,
}

impl Table {
    pub(crate) fn new(max: usize, idle: Duration) -> Self {
        Table {
            started: Instant::now(),
            max,
            idle,
            next: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn touch(&self, conn: &Conn) {
        conn.last_active_ms.store(self.now_ms(), Ordering::SeqCst);
    }

    /// Takes a new connection in; at the cap, the one idle the longest is
    /// told to close first.
    pub(crate) fn admit(&self) -> Admit {
        let Ok(mut open) = self.open.lock() else {
            return Admit::Full;
        };
        let mut displaced = None;
        if open.len() >= self.max {
            let oldest_idle = open
                .iter()
                .filter(|(_, c)| c.busy.load(Ordering::SeqCst) == 0)
                .min_by_key(|(_, c)| c.last_active_ms.load(Ordering::SeqCst))
                .map(|(id, _)| *id);
            // Out of the count now; its task ends on the notice.
            match oldest_idle.and_then(|id| open.remove(&id)) {
                Some(c) => {
                    c.close.notify_one();
                    displaced = Some(c);
                }
                None => return Admit::Full,
            }
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn::default());
        self.touch(&conn);
        open.insert(id, conn.clone());
        Admit::Serve(id, conn, displaced)
    }

    /// The connection is gone.
    pub(crate) fn remove(&self, id: u64) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(&id);
        }
    }

    /// How many are open.
    pub(crate) fn len(&self) -> usize {
        self.open.lock().map_or(0, |o| o.len())
    }

    /// Marks `conn` busy until the guard drops.
    pub(crate) fn busy<'a>(&'a self, conn: &'a Conn) -> Busy<'a> {
        conn.busy.fetch_add(1, Ordering::SeqCst);
        self.touch(conn);
        Busy { table: self, conn }
    }

    /// Resolves when `conn` should close: idle for the idle timeout (a
    /// connection that never sent a request included), or told to make
    /// room.
    pub(crate) async fn until_closed(&self, conn: &Conn) {
        loop {
            let last = Duration::from_millis(conn.last_active_ms.load(Ordering::SeqCst));
            let deadline = self.started + last + self.idle;
            tokio::select! {
                () = conn.close.notified() => return,
                () = tokio::time::sleep_until(deadline.into()) => {}
            }
            let idle_for = self.started.elapsed().saturating_sub(Duration::from_millis(
                conn.last_active_ms.load(Ordering::SeqCst),
            ));
            if conn.busy.load(Ordering::SeqCst) == 0 && idle_for >= self.idle {
                return;
            }
            if conn.busy.load(Ordering::SeqCst) > 0 {
                // Busy: look again one idle period from now.
                self.touch(conn);
            }
        }
    }
}
