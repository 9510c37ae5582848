//! The enricher's configuration, from the environment `template.yaml` gives it.

use hub_core::config::{ConfigError, Env};
use std::time::Duration;

/// Where the enricher reads, publishes and dead-letters.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `SNS_TOPIC_ARN` (required): the changes topic, where enriched events go.
    pub topic_arn: String,
    /// `DLQ_URL` (required): the enricher's DLQ.
    pub dlq_url: String,
    /// `ENRICHER_QUEUE_ARN` (required): the queue its event source mapping reads.
    pub queue_arn: String,
    /// `ENRICHER_QUEUE_URL` (required): the same queue's URL.
    pub queue_url: String,
    /// `S4_RETRY_DELAY_SECONDS` (0–43200, default 60): when an event S/4 could not answer comes
    /// back (0: the queue's visibility timeout decides).
    pub retry_delay: Option<Duration>,
    /// `S4_API_BASE_URL` (required): `https://<host>[:port]`, without a path.
    pub s4_base_url: String,
    /// `S4_API_LOGON_ARN` (required): the credentials' secret (`credentials` module).
    pub s4_secret_arn: String,
    /// `S4_TIMEOUT_MS` (500–60000, default 10000): one call's answer.
    pub s4_timeout: Duration,
    /// `S4_PROBE_PATH`: what the scheduled probe reads (default: one business partner key).
    pub probe_path: String,
    /// `S4_ALLOW_HTTP`: plain http to S/4 (the local stack only; the template never sets it).
    pub allow_http: bool,
    /// `SNS_FIFO`: the topic is FIFO.
    pub fifo: bool,
    /// The enrichment's settings (`S4_RATE_LIMIT_PER_SECOND`, `S4_CONCURRENCY`, …).
    pub settings: hub_enrich::Settings,
}

impl Config {
    /// Reads and validates the configuration.
    pub fn from_env(env: &Env) -> Result<Config, ConfigError> {
        let arn = |name: &str| {
            let v = env.required(name)?;
            if v.starts_with("arn:") {
                Ok(v)
            } else {
                Err(ConfigError {
                    variable: name.into(),
                    message: format!("{v:?} is not an ARN"),
                })
            }
        };
        let fifo = env.flag("SNS_FIFO", false)?;
        let topic_arn = arn("SNS_TOPIC_ARN")?;
        if fifo != topic_arn.ends_with(".fifo") {
            return Err(ConfigError {
                variable: "SNS_FIFO".into(),
                message: format!("is {fifo} but the topic is {topic_arn}"),
            });
        }
        let dlq_url = env.required("DLQ_URL")?;
        if !dlq_url.starts_with("http") {
            return Err(ConfigError {
                variable: "DLQ_URL".into(),
                message: format!("{dlq_url:?} is not a queue URL"),
            });
        }
        let s4_base_url = env.required("S4_API_BASE_URL")?;
        if !(s4_base_url.starts_with("https://") || s4_base_url.starts_with("http://")) {
            return Err(ConfigError {
                variable: "S4_API_BASE_URL".into(),
                message: format!("{s4_base_url:?} is not an https:// URL"),
            });
        }
        Ok(Config {
            topic_arn,
            dlq_url,
            queue_arn: arn("ENRICHER_QUEUE_ARN")?,
            queue_url: env.required("ENRICHER_QUEUE_URL")?,
            retry_delay: match env.number("S4_RETRY_DELAY_SECONDS", 60u64, 0..=43_200)? {
                0 => None,
                s => Some(Duration::from_secs(s)),
            },
            s4_base_url,
            s4_secret_arn: arn("S4_API_LOGON_ARN")?,
            s4_timeout: env.millis("S4_TIMEOUT_MS", 10_000, 500..=60_000)?,
            probe_path: env
                .get("S4_PROBE_PATH")
                .unwrap_or_else(|| hub_sap_probe_path().to_string()),
            allow_http: env.flag("S4_ALLOW_HTTP", false)?,
            fifo,
            settings: hub_enrich::Settings::from_env(env)?,
        })
    }
}

fn hub_sap_probe_path() -> &'static str {
    hub_enrich::api::PROBE_PATH
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs() -> Vec<(&'static str, &'static str)> {
        vec![
            ("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:1:hub-changes"),
            (
                "DLQ_URL",
                "https://sqs.us-east-1.amazonaws.com/1/hub-s4-enricher-dlq",
            ),
            (
                "ENRICHER_QUEUE_URL",
                "https://sqs.us-east-1.amazonaws.com/1/hub-s4-enricher",
            ),
            (
                "ENRICHER_QUEUE_ARN",
                "arn:aws:sqs:us-east-1:1:hub-s4-enricher",
            ),
            ("S4_API_BASE_URL", "https://s4.example.com"),
            (
                "S4_API_LOGON_ARN",
                "arn:aws:secretsmanager:us-east-1:1:secret:s4",
            ),
        ]
    }

    #[test]
    fn reads_the_templates_variables_and_names_what_is_wrong() {
        // Scenario: the template's variables read; a missing secret or a topic that is not an
        // ARN is refused with the variable's name.
        let c = Config::from_env(&Env::from_pairs(&pairs())).unwrap();
        assert_eq!(c.s4_timeout, Duration::from_secs(10));
        assert!(!c.allow_http);
        let mut p = pairs();
        p.retain(|(k, _)| *k != "S4_API_LOGON_ARN");
        assert_eq!(
            Config::from_env(&Env::from_pairs(&p)).unwrap_err().variable,
            "S4_API_LOGON_ARN"
        );
        let mut p = pairs();
        p[0].1 = "hub-changes";
        assert_eq!(
            Config::from_env(&Env::from_pairs(&p)).unwrap_err().variable,
            "SNS_TOPIC_ARN"
        );
    }
}
