//! The accounting behind `hubctl reconcile`: did everything SAP sent arrive? Pure: no SDK. The
//! table is read through the [`TableVersions`] port (DynamoDB's `BatchGetItem` in `hub-aws`),
//! the queues are given as messages already read (without consuming them) by the caller, and
//! the Kafka window is read by `hub-kafka`.
//!
//! **Its room:** hub-core, hub-model, hub-sap (a record is parsed as the bridge parses it),
//! hub-bridge (the bridge DLQ's letters) and hub-redrive (the DLQ messages and their facts).
//! Only `hubctl` and the tests depend on it.
//!
//! # Layout
//! - [`expected`]: what SAP sent: [`Change`]s from a Kafka record or an extract
//!   (`entity,key,version` as CSV or JSON lines), and [`Unparsed`] records.
//! - [`found`]: [`Found`], the DLQs' and the domain queues' messages indexed by event id, Kafka
//!   record, and entity, key and version.
//! - [`account`]: [`account()`], the accounting, and its [`Report`]: per entity, how many
//!   changes are applied, stale, missing, dead-lettered and in flight.
//!
//! The rule, per change: **applied** when the table holds its version or a newer one (a delete
//! also when the key has no item: its tombstone may have expired); else **dead-lettered** or
//! **in flight** when a DLQ or a domain queue holds it; else **stale** when the table holds an
//! older version, **missing** when it holds none. A record that gives no change must be in the
//! bridge DLQ, else it is missing.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use hub_reconcile::*;
//! let table = MemoryTable::default();
//! let v = |s: &str| s.parse::<hub_model::Version>().unwrap();
//! table.put(hub_model::Entity::Customer, "100001", v("2026-11-20T09:19:44.000Z#00000000000000000000"), false);
//! let expected: Vec<Expected> = read_extract(
//!     "entity,key,version\ncustomer,100001,20261120091944\ncustomer,100002,20261120091944\n",
//! )
//! .unwrap()
//! .into_iter()
//! .map(Expected::Change)
//! .collect();
//! let report = account(&expected, &Found::new(), &table, &Options::default(), |_| {}).await.unwrap();
//! let c = report.entities["customer"];
//! assert_eq!((c.changes, c.applied, c.missing), (2, 1, 1));
//! assert!(!report.clean());
//! # });
//! ```

pub mod account;
pub mod expected;
pub mod found;

pub use account::{Counts, Listed, Options, Report, Status, Stored, TableVersions, account};
pub use expected::{
    Change, Coordinates, Expected, ExpectedVersion, ExtractError, Unparsed, from_record,
    read_extract,
};
pub use found::{DomainMessage, Found, Place};

use hub_core::PortError;
use hub_model::{Entity, Version};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The table in memory: for unit tests and the bench's in-process peer.
#[derive(Debug, Default)]
pub struct MemoryTable {
    items: Mutex<HashMap<(Entity, String), Stored>>,
    /// Reads served.
    pub requests: AtomicU64,
}

impl MemoryTable {
    /// Stores the versioned item of a key.
    pub fn put(&self, entity: Entity, key: &str, version: Version, deleted: bool) {
        self.items
            .lock()
            .unwrap()
            .insert((entity, key.to_string()), Stored { version, deleted });
    }
}

impl TableVersions for MemoryTable {
    async fn read(&self, keys: &[(Entity, String)]) -> Result<Vec<Option<Stored>>, PortError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let items = self.items.lock().unwrap();
        Ok(keys.iter().map(|k| items.get(k).cloned()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hub_model::Op;
    use hub_redrive::DlqMessage;
    use std::collections::BTreeSet;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    fn change(key: &str, version: &str, op: Op) -> Expected {
        Expected::Change(Change {
            entity: Entity::Customer,
            key: key.into(),
            version: ExpectedVersion::exact(&v(version)),
            op: Some(op),
            event_id: Some(format!("ev-{key}-{version}")),
            record: None,
        })
    }

    fn message(body: &str, attrs: &[(&str, &str)]) -> DlqMessage {
        DlqMessage {
            message_id: "m".into(),
            receipt_handle: "r".into(),
            body: body.into(),
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            sent_at: None,
            group_id: None,
        }
    }

    const V1: &str = "2026-11-20T09:00:00.000Z#00000000000000000000";
    const V2: &str = "2026-11-20T10:00:00.000Z#00000000000000000000";

    #[tokio::test]
    async fn each_change_gets_one_status_and_the_exit_rule_follows() {
        // Scenario: six changes of customers: one applied (the table at V2 for V1), one stale
        // (the table at V1 for V2), one missing, one in the domain DLQ, one waiting in the domain
        // queue, one delete of a key without item (its tombstone expired): one row each, the
        // listed ones carry their place and the table's version.
        let table = MemoryTable::default();
        table.put(Entity::Customer, "1", v(V2), false);
        table.put(Entity::Customer, "2", v(V1), false);
        table.put(Entity::Customer, "4", v(V1), false);
        let expected = vec![
            change("1", V1, Op::Upsert),
            change("2", V2, Op::Upsert),
            change("3", V1, Op::Upsert),
            change("4", V2, Op::Upsert),
            change("5", V1, Op::Upsert),
            change("6", V1, Op::Delete),
        ];
        let mut found = Found::new();
        let dead = message(
            &format!(
                r#"{{"event_id":"ev-4-{V2}","entity":"customer","key":"4","version":"{V2}"}}"#
            ),
            &[("entity", "customer"), ("error_class", "permanent")],
        );
        found.add_domain(
            "customers-dlq",
            &DomainMessage {
                message: &dead,
                claim_checked: None,
            },
            true,
        );
        // Matched by entity, key and version (no event id in the body).
        let waiting = message(
            &format!(r#"{{"entity":"customer","key":"5","version":"{V1}"}}"#),
            &[("entity", "customer")],
        );
        found.add_domain(
            "customers",
            &DomainMessage {
                message: &waiting,
                claim_checked: None,
            },
            false,
        );
        let garbage = message("not json", &[]);
        found.add_domain(
            "customers",
            &DomainMessage {
                message: &garbage,
                claim_checked: None,
            },
            false,
        );
        let options = Options {
            batch: 2,
            concurrency: 2,
            list: BTreeSet::from([Status::Missing, Status::Stale, Status::DeadLettered]),
        };
        let seen = std::sync::Mutex::new(Vec::new());
        let report = account(&expected, &found, &table, &options, |n| {
            seen.lock().unwrap().push(n)
        })
        .await
        .unwrap();
        let c = report.entities["customer"];
        assert_eq!(
            c,
            Counts {
                changes: 6,
                applied: 2,
                stale: 1,
                missing: 1,
                dead_lettered: 1,
                in_flight: 1
            }
        );
        assert!(!report.clean());
        assert_eq!(report.keys_read, 6);
        assert_eq!(report.table_requests, 3);
        assert_eq!(*seen.lock().unwrap().last().unwrap(), 6);
        assert_eq!(report.dead_lettered["customers-dlq"]["permanent"], 1);
        assert_eq!(report.in_flight["customers"], 1);
        assert_eq!(found.unreadable["customers"], 1);
        let listed: Vec<(Status, &str)> = report
            .listed
            .iter()
            .map(|l| (l.status, l.key.as_str()))
            .collect();
        assert_eq!(
            listed,
            vec![
                (Status::Stale, "2"),
                (Status::Missing, "3"),
                (Status::DeadLettered, "4")
            ]
        );
        assert_eq!(report.listed[0].table_version.as_deref(), Some(V1));
        let text = report.table();
        assert!(
            text.contains("dead-lettered in customers-dlq: permanent 1"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn nothing_missing_or_stale_is_clean_even_with_dead_letters() {
        let table = MemoryTable::default();
        table.put(Entity::Customer, "1", v(V1), false);
        let expected = vec![change("1", V1, Op::Upsert), change("1", V1, Op::Upsert)];
        let report = account(
            &expected,
            &Found::new(),
            &table,
            &Options::default(),
            |_| {},
        )
        .await
        .unwrap();
        assert!(report.clean());
        assert_eq!(report.entities["customer"].applied, 2);
        // One key read once, though it is expected twice.
        assert_eq!((report.keys_read, report.table_requests), (1, 1));
    }

    #[tokio::test]
    async fn a_record_that_gives_no_change_must_be_in_the_bridge_dlq() {
        // Scenario: two garbage records of a Kafka window; the bridge DLQ holds the first one's
        // letter (found by its coordinates), the second is nowhere: missing.
        use hub_bridge::{BridgeDeadLetter, KafkaRecord};
        let coords = |offset| Coordinates {
            topic: "sap.idoc.debmas".into(),
            partition: 0,
            offset,
        };
        let limits = hub_sap::Limits::default();
        let parse =
            |bytes: &[u8]| hub_sap::parse_record(&hub_sap::Envelope::value_only(bytes), &limits);
        let mut expected = from_record(coords(7), parse(b"garbage"));
        expected.extend(from_record(coords(8), parse(b"<truncated")));
        assert!(matches!(
            expected[0],
            Expected::Unparsed(Unparsed {
                kind: "unrecognized",
                ..
            })
        ));
        let record = KafkaRecord {
            topic: "sap.idoc.debmas".into(),
            partition: 0,
            offset: 7,
            timestamp_ms: None,
            key: None,
            value: b"garbage".to_vec(),
            headers: vec![],
        };
        let letter = BridgeDeadLetter::new(
            &record,
            hub_bridge::dead_letter::ErrorContext {
                class: hub_bridge::dead_letter::DeadLetterClass::Poison,
                kind: "unrecognized".into(),
                message: "neither XML nor JSON".into(),
                path: None,
            },
            chrono::Utc::now(),
        );
        let mut found = Found::new();
        found.add_bridge(
            "bridge-dlq",
            &message(&letter.body(), &[]),
            None,
            &hub_sap::SenderTimeZones::utc(),
            &limits,
        );
        let report = account(
            &expected,
            &found,
            &MemoryTable::default(),
            &Options::default(),
            |_| {},
        )
        .await
        .unwrap();
        let u = report.entities[account::UNPARSED];
        assert_eq!((u.changes, u.dead_lettered, u.missing), (2, 1, 1));
        assert_eq!(report.dead_lettered["bridge-dlq"]["poison"], 1);
        assert!(!report.clean());
    }
}
