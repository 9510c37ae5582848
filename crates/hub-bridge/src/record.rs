//! One Kafka record, owned: what the consumer copies out of librdkafka and what the Lambda
//! decodes from its `KafkaEvent`.

use hub_sap::Envelope;
use std::sync::Arc;

/// One Kafka record with its coordinates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaRecord {
    /// Topic.
    pub topic: Arc<str>,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Record timestamp (ms since the epoch), if the broker gave one.
    pub timestamp_ms: Option<i64>,
    /// Key.
    pub key: Option<Vec<u8>>,
    /// Value (empty for a tombstone or a null value).
    pub value: Vec<u8>,
    /// Headers (name, value), in order; a null header value is empty.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl KafkaRecord {
    /// The record as the SAP parsers take it.
    pub fn envelope(&self) -> Envelope<'_> {
        Envelope {
            topic: Some(&self.topic),
            partition: Some(self.partition),
            offset: Some(self.offset),
            key: self.key.as_deref(),
            value: &self.value,
            headers: &self.headers,
        }
    }

    /// A sample (`hub_sap::samples`) as the record at `offset` of partition 0 of its topic, for
    /// tests and benches.
    pub fn from_sample(sample: hub_sap::samples::Sample, offset: i64) -> KafkaRecord {
        KafkaRecord {
            topic: Arc::from(sample.topic),
            partition: 0,
            offset,
            timestamp_ms: None,
            key: sample.record.key,
            value: sample.record.value,
            headers: sample.record.headers,
        }
    }

    /// `topic/partition@offset`, for logs.
    pub fn coordinates(&self) -> String {
        format!("{}/{}@{}", self.topic, self.partition, self.offset)
    }
}
