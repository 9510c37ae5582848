//! The rate limit toward S/4: a token bucket shared by an enricher's calls, which `Retry-After`
//! pauses.
//!
//! An enricher's share is the configured rate divided by its event source mapping's
//! `MaximumConcurrency` (each concurrent invocation runs in its own execution environment,
//! with its own bucket), so that all of them together stay within the configured rate.

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// A token bucket: `rate` calls per second, at most `burst` at once.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    max_pause: Duration,
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
    paused_until: Option<Instant>,
}

/// A wait that would pass the caller's deadline: no call is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the rate limit's wait ({0:?}) passes the deadline")]
pub struct WouldPassDeadline(pub Duration);

impl RateLimiter {
    /// `rate` calls per second (at least 0.01), bursts of `burst` (at least 1); a
    /// `Retry-After` pauses at most `max_pause`.
    pub fn new(rate: f64, burst: f64, max_pause: Duration) -> RateLimiter {
        let burst = burst.max(1.0);
        RateLimiter {
            rate: rate.max(0.01),
            burst,
            max_pause,
            bucket: Mutex::new(Bucket {
                tokens: burst,
                at: Instant::now(),
                paused_until: None,
            }),
        }
    }

    /// Waits for a call's turn and returns how long it waited; refuses (taking no turn) when
    /// the wait would end after `deadline`.
    pub async fn acquire(&self, deadline: Option<Instant>) -> Result<Duration, WouldPassDeadline> {
        let wait = {
            let mut b = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let refill = now.duration_since(b.at).as_secs_f64() * self.rate;
            b.tokens = (b.tokens + refill).min(self.burst);
            b.at = now;
            let mut wait = if b.tokens >= 1.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64((1.0 - b.tokens) / self.rate)
            };
            if let Some(until) = b.paused_until {
                wait = wait.max(until.saturating_duration_since(now));
            }
            if deadline.is_some_and(|d| now + wait > d) {
                return Err(WouldPassDeadline(wait));
            }
            b.tokens -= 1.0;
            wait
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(wait)
    }

    /// No call before `after` from now (S/4's `Retry-After`, at most `max_pause`).
    pub fn pause(&self, after: Duration) {
        let mut b = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        let until = Instant::now() + after.min(self.max_pause);
        b.paused_until = Some(b.paused_until.map_or(until, |u| u.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_calls_at_the_rate_and_pauses_on_retry_after() {
        // Scenario: 10/s with a burst of 2: 2 at once, then one every 100 ms; a Retry-After of
        // 5 s holds the next call 5 s; a wait past the deadline is refused without a turn.
        let l = RateLimiter::new(10.0, 2.0, Duration::from_secs(60));
        let start = Instant::now();
        for _ in 0..12 {
            l.acquire(None).await.unwrap();
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(999) && took <= Duration::from_millis(1001),
            "{took:?}"
        );
        l.pause(Duration::from_secs(5));
        let waited = l.acquire(None).await.unwrap();
        assert!(waited >= Duration::from_millis(4999), "{waited:?}");
        l.pause(Duration::from_secs(3600));
        let soon = Instant::now() + Duration::from_secs(1);
        let refused = l.acquire(Some(soon)).await.unwrap_err();
        assert_eq!(refused.0, Duration::from_secs(60));
    }
}
