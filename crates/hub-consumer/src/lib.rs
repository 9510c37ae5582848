//! For domain teams that consume SAP Sync Hub's consolidated stream in Rust.
//!
//! A domain that joins subscribes its queue to the `consolidated` topic first, then asks for a
//! backfill of the current state. Live changes and backfilled state then overlap and arrive in
//! any order (SQS standard queues do not keep order, a redrive or a retry delivers again). The
//! rule that makes the copy right is the table's own: **keep the newer version**. A message
//! whose version is not newer than the one the consumer holds changes nothing, and a delete is
//! kept as a tombstone, so that an older upsert arriving later cannot bring the record back.
//!
//! [`upsert`] applies that rule over any store that can say which version it holds
//! ([`VersionedStore`]); [`Replica`] is an in-memory store, for tests and small caches.
//!
//! ```
//! use hub_consumer::{Applied, Replica, parse, upsert};
//! # let v1 = r#"{"entity":"customer","key":"100123","op":"delete",
//! #   "version":"2026-11-20T10:15:02.000Z#00000000000000000001","previous_version":null,
//! #   "event_id":"e1","correlation_id":"c1","schema":"customer.v1","data":null}"#;
//! # let v2 = v1.replace("0000000000000000001", "0000000000000000002").replace("e1", "e2");
//! let mut replica = Replica::default();
//! assert_eq!(upsert(&mut replica, parse(&v2).unwrap()).unwrap(), Applied::Written);
//! // The older message arrives after the newer one: it changes nothing.
//! assert_eq!(upsert(&mut replica, parse(v1).unwrap()).unwrap(), Applied::Stale);
//! ```
//!
//! With several consumers writing the same store at once, make the store's write itself
//! conditional (for DynamoDB: `attribute_not_exists(pk) OR version < :v`, the condition the hub
//! uses) and report a failed condition as [`Applied::Stale`]: the check in [`upsert`] alone is
//! a read followed by a write.

use hub_model::consolidated::ConsolidatedMessage;
use hub_model::{Entity, Version};
use std::collections::BTreeMap;

pub use hub_model::consolidated::ConsolidatedMessage as Message;

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The message was newer than what the store held (or the record was new): written.
    Written,
    /// The store already held this version or a newer one: nothing changed.
    Stale,
}

/// A store that holds the version of each record it has.
pub trait VersionedStore {
    /// The store's error.
    type Error;
    /// The version held for `entity`/`key` (a tombstone's too), if any.
    fn version(&self, entity: Entity, key: &str) -> Result<Option<Version>, Self::Error>;
    /// Writes `message` (a delete as a tombstone with its version). Called only for a newer
    /// version; a store whose write is itself conditional returns `Ok(Applied::Stale)` when
    /// its condition fails.
    fn write(&mut self, message: ConsolidatedMessage) -> Result<Applied, Self::Error>;
}

/// Applies `message` if it is newer than what `store` holds for its record.
pub fn upsert<S: VersionedStore>(
    store: &mut S,
    message: ConsolidatedMessage,
) -> Result<Applied, S::Error> {
    match store.version(message.entity, &message.key)? {
        Some(held) if held >= message.version => Ok(Applied::Stale),
        _ => store.write(message),
    }
}

/// Why a body is not a consolidated message.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The body is a claim-check pointer: the message is over 256 KiB and stored in S3 (read the
    /// object at the URI; it holds the message's JSON).
    #[error("claim check: the message is stored at {uri}")]
    ClaimCheck {
        /// `s3://bucket/key`.
        uri: String,
    },
    /// Not the JSON of a consolidated message.
    #[error("not a consolidated message: {0}")]
    Json(#[from] serde_json::Error),
}

/// The message in an SQS body of a raw-delivery subscription (or a backfill).
pub fn parse(body: &str) -> Result<ConsolidatedMessage, ParseError> {
    if let Some(c) = hub_model::claim_check::ClaimCheck::from_body(body) {
        return Err(ParseError::ClaimCheck { uri: c.uri });
    }
    Ok(serde_json::from_str(body)?)
}

/// An in-memory copy: each record's newest message (deletes kept as tombstones).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Replica {
    records: BTreeMap<(Entity, String), ConsolidatedMessage>,
}

impl Replica {
    /// The message held for `entity`/`key` (a tombstone is a message with `op = delete`).
    pub fn get(&self, entity: Entity, key: &str) -> Option<&ConsolidatedMessage> {
        self.records.get(&(entity, key.to_string()))
    }

    /// Every record held, tombstones included, by entity and key.
    pub fn iter(&self) -> impl Iterator<Item = &ConsolidatedMessage> {
        self.records.values()
    }

    /// Records held, tombstones included.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

impl VersionedStore for Replica {
    type Error = std::convert::Infallible;

    fn version(&self, entity: Entity, key: &str) -> Result<Option<Version>, Self::Error> {
        Ok(self.get(entity, key).map(|m| m.version))
    }

    fn write(&mut self, message: ConsolidatedMessage) -> Result<Applied, Self::Error> {
        self.records
            .insert((message.entity, message.key.clone()), message);
        Ok(Applied::Written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hub_model::Op;

    fn message(key: &str, seq: u64, op: Op) -> ConsolidatedMessage {
        ConsolidatedMessage {
            entity: Entity::Customer,
            key: key.into(),
            op,
            version: format!("2026-11-20T10:15:02.000Z#{seq:020}")
                .parse()
                .unwrap(),
            previous_version: None,
            event_id: format!("e{seq}"),
            correlation_id: "c".into(),
            schema: "customer.v1".into(),
            source_system: None,
            occurred_at: None,
            updated_at: None,
            replay: false,
            data: None,
        }
    }

    #[test]
    fn any_order_of_live_and_backfilled_messages_ends_on_the_newest() {
        // Scenario: every order of three versions of a record (an upsert, a backfilled copy
        // of it, a delete) ends on the delete; a duplicate is stale.
        let msgs = [
            message("1", 1, Op::Upsert),
            ConsolidatedMessage {
                replay: true,
                ..message("1", 2, Op::Upsert)
            },
            message("1", 3, Op::Delete),
        ];
        let orders = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        for order in orders {
            let mut r = Replica::default();
            for i in order {
                upsert(&mut r, msgs[i].clone()).unwrap();
            }
            assert_eq!(r.get(Entity::Customer, "1"), Some(&msgs[2]), "{order:?}");
            assert_eq!(upsert(&mut r, msgs[2].clone()).unwrap(), Applied::Stale);
        }
    }

    #[test]
    fn a_claim_check_body_says_where_the_message_is() {
        // Scenario: a pointer body is a typed error naming the object; other JSON is refused.
        let body = hub_model::claim_check::ClaimCheck {
            uri: "s3://b/consolidated/k".into(),
            bytes: 300_000,
        }
        .to_body();
        assert!(
            matches!(parse(&body), Err(ParseError::ClaimCheck { uri }) if uri == "s3://b/consolidated/k")
        );
        assert!(matches!(parse("{\"x\":1}"), Err(ParseError::Json(_))));
    }
}
