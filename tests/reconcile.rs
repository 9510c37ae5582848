//! `hubctl reconcile` against the local stack: an SAP extract and a Kafka window accounted for
//! against DynamoDB Local, the DLQs and the domain queues on moto; each outcome (applied,
//! stale, missing, dead-lettered, in flight), the exit status, and that nothing is consumed.

use hub_aws::dynamo_store::DynamoStore;
use hub_bridge::BridgeDeadLetter;
use hub_bridge::dead_letter::{DeadLetterClass, ErrorContext};
use hub_integration_tests::*;
use hub_model::{ChangeEvent, Entity, Op};
use hub_sap::{Envelope, Limits, Outcome, OwnedRecord};
use hub_store::EntityStore;
use hub_store::testing::event;
use serde_json::Value;
use std::process::{Command, Output};
use std::time::Duration;

fn hubctl(stack: &str, args: &[&str]) -> (i32, Value, String) {
    let out: Output = Command::new(workspace_binary("hubctl"))
        .arg("reconcile")
        .args(args)
        .args(["--json", "--stack-name", stack])
        .current_dir(repo_root())
        .output()
        .expect("hubctl runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code().unwrap_or(-1), json, stderr)
}

async fn apply(store: &DynamoStore, e: &ChangeEvent) {
    let plan = hub_store::plan(e, chrono::Utc::now(), Duration::from_secs(86_400)).unwrap();
    store.apply(&plan).await.unwrap();
}

fn counts(report: &Value, entity: &str) -> [u64; 6] {
    let c = &report["entities"][entity];
    [
        "changes",
        "applied",
        "stale",
        "missing",
        "dead_lettered",
        "in_flight",
    ]
    .map(|k| {
        c[k].as_u64()
            .unwrap_or_else(|| panic!("{entity}.{k} in {report}"))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extract_is_accounted_for_with_every_outcome_and_nothing_is_consumed() {
    // Scenario: an SAP team's CSV extract of six customer changes. The table holds key 1 at
    // the extract's version and key 2 at an older one; key 4's change is in the customers DLQ,
    // key 5's waits in the customers queue, key 3 is nowhere, key 6 is a delete whose tombstone
    // expired. Reconcile reports one of each, lists the missing and stale keys, exits 1; the
    // DLQ and the queue still hold their messages afterwards. Once keys 2 and 3 are applied it
    // exits 0, though a change is still dead-lettered and one in flight.
    let clients = clients().await;
    let stack = unique("recon-extract");
    let (report, _) = provision(&clients, project_template(), &stack, &[]).await;
    let store = DynamoStore::new(
        clients.dynamodb.clone(),
        report.physical_id("HubTable").unwrap(),
    );
    let queue = report.physical_id("CustomersQueue").unwrap().to_string();
    let dlq = report.physical_id("CustomersDLQ").unwrap().to_string();
    let change = |key: &str, seq: u64| event(Entity::Customer, key, seq, Op::Upsert, 0);
    apply(&store, &change("1", 6)).await;
    apply(&store, &change("2", 3)).await;
    let dead = change("4", 6);
    let waiting = change("5", 6);
    send_all(&clients, &dlq, &[serde_json::to_string(&dead).unwrap()]).await;
    send_all(
        &clients,
        &queue,
        &[serde_json::to_string(&waiting).unwrap()],
    )
    .await;
    let v = |seq: u64| change("x", seq).version.to_string();
    let csv = format!(
        "entity,key,version,op\ncustomer,0000000001,{},upsert\ncustomer,2,{},upsert\ncustomer,3,{},upsert\ncustomer,4,{},upsert\ncustomer,5,{},upsert\ncustomer,6,{},delete\n",
        v(6),
        v(6),
        v(6),
        v(6),
        v(6),
        v(6)
    );
    let dir = std::env::temp_dir().join(unique("recon"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("extract.csv");
    std::fs::write(&file, csv).unwrap();
    let path = file.to_str().unwrap();

    let (code, r, stderr) = hubctl(&stack, &["--extract", path, "--list", "missing,stale"]);
    assert_eq!(code, 1, "{r}\n{stderr}");
    assert_eq!(r["clean"], false);
    // changes, applied, stale, missing, dead-lettered, in flight
    assert_eq!(counts(&r, "customer"), [6, 2, 1, 1, 1, 1], "{r}");
    assert_eq!(r["dead_lettered"][queue_name(&dlq)]["transient"], 1, "{r}");
    assert_eq!(r["in_flight"][queue_name(&queue)], 1, "{r}");
    let listed: Vec<(String, String)> = r["listed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["status"].as_str().unwrap().to_string(),
                l["key"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![("stale".into(), "2".into()), ("missing".into(), "3".into())]
    );
    assert_eq!(r["listed"][0]["table_version"], v(3));
    assert_eq!(r["table"]["keys"], 6);
    assert!(r["table"]["read_units"].as_f64().unwrap() > 0.0, "{r}");
    // Peeked, not consumed: both messages are visible again.
    assert_eq!(depth(&clients, &dlq).await, (1, 0));
    assert_eq!(depth(&clients, &queue).await, (1, 0));

    apply(&store, &change("2", 6)).await;
    apply(&store, &change("3", 7)).await;
    let (code, r, stderr) = hubctl(&stack, &["--extract", path]);
    assert_eq!(code, 0, "{r}\n{stderr}");
    assert_eq!(counts(&r, "customer"), [6, 4, 0, 0, 1, 1], "{r}");
    assert_eq!(depth(&clients, &dlq).await, (1, 0));

    // A bad extract is refused with its line, exit 2.
    std::fs::write(&file, "entity,key,version\ncustomer,1,yesterday\n").unwrap();
    let out = Command::new(workspace_binary("hubctl"))
        .args(["reconcile", "--extract", path, "--stack-name", &stack])
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2: version"), "{err}");
}

fn queue_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kafka_window_is_read_again_without_the_bridges_group() {
    // Scenario: four records on a topic of the test's own: two DEBMAS IDocs (the first applied
    // to the table, the second nowhere) and two garbage records (the first in the bridge DLQ
    // with its coordinates, the second nowhere). The whole topic: customer 1 applied and 1
    // missing, unparsed 1 dead-lettered and 1 missing, exit 1. Offsets 0-2 (the first two
    // records): clean, exit 0. A time window that ends before the records were produced: no
    // change, exit 0. No consumer group is created or committed.
    let clients = clients().await;
    let stack = unique("recon-kafka");
    let (report, _) = provision(&clients, project_template(), &stack, &[]).await;
    let store = DynamoStore::new(
        clients.dynamodb.clone(),
        report.physical_id("HubTable").unwrap(),
    );
    let bridge_dlq = report.physical_id("BridgeDLQ").unwrap().to_string();
    let bootstrap = kafka_bootstrap();
    let topic = unique("sap.recon");
    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    let garbage = |text: &str| OwnedRecord {
        value: text.as_bytes().to_vec(),
        ..OwnedRecord::default()
    };
    let records = vec![
        hub_sap::samples::synthetic(1, 10).record,
        garbage("not an IDoc"),
        hub_sap::samples::synthetic(4, 10).record,
        garbage("<truncated"),
    ];
    produce(&bootstrap, &topic, Some(0), &records).await;
    let parsed =
        hub_sap::parse_record(&Envelope::value_only(&records[0].value), &Limits::default())
            .unwrap();
    let Outcome::Change(first) = &parsed[0] else {
        panic!("{parsed:?}")
    };
    apply(&store, first).await;
    let letter = BridgeDeadLetter::new(
        &hub_bridge::KafkaRecord {
            topic: topic.as_str().into(),
            partition: 0,
            offset: 1,
            timestamp_ms: None,
            key: None,
            value: records[1].value.clone(),
            headers: vec![],
        },
        ErrorContext {
            class: DeadLetterClass::Poison,
            kind: "unrecognized".into(),
            message: "neither XML nor JSON".into(),
            path: None,
        },
        chrono::Utc::now(),
    );
    send_all(&clients, &bridge_dlq, &[letter.body()]).await;

    let (code, r, stderr) = hubctl(&stack, &["--topics", &topic, "--list", "missing"]);
    assert_eq!(code, 1, "{r}\n{stderr}");
    assert_eq!(counts(&r, "customer"), [2, 1, 0, 1, 0, 0], "{r}");
    assert_eq!(counts(&r, "unparsed"), [2, 0, 0, 1, 1, 0], "{r}");
    assert_eq!(
        r["dead_lettered"][queue_name(&bridge_dlq)]["poison"],
        1,
        "{r}"
    );
    assert_eq!(r["input"]["kafka"]["records"], 4, "{r}");
    let missing: Vec<i64> = r["listed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["record"]["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(missing, vec![2, 3]);

    let range = format!("{topic}:0:0-2");
    let (code, r, stderr) = hubctl(&stack, &["--offsets", &range]);
    assert_eq!(code, 0, "{r}\n{stderr}");
    assert_eq!(counts(&r, "customer"), [1, 1, 0, 0, 0, 0], "{r}");
    assert_eq!(counts(&r, "unparsed"), [1, 0, 0, 0, 1, 0], "{r}");

    let to = before.to_rfc3339();
    let (code, r, stderr) = hubctl(&stack, &["--topics", &topic, "--to", &to]);
    assert_eq!(code, 0, "{r}\n{stderr}");
    assert_eq!(r["total"]["changes"], 0, "{r}");
    assert_eq!(r["input"]["kafka"]["outside_time_range"], 4, "{r}");

    // The bridge DLQ's letter is still there, and reconcile committed nothing.
    assert_eq!(depth(&clients, &bridge_dlq).await, (1, 0));
    let (committed, ends) = committed_and_end_offsets(&bootstrap, "sap-sync-hub-reconcile", &topic);
    assert_eq!(ends.iter().sum::<i64>(), 4, "{ends:?}");
    assert!(
        committed.iter().all(|c| *c == 0),
        "reconcile committed an offset: {committed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_retention_removed_are_reported_not_silently_skipped() {
    // Scenario: six records of 1.2 MiB on one partition of a topic of the test's own; the
    // embedded Kafka keeps 5 MiB a partition, so retention removes the oldest. Reconcile over
    // the whole topic and over offsets 0-6 reads what is left and reports the rest as trimmed
    // (offsets, count, and a warning on stderr), so an operator knows what it could not judge.
    let clients = clients().await;
    let stack = unique("recon-trim");
    provision(&clients, project_template(), &stack, &[]).await;
    let bootstrap = kafka_bootstrap();
    let topic = unique("sap.recon.trim");
    let big = OwnedRecord {
        value: vec![b'x'; 1_200 * 1024],
        ..OwnedRecord::default()
    };
    produce(&bootstrap, &topic, Some(0), &vec![big; 6]).await;
    let range = format!("{topic}:0:0-6");
    for args in [["--topics", topic.as_str()], ["--offsets", range.as_str()]] {
        let (_, r, stderr) = hubctl(&stack, &args);
        let trimmed = &r["input"]["kafka"]["trimmed"];
        let gone = trimmed[0]["records"].as_i64().unwrap_or(0);
        assert!(gone >= 1, "{args:?}: nothing reported trimmed: {r}");
        assert_eq!(trimmed[0]["from"], 0, "{r}");
        assert_eq!(trimmed[0]["to"], gone, "{r}");
        assert_eq!(
            r["input"]["kafka"]["records"].as_i64().unwrap() + gone,
            6,
            "{args:?}: read and trimmed do not add up: {r}"
        );
        assert!(
            stderr.contains(&format!(
                "{gone} records of the window are no longer in Kafka"
            )),
            "{stderr}"
        );
    }
}
