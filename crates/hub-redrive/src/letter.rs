//! A message read from a DLQ, and the facts the filters and the loop guard look at.
//!
//! Two shapes of DLQ message exist (DESIGN §4):
//! - **domain DLQs**: the original SNS-delivered body, unchanged, with the routing attributes
//!   (`entity`, `op`, …) and either the error context the domain function added (`error_class`,
//!   `error_message`, `stage`, `failed_at`, `attempts`, `correlation_id`; the original attributes
//!   packed in `original_attributes` when both did not fit SQS's ten) or nothing more, when the
//!   queue's redrive policy moved it after `maxReceiveCount` failed deliveries;
//! - **the bridge DLQ**: a [`BridgeDeadLetter`] JSON body with the raw Kafka record.

use chrono::{DateTime, TimeZone, Utc};
use hub_bridge::BridgeDeadLetter;
use std::collections::BTreeMap;

/// The attribute counting how often a message was redriven (the loop guard's counter).
pub const REDRIVE_COUNT: &str = "redrive_count";
/// The attribute holding the original attributes as JSON when they did not fit beside the
/// error context.
pub const ORIGINAL_ATTRIBUTES: &str = "original_attributes";
/// Attributes a domain function adds when it dead-letters; removed when the message goes back.
pub const CONTEXT_ATTRIBUTES: &[&str] = &[
    "error_class",
    "error_message",
    "stage",
    "failed_at",
    "attempts",
    "correlation_id",
    ORIGINAL_ATTRIBUTES,
];
/// The class given to messages the queue's redrive policy moved (they carry no error context:
/// every delivery failed or timed out, which the functions report only for transient errors).
pub const RETRIES_EXHAUSTED_CLASS: &str = "transient";

/// One message received from a DLQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DlqMessage {
    /// SQS message id.
    pub message_id: String,
    /// Handle to delete it or change its visibility.
    pub receipt_handle: String,
    /// The body.
    pub body: String,
    /// Message attributes with string values (SQS `String`/`Number` types).
    pub attributes: BTreeMap<String, String>,
    /// When it was first sent (SQS `SentTimestamp`; kept when a redrive policy moves it).
    pub sent_at: Option<DateTime<Utc>>,
    /// FIFO queues: its message group.
    pub group_id: Option<String>,
}

/// What the filters and the loop guard look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// `permanent`, `transient`, `poison` or `needs_enrichment`.
    pub error_class: String,
    /// The entity, when known.
    pub entity: Option<String>,
    /// The business key, when known.
    pub key: Option<String>,
    /// When it failed (the error context's `failed_at`, else when it was sent).
    pub failed_at: Option<DateTime<Utc>>,
    /// Redrives so far.
    pub redrive_count: u32,
}

impl Facts {
    /// The group of the report this message counts in: `class/entity`.
    pub fn group(&self) -> String {
        format!(
            "{}/{}",
            self.error_class,
            self.entity.as_deref().unwrap_or("unknown")
        )
    }
}

fn time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// SQS `SentTimestamp` (epoch milliseconds) as a time.
pub fn epoch_ms(ms: &str) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms.parse().ok()?).single()
}

impl DlqMessage {
    /// The attributes the message had before it was dead-lettered (routing attributes and the
    /// redrive count), unpacked from `original_attributes` if needed.
    pub fn original_attributes(&self) -> BTreeMap<String, String> {
        if let Some(packed) = self.attributes.get(ORIGINAL_ATTRIBUTES)
            && let Ok(map) = serde_json::from_str::<BTreeMap<String, String>>(packed)
        {
            return map;
        }
        self.attributes
            .iter()
            .filter(|(k, _)| !CONTEXT_ATTRIBUTES.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Facts of a domain-DLQ message.
    pub fn domain_facts(&self) -> Facts {
        let original = self.original_attributes();
        let body: Option<serde_json::Value> = serde_json::from_str(&self.body).ok();
        let field = |name: &str| {
            body.as_ref()
                .and_then(|b| b.get(name))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        Facts {
            error_class: self
                .attributes
                .get("error_class")
                .cloned()
                .unwrap_or_else(|| RETRIES_EXHAUSTED_CLASS.to_string()),
            entity: original.get("entity").cloned().or_else(|| field("entity")),
            key: field("key"),
            failed_at: self
                .attributes
                .get("failed_at")
                .and_then(|s| time(s))
                .or(self.sent_at),
            redrive_count: original
                .get(REDRIVE_COUNT)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        }
    }

    /// The dead letter of a bridge-DLQ message, or why it is not one.
    pub fn bridge_letter(&self) -> Result<BridgeDeadLetter, String> {
        BridgeDeadLetter::from_body(&self.body).map_err(|e| e.0)
    }

    /// Facts of a bridge-DLQ message (a body that is no dead letter counts as `poison`).
    pub fn bridge_facts(&self) -> Facts {
        match self.bridge_letter() {
            Ok(l) => Facts {
                error_class: l.error.class.as_str().to_string(),
                entity: l.entity.clone(),
                key: l.key.clone(),
                failed_at: Some(l.failed_at),
                redrive_count: l.redrives,
            },
            Err(_) => Facts {
                error_class: "poison".into(),
                entity: None,
                key: None,
                failed_at: self.sent_at,
                redrive_count: 0,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(attrs: &[(&str, &str)], body: &str) -> DlqMessage {
        DlqMessage {
            message_id: "m-1".into(),
            receipt_handle: "r-1".into(),
            body: body.into(),
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            sent_at: epoch_ms("1767225600000"),
            group_id: None,
        }
    }

    #[test]
    fn domain_facts_come_from_the_context_and_the_body() {
        // Scenario: a message dead-lettered by a domain function, after one redrive.
        let m = message(
            &[
                ("entity", "customer"),
                ("op", "upsert"),
                ("redrive_count", "1"),
                ("error_class", "permanent"),
                ("failed_at", "2026-11-01T10:00:00.000Z"),
                ("stage", "customers-sync"),
            ],
            r#"{"entity":"customer","key":"0000100001"}"#,
        );
        let f = m.domain_facts();
        assert_eq!(f.error_class, "permanent");
        assert_eq!(f.entity.as_deref(), Some("customer"));
        assert_eq!(f.key.as_deref(), Some("0000100001"));
        assert_eq!(f.redrive_count, 1);
        assert_eq!(f.failed_at, time("2026-11-01T10:00:00Z"));
        let original = m.original_attributes();
        assert_eq!(
            original.keys().collect::<Vec<_>>(),
            ["entity", "op", "redrive_count"]
        );
    }

    #[test]
    fn packed_attributes_are_unpacked() {
        // Scenario: the original attributes did not fit beside the context and were packed.
        let m = message(
            &[
                (
                    "original_attributes",
                    r#"{"entity":"material","redrive_count":"2"}"#,
                ),
                ("error_class", "permanent"),
            ],
            "{}",
        );
        assert_eq!(m.domain_facts().redrive_count, 2);
        assert_eq!(m.domain_facts().entity.as_deref(), Some("material"));
    }

    #[test]
    fn a_message_moved_by_the_redrive_policy_is_transient_and_dated_by_sqs() {
        // Scenario: no error context at all: retries were exhausted.
        let m = message(&[("entity", "sales_order")], "not json");
        let f = m.domain_facts();
        assert_eq!(f.error_class, RETRIES_EXHAUSTED_CLASS);
        assert_eq!(f.failed_at, m.sent_at);
        assert_eq!(f.key, None);
        assert_eq!(f.group(), "transient/sales_order");
    }

    #[test]
    fn a_bridge_dlq_body_that_is_no_dead_letter_is_poison() {
        // Scenario: someone sent garbage to the bridge DLQ by hand.
        let m = message(&[], "garbage");
        assert_eq!(m.bridge_facts().error_class, "poison");
        assert!(m.bridge_letter().is_err());
    }
}
