//! The enricher's knobs, from the environment (`template.yaml` sets them from parameters).

use crate::breaker::BreakerSettings;
use hub_core::config::{ConfigError, Env};
use hub_core::retry::Backoff;
use std::time::Duration;

/// How the enricher calls S/4.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Calls per second toward S/4 of all the enricher's concurrent invocations together
    /// (`S4_RATE_LIMIT_PER_SECOND`, default 50).
    pub rate_limit: f64,
    /// The event source mapping's `MaximumConcurrency` (`S4_CONCURRENCY`, default 2): this
    /// environment's share of the rate is `rate_limit / concurrency`.
    pub concurrency: u32,
    /// Keys read in one call (`S4_MAX_KEYS_PER_CALL`, 1–100, default 40): S/4's gateway takes
    /// URLs of a few KiB, and 40 business partner keys make about 1.5 KiB of `$filter`.
    pub max_keys_per_call: usize,
    /// Attempts of one call within an invocation (`S4_CALL_ATTEMPTS`, 1–10, default 3).
    pub attempts: u32,
    /// The waits between them (full jitter from 200 ms, at most 5 s).
    pub backoff: Backoff,
    /// The breaker (`S4_BREAKER_FAILURES`, default 5; `S4_BREAKER_OPEN_SECONDS`, default 30).
    pub breaker: BreakerSettings,
    /// The longest `Retry-After` honoured (`S4_MAX_RETRY_AFTER_SECONDS`, default 300); a longer
    /// one is taken as this.
    pub max_retry_after: Duration,
    /// The deepest JSON nesting read from S/4.
    pub max_json_depth: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rate_limit: 50.0,
            concurrency: 2,
            max_keys_per_call: 40,
            attempts: 3,
            backoff: Backoff {
                base: Duration::from_millis(200),
                cap: Duration::from_secs(5),
                max_attempts: 3,
            },
            breaker: BreakerSettings::default(),
            max_retry_after: Duration::from_secs(300),
            max_json_depth: 64,
        }
    }
}

impl Settings {
    /// From the environment; every variable is optional.
    pub fn from_env(env: &Env) -> Result<Settings, ConfigError> {
        let d = Settings::default();
        let rate_limit: f64 = env.parse("S4_RATE_LIMIT_PER_SECOND", d.rate_limit)?;
        if !(0.1..=10_000.0).contains(&rate_limit) {
            return Err(ConfigError {
                variable: "S4_RATE_LIMIT_PER_SECOND".into(),
                message: format!("{rate_limit} is not within 0.1–10000"),
            });
        }
        let attempts = env.number("S4_CALL_ATTEMPTS", d.attempts, 1..=10)?;
        Ok(Settings {
            rate_limit,
            concurrency: env.number("S4_CONCURRENCY", d.concurrency, 1..=1000)?,
            max_keys_per_call: env.number("S4_MAX_KEYS_PER_CALL", d.max_keys_per_call, 1..=100)?,
            attempts,
            backoff: Backoff {
                max_attempts: attempts,
                ..d.backoff
            },
            breaker: BreakerSettings {
                failure_threshold: env.number(
                    "S4_BREAKER_FAILURES",
                    d.breaker.failure_threshold,
                    1..=100,
                )?,
                open_for: Duration::from_secs(env.number(
                    "S4_BREAKER_OPEN_SECONDS",
                    d.breaker.open_for.as_secs(),
                    1..=3600,
                )?),
            },
            max_retry_after: Duration::from_secs(env.number(
                "S4_MAX_RETRY_AFTER_SECONDS",
                d.max_retry_after.as_secs(),
                1..=3600,
            )?),
            max_json_depth: d.max_json_depth,
        })
    }

    /// This execution environment's calls per second.
    pub fn rate_per_environment(&self) -> f64 {
        self.rate_limit / f64::from(self.concurrency.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_shared_by_the_concurrent_invocations() {
        // Scenario: 50/s over a concurrency of 5 is 10/s each; a rate out of range is refused
        // with its variable's name.
        let env = Env::from_pairs(&[("S4_RATE_LIMIT_PER_SECOND", "50"), ("S4_CONCURRENCY", "5")]);
        let s = Settings::from_env(&env).unwrap();
        assert_eq!(s.rate_per_environment(), 10.0);
        let bad = Env::from_pairs(&[("S4_RATE_LIMIT_PER_SECOND", "0")]);
        assert_eq!(
            Settings::from_env(&bad).unwrap_err().variable,
            "S4_RATE_LIMIT_PER_SECOND"
        );
        assert_eq!(
            Settings::from_env(&Env::from_pairs(&[])).unwrap(),
            Settings::default()
        );
    }
}
