//! `hubctl get` and `hubctl query` against the local stack: what a domain consumer reads.
//! Needs the stack running (infra/local/test.sh starts it).

mod common;

use common::hubctl;
use hub_aws::AwsClients;
use hub_aws::clients::LocalEndpoints;
use hub_aws::dynamo_store::DynamoStore;
use hub_model::{Entity, Op, Record};
use hub_store::EntityStore;
use hub_store::testing::event;
use std::time::Duration;

#[tokio::test]
async fn get_and_query_print_what_consumers_read() {
    // Scenario: a customer and a supplier (asked for with their padded numbers), an order with
    // its material rows, a customer's orders newest first; an unknown key exits 3.
    let stack = format!("read-{:08x}", fastrand::u32(..));
    let (code, _) = hubctl(&["provision", "--stack-name", &stack]);
    assert_eq!(code, 0);
    let clients = AwsClients::local(&LocalEndpoints::from_env()).await;
    let store = DynamoStore::new(clients.dynamodb.clone(), format!("{stack}-hub"));
    let write = |e: hub_model::ChangeEvent| {
        let store = store.clone();
        async move {
            let p = hub_store::plan(&e, chrono::Utc::now(), Duration::from_secs(60)).unwrap();
            store.apply(&p).await.unwrap();
        }
    };
    write(event(Entity::Customer, "100123", 1, Op::Upsert, 4)).await;
    write(event(Entity::Supplier, "300123", 1, Op::Upsert, 3)).await;
    for (order, day) in [("45001", 20), ("45002", 21)] {
        let mut e = event(Entity::SalesOrder, order, 1, Op::Upsert, 1);
        if let Some(Record::SalesOrder(o)) = &mut e.data {
            o.sold_to = Some("100123".into());
            o.document_date = chrono::NaiveDate::from_ymd_opt(2026, 11, day);
        }
        write(e).await;
    }

    let (code, lines) = hubctl(&["get", "customer", "0000100123", "--stack-name", &stack]);
    assert_eq!(code, 0);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["pk"], "CUSTOMER#100123");
    assert_eq!(lines[0]["name"], "name-4");

    let (code, lines) = hubctl(&["get", "supplier", "0000300123", "--stack-name", &stack]);
    assert_eq!(code, 0);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (lines[0]["pk"].as_str(), lines[0]["sk"].as_str()),
        (Some("SUPPLIER#300123"), Some("PROFILE"))
    );
    assert_eq!(lines[0]["name"], "name-3");
    assert_eq!(lines[0]["bank_details"].as_array().map(Vec::len), Some(2));

    let (code, lines) = hubctl(&["get", "order", "45001", "--stack-name", &stack]);
    assert_eq!(code, 0);
    let sks: Vec<&str> = lines.iter().map(|l| l["sk"].as_str().unwrap()).collect();
    assert_eq!(sks, ["MATERIAL#M1", "MATERIAL#M2", "ORDER"]);

    let (code, lines) = hubctl(&["query", "customer-orders", "100123", "--stack-name", &stack]);
    assert_eq!(code, 0);
    let orders: Vec<&str> = lines.iter().map(|l| l["order"].as_str().unwrap()).collect();
    assert_eq!(orders, ["45002", "45001"], "newest first");

    let (code, lines) = hubctl(&["get", "material", "999", "--stack-name", &stack]);
    assert_eq!((code, lines.len()), (3, 0));
}
