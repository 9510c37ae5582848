//! An item of the table as a [`ConsolidatedMessage`]: what the change stream publishes after a
//! change was applied, and what a backfill sends for a record's current state.
//!
//! Only a record's own item is a change ([`record_entity`]): an order's material index rows
//! (`MATERIAL#<m>`) and item chunks (`ITEMS#<n>`) live and die with their order and are never
//! published on their own; an order is one message with all its items, its chunks assembled.
//!
//! The message's `data` is the record's fields as stored (the item without the table's own
//! attributes, [`TABLE_ATTRIBUTES`]), checked to be a valid record of its entity: an item that
//! is not one (edited by hand, or written by another tool) is a [`ConsolidateError`], never a
//! message with a broken record.

use crate::keys::ITEMS;
use crate::plan::Item;
use hub_core::{Classify, ErrorClass};
use hub_model::consolidated::ConsolidatedMessage;
use hub_model::{Entity, Op, Record, Version};
use serde_json::{Map, Value};
use thiserror::Error;

/// The attributes the table adds to a record's fields (keys, versioning, tracing, index and
/// chunk bookkeeping): everything of an item that is not `data`.
pub const TABLE_ATTRIBUTES: &[&str] = &[
    "entity",
    "key",
    "version",
    "event_id",
    "correlation_id",
    "updated_at",
    "occurred_at",
    "schema",
    "source_system",
    "deleted",
    "ttl",
    "gsi1pk",
    "gsi1sk",
    "rows",
    "item_chunks",
];

/// An item that cannot be told as a consolidated message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConsolidateError {
    /// A record's item without what every record's item has, or whose fields are not a record
    /// of its entity.
    #[error("item {pk}/{sk} is not a valid record: {reason}")]
    Malformed {
        /// Partition key.
        pk: String,
        /// Sort key.
        sk: String,
        /// What is wrong (names and kinds, never values).
        reason: String,
    },
    /// An order's item chunks of this version are not all in the table yet (rows beyond one
    /// transaction are written right after it), and no newer version replaced them.
    #[error("order {pk}: its item chunks of version {version} are not all written yet")]
    ChunksPending {
        /// Partition key.
        pk: String,
        /// The header's version.
        version: String,
    },
}

impl Classify for ConsolidateError {
    /// An item does not mend itself by being read again; chunks still being written do.
    fn class(&self) -> ErrorClass {
        match self {
            ConsolidateError::Malformed { .. } => ErrorClass::Permanent,
            ConsolidateError::ChunksPending { .. } => ErrorClass::Transient,
        }
    }
}

/// What an item of the stream comes to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// An applied change, to publish.
    Publish(Box<ConsolidatedMessage>),
    /// Nothing to publish, and why (an index row, a chunk, a version that did not move, an
    /// order whose chunks a newer version already replaced).
    Skip(&'static str),
}

/// The entity of a record's own item (`pk = <prefix><key>`, `sk` = the object's item sort key);
/// `None` for index rows, item chunks and anything else.
pub fn record_entity(item: &Item) -> Option<Entity> {
    let entity = Entity::from_name(item.attrs.get("entity")?.as_str()?)?;
    let object = entity.object();
    (item.key.sk == object.item_sk && item.key.pk.starts_with(object.pk_prefix)).then_some(entity)
}

/// The message for `item` as written by a change that replaced `previous_version` (`None`: the
/// record was new). `rows` are the other rows of the item's partition, read when the item is an
/// order whose items live in `ITEMS#<n>` chunks (ignored otherwise).
pub fn outcome(
    item: &Item,
    previous_version: Option<&str>,
    rows: &[Item],
) -> Result<Outcome, ConsolidateError> {
    let Some(entity) = record_entity(item) else {
        return Ok(Outcome::Skip("not a record's own item"));
    };
    let bad = |reason: String| ConsolidateError::Malformed {
        pk: item.key.pk.clone(),
        sk: item.key.sk.clone(),
        reason,
    };
    let text = |name: &str| -> Result<String, ConsolidateError> {
        item.attrs
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| bad(format!("`{name}` is missing or not a string")))
    };
    let version_text = text("version")?;
    let version: Version = version_text
        .parse()
        .map_err(|_| bad("`version` is not a version".into()))?;
    if previous_version.is_some_and(|p| p >= version_text.as_str()) {
        return Ok(Outcome::Skip("the version did not move"));
    }
    let previous_version = previous_version.and_then(|p| p.parse::<Version>().ok());
    let deleted = match item.attrs.get("deleted") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("`deleted` is not a boolean".into())),
    };
    let key = text("key")?;
    let optional = |name: &str| {
        item.attrs
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let data = if deleted {
        None
    } else {
        let mut fields: Map<String, Value> = item
            .attrs
            .iter()
            .filter(|(k, _)| !TABLE_ATTRIBUTES.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(n) = item.attrs.get("item_chunks") {
            let n = n
                .as_u64()
                .ok_or_else(|| bad("`item_chunks` is not a number".into()))?;
            match assemble(rows, &version_text, n) {
                Some(items) => {
                    fields.insert("items".into(), Value::Array(items));
                }
                None => {
                    // Replaced by a newer version (whose own record publishes it), or its
                    // chunks still being written (read again).
                    let current = rows
                        .iter()
                        .find(|r| r.key == item.key)
                        .and_then(Item::version);
                    if current.is_some_and(|c| c > version_text.as_str()) {
                        return Ok(Outcome::Skip("its item chunks belong to a newer version"));
                    }
                    return Err(ConsolidateError::ChunksPending {
                        pk: item.key.pk.clone(),
                        version: version_text,
                    });
                }
            }
        }
        let data = Value::Object(fields);
        let record = Record::from_value(entity, data.clone())
            .map_err(|e| bad(format!("not a {} record ({})", entity, kind(&e))))?;
        if record.key() != key {
            return Err(bad("the record's key differs from `key`".into()));
        }
        Some(data)
    };
    Ok(Outcome::Publish(Box::new(ConsolidatedMessage {
        entity,
        key,
        op: if deleted { Op::Delete } else { Op::Upsert },
        version,
        previous_version,
        event_id: text("event_id")?,
        correlation_id: text("correlation_id")?,
        schema: text("schema")?,
        source_system: optional("source_system"),
        occurred_at: optional("occurred_at"),
        updated_at: optional("updated_at"),
        replay: false,
        data,
    })))
}

/// The items of an order's `n` chunks of `version`, in chunk order; `None` unless all are there.
fn assemble(rows: &[Item], version: &str, n: u64) -> Option<Vec<Value>> {
    let mut chunks: Vec<(u64, &Vec<Value>)> = rows
        .iter()
        .filter(|r| r.key.sk.starts_with(ITEMS) && r.version() == Some(version))
        .filter_map(|r| {
            Some((
                r.attrs.get("chunk")?.as_u64()?,
                r.attrs.get("items")?.as_array()?,
            ))
        })
        .collect();
    chunks.sort_by_key(|(i, _)| *i);
    chunks.dedup_by_key(|(i, _)| *i);
    if chunks.len() as u64 != n {
        return None;
    }
    Some(chunks.into_iter().flat_map(|(_, v)| v.clone()).collect())
}

/// The kind of a decoding fault, without the value that caused it.
fn kind(e: &serde_json::Error) -> String {
    let text = e.to_string();
    // serde's messages quote values after "invalid type: ... `value`"; keep what precedes.
    match text.find(", expected") {
        Some(i) => text[..i]
            .split(['`', '"'])
            .next()
            .unwrap_or("invalid")
            .trim()
            .to_string(),
        None => text
            .split(['`', '"'])
            .next()
            .unwrap_or("invalid")
            .trim()
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::plan;
    use crate::testing::{event, now};
    use std::time::Duration;

    const TTL: Duration = Duration::from_secs(86_400);

    #[test]
    fn a_records_item_is_its_event_again() {
        // Scenario: for every entity, the item a change writes reads back as a message whose
        // fields are the event's: entity, key, op, version, ids, schema, and the record itself.
        for entity in crate::testing::ENTITIES {
            let e = event(entity, "0000000042", 7, Op::Upsert, 1);
            let p = plan(&e, now(), TTL).unwrap();
            let Outcome::Publish(m) = outcome(&p.main, None, &p.index_rows).unwrap() else {
                panic!("{entity}: not published");
            };
            assert_eq!(m.entity, entity);
            assert_eq!(m.key, e.key);
            assert_eq!(m.op, Op::Upsert);
            assert_eq!(m.version, e.version);
            assert_eq!(m.previous_version, None);
            assert_eq!(m.event_id, e.event_id);
            assert_eq!(m.correlation_id, e.correlation_id);
            assert_eq!(m.schema, e.schema);
            assert_eq!(
                m.source_system.as_deref(),
                Some(e.routing().source_system.as_str())
            );
            assert_eq!(m.record().unwrap(), e.data, "{entity}");
            for row in &p.index_rows {
                assert_eq!(
                    outcome(row, None, &[]).unwrap(),
                    Outcome::Skip("not a record's own item")
                );
            }
        }
    }

    #[test]
    fn an_order_over_one_items_size_is_one_message_with_its_chunks_assembled() {
        // Scenario: an order whose items moved to `ITEMS#<n>` chunks is published whole; when
        // the chunks already hold a newer version, its message is left to that version.
        let mut e = event(Entity::SalesOrder, "0000004711", 7, Op::Upsert, 1);
        if let Some(Record::SalesOrder(o)) = &mut e.data {
            let item = o.items[0].clone();
            o.items = (0..3000)
                .map(|i| hub_model::records::SalesOrderItem {
                    item: format!("{i:06}").into(),
                    description: Some("x".repeat(200).into()),
                    ..item.clone()
                })
                .collect();
        }
        let p = plan(&e, now(), TTL).unwrap();
        assert!(
            p.main.attrs.contains_key("item_chunks"),
            "the order is chunked"
        );
        let Outcome::Publish(m) = outcome(&p.main, None, &p.index_rows).unwrap() else {
            panic!("not published");
        };
        assert_eq!(m.record().unwrap(), e.data);
        let newer = plan(
            &event(Entity::SalesOrder, "0000004711", 8, Op::Upsert, 1),
            now(),
            TTL,
        )
        .unwrap();
        // The chunks are missing and the header is this version's: read again later.
        let without_chunks: Vec<Item> = p
            .index_rows
            .iter()
            .filter(|r| !r.key.sk.starts_with(ITEMS))
            .cloned()
            .chain([p.main.clone()])
            .collect();
        let err = outcome(&p.main, None, &without_chunks).unwrap_err();
        assert_eq!(err.class(), ErrorClass::Transient, "{err}");
        // A newer version's header and chunks: nothing for this one.
        let mut rows = p.index_rows.clone();
        for r in rows.iter_mut().filter(|r| r.key.sk.starts_with(ITEMS)) {
            r.attrs
                .insert("version".into(), Value::from(newer.version.clone()));
        }
        rows.push(newer.main.clone());
        assert_eq!(
            outcome(&p.main, None, &rows).unwrap(),
            Outcome::Skip("its item chunks belong to a newer version")
        );
    }

    #[test]
    fn tombstones_are_deletes_and_a_version_that_did_not_move_is_no_change() {
        // Scenario: a tombstone is an `op = delete` message without data; a stream record
        // whose old image has the same or a newer version is skipped.
        let e = event(Entity::Customer, "0000000042", 9, Op::Delete, 0);
        let p = plan(&e, now(), TTL).unwrap();
        let older = event(Entity::Customer, "0000000042", 3, Op::Upsert, 0)
            .version
            .to_string();
        let Outcome::Publish(m) = outcome(&p.main, Some(&older), &[]).unwrap() else {
            panic!("not published");
        };
        assert_eq!((m.op, m.data.clone()), (Op::Delete, None));
        assert_eq!(m.previous_version.map(|v| v.to_string()), Some(older));
        let same = p.version.clone();
        assert_eq!(
            outcome(&p.main, Some(&same), &[]).unwrap(),
            Outcome::Skip("the version did not move")
        );
    }

    #[test]
    fn an_item_that_is_not_a_record_is_an_error_naming_no_value() {
        // Scenario: a hand-edited customer whose name is a number, and one without a version,
        // are typed errors; the message names the field kind, never the stored value.
        let e = event(Entity::Customer, "0000000042", 7, Op::Upsert, 1);
        let mut item = plan(&e, now(), TTL).unwrap().main;
        item.attrs.insert("name".into(), Value::from(123456789));
        let err = outcome(&item, None, &[]).unwrap_err();
        assert!(err.to_string().contains("not a customer record"), "{err}");
        assert!(!err.to_string().contains("123456789"), "{err}");
        assert_eq!(err.class(), ErrorClass::Permanent);
        item.attrs.remove("version");
        assert!(
            outcome(&item, None, &[])
                .unwrap_err()
                .to_string()
                .contains("`version`")
        );
    }
}
