//! AWS adapters of SAP Sync Hub: SDK clients, the classification of SDK errors into retry
//! classes, and the adapters behind the ports the Lambdas use (the single table, the SNS
//! publisher, the DLQs, claim checks on S3, the redrive's queues).
//!
//! This is the only crate of the foundation that touches `aws-sdk-*`; domain crates stay free of
//! it. **Its room:** only what runs in production. It may depend on `hub-core`, `hub-model` and,
//! each behind the feature of its adapters, the port crates (`hub-store` and `hub-sync`,
//! `hub-bridge`, `hub-redrive`, `hub-reconcile`); never on the template reader or the local tooling (`hub-local`
//! provisions the stand-ins).
//!
//! # Layout
//! - [`clients`]: [`AwsClients`], built once per process from the environment (including the
//!   service-specific endpoint variables `AWS_ENDPOINT_URL_SNS`, `_SQS`, `_DYNAMODB`).
//! - [`error`]: [`AwsError`] and [`classify`], the retryable/permanent rule for SDK errors.
//! - [`sqs_visibility`]: `ChangeMessageVisibilityBatch` over received messages.
//! - [`subscription`]: a queue's ARN and its raw-delivery subscription to a topic.
//!
//! Each adapter group is a feature, so a Lambda links only the domain crates of the ports it
//! uses (tests/layering.rs checks it on `cargo tree`):
//! - `sync` (the domain functions): `dynamo_store::DynamoStore`, the single table's adapter;
//!   `sqs_dlq::SqsDeadLetters`, the domain DLQ; `s3_payloads::S3Payloads`, claim-checked events.
//! - `bridge` (the bridge, and the redrive of its DLQ): `sns_publisher::SnsPublisher`, the lean
//!   `PublishBatch` client; `bridge`, its configuration, the bridge DLQ and claim-check adapters
//!   and the pipeline wired over them.
//! - `redrive` (the redrive functions): `redrive`, the DLQ, destination queue and object reader
//!   on SQS and S3.
//! - `stream` (the change stream and the backfill): `consolidated::SnsConsolidated`, the
//!   `consolidated` topic's publisher (with the single table's store, as `sync`);
//!   `stream_records`, the table's stream records as a Lambda event and its client.
//! - `secrets` (the long-running bridge): `secrets`, its Kafka credentials from Secrets Manager.
//! - `reconcile` (`hubctl reconcile`): `table_versions::DynamoVersions`, the table's versions
//!   read with `BatchGetItem`.

#[cfg(feature = "bridge")]
pub mod bridge;
pub mod clients;
#[cfg(feature = "stream")]
pub mod consolidated;
#[cfg(feature = "sync")]
pub mod dynamo_store;
pub mod error;
#[cfg(feature = "redrive")]
pub mod redrive;
#[cfg(any(feature = "sync", feature = "redrive"))]
pub mod s3_payloads;
#[cfg(feature = "secrets")]
pub mod secrets;
#[cfg(feature = "bridge")]
pub mod sns_publisher;
#[cfg(any(feature = "sync", feature = "bridge"))]
pub mod sqs_dlq;
pub mod sqs_visibility;
#[cfg(feature = "stream")]
pub mod stream_records;
pub mod subscription;
#[cfg(feature = "reconcile")]
pub mod table_versions;

pub use clients::AwsClients;
pub use error::{AwsError, classify};
