//! The pipeline's knobs, read from the environment and validated at start: a bad value is an
//! error naming the variable.

use crate::breaker::BreakerSettings;
use crate::route::EnrichmentPolicy;
use chrono::{DateTime, Utc};
use hub_core::config::{ConfigError, Env};
use hub_core::retry::Backoff;
use hub_sap::{Limits, SenderTimeZones};
use std::time::Duration;

/// The default of `BRIDGE_MAX_FUTURE_SKEW_SECONDS`: one day.
pub const DEFAULT_MAX_FUTURE_SKEW: Duration = Duration::from_secs(86_400);

/// Where the pipeline reads the time: the system clock, or a fixed instant (tests, drills: a
/// record "from the future" without waiting or moving the machine's clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// `Utc::now()`.
    #[default]
    System,
    /// Always this instant.
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// The time now, by this clock.
    pub fn now(self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(at) => at,
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
    /// How far ahead of [`Settings::clock`] a change's SAP time may be
    /// (`BRIDGE_MAX_FUTURE_SKEW_SECONDS`); a change further ahead goes to the bridge DLQ as
    /// poison `future_version` instead of pinning its key until that time.
    pub max_future_skew: Duration,
    /// The time zone of each IDoc sender's CREDAT/CRETIM (`IDOC_SENDER_TIME_ZONES`).
    pub sender_time_zones: SenderTimeZones,
    /// The clock the future-version guard, `published_at` and `failed_at` read.
    pub clock: Clock,
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
            max_future_skew: DEFAULT_MAX_FUTURE_SKEW,
            sender_time_zones: SenderTimeZones::utc(),
            clock: Clock::System,
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
        let sender_time_zones = match env.get("IDOC_SENDER_TIME_ZONES") {
            None => SenderTimeZones::utc(),
            Some(list) => SenderTimeZones::parse(&list).map_err(|e| ConfigError {
                variable: "IDOC_SENDER_TIME_ZONES".into(),
                message: e.to_string(),
            })?,
        };
        // At least a minute (clocks drift; a smaller bound would dead-letter good changes), at
        // most a year; the guard cannot be switched off.
        let max_future_skew = Duration::from_secs(env.number(
            "BRIDGE_MAX_FUTURE_SKEW_SECONDS",
            DEFAULT_MAX_FUTURE_SKEW.as_secs(),
            60..=366 * 86_400,
        )?);
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
            max_future_skew,
            sender_time_zones,
            clock: Clock::System,
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
            ("BRIDGE_MAX_FUTURE_SKEW_SECONDS", "0"),
            ("BRIDGE_MAX_FUTURE_SKEW_SECONDS", "59"),
            ("BRIDGE_MAX_FUTURE_SKEW_SECONDS", "one day"),
            ("BRIDGE_MAX_FUTURE_SKEW_SECONDS", "31708801"),
            ("IDOC_SENDER_TIME_ZONES", "S4HCLNT100=Europe/Atlantis"),
            ("IDOC_SENDER_TIME_ZONES", "S4HCLNT100"),
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

    #[test]
    fn future_skew_and_sender_time_zones_are_read() {
        // Scenario: the skew in seconds and the SNDPRN=Zone list; the defaults are a day and
        // UTC for every sender.
        let d = Settings::default();
        assert_eq!(d.max_future_skew, Duration::from_secs(86_400));
        assert!(d.sender_time_zones.is_empty());
        let pairs = [
            ("BRIDGE_MAX_FUTURE_SKEW_SECONDS", "3600"),
            (
                "IDOC_SENDER_TIME_ZONES",
                "S4HCLNT100=Europe/Berlin,ECCCLNT800=America/New_York",
            ),
        ];
        let s = Settings::from_env(&Env::from_pairs(&pairs)).unwrap();
        assert_eq!(s.max_future_skew, Duration::from_secs(3600));
        assert_eq!(
            s.sender_time_zones.zone("S4HCLNT100").name(),
            "Europe/Berlin"
        );
        assert_eq!(
            s.sender_time_zones.zone("ECCCLNT800").name(),
            "America/New_York"
        );
        assert_eq!(s.sender_time_zones.zone("S4PCLNT100").name(), "UTC");
    }
}
