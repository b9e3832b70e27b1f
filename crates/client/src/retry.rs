//! An opt-in retry policy: bounded attempts, exponential backoff with full
//! jitter, `Retry-After` honoured on 429 and 503. Client errors that a retry
//! cannot mend (400, 401, 403, a refused or undecodable request) are never
//! retried. The load driver leaves it off, to measure the server.

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use serde::Deserialize;

use crate::error::{ClientError, ErrorKind};
use crate::flow::FlowError;

/// How often and how patiently to try again.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: no retry).
    pub max_attempts: u32,
    /// The first backoff, milliseconds; doubled each attempt.
    pub base_delay_ms: u64,
    /// No backoff, nor honoured `Retry-After`, is longer, milliseconds.
    pub max_delay_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 100,
            max_delay_ms: 10_000,
        }
    }
}

impl RetryPolicy {
    /// Whether an error is worth another attempt.
    pub fn is_retryable(e: &ClientError) -> bool {
        match e.kind() {
            ErrorKind::Connect | ErrorKind::Timeout => true,
            ErrorKind::HttpStatus | ErrorKind::Provider => {
                matches!(e.status().map(|s| s.as_u16()), Some(429 | 502 | 503 | 504))
            }
            ErrorKind::Tls | ErrorKind::Decode | ErrorKind::Refused | ErrorKind::Config => false,
        }
    }

    /// The wait before attempt `attempt + 1` (attempt counts from 1).
    pub fn delay(&self, attempt: u32, e: &ClientError) -> Duration {
        let max = Duration::from_millis(self.max_delay_ms);
        let honoured = matches!(e.status().map(|s| s.as_u16()), Some(429 | 503));
        if let Some(d) = e.retry_after().filter(|_| honoured) {
            return d.min(max);
        }
        let exp = self
            .base_delay_ms
            .saturating_mul(1u64 << attempt.saturating_sub(1).min(32))
            .min(self.max_delay_ms);
        Duration::from_millis(rand::rng().random_range(0..=exp))
    }

    /// Runs `attempt` until it succeeds, fails for good, or attempts run out.
    pub async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T, FlowError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, FlowError>>,
    {
        let mut n = 1;
        loop {
            match attempt().await {
                Err(e) if n < self.max_attempts && Self::is_retryable(&e.error) => {
                    tokio::time::sleep(self.delay(n, &e.error)).await;
                    n += 1;
                }
                other => return other,
            }
        }
    }
}
