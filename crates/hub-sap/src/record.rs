//! The input (one Kafka record) and the outputs (change events, or a request for enrichment).

use hub_model::{ChangeEvent, Entity, Op, Source, Version};
use serde::Serialize;

/// Kafka header names that carry a correlation id, in order of preference.
pub const CORRELATION_HEADERS: &[&str] = &["correlation_id", "x-correlation-id", "correlationid"];

/// One Kafka record as the bridge received it.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// Topic, if known.
    pub topic: Option<&'a str>,
    /// Partition, if known.
    pub partition: Option<i32>,
    /// Offset, if known.
    pub offset: Option<i64>,
    /// The record key.
    pub key: Option<&'a [u8]>,
    /// The record value.
    pub value: &'a [u8],
    /// The record headers (name, value), in order.
    pub headers: &'a [(String, Vec<u8>)],
}

impl<'a> Envelope<'a> {
    /// A record with only a value (no key, headers or coordinates).
    pub fn value_only(value: &'a [u8]) -> Envelope<'a> {
        Envelope {
            topic: None,
            partition: None,
            offset: None,
            key: None,
            value,
            headers: &[],
        }
    }

    /// The value of a header as text (first with that name, case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.header_where(|n| n.eq_ignore_ascii_case(name))
    }

    /// The value of the header named `prefix` then `name` (`ce_` and `type`), as
    /// [`Envelope::header`] reads it, without writing the whole name.
    pub fn prefixed_header(&self, prefix: &str, name: &str) -> Option<&'a str> {
        self.header_where(|n| {
            n.len() == prefix.len() + name.len()
                && n.is_char_boundary(prefix.len())
                && n[..prefix.len()].eq_ignore_ascii_case(prefix)
                && n[prefix.len()..].eq_ignore_ascii_case(name)
        })
    }

    fn header_where(&self, is_it: impl Fn(&str) -> bool) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| is_it(n))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// The correlation id carried in a header, if any.
    pub fn correlation_id(&self) -> Option<String> {
        CORRELATION_HEADERS
            .iter()
            .find_map(|h| self.header(h))
            .map(|v| v.chars().take(256).collect())
    }
}

/// Bounds on what one record may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest record value accepted, in bytes.
    pub max_bytes: usize,
    /// Shape bounds of IDoc XML.
    pub tree: crate::idoc::tree::TreeLimits,
    /// Deepest JSON nesting accepted.
    pub max_json_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // Far above real IDocs (a large ORDERS is a few hundred KiB) yet bounded.
            max_bytes: 16 * 1024 * 1024,
            tree: crate::idoc::tree::TreeLimits::default(),
            max_json_depth: 64,
        }
    }
}

/// What a record becomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// A canonical change event, ready to publish.
    Change(Box<ChangeEvent>),
    /// A thin event (key only): the record must be read from S/4HANA before it can be published.
    NeedsEnrichment(Box<NeedsEnrichment>),
}

/// A thin S/4HANA event: which object changed, and when, but not its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NeedsEnrichment {
    /// Deterministic id of the change.
    pub event_id: String,
    /// What kind of object changed.
    pub entity: Entity,
    /// Its business key, canonical form.
    pub key: String,
    /// Upsert (a delete needs no enrichment and is a [`Outcome::Change`]).
    pub op: Op,
    /// The orderable source version.
    pub version: Version,
    /// Where it came from.
    pub source: Source,
    /// Correlation id.
    pub correlation_id: String,
}

impl NeedsEnrichment {
    /// The change event of the thin event: everything but `data` (what the bridge publishes for
    /// the enricher, with the attribute `enrichment = required`).
    pub fn into_event(self) -> hub_model::ChangeEvent {
        hub_model::ChangeEvent {
            event_id: self.event_id,
            entity: self.entity,
            key: self.key,
            op: self.op,
            occurred_at: self.version.at,
            version: self.version,
            published_at: None,
            source: self.source,
            correlation_id: self.correlation_id,
            schema: self.entity.schema().to_string(),
            data: None,
        }
    }
}

/// A whole Kafka record held in memory, read from the JSON envelope form operators and tests
/// use for binary-mode records: `{"key": "…", "headers": {"ce_type": "…"}, "value": …}` (a
/// string value is taken as it is, any other JSON value is serialised).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OwnedRecord {
    /// The record key.
    pub key: Option<Vec<u8>>,
    /// The headers, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The value.
    pub value: Vec<u8>,
}

impl OwnedRecord {
    /// Reads the envelope form.
    pub fn from_envelope_json(bytes: &[u8]) -> Result<OwnedRecord, String> {
        let v: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let text = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let headers = v
            .get("headers")
            .and_then(serde_json::Value::as_object)
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.clone(), text(v).into_bytes()))
                    .collect()
            })
            .unwrap_or_default();
        let value = match v.get("value") {
            Some(serde_json::Value::String(s)) => s.clone().into_bytes(),
            Some(other) => other.to_string().into_bytes(),
            None => return Err("no \"value\"".into()),
        };
        Ok(OwnedRecord {
            key: v.get("key").map(|k| text(k).into_bytes()),
            headers,
            value,
        })
    }

    /// The record as an [`Envelope`] at the given Kafka coordinates.
    pub fn envelope<'a>(
        &'a self,
        topic: Option<&'a str>,
        partition: Option<i32>,
        offset: Option<i64>,
    ) -> Envelope<'a> {
        Envelope {
            topic,
            partition,
            offset,
            key: self.key.as_deref(),
            value: &self.value,
            headers: &self.headers,
        }
    }
}
