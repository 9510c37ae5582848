//! The customers sync function through the local SQS event source mapping, configured from
//! template.yaml, against SQS (moto) and DynamoDB Local: a batch mixing valid, stale,
//! duplicated, unusable, misrouted and throttled messages.

use domain_sync::handler::{State, handle};
use hub_aws::dynamo_store::DynamoStore;
use hub_aws::sqs_dlq::SqsDeadLetters;
use hub_integration_tests::*;
use hub_local::function::raw_fn;
use hub_local::{EsmConfig, LocalFunction, SqsEventSourceMapping, handler_fn};
use hub_model::{Entity, Op};
use hub_store::testing::{Throttling, event};
use hub_store::{EntityStore, keys};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[test]
fn every_domain_function_reports_batch_item_failures() {
    // Scenario: each function of the template with an SQS event has ReportBatchItemFailures,
    // and builds one of the domain binaries or the S/4 enricher; the function that the Kafka event source mappings
    // (`AWS::Lambda::EventSourceMapping` with `Topics`, one per topic) invoke builds the bridge
    // Lambda; the table's stream invokes the change stream; the other functions without events
    // are the redrive functions.
    let t = project_template();
    let kafka_targets: Vec<&Value> = t
        .resources_of_type("AWS::Lambda::EventSourceMapping")
        .filter(|m| m.properties.contains_key("Topics"))
        .map(|m| &m.properties["FunctionName"]["Ref"])
        .collect();
    assert!(!kafka_targets.is_empty(), "no Kafka event source mapping");
    let mut binaries = Vec::new();
    for f in t.resources_of_type("AWS::Serverless::Function") {
        let binary = f.metadata["BuildProperties"]["Binary"].as_str().unwrap();
        if kafka_targets.iter().any(|r| *r == f.logical_id.as_str()) {
            assert_eq!(binary, "kafka-bridge-lambda", "{}", f.logical_id);
            assert!(
                f.properties.get("Events").is_none(),
                "{}: its Kafka sources are the mappings, one per topic",
                f.logical_id
            );
            continue;
        }
        let Some(events) = f.properties.get("Events").and_then(|e| e.as_object()) else {
            // Invoked from the console, not by an event source.
            assert!(
                ["dlq-redrive", "change-stream-redrive", "backfill"].contains(&binary),
                "{} has no events",
                f.logical_id
            );
            continue;
        };
        if events.values().any(|e| e["Type"] == "DynamoDB") {
            // The table's stream: the change stream, with partial batch responses too.
            assert_eq!(binary, "change-stream", "{}", f.logical_id);
            for e in events.values() {
                let types = e["Properties"]["FunctionResponseTypes"].as_array().unwrap();
                assert!(types.iter().any(|t| t == "ReportBatchItemFailures"));
            }
            continue;
        }
        if events
            .values()
            .any(|e| e["Type"] == "SelfManagedKafka" || e["Type"] == "MSK")
        {
            assert_eq!(binary, "kafka-bridge-lambda", "{}", f.logical_id);
            continue;
        }
        binaries.push(binary.to_string());
        for (_, e) in events {
            if e["Type"] == "SQS" {
                let types = e["Properties"]["FunctionResponseTypes"].as_array().unwrap();
                assert!(
                    types.iter().any(|t| t == "ReportBatchItemFailures"),
                    "{}",
                    f.logical_id
                );
            }
        }
    }
    binaries.sort();
    let mut expected: Vec<String> = hub_model::OBJECTS
        .iter()
        .map(|o| o.function.to_string())
        .collect();
    // The S/4 enricher drains its queue of thin events too.
    expected.push("s4-enricher".to_string());
    expected.sort();
    assert_eq!(binaries, expected);
}

#[tokio::test]
async fn a_mixed_batch_through_the_local_event_source_mapping() {
    // Scenario: the expected table (new, newest duplicate, tombstone; the stale and throttled
    // changes not written), the DLQ holding exactly the unusable and misrouted messages with
    // their error attributes, and batchItemFailures naming exactly the throttled message.
    let clients = clients().await;
    let (report, ctx) = provision(&clients, project_template(), &unique("sync"), &[]).await;
    let table = report.physical_id("HubTable").unwrap().to_string();
    let queue = report.physical_id("CustomersQueue").unwrap().to_string();
    let dlq = report.physical_id("CustomersDLQ").unwrap().to_string();
    let config = EsmConfig::from_template(&ctx)
        .unwrap()
        .into_iter()
        .find(|c| c.function == "CustomersSync")
        .unwrap();
    assert_eq!(config.queue_url, queue);

    // The same function the Lambda runs, with a store that throttles customer T1.
    let store = DynamoStore::new(clients.dynamodb.clone(), &table);
    let stored = event(Entity::Customer, "S1", 10, Op::Upsert, 1);
    store
        .apply(&hub_store::plan(&stored, chrono::Utc::now(), Duration::from_secs(60)).unwrap())
        .await
        .unwrap();
    let mut sync = hub_sync::SyncConfig::new(Entity::Customer, "customers");
    sync.backoff.base = Duration::from_millis(5);
    let state = Arc::new(State {
        store: Throttling::new(store.clone(), &["T1"], u32::MAX),
        dlq: SqsDeadLetters::new(clients.sqs.clone(), &dlq),
        payloads: hub_sync::NoPayloads,
        sync,
    });
    let inner: Arc<dyn LocalFunction> = handler_fn(move |e| {
        let state = state.clone();
        async move { handle(e, &state).await }
    });
    let responses: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = responses.clone();
    let recorded = raw_fn(move |payload, ctx| {
        let (inner, seen) = (inner.clone(), seen.clone());
        async move {
            let r = inner.invoke(payload, ctx).await;
            if let Ok(v) = &r {
                seen.lock().unwrap().push(v.clone());
            }
            r
        }
    });
    let esm = SqsEventSourceMapping::new(config, clients.sqs.clone(), recorded).unwrap();
    let stats = esm.stats();
    let token = CancellationToken::new();
    let task = tokio::spawn(esm.run(token.clone()));

    let messages = hub_sync::testing::mixed_batch();
    let entries = messages
        .iter()
        .map(|(id, b)| {
            aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id(*id)
                .message_body(b)
                .build()
                .unwrap()
        })
        .collect();
    let sent = clients
        .sqs
        .send_message_batch()
        .queue_url(&queue)
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap();
    let ids: HashMap<String, String> = sent
        .successful()
        .iter()
        .map(|s| (s.id().to_string(), s.message_id().to_string()))
        .collect();

    let failures = eventually(
        "all eight messages handled",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || {
            let responses = responses.clone();
            let stats = stats.clone();
            async move {
                let s = stats.snapshot();
                (s.received >= 8 && s.deleted >= 7).then(|| {
                    responses
                        .lock()
                        .unwrap()
                        .iter()
                        .flat_map(|r| {
                            r["batchItemFailures"]
                                .as_array()
                                .cloned()
                                .unwrap_or_default()
                        })
                        .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
                        .collect::<Vec<_>>()
                })
            }
        },
    )
    .await;
    token.cancel();
    task.await.unwrap().unwrap();
    assert_eq!(failures, vec![ids["throttled"].clone()]);

    let get = |k: &str| {
        let store = store.clone();
        let key = keys::customer(k);
        async move { store.get(&key).await }
    };
    assert_eq!(get("N1").await.unwrap().unwrap().attrs["name"], "name-5");
    assert_eq!(get("D1").await.unwrap().unwrap().attrs["name"], "name-2");
    assert_eq!(get("S1").await.unwrap().unwrap().attrs["name"], "name-1");
    assert!(get("T1").await.unwrap().is_none());
    assert_eq!(get("X1").await.unwrap().unwrap().attrs["deleted"], true);
    assert!(store.get(&keys::order("O1")).await.unwrap().is_none());

    let letters = receive(&clients, &dlq).await;
    let mut by_body: Vec<(String, HashMap<String, String>)> = letters
        .iter()
        .map(|m| {
            let attrs = m
                .message_attributes()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.string_value().unwrap_or_default().to_string()))
                .collect();
            (m.body().unwrap().to_string(), attrs)
        })
        .collect();
    // The unusable message first, then the misrouted one.
    by_body.sort_by_key(|(body, _)| body != "{not json");
    assert_eq!(
        by_body.len(),
        2,
        "exactly the unusable and the misrouted message"
    );
    assert_eq!(by_body[0].0, "{not json", "the original body, unchanged");
    assert_eq!(by_body[1].0, messages[5].1, "the original body, unchanged");
    for (_, attrs) in &by_body {
        assert_eq!(attrs["error_class"], "permanent");
        assert_eq!(attrs["stage"], "customers-sync");
        assert!(attrs.contains_key("failed_at") && attrs.contains_key("attempts"));
    }
    assert!(by_body[1].1["error_message"].contains("sales_order delivered to the customer domain"));
    assert_eq!(by_body[1].1["correlation_id"], "c");
}

#[tokio::test]
async fn a_claim_checked_event_over_the_sns_limit_lands_in_the_table() {
    // Scenario: an event of ~300 KiB (over SNS's 256 KiB) stored in the template's claim-check
    // bucket (S3 on moto) and delivered as a pointer is resolved by the deployed handler's S3
    // payload store and written; a pointer to a missing object goes to the DLQ.
    use hub_aws::s3_payloads::S3Payloads;
    use hub_model::claim_check::ClaimCheck;
    let clients = clients().await;
    let (report, _) = provision(&clients, project_template(), &unique("claim"), &[]).await;
    let bucket = report.physical_id("ClaimCheckBucket").unwrap().to_string();
    let table = report.physical_id("HubTable").unwrap().to_string();
    let dlq = report.physical_id("CustomersDLQ").unwrap().to_string();
    let mut big = event(Entity::Customer, "BIG1", 1, Op::Upsert, 1);
    if let Some(hub_model::Record::Customer(c)) = &mut big.data {
        c.extensions
            .insert("Z1NOTES.TEXT".into(), "n".repeat(300 * 1024).into());
    }
    let json = serde_json::to_string(&big).unwrap();
    assert!(json.len() > hub_model::claim_check::SNS_MAX_BYTES);
    clients
        .s3
        .put_object()
        .bucket(&bucket)
        .key("customer/BIG1.json")
        .body(json.clone().into_bytes().into())
        .send()
        .await
        .unwrap();
    let pointer = |key: &str| {
        ClaimCheck {
            uri: format!("s3://{bucket}/{key}"),
            bytes: json.len() as u64,
        }
        .to_body()
    };
    let mut sync = hub_sync::SyncConfig::new(Entity::Customer, "customers");
    sync.emit_metrics = false;
    let state = State {
        store: DynamoStore::new(clients.dynamodb.clone(), &table),
        dlq: SqsDeadLetters::new(clients.sqs.clone(), &dlq),
        payloads: S3Payloads::new(clients.s3.clone()),
        sync,
    };
    let payload: aws_lambda_events::sqs::SqsEvent = serde_json::from_value(serde_json::json!({
        "Records": [
            {"messageId": "big", "body": pointer("customer/BIG1.json")},
            {"messageId": "gone", "body": pointer("customer/none.json")},
        ]
    }))
    .unwrap();
    let response = handle(
        lambda_runtime::LambdaEvent::new(payload, Default::default()),
        &state,
    )
    .await
    .unwrap();
    assert!(response.batch_item_failures.is_empty());
    let item = state
        .store
        .get(&keys::customer("BIG1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        item.attrs["extensions"]["Z1NOTES.TEXT"]
            .as_str()
            .unwrap()
            .len(),
        300 * 1024
    );
    let letters = receive(&clients, &dlq).await;
    assert_eq!(letters.len(), 1);
    assert_eq!(
        letters[0].body(),
        Some(pointer("customer/none.json").as_str())
    );
}
