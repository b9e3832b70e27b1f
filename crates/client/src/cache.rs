//! A token cache: refreshes ahead of expiry, with one request however many
//! callers wait (single flight), uses refresh tokens where the system has
//! them, and forgets a token the API it was used on refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokenprobe_protocol::Grant;
use tokio::sync::Mutex;

use crate::flow::{Flow, FlowError};
use crate::transport::Transport;

struct Cached {
    grant: Arc<Grant>,
    /// When it stops being handed out (expiry less the margin).
    stale_at: Instant,
    refreshable_until: Option<SystemTime>,
}

/// Grants of one flow, shared by many callers.
pub struct TokenCache {
    flow: Flow,
    transport: Transport,
    margin: Duration,
    default_lifetime: Duration,
    slot: Mutex<Option<Cached>>,
    requests: AtomicU64,
}

impl TokenCache {
    /// A cache that refreshes `margin` before expiry. A grant without an
    /// expiry (a Vault session) is kept for `default_lifetime`.
    pub fn new(
        flow: Flow,
        transport: Transport,
        margin: Duration,
        default_lifetime: Duration,
    ) -> Self {
        TokenCache {
            flow,
            transport,
            margin,
            default_lifetime,
            slot: Mutex::new(None),
            requests: AtomicU64::new(0),
        }
    }

    /// Acquisitions and refreshes sent so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// A live grant: the cached one, or a new one if it is near expiry.
    /// Concurrent callers wait for the one request in flight.
    pub async fn get(&self) -> Result<Arc<Grant>, FlowError> {
        let mut slot = self.slot.lock().await;
        let now = Instant::now();
        if let Some(c) = slot.as_ref().filter(|c| now < c.stale_at) {
            return Ok(c.grant.clone());
        }
        let refreshed = match slot.as_ref() {
            Some(c) if c.refreshable_until.is_none_or(|u| SystemTime::now() < u) => {
                self.requests.fetch_add(1, Ordering::Relaxed);
                self.flow.refresh(&self.transport, &c.grant).await
            }
            _ => None,
        };
        let acquired = match refreshed {
            Some(Ok(a)) => a,
            // No refresh token, or it failed: start over.
            _ => {
                self.requests.fetch_add(1, Ordering::Relaxed);
                self.flow.acquire(&self.transport).await?
            }
        };
        let received = SystemTime::now();
        let lifetime = acquired
            .grant
            .expiry(received)
            .and_then(|e| e.duration_since(received).ok())
            .unwrap_or(self.default_lifetime);
        let refreshable_until = acquired
            .grant
            .refresh
            .as_ref()
            .and_then(|r| r.until)
            .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s));
        let grant = Arc::new(acquired.grant);
        *slot = Some(Cached {
            grant: grant.clone(),
            stale_at: Instant::now() + lifetime.saturating_sub(self.margin),
            refreshable_until,
        });
        Ok(grant)
    }

    /// Forgets `grant` (after a 401 from the API it was used on), unless a
    /// newer one already replaced it.
    pub async fn invalidate(&self, grant: &Grant) {
        let mut slot = self.slot.lock().await;
        if slot
            .as_ref()
            .is_some_and(|c| c.grant.secret == grant.secret)
        {
            *slot = None;
        }
    }
}
