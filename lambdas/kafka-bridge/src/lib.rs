//! The Kafka bridge's deployables, over the pipeline of `hub-bridge`:
//!
//! - `kafka-bridge` (feature `consumer`): the long-running consumer (`hub_kafka::bridge`), for
//!   a container or a VM next to the SAP Kafka cluster. SIGTERM/SIGINT drain and commit.
//! - `kafka-bridge-lambda`: the same pipeline as a Lambda on the managed Kafka event source
//!   (self-managed Kafka or MSK `KafkaEvent`); Lambda's event source mapping owns the offsets.
//!
//! # Layout
//! - [`config`]: [`Config`], the AWS side (topic, DLQ, claim-check bucket) and the pipeline's
//!   settings, from the environment.
//! - [`handler`]: the Lambda handler, [`handler::handle`].
//! - [`build`]: the pipeline over the AWS adapters, built once per process.

pub mod config;
pub mod handler;

pub use config::Config;

use hub_aws::AwsClients;
use hub_aws::s3_payloads::S3Claims;
use hub_aws::sns_publisher::SnsPublisher;
use hub_aws::sqs_dlq::SqsBridgeDeadLetters;
use hub_bridge::ports::NoClaims;
use hub_bridge::{BridgeMetrics, ClaimStore, Pipeline};
use hub_core::PortError;
use std::sync::Arc;

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
