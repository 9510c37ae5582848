//! Producing SAP records to Kafka as an SAP system would: what `hubctl publish` and `hubctl run
//! --seed` send, and the bench's end-to-end load.

use crate::KafkaAdapterError;
use hub_sap::OwnedRecord;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::Duration;

/// How long a send may wait for room in the producer's queue when it is full.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// A producer that waits for every acknowledgement (`acks=all`, idempotent).
pub fn acked_producer(bootstrap: &str) -> Result<FutureProducer, KafkaAdapterError> {
    rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .map_err(|source| KafkaAdapterError::Kafka {
            operation: "creating the producer",
            source,
        })
}

/// Produces `record` (its key, headers in order, and value) to `topic`; returns the partition
/// and offset it was stored at.
pub async fn send(
    producer: &FutureProducer,
    topic: &str,
    record: &OwnedRecord,
) -> Result<(i32, i64), KafkaAdapterError> {
    let mut headers = OwnedHeaders::new();
    for (k, v) in &record.headers {
        headers = headers.insert(Header {
            key: k,
            value: Some(v),
        });
    }
    let mut r = FutureRecord::to(topic)
        .payload(&record.value)
        .headers(headers);
    if let Some(k) = &record.key {
        r = r.key(k);
    }
    let delivery = producer
        .send(r, SEND_TIMEOUT)
        .await
        .map_err(|(source, _)| KafkaAdapterError::Produce {
            topic: topic.to_string(),
            source,
        })?;
    Ok((delivery.partition, delivery.offset))
}
