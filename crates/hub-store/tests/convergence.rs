//! The invariant of DESIGN §3 against the in-memory store: any interleaving and duplication of a
//! set of change events converges to the table that applying them once in version order gives.
//! (The same property runs against DynamoDB Local in the integration tests.)

use hub_model::{ChangeEvent, Entity, Op};
use hub_store::testing::{comparable, event, events, now, shuffle};
use hub_store::{Applied, EntityStore, MemoryStore, plan};
use proptest::prelude::*;
use std::time::Duration;

async fn apply_all(store: &MemoryStore, events: &[ChangeEvent]) {
    for e in events {
        let p = plan(e, now(), Duration::from_secs(86_400)).unwrap();
        store.apply(&p).await.unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn any_order_and_duplication_converges(
        events in events("K", 12),
        order in any::<prop::sample::Index>(),
        dups in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        shuffle_seed in any::<u64>(),
    ) {
        // Scenario: the events, some duplicated, in a random order, against the events once in
        // version order: the same table.
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mut expected_order = events.clone();
        expected_order.sort_by_key(|e| e.version);
        let expected = MemoryStore::new();
        rt.block_on(apply_all(&expected, &expected_order));

        let mut mixed = events.clone();
        for d in dups {
            mixed.push(events[d.index(events.len())].clone());
        }
        shuffle(&mut mixed, shuffle_seed ^ order.index(1000) as u64);
        let actual = MemoryStore::new();
        rt.block_on(apply_all(&actual, &mixed));
        prop_assert_eq!(comparable(actual.snapshot()), comparable(expected.snapshot()));
    }
}

#[tokio::test]
async fn stale_changes_and_tombstones() {
    // Scenario: an older change after a newer one is Stale and writes nothing; a delete leaves a
    // tombstone with a TTL that a late upsert cannot overwrite; an order's index rows follow its
    // materials and vanish with a delete.
    let store = MemoryStore::new();
    let p = |e: &ChangeEvent| plan(e, now(), Duration::from_secs(3600)).unwrap();
    let newer = event(Entity::SalesOrder, "45001", 5, Op::Upsert, 2);
    let older = event(Entity::SalesOrder, "45001", 1, Op::Upsert, 0);
    assert_eq!(store.apply(&p(&newer)).await.unwrap(), Applied::Written);
    assert_eq!(store.apply(&p(&older)).await.unwrap(), Applied::Stale);
    assert_eq!(
        store.apply(&p(&newer)).await.unwrap(),
        Applied::Stale,
        "equal is stale too"
    );
    let rows = store.query("ORDER#45001").await.unwrap();
    assert_eq!(rows.len(), 1 + 3, "header and one index row per material");
    let by_material = store
        .query_gsi1("MATERIAL#M2", "ORDER#", false)
        .await
        .unwrap();
    assert_eq!(by_material.len(), 1);

    let delete = event(Entity::SalesOrder, "45001", 9, Op::Delete, 0);
    assert_eq!(store.apply(&p(&delete)).await.unwrap(), Applied::Written);
    let rows = store.query("ORDER#45001").await.unwrap();
    assert_eq!(rows.len(), 1, "only the tombstone");
    assert_eq!(rows[0].attrs["deleted"], true);
    assert_eq!(rows[0].attrs["ttl"], now().timestamp() + 3600);
    let late = event(Entity::SalesOrder, "45001", 7, Op::Upsert, 1);
    assert_eq!(store.apply(&p(&late)).await.unwrap(), Applied::Stale);
}

#[test]
fn coalescing_keeps_the_newest_per_key() {
    // Scenario: three changes of one key and one of another: two winners, two superseded.
    let a1 = event(Entity::Customer, "1", 1, Op::Upsert, 0);
    let a3 = event(Entity::Customer, "1", 3, Op::Upsert, 1);
    let a2 = event(Entity::Customer, "1", 2, Op::Delete, 0);
    let b = event(Entity::Customer, "2", 1, Op::Upsert, 0);
    let (keep, superseded) = hub_store::coalesce(&[&a1, &a3, &a2, &b]);
    assert_eq!(keep, vec![1, 3]);
    assert_eq!(superseded, vec![0, 2]);
}

#[tokio::test]
async fn a_supplier_is_one_profile_item_with_its_bank_details() {
    // Scenario: a supplier is written as one item at SUPPLIER#<id> / PROFILE holding its company
    // codes and bank details as list attributes (the account as it is, not redacted); an older
    // change is stale; a delete leaves a tombstone without them.
    let store = MemoryStore::new();
    let p = |e: &ChangeEvent| plan(e, now(), Duration::from_secs(3600)).unwrap();
    let newer = event(Entity::Supplier, "300123", 5, Op::Upsert, 3);
    assert_eq!(store.apply(&p(&newer)).await.unwrap(), Applied::Written);
    let older = event(Entity::Supplier, "300123", 2, Op::Upsert, 0);
    assert_eq!(store.apply(&p(&older)).await.unwrap(), Applied::Stale);
    let rows = store.query("SUPPLIER#300123").await.unwrap();
    assert_eq!(rows.len(), 1, "one item");
    let item = &rows[0];
    assert_eq!(item.key, hub_store::keys::supplier("300123"));
    assert_eq!(item.attrs["entity"], "supplier");
    assert_eq!(item.attrs["schema"], "supplier.v1");
    assert_eq!(item.attrs["supplier"], "300123");
    assert_eq!(item.attrs["company_codes"][0]["payment_terms"], "NT90");
    let banks = item.attrs["bank_details"].as_array().unwrap();
    assert_eq!(banks.len(), 2);
    assert_eq!(banks[0]["account"], "00000000030");
    assert!(banks[0].get("iban").is_none(), "absent fields are left out");

    let delete = event(Entity::Supplier, "300123", 9, Op::Delete, 0);
    assert_eq!(store.apply(&p(&delete)).await.unwrap(), Applied::Written);
    let tombstone = store
        .get(&hub_store::keys::supplier("300123"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tombstone.attrs["deleted"], true);
    assert!(tombstone.attrs.get("bank_details").is_none());
}

#[test]
fn every_entity_has_its_own_item_key() {
    // Scenario: the versioned items of the four entities never share a partition, whatever the
    // business key.
    let pks: std::collections::BTreeSet<String> = Entity::ALL
        .iter()
        .map(|e| hub_store::keys::item(*e, "100").pk)
        .collect();
    assert_eq!(pks.len(), Entity::ALL.len(), "{pks:?}");
}
