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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmbeddedKafka;

    #[tokio::test]
    async fn records_are_acknowledged_in_order_with_their_partition_and_offset() {
        // Scenario: two records, one with a key and a header, to a one-partition topic of the
        // embedded Kafka: both acknowledged, at offsets 0 and 1 of partition 0.
        let kafka = EmbeddedKafka::start(1, &[("produce.test".to_string(), 1)]).unwrap();
        let producer = acked_producer(&kafka.bootstrap_servers()).unwrap();
        let keyed = OwnedRecord {
            key: Some(b"0000001234".to_vec()),
            headers: vec![("correlation_id".to_string(), b"c-1".to_vec())],
            value: b"<IDOC/>".to_vec(),
        };
        let bare = OwnedRecord {
            key: None,
            headers: Vec::new(),
            value: b"{}".to_vec(),
        };
        assert_eq!(
            send(&producer, "produce.test", &keyed).await.unwrap(),
            (0, 0)
        );
        assert_eq!(
            send(&producer, "produce.test", &bare).await.unwrap(),
            (0, 1)
        );
    }
}
