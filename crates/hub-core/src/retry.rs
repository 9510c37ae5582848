//! Full-jitter exponential backoff.
//!
//! `delay(n) = random(0, min(cap, base * 2^n))`, the "full jitter" variant of the AWS
//! Architecture Blog's *Exponential Backoff and Jitter*: it spreads retries of many clients evenly
//! and so avoids synchronised retry storms against a throttled service.

use std::time::Duration;

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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
