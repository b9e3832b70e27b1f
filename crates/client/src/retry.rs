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
            ErrorKind::Connect | ErrorKind::Timeout | ErrorKind::Body => true,
            ErrorKind::HttpStatus | ErrorKind::Provider => {
                matches!(e.status().map(|s| s.as_u16()), Some(429 | 502 | 503 | 504))
            }
            ErrorKind::Tls
            | ErrorKind::TooLarge
            | ErrorKind::Decode
            | ErrorKind::Refused
            | ErrorKind::Config => false,
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

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    fn status(code: u16, retry_after: Option<u64>) -> ClientError {
        ClientError::new(ErrorKind::HttpStatus, "x")
            .with_status(StatusCode::from_u16(code).unwrap())
            .with_retry_after(retry_after.map(Duration::from_secs))
    }

    #[test]
    fn only_transient_failures_are_retried() {
        for code in [429, 502, 503, 504] {
            assert!(RetryPolicy::is_retryable(&status(code, None)), "{code}");
        }
        for code in [400, 401, 403, 404, 500] {
            assert!(!RetryPolicy::is_retryable(&status(code, None)), "{code}");
        }
        assert!(RetryPolicy::is_retryable(&ClientError::new(
            ErrorKind::Timeout,
            "t"
        )));
        assert!(RetryPolicy::is_retryable(&ClientError::new(
            ErrorKind::Connect,
            "c"
        )));
        for kind in [
            ErrorKind::Tls,
            ErrorKind::Decode,
            ErrorKind::Refused,
            ErrorKind::Config,
        ] {
            assert!(
                !RetryPolicy::is_retryable(&ClientError::new(kind, "x")),
                "{kind}"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_on_429_and_503_within_the_cap() {
        let p = RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 100,
            max_delay_ms: 5_000,
        };
        assert_eq!(p.delay(1, &status(503, Some(2))), Duration::from_secs(2));
        assert_eq!(p.delay(1, &status(429, Some(60))), Duration::from_secs(5));
        // Not on a 502: backoff instead, at most base·2^(n−1).
        assert!(p.delay(1, &status(502, Some(60))) <= Duration::from_millis(100));
    }

    #[test]
    fn backoff_doubles_and_stays_under_the_cap() {
        let p = RetryPolicy {
            max_attempts: 40,
            base_delay_ms: 100,
            max_delay_ms: 1_000,
        };
        let e = ClientError::new(ErrorKind::Timeout, "t");
        for attempt in 1..40 {
            let bound = (100u64 << (attempt - 1).min(20)).min(1_000);
            assert!(
                p.delay(attempt, &e) <= Duration::from_millis(bound),
                "{attempt}"
            );
        }
    }
}
