//! AWS adapters of SAP Sync Hub: SDK clients, the classification of SDK errors into retry
//! classes, and the adapters behind the ports the Lambdas use (the single table, the SNS
//! publisher, the DLQs, claim checks on S3, the redrive's queues).
//!
//! This is the only crate of the foundation that touches `aws-sdk-*`; domain crates stay free of
//! it. It carries only what runs in production: it may depend on `hub-core` and the domain and
//! port crates (`hub-model`, `hub-store`, `hub-sync`, `hub-bridge`, `hub-redrive`), never on the
//! template reader or the local tooling (`hub-local` provisions the stand-ins).
//!
//! # Layout
//! - [`clients`]: [`AwsClients`], built once per process from the environment (including the
//!   service-specific endpoint variables `AWS_ENDPOINT_URL_SNS`, `_SQS`, `_DYNAMODB`).
//! - [`error`]: [`AwsError`] and [`classify`], the retryable/permanent rule for SDK errors.
//! - [`dynamo_store`]: [`dynamo_store::DynamoStore`], the single table's DynamoDB adapter.
//! - [`s3_payloads`]: [`s3_payloads::S3Payloads`], claim-checked events on S3, and
//!   [`s3_payloads::S3Claims`], where the bridge stores them.
//! - [`sns_publisher`]: [`sns_publisher::SnsPublisher`], the bridge's `PublishBatch` adapter.
//! - [`sqs_dlq`]: [`sqs_dlq::SqsDeadLetters`] and [`sqs_dlq::SqsBridgeDeadLetters`], the domain
//!   and bridge DLQs' SQS adapters.
//! - [`redrive`]: the redrive's DLQ, destination queue and claim-check reader on SQS and S3.

pub mod clients;
pub mod dynamo_store;
pub mod error;
pub mod redrive;
pub mod s3_payloads;
pub mod sns_publisher;
pub mod sqs_dlq;

pub use clients::AwsClients;
pub use error::{AwsError, classify};
