//! Retrying a temporary failure: exponential backoff with full jitter
//! (random in `[0, min(cap, base·2ⁿ)]`), honouring `Retry-After`, bounded in
//! tries.

use std::future::Future;
use std::time::Duration;

use crate::Error;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
    /// A `Retry-After` longer than this is not waited for: the error is
    /// reported at once, so a caller is never parked for minutes.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn never() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait before try `attempt + 1`, after `attempt` failures.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exponential = self.base.saturating_mul(
            1u32.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u32::MAX),
        );
        let ceiling = exponential.min(self.cap);
        let jitter = Duration::from_nanos(fastrand::u64(0..=ceiling.as_nanos() as u64));
        match retry_after {
            Some(wait) => wait.max(jitter),
            None => jitter,
        }
    }

    /// Runs `operation` until it succeeds, fails for good, or runs out of tries.
    pub async fn run<T, F, Fut>(&self, mut operation: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match operation().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            if !error.is_retryable() {
                return Err(error);
            }
            let retry_after = error.retry_after();
            if attempt >= self.max_attempts || retry_after.is_some_and(|w| w > self.max_retry_after)
            {
                return Err(if attempt > 1 {
                    Error::RetriesExhausted {
                        attempts: attempt,
                        last: Box::new(error),
                    }
                } else {
                    error
                });
            }
            let wait = self.delay(attempt, retry_after);
            tracing::info!(attempt, wait_ms = wait.as_millis() as u64, error = %error, "retrying after a temporary failure");
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_jittered_below_a_growing_capped_ceiling() {
        let policy = RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        for attempt in 1..=10 {
            let ceiling =
                Duration::from_millis(100 * 2u64.pow(attempt - 1)).min(Duration::from_millis(1000));
            for _ in 0..50 {
                assert!(policy.delay(attempt, None) <= ceiling);
            }
        }
        let spread: std::collections::HashSet<_> = (0..50).map(|_| policy.delay(4, None)).collect();
        assert!(spread.len() > 10, "full jitter spreads the delays");
        assert!(
            policy.delay(1, Some(Duration::from_secs(2))) >= Duration::from_secs(2),
            "Retry-After is a floor"
        );
    }

    #[tokio::test]
    async fn retries_only_what_is_retryable_and_stops_at_the_limit() {
        let policy = RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
            ..RetryPolicy::default()
        };
        let mut calls = 0;
        let result: Result<(), Error> = policy
            .run(|| {
                calls += 1;
                async {
                    Err(Error::Transport {
                        url: "u".into(),
                        detail: "refused".into(),
                    })
                }
            })
            .await;
        assert_eq!(calls, 3);
        assert!(matches!(
            result,
            Err(Error::RetriesExhausted { attempts: 3, .. })
        ));

        let mut calls = 0;
        let result: Result<(), Error> = policy
            .run(|| {
                calls += 1;
                async { Err(Error::StateMismatch) }
            })
            .await;
        assert_eq!(calls, 1);
        assert!(matches!(result, Err(Error::StateMismatch)));
    }
}
