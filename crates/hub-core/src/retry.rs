//! Full-jitter exponential backoff, and [`retry`], the one retry loop every part of the hub
//! calls.
//!
//! `delay(n) = random(0, min(cap, base * 2^n))`, the "full jitter" variant of the AWS
//! Architecture Blog's *Exponential Backoff and Jitter*: it spreads retries of many clients evenly
//! and so avoids synchronised retry storms against a throttled service.
//!
//! [`retry`] takes a [`Policy`] (the backoff, whether to give up after `max_attempts` or go on
//! for as long as it takes, and a deadline no wait may pass), a classifier that answers "retry
//! this failure?" (and is the place to log or count it), and the operation.

use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// A retry policy: how many attempts, and how long to wait before each retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Base delay: the upper bound of the first retry's delay.
    pub base: Duration,
    /// No delay is longer than this.
    pub cap: Duration,
    /// Attempts in all, the first included (1 means no retry).
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(50),
            cap: Duration::from_secs(5),
            max_attempts: 6,
        }
    }
}

impl Backoff {
    /// The upper bound of the delay before retry number `retry` (0-based): `min(cap, base * 2^retry)`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A random delay in `[0, ceiling(retry)]`, drawn from `rng`.
    pub fn delay_with(&self, retry: u32, rng: &mut fastrand::Rng) -> Duration {
        let ceiling = self.ceiling(retry).as_nanos().min(u64::MAX as u128) as u64;
        Duration::from_nanos(rng.u64(0..=ceiling))
    }

    /// A random delay in `[0, ceiling(retry)]` from the thread's generator.
    pub fn delay(&self, retry: u32) -> Duration {
        self.delay_with(retry, &mut fastrand::Rng::new())
    }

    /// Whether another attempt is allowed after `attempts` attempts were made.
    pub fn allows(&self, attempts: u32) -> bool {
        attempts < self.max_attempts
    }
}

/// How long [`retry`] goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The delays between attempts, and how many attempts in all (unless `forever`).
    pub backoff: Backoff,
    /// Retry for as long as the classifier says so, ignoring `max_attempts` (the bridge: an
    /// offset never passes a record that is not yet published or dead-lettered).
    pub forever: bool,
    /// No wait may end after this instant (a Lambda invocation's deadline, less a margin):
    /// the last failure is returned instead.
    pub deadline: Option<Instant>,
}

impl Policy {
    /// At most `backoff.max_attempts` attempts.
    pub fn attempts(backoff: Backoff) -> Policy {
        Policy {
            backoff,
            forever: false,
            deadline: None,
        }
    }

    /// Attempts until the operation succeeds or the classifier says stop.
    pub fn forever(backoff: Backoff) -> Policy {
        Policy {
            backoff,
            forever: true,
            deadline: None,
        }
    }

    /// The same policy, with no wait ending after `deadline`.
    pub fn until(self, deadline: Instant) -> Policy {
        Policy {
            deadline: Some(deadline),
            ..self
        }
    }
}

/// A failed attempt, as [`retry`] shows it to its classifier.
#[derive(Debug)]
pub struct Failed<'e, E> {
    /// The error of this attempt.
    pub error: &'e E,
    /// Attempts made so far, this one included (1 for the first).
    pub attempt: u32,
    /// How long [`retry`] waits before the next attempt, if the classifier says retry.
    pub delay: Duration,
}

/// What [`retry`] ended with: the last attempt's result and the retries it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retried<T> {
    /// The result of the last attempt.
    pub result: T,
    /// Attempts after the first.
    pub retries: u32,
}

/// Calls `op` until it succeeds, `classify` answers `false` for a failure, the policy's attempts
/// are spent, or the next wait would pass the policy's deadline; waits with full-jitter backoff
/// between attempts. `classify` sees each failure that could be retried, with the wait that would
/// follow, so it is the place to log and count retries.
///
/// ```
/// use hub_core::retry::{retry, Backoff, Policy};
/// use std::time::Duration;
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let policy = Policy::attempts(Backoff { base: Duration::from_millis(1), cap: Duration::from_millis(2), max_attempts: 3 });
/// let mut calls = 0;
/// let out = retry(policy, |f| *f.error == "busy", || { calls += 1; let n = calls; async move {
///     if n < 3 { Err("busy") } else { Ok(n) }
/// }}).await;
/// assert_eq!(out.result, Ok(3));
/// assert_eq!(out.retries, 2);
/// # });
/// ```
pub async fn retry<T, E, F, Fut>(
    policy: Policy,
    mut classify: impl FnMut(&Failed<'_, E>) -> bool,
    mut op: F,
) -> Retried<Result<T, E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut retries: u32 = 0;
    loop {
        let error = match op().await {
            Ok(v) => {
                return Retried {
                    result: Ok(v),
                    retries,
                };
            }
            Err(e) => e,
        };
        let attempt = retries.saturating_add(1);
        let delay = policy.backoff.delay(retries);
        let spent = !policy.forever && !policy.backoff.allows(attempt);
        let late = policy.deadline.is_some_and(|d| Instant::now() + delay >= d);
        if spent
            || late
            || !classify(&Failed {
                error: &error,
                attempt,
                delay,
            })
        {
            return Retried {
                result: Err(error),
                retries,
            };
        }
        tokio::time::sleep(delay).await;
        retries = attempt;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fast(max_attempts: u32) -> Backoff {
        Backoff {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(40),
            max_attempts,
        }
    }

    /// An operation that fails `failures` times with `error`, then succeeds; counts its calls.
    fn flaky(
        calls: &std::cell::Cell<u32>,
        failures: u32,
        error: &'static str,
    ) -> impl FnMut() -> std::future::Ready<Result<u32, &'static str>> {
        move || {
            calls.set(calls.get() + 1);
            std::future::ready(if calls.get() <= failures {
                Err(error)
            } else {
                Ok(calls.get())
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_until_success_within_the_attempts() {
        // Scenario: two transient failures, then success: three calls, two retries.
        let calls = std::cell::Cell::new(0);
        let out = retry(
            Policy::attempts(fast(3)),
            |_| true,
            flaky(&calls, 2, "busy"),
        )
        .await;
        assert_eq!(
            out,
            Retried {
                result: Ok(3),
                retries: 2
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_when_the_attempts_are_spent() {
        // Scenario: always failing: exactly max_attempts calls, the last error returned, and
        // the classifier asked only about the failures that could still be retried.
        let calls = std::cell::Cell::new(0);
        let mut asked = 0;
        let out = retry(
            Policy::attempts(fast(4)),
            |_| {
                asked += 1;
                true
            },
            flaky(&calls, u32::MAX, "busy"),
        )
        .await;
        assert_eq!(
            out,
            Retried {
                result: Err("busy"),
                retries: 3
            }
        );
        assert_eq!(calls.get(), 4);
        assert_eq!(asked, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_the_classifier_refuses_is_returned_at_once() {
        // Scenario: a permanent error is not retried.
        let calls = std::cell::Cell::new(0);
        let out = retry(
            Policy::attempts(fast(5)),
            |f| *f.error != "denied",
            flaky(&calls, 9, "denied"),
        )
        .await;
        assert_eq!(
            out,
            Retried {
                result: Err("denied"),
                retries: 0
            }
        );
        assert_eq!(calls.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn forever_ignores_the_attempt_limit() {
        // Scenario: the bridge's policy goes past max_attempts while the classifier agrees.
        let calls = std::cell::Cell::new(0);
        let out = retry(
            Policy::forever(fast(2)),
            |_| true,
            flaky(&calls, 20, "busy"),
        )
        .await;
        assert_eq!(
            out,
            Retried {
                result: Ok(21),
                retries: 20
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_wait_passes_the_deadline() {
        // Scenario: a deadline already reached ends the loop after the first failure, without
        // asking the classifier.
        let calls = std::cell::Cell::new(0);
        let policy = Policy::forever(fast(2)).until(Instant::now());
        let out = retry(policy, |_| panic!("not asked"), flaky(&calls, 9, "busy")).await;
        assert_eq!(
            out,
            Retried {
                result: Err("busy"),
                retries: 0
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_classifier_sees_the_attempt_and_its_wait() {
        // Scenario: attempts count from 1 and every wait stays within the backoff's ceiling.
        let calls = std::cell::Cell::new(0);
        let mut seen = Vec::new();
        let backoff = fast(4);
        retry(
            Policy::attempts(backoff),
            |f| {
                seen.push((f.attempt, f.delay));
                true
            },
            flaky(&calls, 3, "busy"),
        )
        .await;
        assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), vec![1, 2, 3]);
        for (i, (_, d)) in seen.iter().enumerate() {
            assert!(*d <= backoff.ceiling(i as u32));
        }
    }

    #[test]
    fn ceiling_doubles_then_caps() {
        // Scenario: the bound doubles per retry until the cap.
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
            max_attempts: 5,
        };
        assert_eq!(b.ceiling(0), Duration::from_millis(100));
        assert_eq!(b.ceiling(1), Duration::from_millis(200));
        assert_eq!(b.ceiling(3), Duration::from_millis(800));
        assert_eq!(b.ceiling(4), Duration::from_secs(1));
        assert_eq!(b.ceiling(1000), Duration::from_secs(1));
    }

    #[test]
    fn attempts_are_bounded() {
        // Scenario: max_attempts counts the first attempt.
        let b = Backoff {
            max_attempts: 3,
            ..Backoff::default()
        };
        assert!(b.allows(1));
        assert!(b.allows(2));
        assert!(!b.allows(3));
    }

    proptest! {
        #[test]
        fn delay_never_exceeds_ceiling(retry in 0u32..200, seed in any::<u64>(),
                                       base_ms in 1u64..10_000, cap_ms in 1u64..100_000) {
            // Scenario: whatever the retry number, the jittered delay stays within [0, ceiling].
            let b = Backoff { base: Duration::from_millis(base_ms), cap: Duration::from_millis(cap_ms), max_attempts: 10 };
            let d = b.delay_with(retry, &mut fastrand::Rng::with_seed(seed));
            prop_assert!(d <= b.ceiling(retry));
            prop_assert!(b.ceiling(retry) <= b.cap);
        }
    }
}
