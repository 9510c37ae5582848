//! Builders the bridge's tests share (feature `testing`): Kafka records, the fixtures as
//! records, and messages, instead of a copy in each test file.

use crate::{KafkaRecord, Message};

/// The Kafka timestamp every built record carries (2025-11-24T16:00:00Z): a fixed time, so
/// that events and their latencies are the same from run to run.
pub const TIMESTAMP_MS: i64 = 1_764_000_000_000;

/// A record of `topic` at `offset` on partition 0, with no key and no headers.
///
/// ```
/// let r = hub_bridge::testing::record("sap.idoc.matmas", 7, b"<IDOC/>");
/// assert_eq!((r.offset, r.partition, r.value.as_slice()), (7, 0, &b"<IDOC/>"[..]));
/// ```
pub fn record(topic: &str, offset: i64, value: &[u8]) -> KafkaRecord {
    KafkaRecord {
        topic: topic.into(),
        partition: 0,
        offset,
        timestamp_ms: Some(TIMESTAMP_MS),
        key: None,
        value: value.to_vec(),
        headers: vec![],
    }
}

/// Every change fixture (`hub_sap::samples::changes`) as a record on its own topic, at offsets
/// 0, 1, 2…
///
/// ```
/// let records = hub_bridge::testing::fixture_records();
/// assert_eq!(records.len(), hub_sap::samples::changes().len());
/// ```
pub fn fixture_records() -> Vec<KafkaRecord> {
    hub_sap::samples::changes()
        .into_iter()
        .enumerate()
        .map(|(i, s)| KafkaRecord {
            timestamp_ms: Some(TIMESTAMP_MS),
            ..KafkaRecord::from_sample(s, i as i64)
        })
        .collect()
}

/// Message `i` of a test batch: a JSON body with characters the query protocol must encode
/// (`&`, `+`, `%`, non-ASCII), the `entity` attribute, and in FIFO mode a group of three keys.
///
/// ```
/// let m = hub_bridge::testing::message(4, "material", true);
/// assert_eq!((m.event_id.as_str(), m.group_id.as_deref()), ("e-4", Some("material#1")));
/// ```
pub fn message(i: usize, entity: &'static str, fifo: bool) -> Message {
    Message {
        event_id: format!("e-{i}"),
        correlation_id: format!("c-{i}"),
        body: format!(r#"{{"n":{i},"text":"a & b + c = 100% ü 😀","entity":"{entity}"}}"#),
        attributes: vec![("entity", entity.to_string())],
        group_id: fifo.then(|| format!("{entity}#{}", i % 3)),
        dedup_id: fifo.then(|| format!("e-{i}")),
        occurred_at: chrono::Utc::now(),
        entity,
    }
}
