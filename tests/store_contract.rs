//! The store contract, written once and run against both adapters: the in-memory store and the
//! DynamoDB store on DynamoDB Local (the project's table, provisioned from template.yaml). Then
//! the convergence property against DynamoDB Local.

use hub_aws::dynamo_store::DynamoStore;
use hub_integration_tests::*;
use hub_model::{ChangeEvent, Entity, Op};
use hub_store::testing::{comparable, event, events, now, shuffle};
use hub_store::{Applied, EntityStore, MemoryStore, plan};
use proptest::prelude::*;
use std::time::Duration;

const TTL: Duration = Duration::from_secs(3600);

fn p(e: &ChangeEvent) -> hub_store::WritePlan {
    plan(e, now(), TTL).unwrap()
}

/// Newer wins, older and equal are stale, a tombstone removes the index rows and stops a late
/// upsert.
async fn versions_and_tombstones<S: EntityStore>(store: &S, prefix: &str) {
    let order = format!("{prefix}45001");
    let newer = event(Entity::SalesOrder, &order, 5, Op::Upsert, 2);
    let older = event(Entity::SalesOrder, &order, 1, Op::Upsert, 0);
    assert_eq!(store.apply(&p(&newer)).await.unwrap(), Applied::Written);
    assert_eq!(store.apply(&p(&older)).await.unwrap(), Applied::Stale);
    assert_eq!(store.apply(&p(&newer)).await.unwrap(), Applied::Stale);
    let rows = store.query(&format!("ORDER#{order}")).await.unwrap();
    let sks: Vec<&str> = rows.iter().map(|r| r.key.sk.as_str()).collect();
    assert_eq!(
        sks,
        ["MATERIAL#M0", "MATERIAL#M2", "MATERIAL#M3", "ORDER"],
        "the header and one row per material, in sort-key order"
    );
    let header = store
        .get(&hub_store::keys::order(&order))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(header.version(), Some(p(&newer).version.as_str()));
    assert_eq!(header.attrs["entity"], "sales_order");
    assert_eq!(header.attrs["event_id"], newer.event_id.as_str());

    // A newer version with fewer materials drops the rows of the others.
    let fewer = event(Entity::SalesOrder, &order, 6, Op::Upsert, 0);
    assert_eq!(store.apply(&p(&fewer)).await.unwrap(), Applied::Written);
    assert_eq!(
        store.query(&format!("ORDER#{order}")).await.unwrap().len(),
        2
    );

    let delete = event(Entity::SalesOrder, &order, 9, Op::Delete, 0);
    assert_eq!(store.apply(&p(&delete)).await.unwrap(), Applied::Written);
    let rows = store.query(&format!("ORDER#{order}")).await.unwrap();
    assert_eq!(rows.len(), 1, "only the tombstone");
    assert_eq!(rows[0].attrs["deleted"], true);
    assert_eq!(rows[0].attrs["ttl"], now().timestamp() + 3600);
    let late = event(Entity::SalesOrder, &order, 7, Op::Upsert, 1);
    assert_eq!(store.apply(&p(&late)).await.unwrap(), Applied::Stale);

    let customer = format!("{prefix}100123");
    let c = event(Entity::Customer, &customer, 3, Op::Upsert, 7);
    assert_eq!(store.apply(&p(&c)).await.unwrap(), Applied::Written);
    let item = store
        .get(&hub_store::keys::customer(&customer))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.attrs["name"], "name-7");
    assert_eq!(item.attrs["customer"], customer.as_str());
}

/// A customer's orders newest first, and the orders containing a material, through GSI1.
async fn access_patterns<S: EntityStore>(store: &S, prefix: &str) {
    // variant 1 → sold-to "1", materials M1 and M2; variant 3 → sold-to "1", M3, M0; variant 2 → "0".
    let customer_orders = |o: &str, seq, variant| {
        let mut e = event(Entity::SalesOrder, o, seq, Op::Upsert, variant);
        if let Some(hub_model::Record::SalesOrder(so)) = &mut e.data {
            so.sold_to = Some(format!("{prefix}C").into());
            so.document_date = chrono::NaiveDate::from_ymd_opt(2026, 11, seq as u32);
        }
        e
    };
    for (o, seq, variant) in [("A", 1, 1), ("B", 3, 3), ("C", 2, 1)] {
        let e = customer_orders(&format!("{prefix}{o}"), seq, variant);
        assert_eq!(store.apply(&p(&e)).await.unwrap(), Applied::Written);
    }
    let newest_first = store
        .query_gsi1(&format!("CUSTOMER#{prefix}C"), "ORDER#", true)
        .await
        .unwrap();
    // Keys only (the index is KEYS_ONLY): the order is in the entry's `pk`.
    let order_of = |i: &hub_store::Item| i.key.pk.trim_start_matches("ORDER#").to_string();
    assert!(
        newest_first
            .iter()
            .all(|i| !i.attrs.contains_key("version"))
    );
    let keys: Vec<_> = newest_first.iter().map(order_of).collect();
    assert_eq!(
        keys,
        vec![
            format!("{prefix}B"),
            format!("{prefix}C"),
            format!("{prefix}A")
        ]
    );
    let with_m1 = store
        .query_gsi1("MATERIAL#M1", &format!("ORDER#{prefix}"), false)
        .await
        .unwrap();
    let orders: Vec<_> = with_m1.iter().map(order_of).collect();
    assert_eq!(orders, vec![format!("{prefix}A"), format!("{prefix}C")]);
}

/// An order over DynamoDB's 400 KB item limit keeps its items in chunk rows of the same version;
/// a smaller newer version removes them.
async fn large_orders<S: EntityStore>(store: &S, prefix: &str) {
    let order = format!("{prefix}big");
    let mut big = event(Entity::SalesOrder, &order, 2, Op::Upsert, 1);
    if let Some(hub_model::Record::SalesOrder(o)) = &mut big.data {
        o.items = (1..=3000)
            .map(|i| hub_model::records::SalesOrderItem {
                item: (i * 10).to_string().into(),
                material: Some(format!("M{}", i % 3).into()),
                description: Some(format!("{i:06} {}", "x".repeat(300)).into()),
                ..Default::default()
            })
            .collect();
    }
    assert_eq!(store.apply(&p(&big)).await.unwrap(), Applied::Written);
    let rows = store.query(&format!("ORDER#{order}")).await.unwrap();
    let header = rows.iter().find(|r| r.key.sk == "ORDER").unwrap();
    assert!(
        header.attrs.get("items").is_none(),
        "the items moved to chunks"
    );
    let chunks: Vec<_> = rows
        .iter()
        .filter(|r| r.key.sk.starts_with("ITEMS#"))
        .collect();
    assert_eq!(header.attrs["item_chunks"], chunks.len());
    assert!(chunks.len() >= 3, "{} chunks", chunks.len());
    let items: usize = chunks
        .iter()
        .map(|c| c.attrs["items"].as_array().unwrap().len())
        .sum();
    assert_eq!(items, 3000);
    assert!(chunks.iter().all(|c| c.version() == header.version()));

    let small = event(Entity::SalesOrder, &order, 3, Op::Upsert, 0);
    assert_eq!(store.apply(&p(&small)).await.unwrap(), Applied::Written);
    let sks: Vec<String> = store
        .query(&format!("ORDER#{order}"))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key.sk)
        .collect();
    assert_eq!(sks, ["MATERIAL#M0", "ORDER"]);
}

/// The supplier fixtures in version order: CREMAS05, the S/4 change, the CREMAS06 deletion.
/// An order's index rows are written when its set of materials changes, not on every version:
/// a version with the same materials leaves them as they are.
async fn order_rows<S: EntityStore>(store: &S, prefix: &str) {
    let order = format!("{prefix}rows");
    let pk = format!("ORDER#{order}");
    let rows = async || -> Vec<(String, String)> {
        store
            .query(&pk)
            .await
            .unwrap()
            .into_iter()
            .filter(|i| i.key.sk != "ORDER")
            .map(|i| (i.key.sk.clone(), i.version().unwrap().to_string()))
            .collect()
    };
    // Variant 1 has materials M1 and M2, variant 2 has M0, M2 and M3.
    let v1 = event(Entity::SalesOrder, &order, 1, Op::Upsert, 1);
    let v2 = event(Entity::SalesOrder, &order, 2, Op::Upsert, 1);
    let v3 = event(Entity::SalesOrder, &order, 3, Op::Upsert, 2);
    assert_eq!(store.apply(&p(&v1)).await.unwrap(), Applied::Written);
    let first = rows().await;
    assert_eq!(
        first.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["MATERIAL#M1", "MATERIAL#M2"]
    );
    assert_eq!(store.apply(&p(&v2)).await.unwrap(), Applied::Written);
    assert_eq!(
        rows().await,
        first,
        "same materials: the rows were not written"
    );
    assert_eq!(store.apply(&p(&v1)).await.unwrap(), Applied::Stale);
    assert_eq!(store.apply(&p(&v3)).await.unwrap(), Applied::Written);
    let v3_version = p(&v3).version;
    assert_eq!(
        rows().await,
        [
            ("MATERIAL#M0".to_string(), v3_version.clone()),
            ("MATERIAL#M2".to_string(), v3_version.clone()),
            ("MATERIAL#M3".to_string(), v3_version)
        ],
        "a new set of materials: the rows written again, M1's gone"
    );
    let header = store
        .get(&hub_store::keys::item(Entity::SalesOrder, &order))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        header.attrs["rows"],
        serde_json::json!(["MATERIAL#M0", "MATERIAL#M2", "MATERIAL#M3"])
    );
    let delete = event(Entity::SalesOrder, &order, 4, Op::Delete, 0);
    assert_eq!(store.apply(&p(&delete)).await.unwrap(), Applied::Written);
    assert!(rows().await.is_empty(), "a deleted order has no index rows");
    assert_eq!(store.apply(&p(&v2)).await.unwrap(), Applied::Stale);
}

/// One profile item holding the bank details as stored (not redacted), then a tombstone
/// without them; replays are stale.
async fn suppliers<S: EntityStore>(store: &S, prefix: &str) {
    let events: Vec<ChangeEvent> = hub_sap::samples::suppliers()
        .into_iter()
        .map(|s| {
            let env = s.record.envelope(Some(s.topic), None, None);
            let out = hub_sap::parse_record(&env, &hub_sap::Limits::default()).unwrap();
            let Some(hub_sap::Outcome::Change(e)) = out.into_iter().next() else {
                panic!("{} is a change", s.name)
            };
            let mut e = *e;
            e.key = format!("{prefix}{}", e.key);
            if let Some(hub_model::Record::Supplier(r)) = &mut e.data {
                r.supplier = e.key.as_str().into();
            }
            e
        })
        .collect();
    let [created, changed, deleted] = &events[..] else {
        panic!("three supplier fixtures")
    };
    let key = hub_store::keys::supplier(&created.key);
    assert_eq!(store.apply(&p(created)).await.unwrap(), Applied::Written);
    let item = store.get(&key).await.unwrap().unwrap();
    assert_eq!(item.attrs["entity"], "supplier");
    assert_eq!(item.attrs["supplier"], created.key.as_str());
    assert_eq!(
        item.attrs["purchasing_orgs"][0]["minimum_order_value"],
        "2500"
    );
    let bank = &item.attrs["bank_details"][0];
    assert_eq!(bank["account"], "00012345678");
    assert_eq!(bank["iban"], "PT50003500010001234567805");
    assert_eq!(bank["swift"], "CGDIPTPL");
    assert_eq!(item.attrs["extensions"]["Z1LFA1X.ESG_RATING"], "B");

    assert_eq!(store.apply(&p(changed)).await.unwrap(), Applied::Written);
    assert_eq!(store.apply(&p(created)).await.unwrap(), Applied::Stale);
    let item = store.get(&key).await.unwrap().unwrap();
    assert_eq!(item.attrs["event_id"], changed.event_id.as_str());

    assert_eq!(store.apply(&p(deleted)).await.unwrap(), Applied::Written);
    assert_eq!(store.apply(&p(changed)).await.unwrap(), Applied::Stale);
    let rows = store.query(&key.pk).await.unwrap();
    assert_eq!(rows.len(), 1, "only the tombstone");
    assert_eq!(rows[0].attrs["deleted"], true);
    assert!(rows[0].attrs.get("bank_details").is_none());
}

async fn dynamo() -> DynamoStore {
    let clients = clients().await;
    let (report, _) = provision(&clients, project_template(), &unique("store"), &[]).await;
    DynamoStore::new(
        clients.dynamodb.clone(),
        report.physical_id("HubTable").unwrap(),
    )
}

mod memory {
    use super::*;

    #[tokio::test]
    async fn versions_and_tombstones() {
        // Scenario: the version guard and tombstones, in memory.
        super::versions_and_tombstones(&MemoryStore::new(), "m").await;
    }

    #[tokio::test]
    async fn access_patterns() {
        // Scenario: GSI1 access patterns, in memory.
        super::access_patterns(&MemoryStore::new(), "m").await;
    }

    #[tokio::test]
    async fn large_orders() {
        // Scenario: an order over the item size limit, in memory.
        super::large_orders(&MemoryStore::new(), "m").await;
    }

    #[tokio::test]
    async fn order_rows() {
        // Scenario: an order's index rows follow its set of materials, in memory.
        super::order_rows(&MemoryStore::new(), "m").await;
    }

    #[tokio::test]
    async fn suppliers() {
        // Scenario: the supplier fixtures, created, changed and deleted, in memory.
        super::suppliers(&MemoryStore::new(), "m").await;
    }
}

mod dynamodb {
    use super::*;

    #[tokio::test]
    async fn versions_and_tombstones() {
        // Scenario: the version guard and tombstones, on DynamoDB Local.
        super::versions_and_tombstones(&dynamo().await, "d").await;
    }

    #[tokio::test]
    async fn access_patterns() {
        // Scenario: GSI1 access patterns, on DynamoDB Local.
        super::access_patterns(&dynamo().await, "d").await;
    }

    #[tokio::test]
    async fn large_orders() {
        // Scenario: an order over the 400 KB item limit, on DynamoDB Local.
        super::large_orders(&dynamo().await, "d").await;
    }

    #[tokio::test]
    async fn suppliers() {
        // Scenario: the supplier fixtures, created, changed and deleted, on DynamoDB Local.
        super::suppliers(&dynamo().await, "d").await;
    }

    #[tokio::test]
    async fn order_rows() {
        // Scenario: an order's index rows follow its set of materials, on DynamoDB Local.
        super::order_rows(&dynamo().await, "d").await;
    }

    #[tokio::test]
    async fn concurrent_writers_of_one_order_leave_the_newest_rows() {
        // Scenario: ten rounds of six versions of one order, their materials alternating, written
        // at once by six writers (no transaction guards them together): after each round the
        // header is the newest version and the index rows are exactly its materials, whatever
        // order the writes interleaved in.
        let store = dynamo().await;
        for round in 0..10u64 {
            let order = format!("race{round}");
            let versions: Vec<ChangeEvent> = (0..6)
                .map(|i| {
                    event(
                        Entity::SalesOrder,
                        &order,
                        round * 10 + i,
                        Op::Upsert,
                        [1, 3, 0][(i % 3) as usize],
                    )
                })
                .collect();
            let plans: Vec<_> = versions.iter().map(p).collect();
            let results =
                futures::future::join_all(plans.iter().rev().map(|plan| store.apply(plan))).await;
            assert!(results.iter().all(Result::is_ok), "{results:?}");
            let newest = plans.last().unwrap();
            let items = store.query(&newest.main.key.pk).await.unwrap();
            let header = items.iter().find(|i| i.key.sk == "ORDER").unwrap();
            assert_eq!(header.version(), Some(newest.version.as_str()));
            let rows: Vec<&str> = items
                .iter()
                .filter(|i| i.key.sk != "ORDER")
                .map(|i| i.key.sk.as_str())
                .collect();
            let want: Vec<&str> = newest
                .index_rows
                .iter()
                .map(|r| r.key.sk.as_str())
                .collect();
            assert_eq!(rows, want, "round {round}");
        }
    }
}

#[test]
fn convergence_on_dynamodb_local() {
    // Scenario: 300 generated sets of changes (upserts, deletes, duplicates), applied in a random
    // order to DynamoDB Local, give the table that applying them once in version order gives.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(dynamo());
    let case = std::sync::atomic::AtomicU32::new(0);
    let config = ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(events in events("k", 9), dups in prop::collection::vec(any::<prop::sample::Index>(), 0..4), seed in any::<u64>())| {
        // Unique keys per case: the same table serves every case.
        let n = case.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let prefix = format!("c{n}x{seed:x}-");
        let events: Vec<ChangeEvent> = events.into_iter().map(|mut e| {
            e.key = format!("{prefix}{}", e.key);
            if let Some(d) = &mut e.data {
                match d {
                    hub_model::Record::Customer(c) => c.customer = e.key.as_str().into(),
                    hub_model::Record::SalesOrder(o) => o.order = e.key.as_str().into(),
                    hub_model::Record::Material(m) => m.material = e.key.as_str().into(),
                    hub_model::Record::Supplier(s) => s.supplier = e.key.as_str().into(),
                }
            }
            e
        }).collect();
        let mut in_order = events.clone();
        in_order.sort_by_key(|e| e.version);
        let expected = MemoryStore::new();
        let mut mixed = events.clone();
        for d in dups {
            mixed.push(events[d.index(events.len())].clone());
        }
        shuffle(&mut mixed, seed);
        let pks: std::collections::BTreeSet<String> =
            events.iter().map(|e| p(e).main.key.pk).collect();
        let (want, got) = rt.block_on(async {
            for e in &in_order {
                expected.apply(&p(e)).await.unwrap();
            }
            for e in &mixed {
                store.apply(&p(e)).await.unwrap();
            }
            let mut got = Vec::new();
            for pk in &pks {
                got.extend(store.query(pk).await.unwrap());
            }
            (comparable(expected.snapshot()), comparable(got))
        });
        prop_assert_eq!(got, want);
    });
}
