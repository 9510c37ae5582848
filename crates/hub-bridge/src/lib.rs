//! The Kafka bridge pipeline (DESIGN §1, §2, §4), free of SDKs: what happens to a Kafka record
//! between the consumer and SNS, shared by the long-running consumer (`hub_kafka::bridge`) and the
//! Lambda on the managed Kafka event source (`lambdas/kafka-bridge`).
//!
//! A record is parsed by `hub_sap` into canonical change events. Each event becomes one SNS
//! message (the event JSON, with the routing attributes of DESIGN §2); messages go out in
//! `PublishBatch` calls of at most 10 entries and 256 KiB. A record that cannot be parsed goes to
//! the bridge DLQ with its raw bytes and Kafka coordinates. Nothing else leaves a record: an
//! outage of SNS (or of the DLQ) is retried with full-jitter backoff behind a circuit breaker,
//! never dead-lettered, so a record is always **published or dead-lettered** before its offset
//! may be committed.
//!
//! **Its room:** hub-core, hub-model and hub-sap; no SDK, no Kafka client. Its adapters live in
//! hub-aws (feature `bridge`) and hub-kafka; the bridge Lambda, the long-running bridge and the
//! redrive of the bridge DLQ depend on it.
//!
//! # Layout
//! - [`record`]: [`KafkaRecord`], one Kafka record owned (the consumer's and the Lambda's input).
//! - [`route`]: record → [`route::Routed`] (messages to publish, or a dead letter), the
//!   [`route::EnrichmentPolicy`] of thin S/4 events.
//! - [`message`]: [`Message`], one SNS entry: body, attributes, FIFO ids; claim checks.
//! - [`batch`]: packing messages into `PublishBatch` calls within SNS's limits.
//! - [`ports`]: the [`Publisher`], [`DeadLetters`] and [`ClaimStore`] ports, their errors and
//!   in-memory adapters.
//! - [`dead_letter`]: [`BridgeDeadLetter`], what the bridge DLQ holds, and its error classes.
//! - [`breaker`]: the [`CircuitBreaker`] around SNS.
//! - [`pipeline`]: [`Pipeline`], a chunk of records end to end.
//! - [`offsets`]: [`OffsetTracker`], which offsets may be committed.
//! - [`settings`]: [`Settings`], the knobs, validated from the environment.
//! - [`metrics`]: the counters and the EMF line.

pub mod batch;
pub mod breaker;
pub mod dead_letter;
pub mod message;
pub mod metrics;
pub mod offsets;
pub mod pipeline;
pub mod ports;
pub mod record;
pub mod route;
pub mod settings;
#[cfg(feature = "testing")]
pub mod testing;

pub use breaker::{BreakerState, CircuitBreaker};
pub use dead_letter::BridgeDeadLetter;
pub use message::Message;
pub use metrics::BridgeMetrics;
pub use offsets::OffsetTracker;
pub use pipeline::Pipeline;
pub use ports::{ClaimStore, DeadLetters, Publisher};
pub use record::KafkaRecord;
pub use settings::{Clock, Settings};
