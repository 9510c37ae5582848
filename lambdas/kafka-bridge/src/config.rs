//! The bridge's AWS configuration, from the environment, validated at start.

use hub_bridge::Settings;
use hub_core::config::{ConfigError, Env};

/// Where the bridge publishes and dead-letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `SNS_TOPIC_ARN` (required): the changes topic.
    pub topic_arn: String,
    /// `BRIDGE_DLQ_URL` (required): the bridge DLQ.
    pub dlq_url: String,
    /// `CLAIM_CHECK_BUCKET`: where events over 256 KiB (and large poison values) are stored.
    pub claim_check_bucket: Option<String>,
    /// The pipeline's settings (`BRIDGE_*`, `SNS_FIFO`).
    pub settings: Settings,
}

impl Config {
    /// Reads and validates the configuration.
    pub fn from_env(env: &Env) -> Result<Config, ConfigError> {
        let topic_arn = env.required("SNS_TOPIC_ARN")?;
        if !topic_arn.starts_with("arn:") {
            return Err(ConfigError {
                variable: "SNS_TOPIC_ARN".into(),
                message: format!("{topic_arn:?} is not an ARN"),
            });
        }
        let settings = Settings::from_env(env)?;
        if settings.fifo != topic_arn.ends_with(".fifo") {
            return Err(ConfigError {
                variable: "SNS_FIFO".into(),
                message: format!(
                    "is {} but the topic {topic_arn} is {}a FIFO topic",
                    settings.fifo,
                    if topic_arn.ends_with(".fifo") {
                        ""
                    } else {
                        "not "
                    }
                ),
            });
        }
        let dlq_url = env.required("BRIDGE_DLQ_URL")?;
        if !dlq_url.starts_with("http") {
            return Err(ConfigError {
                variable: "BRIDGE_DLQ_URL".into(),
                message: format!("{dlq_url:?} is not a queue URL"),
            });
        }
        Ok(Config {
            topic_arn,
            dlq_url,
            claim_check_bucket: env.get("CLAIM_CHECK_BUCKET"),
            settings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &[(&str, &str)] = &[
        (
            "SNS_TOPIC_ARN",
            "arn:aws:sns:eu-west-1:123456789012:changes",
        ),
        (
            "BRIDGE_DLQ_URL",
            "https://sqs.eu-west-1.amazonaws.com/123456789012/bridge-dlq",
        ),
    ];

    #[test]
    fn reads_a_valid_environment() {
        // Scenario: the two required variables suffice.
        let c = Config::from_env(&Env::from_pairs(OK)).unwrap();
        assert_eq!(c.claim_check_bucket, None);
        assert!(!c.settings.fifo);
    }

    #[test]
    fn errors_name_the_variable() {
        // Scenario: missing or wrong values are refused by name, FIFO mode must match the topic.
        let err = |pairs: &[(&str, &str)]| {
            Config::from_env(&Env::from_pairs(pairs))
                .unwrap_err()
                .variable
        };
        assert_eq!(err(&OK[1..]), "SNS_TOPIC_ARN");
        assert_eq!(err(&OK[..1]), "BRIDGE_DLQ_URL");
        assert_eq!(err(&[("SNS_TOPIC_ARN", "changes"), OK[1]]), "SNS_TOPIC_ARN");
        assert_eq!(err(&[OK[0], OK[1], ("SNS_FIFO", "true")]), "SNS_FIFO");
        assert_eq!(
            err(&[OK[0], ("BRIDGE_DLQ_URL", "bridge-dlq")]),
            "BRIDGE_DLQ_URL"
        );
    }
}
