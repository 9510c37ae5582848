//! The bridge's AWS side: its configuration, the adapters of its ports (bridge DLQ on SQS,
//! claim checks on S3; the SNS publisher is [`crate::sns_publisher`]) and the pipeline wired
//! over them. The bridge's deployables and the redrive of the bridge DLQ both build it from here.

use crate::AwsClients;
use crate::error::AwsError;
use crate::sns_publisher::SnsPublisher;
use crate::sqs_dlq::string;
use hub_bridge::ports::NoClaims;
use hub_bridge::{BridgeMetrics, ClaimStore, Pipeline, Settings};
use hub_core::PortError;
use hub_core::config::{ConfigError, Env};
use std::sync::Arc;

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

/// The claim-check store: S3 when `CLAIM_CHECK_BUCKET` is set.
#[derive(Debug, Clone)]
pub enum Claims {
    /// An S3 bucket.
    S3(S3Claims),
    /// None configured.
    None(NoClaims),
}

impl ClaimStore for Claims {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<String, PortError> {
        match self {
            Claims::S3(s) => s.put(key, body).await,
            Claims::None(n) => n.put(key, body).await,
        }
    }
}

/// The pipeline over the AWS adapters.
pub type AwsPipeline = Pipeline<SnsPublisher, SqsBridgeDeadLetters, Claims>;

/// The claim-check store of `config`.
pub fn claims(clients: &AwsClients, config: &Config) -> Claims {
    match &config.claim_check_bucket {
        Some(b) => Claims::S3(S3Claims::new(clients.s3.clone(), b)),
        None => Claims::None(NoClaims),
    }
}

/// The SNS publisher of `config`. The pipeline retries SNS itself (full jitter, per failed
/// entry, behind the breaker); the publisher makes one attempt per call.
pub fn publisher(clients: &AwsClients, config: &Config) -> SnsPublisher {
    SnsPublisher::new(clients, &config.topic_arn)
}

/// Builds the pipeline.
pub fn build(clients: &AwsClients, config: &Config) -> AwsPipeline {
    Pipeline::new(
        publisher(clients, config),
        SqsBridgeDeadLetters::new(clients.sqs.clone(), &config.dlq_url),
        claims(clients, config),
        config.settings.clone(),
        Arc::new(BridgeMetrics::default()),
    )
}

/// Stores bodies too large for SNS or SQS in one bucket: the [`hub_bridge::ClaimStore`]
/// adapter. Keys are deterministic per event (or per dead-lettered record), so a retry
/// overwrites the same object.
#[derive(Debug, Clone)]
pub struct S3Claims {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Claims {
    /// A claim store writing to `bucket`.
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> S3Claims {
        S3Claims {
            client,
            bucket: bucket.into(),
        }
    }
}

impl hub_bridge::ClaimStore for S3Claims {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<String, PortError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .map_err(|e| PortError::from(AwsError::sdk("s3:PutObject", e)))?;
        Ok(format!("s3://{}/{key}", self.bucket))
    }
}

/// Sends bridge dead letters to the bridge DLQ: the [`hub_bridge::DeadLetters`] adapter. The
/// body is the dead letter's JSON (raw record in base64, coordinates, error); the attributes are
/// its filterable context ([`hub_bridge::BridgeDeadLetter::attributes`]).
#[derive(Debug, Clone)]
pub struct SqsBridgeDeadLetters {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsBridgeDeadLetters {
    /// A sink sending to `queue_url`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> SqsBridgeDeadLetters {
        SqsBridgeDeadLetters {
            client,
            queue_url: queue_url.into(),
        }
    }
}

impl hub_bridge::DeadLetters for SqsBridgeDeadLetters {
    async fn send(&self, letter: &hub_bridge::BridgeDeadLetter) -> Result<(), PortError> {
        let attributes = letter
            .attributes()
            .into_iter()
            .filter_map(|(k, v)| string(&v).map(|a| (k.to_string(), a)))
            .collect();
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(letter.body())
            .set_message_attributes(Some(attributes))
            .send()
            .await
            .map_err(|e| PortError::from(AwsError::sdk("sqs:SendMessage", e)))?;
        Ok(())
    }

    /// One `SendMessageBatch` (a tenth of the requests a letter each would cost, and a tenth of
    /// the load on the queue during a flood of bad records). Entries SQS failed are returned:
    /// its sender faults as permanent, the rest as transient.
    async fn send_batch(
        &self,
        letters: &[&hub_bridge::BridgeDeadLetter],
    ) -> Result<Vec<(usize, PortError)>, PortError> {
        use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
        const OPERATION: &str = "sqs:SendMessageBatch";
        let entries = letters
            .iter()
            .enumerate()
            .map(|(i, letter)| {
                let attributes = letter
                    .attributes()
                    .into_iter()
                    .filter_map(|(k, v)| string(&v).map(|a| (k.to_string(), a)))
                    .collect();
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(letter.body())
                    .set_message_attributes(Some(attributes))
                    .build()
                    .map_err(|e| {
                        PortError::caused_by(OPERATION, hub_core::ErrorClass::Permanent, e)
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| PortError::from(AwsError::sdk(OPERATION, e)))?;
        Ok(out
            .failed()
            .iter()
            .filter_map(|f| {
                let index: usize = f.id().parse().ok()?;
                let class = if f.sender_fault() {
                    hub_core::ErrorClass::Permanent
                } else {
                    hub_core::ErrorClass::Transient
                };
                let message = format!("{}: {}", f.code(), f.message().unwrap_or_default());
                Some((index, PortError::new(OPERATION, class, message)))
            })
            .collect())
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
        assert_eq!(
            err(&[OK[0], OK[1], ("IDOC_SENDER_TIME_ZONES", "S4HCLNT100=CET+1")]),
            "IDOC_SENDER_TIME_ZONES"
        );
        assert_eq!(
            err(&[OK[0], OK[1], ("BRIDGE_MAX_FUTURE_SKEW_SECONDS", "-1")]),
            "BRIDGE_MAX_FUTURE_SKEW_SECONDS"
        );
    }

    #[test]
    fn reads_the_data_guards() {
        // Scenario: the two variables the template passes to the bridge reach its settings.
        let mut pairs = OK.to_vec();
        pairs.push(("BRIDGE_MAX_FUTURE_SKEW_SECONDS", "7200"));
        pairs.push(("IDOC_SENDER_TIME_ZONES", "ECCCLNT800=America/New_York"));
        let c = Config::from_env(&Env::from_pairs(&pairs)).unwrap();
        assert_eq!(c.settings.max_future_skew.as_secs(), 7200);
        assert_eq!(
            c.settings.sender_time_zones.zone("ECCCLNT800").name(),
            "America/New_York"
        );
    }
}
