//! What a change event writes.

use crate::keys::{self, Key};
use chrono::{DateTime, SecondsFormat, Utc};
use hub_core::{Classify, ErrorClass};
use hub_model::{ChangeEvent, Entity, Op, Record};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use thiserror::Error;

/// One item of the table: its key and its attributes (JSON values; the DynamoDB adapter maps
/// strings to `S`, numbers to `N`, booleans to `BOOL`, arrays to `L`, objects to `M`).
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Primary key.
    pub key: Key,
    /// Attributes other than `pk` and `sk`.
    pub attrs: Map<String, Value>,
}

impl Item {
    /// The item's `version` attribute.
    pub fn version(&self) -> Option<&str> {
        self.attrs.get("version").and_then(Value::as_str)
    }
}

/// What one change writes: the versioned item, and index rows that live and die with it.
#[derive(Debug, Clone, PartialEq)]
pub struct WritePlan {
    /// The entity.
    pub entity: Entity,
    /// The change's version (string form; it sorts as the version does).
    pub version: String,
    /// The versioned item: the record, or a tombstone.
    pub main: Item,
    /// Rows that live and die with the main item (an order's material index rows and item
    /// chunks). Rows of an older version that are not in this list are deleted when the plan
    /// applies; the main item lists their sort keys in its `rows` attribute.
    pub index_rows: Vec<Item>,
    /// Whether `main` is a tombstone.
    pub tombstone: bool,
}

/// A change event that cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlanError {
    /// An upsert without data.
    #[error("event {event_id}: upsert without data")]
    MissingData {
        /// The event.
        event_id: String,
    },
    /// The data is not a record of the event's entity, or its key differs (a schema mismatch).
    #[error("event {event_id}: data does not match entity {entity} / key {key}")]
    SchemaMismatch {
        /// The event.
        event_id: String,
        /// The entity it claims.
        entity: Entity,
        /// The key it claims.
        key: String,
    },
}

impl Classify for PlanError {
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

/// The write plan of an event. `now` stamps `updated_at`; a tombstone expires `tombstone_ttl`
/// after `now` (DynamoDB TTL attribute `ttl`, epoch seconds).
pub fn plan(
    event: &ChangeEvent,
    now: DateTime<Utc>,
    tombstone_ttl: Duration,
) -> Result<WritePlan, PlanError> {
    let version = event.version.to_string();
    let key = keys::item(event.entity, &event.key);
    let mut attrs = Map::new();
    attrs.insert("entity".into(), Value::from(event.entity.as_str()));
    attrs.insert("key".into(), Value::from(event.key.clone()));
    attrs.insert("version".into(), Value::from(version.clone()));
    attrs.insert("event_id".into(), Value::from(event.event_id.clone()));
    attrs.insert(
        "correlation_id".into(),
        Value::from(event.correlation_id.clone()),
    );
    attrs.insert(
        "updated_at".into(),
        Value::from(now.to_rfc3339_opts(SecondsFormat::Millis, true)),
    );
    attrs.insert(
        "occurred_at".into(),
        Value::from(
            event
                .occurred_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
        ),
    );
    attrs.insert("schema".into(), Value::from(event.schema.clone()));
    // The consolidated stream's `source_system` attribute (DESIGN §7), as the raw event routed.
    attrs.insert(
        "source_system".into(),
        Value::from(event.routing().source_system),
    );
    if event.op == Op::Delete {
        attrs.insert("deleted".into(), Value::Bool(true));
        let expires = now.timestamp() + tombstone_ttl.as_secs() as i64;
        attrs.insert("ttl".into(), Value::from(expires));
        return Ok(WritePlan {
            entity: event.entity,
            version,
            main: Item { key, attrs },
            index_rows: Vec::new(),
            tombstone: true,
        });
    }
    let record = event.data.as_ref().ok_or_else(|| PlanError::MissingData {
        event_id: event.event_id.clone(),
    })?;
    let matches = record.entity() == event.entity && record.key() == event.key;
    if !matches {
        return Err(PlanError::SchemaMismatch {
            event_id: event.event_id.clone(),
            entity: event.entity,
            key: event.key.clone(),
        });
    }
    attrs.insert("deleted".into(), Value::Bool(false));
    // The record's fields, flattened: null fields are left out (DynamoDB stores no nulls). A
    // supplier's bank details (personal data) are its `bank_details` list, as serialised.
    if let Ok(Value::Object(fields)) = serde_json::to_value(record) {
        for (k, v) in fields {
            if !v.is_null() {
                attrs.insert(k, strip_nulls(v));
            }
        }
    }
    let mut index_rows = Vec::new();
    if let Record::SalesOrder(o) = record {
        if let Some(sold_to) = &o.sold_to {
            let date = o
                .document_date
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| "0000-00-00".into());
            let (pk, sk) = keys::customer_order_gsi1(sold_to, &date, &o.order);
            attrs.insert("gsi1pk".into(), Value::from(pk));
            attrs.insert("gsi1sk".into(), Value::from(sk));
        }
        // One index row per material: its keys say everything (the order and the material);
        // the index's keys and the row's version guard are its only attributes, so a row
        // changes only when the order's set of materials does.
        let materials: std::collections::BTreeSet<&str> = o
            .items
            .iter()
            .filter_map(|i| i.material.as_deref())
            .collect();
        for material in materials {
            let (gpk, gsk) = keys::material_order_gsi1(material, &o.order);
            let mut row = Map::new();
            row.insert("version".into(), Value::from(version.clone()));
            row.insert("gsi1pk".into(), Value::from(gpk));
            row.insert("gsi1sk".into(), Value::from(gsk));
            index_rows.push(Item {
                key: keys::order_material(&o.order, material),
                attrs: row,
            });
        }
        chunk_items(&mut attrs, &o.order, &version, &mut index_rows);
        attrs.insert(
            "rows".into(),
            Value::Array(
                index_rows
                    .iter()
                    .map(|r| Value::from(r.key.sk.clone()))
                    .collect(),
            ),
        );
    }
    Ok(WritePlan {
        entity: event.entity,
        version,
        main: Item { key, attrs },
        index_rows,
        tombstone: false,
    })
}

/// Bytes an order item may take before its items move to chunk rows: DynamoDB's item limit is
/// 400 KB (names and values); the margin covers the attribute names and the other fields.
pub const ITEM_BUDGET: usize = 350 * 1024;

/// Moves an order's `items` into `ITEMS#<n>` chunk rows when the order would not fit in one
/// item. The header keeps `item_chunks`; readers assemble the chunks whose `version` equals the
/// header's.
fn chunk_items(attrs: &mut Map<String, Value>, order: &str, version: &str, rows: &mut Vec<Item>) {
    let size = serde_json::to_vec(&*attrs).map(|b| b.len()).unwrap_or(0);
    if size <= ITEM_BUDGET {
        return;
    }
    let Some(Value::Array(items)) = attrs.remove("items") else {
        return;
    };
    let mut chunks: Vec<Vec<Value>> = vec![Vec::new()];
    let mut used = 0usize;
    for item in items {
        let n = serde_json::to_vec(&item).map(|b| b.len()).unwrap_or(0);
        if used + n > ITEM_BUDGET && !chunks.last().is_some_and(Vec::is_empty) {
            chunks.push(Vec::new());
            used = 0;
        }
        used += n;
        chunks.last_mut().expect("one chunk at least").push(item);
    }
    attrs.insert("item_chunks".into(), Value::from(chunks.len()));
    for (i, chunk) in chunks.into_iter().enumerate() {
        let mut row = Map::new();
        row.insert("entity".into(), Value::from("sales_order_items"));
        row.insert("version".into(), Value::from(version));
        row.insert("order".into(), Value::from(order));
        row.insert("chunk".into(), Value::from(i + 1));
        row.insert("items".into(), Value::Array(chunk));
        rows.push(Item {
            key: keys::order_items_chunk(order, i + 1),
            attrs: row,
        });
    }
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

/// Keeps, per (entity, key), only the newest change of a batch: the others can only be stale
/// once the newest is written. Returns the indices of the winners and of the superseded
/// changes, each in input order.
pub fn coalesce(events: &[&ChangeEvent]) -> (Vec<usize>, Vec<usize>) {
    let mut best: BTreeMap<(Entity, &str), usize> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        best.entry((e.entity, e.key.as_str()))
            .and_modify(|b| {
                if events[*b].version < e.version {
                    *b = i;
                }
            })
            .or_insert(i);
    }
    let winners: std::collections::BTreeSet<usize> = best.into_values().collect();
    let (mut keep, mut superseded) = (Vec::new(), Vec::new());
    for i in 0..events.len() {
        if winners.contains(&i) {
            keep.push(i);
        } else {
            superseded.push(i);
        }
    }
    (keep, superseded)
}
