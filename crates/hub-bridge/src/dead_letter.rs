//! What the bridge DLQ holds: the raw Kafka record (key, value and headers in base64), its
//! coordinates, and why it could not be published. Enough to put the record back through the
//! pipeline once the cause is fixed (the redrive of the bridge DLQ does exactly that).

use crate::record::KafkaRecord;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, SecondsFormat, Utc};
use hub_core::ErrorClass;
use hub_model::claim_check::ClaimCheck;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The stage name written into every bridge dead letter.
pub const STAGE: &str = "kafka-bridge";

/// SQS's message size limit (256 KiB), body and attributes together. A dead letter whose
/// base64 value would not fit under [`INLINE_VALUE_BUDGET`] has its raw value stored in the
/// claim-check bucket instead.
pub const SQS_MAX_BYTES: usize = 256 * 1024;

/// Largest base64 value kept inline in a dead letter's body: SQS's limit less room for the
/// rest of the body (coordinates, headers, error) and the attributes.
pub const INLINE_VALUE_BUDGET: usize = 192 * 1024;

/// Why a record is in the bridge DLQ (the `error_class` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterClass {
    /// The bytes can never be parsed (garbage, truncated XML, wrong encoding).
    Poison,
    /// Parsed, but not mappable (unknown IDoc type, missing key), or SNS rejected the event.
    Permanent,
    /// A thin S/4HANA event: the record must be read from S/4HANA first (enrichment).
    NeedsEnrichment,
}

impl DeadLetterClass {
    /// The stable name used in attributes, logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadLetterClass::Poison => "poison",
            DeadLetterClass::Permanent => "permanent",
            DeadLetterClass::NeedsEnrichment => "needs_enrichment",
        }
    }

    /// The class of a parse error.
    pub fn of(class: ErrorClass) -> DeadLetterClass {
        match class {
            ErrorClass::Poison => DeadLetterClass::Poison,
            // A transient parse error does not exist; treat anything else as permanent.
            _ => DeadLetterClass::Permanent,
        }
    }
}

impl fmt::Display for DeadLetterClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the record was in Kafka.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaCoordinates {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Record timestamp, ms since the epoch.
    pub timestamp_ms: Option<i64>,
}

/// One header, its value in base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Header name.
    pub name: String,
    /// Header value, base64.
    pub value_b64: String,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorContext {
    /// The class (the `error_class` attribute).
    pub class: DeadLetterClass,
    /// A stable kind, e.g. `xml_syntax`, `unknown_idoc_type`, `needs_enrichment`.
    pub kind: String,
    /// The message, for people.
    pub message: String,
    /// The field or segment at fault, if known.
    pub path: Option<String>,
}

/// A record in the bridge DLQ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeDeadLetter {
    /// Where the record was.
    pub kafka: KafkaCoordinates,
    /// The raw key, base64.
    pub key_b64: Option<String>,
    /// The raw value, base64 (absent when it is stored behind `value_claim_check`).
    pub value_b64: Option<String>,
    /// Where the raw value is when it was too large for SQS.
    pub value_claim_check: Option<ClaimCheck>,
    /// The headers, in order.
    pub headers: Vec<Header>,
    /// Why.
    pub error: ErrorContext,
    /// Always [`STAGE`].
    pub stage: String,
    /// When.
    pub failed_at: DateTime<Utc>,
    /// Attempts so far (redrives increment it).
    pub attempts: u32,
    /// The correlation id (Kafka header or the event's), if known.
    pub correlation_id: Option<String>,
    /// The entity, when the record was understood that far (thin events, rejected events).
    pub entity: Option<String>,
    /// The business key, idem.
    pub key: Option<String>,
    /// The event id, idem.
    pub event_id: Option<String>,
    /// Times the redrive tried it again and it failed again (the redrive's loop guard).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub redrives: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The dead letter's body is not one the bridge wrote.
#[derive(Debug, thiserror::Error)]
#[error("not a bridge dead letter: {0}")]
pub struct NotADeadLetter(pub String);

impl BridgeDeadLetter {
    /// A dead letter for `record`, failed now.
    pub fn new(record: &KafkaRecord, error: ErrorContext, now: DateTime<Utc>) -> BridgeDeadLetter {
        BridgeDeadLetter {
            kafka: KafkaCoordinates {
                topic: record.topic.to_string(),
                partition: record.partition,
                offset: record.offset,
                timestamp_ms: record.timestamp_ms,
            },
            key_b64: record.key.as_ref().map(|k| B64.encode(k)),
            value_b64: Some(B64.encode(&record.value)),
            value_claim_check: None,
            headers: record
                .headers
                .iter()
                .map(|(name, v)| Header {
                    name: name.clone(),
                    value_b64: B64.encode(v),
                })
                .collect(),
            error,
            stage: STAGE.to_string(),
            failed_at: now,
            attempts: 1,
            correlation_id: record.envelope().correlation_id(),
            entity: None,
            key: None,
            event_id: None,
            redrives: 0,
        }
    }

    /// Its size as SQS counts it toward a batch's 256 KiB: the body, and each attribute's name,
    /// type and value.
    pub fn sqs_bytes(&self) -> usize {
        self.body().len()
            + self
                .attributes()
                .iter()
                .map(|(k, v)| k.len() + "String".len() + v.len())
                .sum::<usize>()
    }

    /// Whether the value must move to the claim-check store to fit SQS's limit.
    pub fn value_too_large(&self) -> bool {
        self.value_b64
            .as_ref()
            .is_some_and(|v| v.len() > INLINE_VALUE_BUDGET)
    }

    /// The key under which a too-large value is stored: one per record, so a retry overwrites.
    pub fn value_object_key(&self, prefix: &str) -> String {
        format!(
            "{prefix}dead-letters/{}/{}/{}.bin",
            sanitize(&self.kafka.topic),
            self.kafka.partition,
            self.kafka.offset
        )
    }

    /// The body sent to SQS (JSON).
    pub fn body(&self) -> String {
        serde_json::to_string(self).expect("a dead letter serialises")
    }

    /// Reads a body written by [`body`](Self::body).
    pub fn from_body(body: &str) -> Result<BridgeDeadLetter, NotADeadLetter> {
        serde_json::from_str(body).map_err(|e| NotADeadLetter(undecodable(&e)))
    }

    /// The message attributes (at most 10, SQS's limit), filterable by the redrive.
    pub fn attributes(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("error_class", self.error.class.as_str().to_string()),
            ("error_kind", self.error.kind.clone()),
            (
                "error_message",
                self.error.message.chars().take(1024).collect(),
            ),
            ("stage", self.stage.clone()),
            (
                "failed_at",
                self.failed_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            ),
            ("attempts", self.attempts.to_string()),
            ("kafka_topic", self.kafka.topic.clone()),
        ];
        if let Some(c) = &self.correlation_id {
            out.push(("correlation_id", c.clone()));
        }
        if let Some(e) = &self.entity {
            out.push(("entity", e.clone()));
        }
        if let Some(k) = &self.key {
            out.push(("key", k.clone()));
        }
        out
    }

    /// The original record again (for a redrive). `value` is the raw value when it was
    /// claim-checked (fetched by the caller), ignored otherwise.
    pub fn to_record(&self, value: Option<Vec<u8>>) -> Result<KafkaRecord, NotADeadLetter> {
        let decode = |s: &str| {
            B64.decode(s)
                .map_err(|e| NotADeadLetter(format!("bad base64: {e}")))
        };
        let value = match (&self.value_b64, value) {
            (Some(v), _) => decode(v)?,
            (None, Some(v)) => v,
            (None, None) => return Err(NotADeadLetter("value is claim-checked".into())),
        };
        Ok(KafkaRecord {
            topic: self.kafka.topic.as_str().into(),
            partition: self.kafka.partition,
            offset: self.kafka.offset,
            timestamp_ms: self.kafka.timestamp_ms,
            key: self.key_b64.as_deref().map(decode).transpose()?,
            value,
            headers: self
                .headers
                .iter()
                .map(|h| Ok((h.name.clone(), decode(&h.value_b64)?)))
                .collect::<Result<_, NotADeadLetter>>()?,
        })
    }
}

/// Why a body is no dead letter, by kind and position only: serde's message can quote a value
/// of the body, and this text is logged and reported by the redrive.
fn undecodable(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let kind = match e.classify() {
        Category::Syntax => "malformed JSON",
        Category::Eof => "truncated JSON",
        Category::Data => "a field is missing or has the wrong type or value",
        Category::Io => "unreadable",
    };
    format!("{kind} (line {}, column {})", e.line(), e.column())
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> KafkaRecord {
        KafkaRecord {
            topic: "sap.idoc.matmas".into(),
            partition: 2,
            offset: 41,
            timestamp_ms: Some(1_700_000_000_000),
            key: Some(b"000000000000004711".to_vec()),
            value: vec![0, 159, 146, 150, b'<'],
            headers: vec![("correlation_id".into(), b"corr-1".to_vec())],
        }
    }

    fn error() -> ErrorContext {
        ErrorContext {
            class: DeadLetterClass::Poison,
            kind: "xml_syntax".into(),
            message: "unexpected end".into(),
            path: Some("/MATMAS05/IDOC".into()),
        }
    }

    #[test]
    fn round_trips_the_raw_record() {
        // Scenario: binary key, value and headers survive body → JSON → record unchanged.
        let r = record();
        let d = BridgeDeadLetter::new(&r, error(), Utc::now());
        let back = BridgeDeadLetter::from_body(&d.body()).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.to_record(None).unwrap(), r);
        assert_eq!(d.correlation_id.as_deref(), Some("corr-1"));
    }

    #[test]
    fn a_body_that_is_no_dead_letter_is_not_quoted() {
        // Scenario: a body whose field holds a name of the wrong type: the error says where and
        // what kind, never the value.
        let e = BridgeDeadLetter::from_body(r#"{"kafka": "Maria Souza"}"#).unwrap_err();
        assert!(!e.to_string().contains("Maria"), "{e}");
        assert!(e.to_string().contains("line 1"), "{e}");
    }

    #[test]
    fn attributes_stay_within_sqs_limit() {
        // Scenario: even with every optional field, at most 10 attributes.
        let mut d = BridgeDeadLetter::new(&record(), error(), Utc::now());
        d.entity = Some("material".into());
        d.key = Some("4711".into());
        let attrs = d.attributes();
        assert!(attrs.len() <= 10);
        assert!(attrs.contains(&("error_class", "poison".to_string())));
        assert!(attrs.contains(&("kafka_topic", "sap.idoc.matmas".to_string())));
    }

    #[test]
    fn large_values_are_flagged_and_keyed_per_record() {
        // Scenario: a 1 MiB value must leave the body; its object key names the coordinates.
        let mut r = record();
        r.value = vec![b'x'; 1024 * 1024];
        let d = BridgeDeadLetter::new(&r, error(), Utc::now());
        assert!(d.value_too_large());
        assert_eq!(
            d.value_object_key("p/"),
            "p/dead-letters/sap.idoc.matmas/2/41.bin"
        );
        assert!(!BridgeDeadLetter::new(&record(), error(), Utc::now()).value_too_large());
    }
}
