//! Builders the bridge's tests share (feature `testing`): Kafka records, the fixtures as
//! records (alone or with poison records between them), and messages, instead of a copy in each
//! test file.

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

/// A sample (`hub_sap::samples`) as a record of its topic at `offset` on partition 0, with its
/// key and headers and the fixed timestamp.
///
/// ```
/// let r = hub_bridge::testing::sample_record(hub_sap::samples::thin(), 7);
/// assert_eq!((r.offset, r.timestamp_ms), (7, Some(hub_bridge::testing::TIMESTAMP_MS)));
/// ```
pub fn sample_record(sample: hub_sap::samples::Sample, offset: i64) -> KafkaRecord {
    KafkaRecord {
        timestamp_ms: Some(TIMESTAMP_MS),
        ..KafkaRecord::from_sample(sample, offset)
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
        .map(|(i, s)| sample_record(s, i as i64))
        .collect()
}

/// The fixture records with three poison records between them, at positions 1, 3 and 5:
/// garbage bytes (offset 100), a truncated ORDERS05 (101, both poison) and a MATMAS05 of an
/// unknown message type (102, permanent).
///
/// ```
/// let records = hub_bridge::testing::mixed_with_poison();
/// assert_eq!(records.len(), hub_sap::samples::changes().len() + 3);
/// let poison: Vec<(usize, i64)> = records.iter().enumerate()
///     .filter(|(_, r)| r.offset >= 100).map(|(i, r)| (i, r.offset)).collect();
/// assert_eq!(poison, [(1, 100), (3, 101), (5, 102)]);
/// ```
pub fn mixed_with_poison() -> Vec<KafkaRecord> {
    let mut records = fixture_records();
    records.insert(1, record("sap.idoc.matmas", 100, b"\x00\x01garbage"));
    records.insert(
        3,
        record(
            "sap.idoc.orders",
            101,
            &hub_sap::samples::ORDERS05.as_bytes()[..900],
        ),
    );
    records.insert(
        5,
        record(
            "sap.idoc.matmas",
            102,
            hub_sap::samples::MATMAS05
                .replace("<MESTYP>MATMAS</MESTYP>", "<MESTYP>ZFOO</MESTYP>")
                .as_bytes(),
        ),
    );
    records
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
