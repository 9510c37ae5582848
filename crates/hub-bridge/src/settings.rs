//! The pipeline's knobs, read from the environment and validated at start: a bad value is an
//! error naming the variable.

use crate::breaker::BreakerSettings;
use crate::route::EnrichmentPolicy;
use hub_core::retry::Backoff;
use hub_sap::Limits;
use std::str::FromStr;
use std::time::Duration;

/// A configuration variable is missing or wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: String,
    /// What is wrong with it.
    pub message: String,
}

/// The variables a process was configured with (a snapshot of the environment, or pairs in
/// tests).
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: std::collections::BTreeMap<String, String>,
}

impl Env {
    /// The process environment.
    pub fn process() -> Env {
        Env {
            vars: std::env::vars().collect(),
        }
    }

    /// Variables from a list of pairs.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Env {
        Env {
            vars: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// Every set variable whose name starts with `prefix`: (rest of the name, value).
    pub fn with_prefix(&self, prefix: &str) -> Vec<(String, String)> {
        self.vars
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k[prefix.len()..].to_string(), v.clone()))
            .collect()
    }

    /// A variable's value, blank taken as unset.
    pub fn get(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// A required variable.
    pub fn required(&self, name: &str) -> Result<String, ConfigError> {
        self.get(name).ok_or_else(|| ConfigError {
            variable: name.into(),
            message: "required but not set".into(),
        })
    }

    /// A parsed variable, or `default`.
    pub fn parse<T: FromStr>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e| ConfigError {
                variable: name.into(),
                message: format!("{v:?} is not valid: {e}"),
            }),
        }
    }

    /// A number within `range`, or `default`.
    pub fn number<T>(
        &self,
        name: &str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + std::fmt::Display + Copy,
        T::Err: std::fmt::Display,
    {
        let v = self.parse(name, default)?;
        if range.contains(&v) {
            Ok(v)
        } else {
            Err(ConfigError {
                variable: name.into(),
                message: format!("{v} is out of range {}..={}", range.start(), range.end()),
            })
        }
    }

    /// A duration in milliseconds within `range`, or `default`.
    pub fn millis(
        &self,
        name: &str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        self.number(name, default, range).map(Duration::from_millis)
    }

    /// A boolean (`true`/`false`, `1`/`0`, `yes`/`no`), or `default`.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if ["true", "1", "yes"].contains(&v.as_str()) => Ok(true),
            Some(v) if ["false", "0", "no"].contains(&v.as_str()) => Ok(false),
            Some(v) => Err(ConfigError {
                variable: name.into(),
                message: format!("{v:?} is not a boolean (true/false)"),
            }),
        }
    }
}

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
