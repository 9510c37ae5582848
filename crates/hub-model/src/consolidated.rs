//! The consolidated change message (DESIGN §7): what the `consolidated` SNS topic carries for
//! every change the table applied, and what a backfill sends for the current state of a record.
//!
//! Unlike the raw [`ChangeEvent`](crate::ChangeEvent) of the `changes` topic, it is published
//! only after the change won its version guard: a stale or duplicate SAP event never produces
//! one. It carries the record as it stands after the change (an order with all its items, in
//! one message), the version it replaced, and the ids that trace it back to SAP.
//!
//! ```
//! use hub_model::consolidated::ConsolidatedMessage;
//! use hub_model::Customer;
//! let data = Customer { customer: "100123".into(), name: Some("ACME".into()), ..Customer::default() };
//! let body = serde_json::json!({"entity": "customer", "key": "100123", "op": "upsert",
//!   "version": "2026-11-20T10:15:02.000Z#00000000000004711001",
//!   "previous_version": null, "event_id": "e1", "correlation_id": "c1", "schema": "customer.v1",
//!   "source_system": "S4HCLNT100", "data": data});
//! let m: ConsolidatedMessage = serde_json::from_value(body).unwrap();
//! assert_eq!(m.group_id(), "customer:100123");
//! let record = m.record().unwrap().unwrap();
//! assert_eq!(record.key(), "100123");
//! ```

use crate::{Entity, Op, Record, Version};
use serde::{Deserialize, Serialize};

/// The message attribute that marks a backfilled message (the current state sent again to one
/// queue, not a new change).
pub const REPLAY_ATTRIBUTE: &str = "replay";

/// One applied change, as the `consolidated` topic publishes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsolidatedMessage {
    /// The entity (`customer`, `material`, `sales_order`, `supplier`).
    pub entity: Entity,
    /// The business key, normalised as in the table.
    pub key: String,
    /// `upsert`, or `delete` for a tombstone (then `data` is null).
    pub op: Op,
    /// The version now in the table (the applied change's).
    pub version: Version,
    /// The version it replaced; `null` when the record is new to the table.
    pub previous_version: Option<Version>,
    /// The SAP change that produced this state.
    pub event_id: String,
    /// Carried from SAP through every hop.
    pub correlation_id: String,
    /// The record's schema, e.g. `customer.v1`.
    pub schema: String,
    /// The sending SAP system (the `source_system` routing attribute of the raw event).
    #[serde(default)]
    pub source_system: Option<String>,
    /// SAP's time of the change (RFC 3339).
    #[serde(default)]
    pub occurred_at: Option<String>,
    /// When the table applied it (RFC 3339).
    #[serde(default)]
    pub updated_at: Option<String>,
    /// `true` when a backfill sent the current state again (not a new change).
    #[serde(default, skip_serializing_if = "is_false")]
    pub replay: bool,
    /// The record's fields as stored (null fields left out); `null` for a delete.
    #[serde(default)]
    pub data: Option<serde_json::Value>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl ConsolidatedMessage {
    /// The typed record of `data`: `Ok(None)` for a delete.
    pub fn record(&self) -> Result<Option<Record>, serde_json::Error> {
        match &self.data {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => Record::from_value(self.entity, v.clone()).map(Some),
        }
    }

    /// The SNS message attributes (all `String`): `entity`, `op`, `schema`, `source_system`
    /// (when known), and `replay = true` for a backfill.
    pub fn attributes(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("entity", self.entity.as_str().to_string()),
            ("op", self.op.as_str().to_string()),
            ("schema", self.schema.clone()),
        ];
        if let Some(s) = self.source_system.as_deref().filter(|s| !s.is_empty()) {
            out.push(("source_system", s.to_string()));
        }
        if self.replay {
            out.push((REPLAY_ATTRIBUTE, "true".to_string()));
        }
        out
    }

    /// The FIFO message group: `entity:key`, so one record's changes stay in order.
    pub fn group_id(&self) -> String {
        clip(format!("{}:{}", self.entity.as_str(), self.key))
    }

    /// The FIFO deduplication id: one per applied version of a record (a stream record
    /// delivered twice is published once within SNS's five-minute window).
    pub fn deduplication_id(&self) -> String {
        clip(format!(
            "{}:{}:{}",
            self.version,
            self.entity.as_str(),
            self.key
        ))
    }
}

/// SNS allows 128 characters in a group or deduplication id; SAP keys are at most 40.
fn clip(s: String) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    s.chars().take(128).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> ConsolidatedMessage {
        ConsolidatedMessage {
            entity: Entity::SalesOrder,
            key: "0000004711".into(),
            op: Op::Delete,
            version: "2026-11-20T10:15:02.000Z#00000000000004711001"
                .parse()
                .unwrap(),
            previous_version: None,
            event_id: "e".into(),
            correlation_id: "c".into(),
            schema: "sales_order.v1".into(),
            source_system: Some("S4HCLNT100".into()),
            occurred_at: None,
            updated_at: None,
            replay: false,
            data: None,
        }
    }

    #[test]
    fn attributes_group_and_deduplication_ids() {
        // Scenario: the routing attributes of the consolidated topic, and FIFO ids per key and
        // per version.
        let mut m = message();
        assert_eq!(
            m.attributes(),
            vec![
                ("entity", "sales_order".to_string()),
                ("op", "delete".to_string()),
                ("schema", "sales_order.v1".to_string()),
                ("source_system", "S4HCLNT100".to_string()),
            ]
        );
        m.replay = true;
        assert!(m.attributes().contains(&("replay", "true".to_string())));
        assert_eq!(m.group_id(), "sales_order:0000004711");
        assert_eq!(
            m.deduplication_id(),
            "2026-11-20T10:15:02.000Z#00000000000004711001:sales_order:0000004711"
        );
        assert!(m.record().unwrap().is_none());
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["replay"], true);
        m.replay = false;
        assert!(serde_json::to_value(&m).unwrap().get("replay").is_none());
    }
}
