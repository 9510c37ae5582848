//! The Kafka bridge's deployables, over the pipeline of `hub-bridge`:
//!
//! - `kafka-bridge` (feature `consumer`): the long-running consumer (`hub_kafka::bridge`), for
//!   a container or a VM next to the SAP Kafka cluster. SIGTERM/SIGINT drain and commit.
//! - `kafka-bridge-lambda`: the same pipeline as a Lambda on the managed Kafka event source
//!   (self-managed Kafka or MSK `KafkaEvent`); Lambda's event source mapping owns the offsets.
//!
//! **Its room:** hub-core, hub-bridge, hub-telemetry and hub-aws with its `bridge` adapters;
//! hub-kafka only under the `consumer` feature (the long-running bridge), and hub-template
//! under the `local` feature (the bridge as the template deploys it, run locally). No other
//! Lambda crate.
//!
//! # Layout
//! - [`handler`]: the Lambda handler, [`handler::handle`].
//! - `health` (feature `consumer`): the long-running bridge's `/health/live` and `/health/ready`.
//! - The configuration ([`Config`]) and the pipeline over the AWS adapters ([`build`]) live in
//!   `hub_aws::bridge`, where the redrive of the bridge DLQ builds them too (no Lambda crate
//!   depends on another); they are re-exported here.
//! - `local` (feature `local`): the bridge as the template deploys it, read from
//!   `template.yaml`, for running it locally.

pub mod handler;
#[cfg(feature = "consumer")]
pub mod health;
#[cfg(feature = "local")]
pub mod local;

pub use hub_aws::bridge::{AwsPipeline, Claims, Config, build, claims, publisher};
