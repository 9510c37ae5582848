//! Kafka adapters of SAP Sync Hub.
//!
//! **Its room:** hub-core, hub-bridge, hub-sap (the records it produces), rdkafka
//! (librdkafka) and serde (the secrets' JSON). The long-running bridge, the CLI, the bench and
//! the tests depend on it; the bridge Lambda does not (Lambda's event source reads Kafka for
//! it).
//!
//! # Layout
//! - [`embedded`]: [`EmbeddedKafka`], librdkafka's in-process mock cluster, which speaks the
//!   real Kafka protocol on loopback ports (consumer groups, commits, `kcat`), the default broker
//!   of the local stack.
//! - [`bridge`]: the bridge's long-running consumer: at-least-once offsets, pause while the SNS
//!   breaker is open, rebalances, graceful shutdown.
//! - [`auth`]: SASL/SCRAM, mTLS or none, with the credentials from Secrets Manager in Lambda's
//!   secret formats; no credential in a plain environment variable.
//! - [`bootstrap`]: where the broker is: `KAFKA_BOOTSTRAP_SERVERS`, else the bootstrap file
//!   written by the embedded broker.
//! - [`produce`]: producing SAP records as an SAP system would (acknowledged, idempotent).
//! - [`window`]: a time or offset window of topics read again without a consumer group
//!   (`hubctl reconcile`).
//! - [`KafkaAdapterError`]: errors of this crate, classified.

pub mod auth;
pub mod bootstrap;
pub mod bridge;
pub mod embedded;
pub mod produce;
pub mod window;

pub use bootstrap::{BOOTSTRAP_ENV, resolve_bootstrap};
pub use embedded::EmbeddedKafka;

use hub_core::{Classify, ErrorClass};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use std::sync::Arc;

/// A consumed message as the bridge's pipeline and the SAP parsers take it (`topic`: the
/// message's topic, shared between the records of a topic).
pub(crate) fn record_of(m: &BorrowedMessage<'_>, topic: Arc<str>) -> hub_bridge::KafkaRecord {
    let headers = m
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| {
                    (
                        h.key.to_string(),
                        h.value.map(<[u8]>::to_vec).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    hub_bridge::KafkaRecord {
        topic,
        partition: m.partition(),
        offset: m.offset(),
        timestamp_ms: m.timestamp().to_millis(),
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().map(<[u8]>::to_vec).unwrap_or_default(),
        headers,
    }
}
use thiserror::Error;

/// Errors of the Kafka adapters.
#[derive(Debug, Error)]
pub enum KafkaAdapterError {
    /// librdkafka refused an operation.
    #[error("{operation}: {source}")]
    Kafka {
        /// What was being done.
        operation: &'static str,
        /// librdkafka's error.
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// A record could not be produced.
    #[error("producing to {topic}: {source}")]
    Produce {
        /// The topic.
        topic: String,
        /// librdkafka's error.
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// No broker address is configured and no embedded broker is running.
    #[error(
        "no Kafka broker: set {BOOTSTRAP_ENV}, or start the embedded one (infra/local/stack.sh start) which writes {0}"
    )]
    NoBroker(String),
    /// The bootstrap file could not be written or read.
    #[error("bootstrap file {path}: {source}")]
    BootstrapFile {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl Classify for KafkaAdapterError {
    fn class(&self) -> ErrorClass {
        match self {
            KafkaAdapterError::Kafka { source, .. } | KafkaAdapterError::Produce { source, .. } => {
                match source.rdkafka_error_code() {
                    Some(code) if is_retriable_code(code) => ErrorClass::Transient,
                    _ => ErrorClass::Permanent,
                }
            }
            KafkaAdapterError::NoBroker(_) | KafkaAdapterError::BootstrapFile { .. } => {
                ErrorClass::Permanent
            }
        }
    }
}

fn is_retriable_code(code: rdkafka::types::RDKafkaErrorCode) -> bool {
    use rdkafka::types::RDKafkaErrorCode as C;
    matches!(
        code,
        C::BrokerTransportFailure
            | C::AllBrokersDown
            | C::OperationTimedOut
            | C::RequestTimedOut
            | C::NetworkException
            | C::LeaderNotAvailable
            | C::NotLeaderForPartition
            | C::CoordinatorNotAvailable
            | C::NotCoordinator
            | C::CoordinatorLoadInProgress
            | C::RebalanceInProgress
            | C::QueueFull
    )
}
