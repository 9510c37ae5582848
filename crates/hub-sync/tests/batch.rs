//! Batch processing against the in-memory store and dead-letter sink: the routing of every kind
//! of message, retries within the invocation, and the partial batch response.

use hub_model::{Entity, Op};
use hub_store::testing::{Throttling, event};
use hub_store::{EntityStore, MemoryStore, keys};
use hub_sync::testing::{body, mixed_batch, sqs_event};
use hub_sync::{DeadLetter, DeadLetterSink, MemoryDeadLetters, SyncConfig, process_batch};
use std::time::Duration;
use tokio::time::Instant;

fn config() -> SyncConfig {
    let mut c = SyncConfig::new(Entity::Customer, "customers");
    c.emit_metrics = false;
    c.backoff.base = Duration::from_millis(1);
    c
}

fn failed_ids(r: &hub_sync::BatchReport) -> Vec<String> {
    r.response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test]
async fn a_mixed_batch_routes_every_message() {
    // Scenario: valid, stale, duplicated, unparseable, misrouted and throttled messages in one
    // batch: the table gets the newest valid changes, the DLQ the permanent errors with their
    // context, and only the throttled message is reported for redelivery.
    let store = Throttling::new(MemoryStore::new(), &["T1"], u32::MAX);
    let stored = event(Entity::Customer, "S1", 10, Op::Upsert, 1);
    store
        .apply(&hub_store::plan(&stored, chrono::Utc::now(), Duration::from_secs(60)).unwrap())
        .await
        .unwrap();
    let calls_before = store.calls.load(std::sync::atomic::Ordering::SeqCst);
    let dlq = MemoryDeadLetters::default();
    let batch = sqs_event("customer", mixed_batch());
    let report = process_batch(
        batch,
        &store,
        &dlq,
        &hub_sync::NoPayloads,
        &config(),
        Instant::now() + Duration::from_secs(60),
    )
    .await;

    assert_eq!(failed_ids(&report), vec!["throttled"]);
    let c = &report.counters;
    assert_eq!(
        (
            c.received,
            c.applied,
            c.stale,
            c.tombstoned,
            c.dead_lettered,
            c.failed
        ),
        (8, 3, 2, 1, 2, 1)
    );
    assert_eq!(
        c.retried, 3,
        "the throttled write was retried up to max_attempts"
    );
    // One write per distinct key: N1, S1, D1 (coalesced), T1 (4 attempts), X1.
    let calls = store.calls.load(std::sync::atomic::Ordering::SeqCst) - calls_before;
    assert_eq!(calls, 4 + 4);

    let table = store.inner();
    let d1 = table.get(&keys::customer("D1")).await.unwrap().unwrap();
    assert_eq!(d1.attrs["name"], "name-2", "the newest change of D1 won");
    let s1 = table.get(&keys::customer("S1")).await.unwrap().unwrap();
    assert_eq!(s1.attrs["name"], "name-1", "the stale change wrote nothing");
    assert!(table.get(&keys::customer("T1")).await.unwrap().is_none());
    assert_eq!(
        table
            .get(&keys::customer("X1"))
            .await
            .unwrap()
            .unwrap()
            .attrs["deleted"],
        true
    );

    let letters = dlq.letters();
    let ids: Vec<_> = letters.iter().map(|l| l.message_id.as_str()).collect();
    assert_eq!(ids, vec!["garbage", "misrouted"]);
    let misrouted = &letters[1];
    assert_eq!(misrouted.error_class, hub_core::ErrorClass::Permanent);
    assert!(
        misrouted
            .error_message
            .contains("sales_order delivered to the customer domain")
    );
    assert_eq!(misrouted.stage, "customers-sync");
    assert_eq!(
        misrouted.attributes["entity"], "customer",
        "original attributes kept"
    );
    assert_eq!(misrouted.correlation_id.as_deref(), Some("c"));
    let attrs: Vec<_> = misrouted
        .context_attributes()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        attrs,
        [
            "error_class",
            "error_message",
            "stage",
            "failed_at",
            "attempts",
            "correlation_id"
        ]
    );
}

#[tokio::test]
async fn throttling_is_retried_within_the_invocation() {
    // Scenario: two throttled attempts, then success: applied, no failure reported.
    let store = Throttling::new(MemoryStore::new(), &["T1"], 2);
    let dlq = MemoryDeadLetters::default();
    let batch = sqs_event(
        "customer",
        [("m", body(&event(Entity::Customer, "T1", 1, Op::Upsert, 1)))],
    );
    let r = process_batch(
        batch,
        &store,
        &dlq,
        &hub_sync::NoPayloads,
        &config(),
        Instant::now() + Duration::from_secs(60),
    )
    .await;
    assert!(failed_ids(&r).is_empty());
    assert_eq!((r.counters.applied, r.counters.retried), (1, 2));
}

#[tokio::test]
async fn no_retry_starts_past_the_deadline() {
    // Scenario: with the deadline already inside the safety margin, a throttled write is
    // reported for redelivery at once instead of retried.
    let store = Throttling::new(MemoryStore::new(), &["T1"], 1);
    let dlq = MemoryDeadLetters::default();
    let batch = sqs_event(
        "customer",
        [("m", body(&event(Entity::Customer, "T1", 1, Op::Upsert, 1)))],
    );
    let r = process_batch(
        batch,
        &store,
        &dlq,
        &hub_sync::NoPayloads,
        &config(),
        Instant::now() + Duration::from_millis(100),
    )
    .await;
    assert_eq!(failed_ids(&r), vec!["m"]);
    assert_eq!(r.counters.retried, 0);
}

struct BrokenDlq;

impl DeadLetterSink for BrokenDlq {
    async fn send(&self, _: DeadLetter) -> Result<(), hub_core::PortError> {
        Err(hub_core::PortError::transient(
            "sqs:SendMessage",
            "DLQ unreachable",
        ))
    }
}

#[tokio::test]
async fn a_message_the_dlq_cannot_take_is_redelivered() {
    // Scenario: a permanent error while the DLQ is down: the message is reported failed, so it
    // stays in the queue; nothing is lost.
    let r = process_batch(
        sqs_event("customer", [("bad", "nope".into())]),
        &MemoryStore::new(),
        &BrokenDlq,
        &hub_sync::NoPayloads,
        &config(),
        Instant::now() + Duration::from_secs(60),
    )
    .await;
    assert_eq!(failed_ids(&r), vec!["bad"]);
    assert_eq!(r.counters.dead_lettered, 0);
}

#[test]
fn the_emf_line_names_every_metric() {
    // Scenario: the EMF line declares every metric of METRICS and carries each value.
    let line = hub_sync::metrics::emf_line("customers", &Default::default(), 1);
    let declared: Vec<&str> = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    for (name, _) in hub_sync::metrics::METRICS {
        assert!(declared.contains(name));
        assert!(line.get(*name).is_some(), "{name} has a value");
    }
    assert_eq!(line["domain"], "customers");
}

#[tokio::test]
async fn claim_checks_are_resolved_transparently() {
    // Scenario: a pointer to a stored event is written like the event itself; a pointer to a
    // missing object goes to the DLQ with its pointer body; with no store configured it goes to
    // the DLQ too (nothing is dropped).
    use hub_model::claim_check::ClaimCheck;
    let big = event(Entity::Customer, "BIG", 1, Op::Upsert, 9);
    let payloads = hub_sync::MemoryPayloads::default();
    payloads.put("s3://claims/BIG.json", &body(&big));
    let found = ClaimCheck {
        uri: "s3://claims/BIG.json".into(),
        bytes: 1,
    }
    .to_body();
    let missing = ClaimCheck {
        uri: "s3://claims/none.json".into(),
        bytes: 1,
    }
    .to_body();
    let store = MemoryStore::new();
    let dlq = MemoryDeadLetters::default();
    let r = process_batch(
        sqs_event(
            "customer",
            [("found", found.clone()), ("missing", missing.clone())],
        ),
        &store,
        &dlq,
        &payloads,
        &config(),
        Instant::now() + Duration::from_secs(60),
    )
    .await;
    assert!(failed_ids(&r).is_empty());
    assert_eq!(
        store
            .get(&keys::customer("BIG"))
            .await
            .unwrap()
            .unwrap()
            .attrs["name"],
        "name-9"
    );
    let letters = dlq.letters();
    assert_eq!(letters.len(), 1);
    assert_eq!(
        (letters[0].message_id.as_str(), letters[0].body.as_str()),
        ("missing", missing.as_str())
    );
    assert!(
        letters[0]
            .error_message
            .contains("no object at s3://claims/none.json")
    );

    let dlq = MemoryDeadLetters::default();
    process_batch(
        sqs_event("customer", [("found", found)]),
        &MemoryStore::new(),
        &dlq,
        &hub_sync::NoPayloads,
        &config(),
        Instant::now() + Duration::from_secs(60),
    )
    .await;
    assert!(
        dlq.letters()[0]
            .error_message
            .contains("no claim-check store is configured")
    );
}

#[tokio::test]
async fn a_supplier_domain_writes_suppliers_and_dead_letters_the_rest() {
    // Scenario: the suppliers' function (entity supplier) writes a supplier with its bank
    // details to its profile item, and dead-letters a customer delivered to it; the dead
    // letter's error message names no bank value.
    let store = MemoryStore::new();
    let dlq = MemoryDeadLetters::default();
    let mut config = SyncConfig::new(Entity::Supplier, "suppliers");
    config.emit_metrics = false;
    let supplier = event(Entity::Supplier, "300123", 2, Op::Upsert, 1);
    let batch = sqs_event(
        "customer",
        [
            ("s", body(&supplier)),
            (
                "c",
                body(&event(Entity::Customer, "100123", 1, Op::Upsert, 1)),
            ),
        ],
    );
    let r = process_batch(
        batch,
        &store,
        &dlq,
        &hub_sync::NoPayloads,
        &config,
        Instant::now() + Duration::from_secs(60),
    )
    .await;
    assert!(failed_ids(&r).is_empty());
    assert_eq!((r.counters.applied, r.counters.dead_lettered), (1, 1));
    let item = store.get(&keys::supplier("300123")).await.unwrap().unwrap();
    assert_eq!(item.attrs["bank_details"][0]["account"], "00000000010");
    let letters = dlq.letters();
    assert_eq!(letters[0].message_id, "c");
    assert!(
        letters[0]
            .error_message
            .contains("customer delivered to the supplier domain")
    );
    assert_eq!(letters[0].stage, "suppliers-sync");
    assert!(!letters[0].error_message.contains("00000000010"));
}

/// A store, and a DLQ, that accept the call and never answer (a connection that hangs).
#[derive(Debug)]
struct Silent;

impl EntityStore for Silent {
    async fn apply(
        &self,
        _: &hub_store::WritePlan,
    ) -> Result<hub_store::Applied, hub_core::PortError> {
        std::future::pending().await
    }
    async fn get(
        &self,
        _: &hub_store::Key,
    ) -> Result<Option<hub_store::Item>, hub_core::PortError> {
        std::future::pending().await
    }
    async fn query(&self, _: &str) -> Result<Vec<hub_store::Item>, hub_core::PortError> {
        std::future::pending().await
    }
    async fn query_gsi1(
        &self,
        _: &str,
        _: &str,
        _: bool,
    ) -> Result<Vec<hub_store::Item>, hub_core::PortError> {
        std::future::pending().await
    }
}

impl DeadLetterSink for Silent {
    async fn send(&self, _: DeadLetter) -> Result<(), hub_core::PortError> {
        std::future::pending().await
    }
}

#[tokio::test(start_paused = true)]
async fn a_store_and_a_dlq_that_never_answer_give_the_batch_back_before_the_deadline() {
    // Scenario: the table and the DLQ hang (accept, never answer). A batch of a customer and a
    // misrouted material, 30 s before the deadline: the invocation answers before the deadline
    // (half the 2 s margin before it), with both messages in batchItemFailures, so SQS
    // redelivers them after the visibility timeout; nothing dead-lettered, nothing lost.
    let start = Instant::now();
    let deadline = start + Duration::from_secs(30);
    let r = process_batch(
        sqs_event(
            "customer",
            [
                (
                    "customer",
                    body(&event(Entity::Customer, "1", 1, Op::Upsert, 1)),
                ),
                (
                    "misrouted",
                    body(&event(Entity::Material, "2", 1, Op::Upsert, 1)),
                ),
            ],
        ),
        &Silent,
        &Silent,
        &hub_sync::NoPayloads,
        &config(),
        deadline,
    )
    .await;
    let answered = start.elapsed();
    assert_eq!(failed_ids(&r), vec!["customer", "misrouted"]);
    assert_eq!((r.counters.failed, r.counters.dead_lettered), (2, 0));
    assert!(
        answered < Duration::from_secs(30) && answered >= Duration::from_secs(28),
        "answered after {answered:?}"
    );
}
