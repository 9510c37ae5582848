//! The pipeline's knobs, read from the environment and validated at start: a bad value is an
//! error naming the variable.

use crate::breaker::BreakerSettings;
use crate::route::EnrichmentPolicy;
use hub_core::config::{ConfigError, Env};
use hub_core::retry::Backoff;
use hub_sap::Limits;
use std::time::Duration;

/// The pipeline's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// FIFO topic: set `MessageGroupId` (entity and key) and `MessageDeduplicationId` (event id).
    pub fifo: bool,
    /// What to do with thin S/4HANA events.
    pub enrichment: EnrichmentPolicy,
    /// `PublishBatch` calls in flight per chunk of records.
    pub publish_concurrency: usize,
    /// Retry policy of SNS, SQS and S3 calls; `max_attempts` bounds retries of *one* wait
    /// series: the pipeline never gives up on a transient error (an outage is waited out
    /// behind the breaker, never dead-lettered), it restarts the series.
    pub retry: Backoff,
    /// The circuit breaker around SNS.
    pub breaker: BreakerSettings,
    /// Bounds on a record's parsing.
    pub limits: Limits,
    /// Prefix of claim-check object keys.
    pub claim_prefix: String,
    /// How long one SNS, SQS or S3 call may go unanswered before it counts as a transient
    /// failure (retried, and seen by the breaker): a stalled connection never holds a chunk.
    pub call_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            fifo: false,
            enrichment: EnrichmentPolicy::DeadLetter,
            publish_concurrency: 8,
            retry: Backoff {
                base: Duration::from_millis(50),
                cap: Duration::from_secs(5),
                max_attempts: 8,
            },
            breaker: BreakerSettings::default(),
            limits: Limits::default(),
            claim_prefix: String::new(),
            call_timeout: Duration::from_secs(10),
        }
    }
}

impl Settings {
    /// Reads the settings (every variable optional; the README lists them with defaults).
    pub fn from_env(env: &Env) -> Result<Settings, ConfigError> {
        let d = Settings::default();
        let enrichment = match env.get("BRIDGE_THIN_EVENTS").as_deref() {
            None | Some("dead-letter") => EnrichmentPolicy::DeadLetter,
            Some("publish") => EnrichmentPolicy::PublishThin,
            Some(other) => {
                return Err(ConfigError {
                    variable: "BRIDGE_THIN_EVENTS".into(),
                    message: format!("{other:?} is neither \"dead-letter\" nor \"publish\""),
                });
            }
        };
        let breaker = BreakerSettings {
            failure_threshold: env.number("BRIDGE_BREAKER_FAILURES", 5, 1..=1000)?,
            open_for: env.millis("BRIDGE_BREAKER_OPEN_MS", 1000, 10..=600_000)?,
            max_open_for: env.millis("BRIDGE_BREAKER_MAX_OPEN_MS", 30_000, 10..=3_600_000)?,
        };
        if breaker.max_open_for < breaker.open_for {
            return Err(ConfigError {
                variable: "BRIDGE_BREAKER_MAX_OPEN_MS".into(),
                message: "must be at least BRIDGE_BREAKER_OPEN_MS".into(),
            });
        }
        Ok(Settings {
            fifo: env.flag("SNS_FIFO", d.fifo)?,
            enrichment,
            publish_concurrency: env.number("BRIDGE_PUBLISH_CONCURRENCY", 8, 1..=256)?,
            retry: Backoff {
                base: env.millis("BRIDGE_RETRY_BASE_MS", 50, 1..=60_000)?,
                cap: env.millis("BRIDGE_RETRY_CAP_MS", 5_000, 1..=600_000)?,
                max_attempts: d.retry.max_attempts,
            },
            breaker,
            limits: Limits {
                max_bytes: env.number(
                    "BRIDGE_MAX_RECORD_BYTES",
                    d.limits.max_bytes,
                    1..=(64 << 20),
                )?,
                ..d.limits
            },
            claim_prefix: env.get("CLAIM_CHECK_PREFIX").unwrap_or_default(),
            call_timeout: env.millis("BRIDGE_CALL_TIMEOUT_MS", 10_000, 100..=600_000)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_nothing_is_set() {
        // Scenario: an empty environment gives the documented defaults.
        assert_eq!(
            Settings::from_env(&Env::from_pairs(&[])).unwrap(),
            Settings::default()
        );
    }

    #[test]
    fn errors_name_the_variable() {
        // Scenario: each bad value is refused with the variable's name.
        let cases: &[(&str, &str)] = &[
            ("BRIDGE_THIN_EVENTS", "maybe"),
            ("SNS_FIFO", "perhaps"),
            ("BRIDGE_PUBLISH_CONCURRENCY", "0"),
            ("BRIDGE_BREAKER_FAILURES", "many"),
            ("BRIDGE_BREAKER_MAX_OPEN_MS", "10"),
        ];
        for (name, value) in cases {
            let pairs = [(*name, *value)];
            let err = Settings::from_env(&Env::from_pairs(&pairs)).unwrap_err();
            assert_eq!(err.variable, *name, "{err}");
        }
    }

    #[test]
    fn thin_events_can_be_published_by_configuration() {
        // Scenario: BRIDGE_THIN_EVENTS=publish switches the policy; FIFO mode reads as a flag.
        let pairs = [("BRIDGE_THIN_EVENTS", "publish"), ("SNS_FIFO", "true")];
        let s = Settings::from_env(&Env::from_pairs(&pairs)).unwrap();
        assert_eq!(s.enrichment, EnrichmentPolicy::PublishThin);
        assert!(s.fifo);
    }
}
