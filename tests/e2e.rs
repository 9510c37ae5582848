//! End to end through the whole chain, as the main job runs it (`hubctl run`: the bridge on the
//! embedded Kafka, SNS and SQS on moto, the domain functions under the local event source
//! mapping, DynamoDB Local): SAP records produced to Kafka end in the table. Every test compares
//! the table with the expected final table, by event id: the newest version of each key.

use hub_aws::dynamo_store::DynamoStore;
use hub_integration_tests::*;
use hub_model::Entity;
use hub_sap::{Limits, Outcome, OwnedRecord, parse_record};
use hub_store::{EntityStore, keys};
use std::collections::BTreeMap;
use std::time::Duration;

/// A main job's own stack and topics (tests run in parallel on the shared stand-ins).
struct Chain {
    stack: String,
    args: Vec<String>,
    topics: BTreeMap<&'static str, String>,
}

impl Chain {
    fn new(name: &str, extra: &[&str]) -> Chain {
        let stack = unique(name);
        let topics: BTreeMap<&'static str, String> = hub_model::object::sap_topics()
            .map(|t| (t.name, format!("{stack}.{}", t.name)))
            .collect();
        let mut args: Vec<String> = vec![
            "--status-interval".into(),
            "1".into(),
            "--stack-name".into(),
            stack.clone(),
        ];
        for t in hub_model::object::sap_topics() {
            args.extend([
                "--parameter".into(),
                format!("{}={}", t.parameter, topics[t.name]),
            ]);
        }
        args.extend([
            "--parameter".into(),
            format!("KafkaConsumerGroupPrefix={stack}"),
        ]);
        for p in extra {
            args.extend(["--parameter".into(), p.to_string()]);
        }
        // The topics exist before the bridge subscribes, as SAP's do (a consumer subscribed to
        // a topic that does not exist yet may wait for its next metadata refresh).
        let producer: rdkafka::producer::FutureProducer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", kafka_bootstrap())
            .create()
            .unwrap();
        for t in topics.values() {
            use rdkafka::producer::Producer;
            producer
                .client()
                .fetch_metadata(Some(t), Duration::from_secs(10))
                .expect("the embedded Kafka creates the topic on first use");
        }
        Chain {
            stack,
            args,
            topics,
        }
    }

    /// Produces `records` (sample topic, record) to this chain's topics (in order per topic).
    async fn produce(&self, records: &[(&'static str, OwnedRecord)]) {
        let mut by_topic: BTreeMap<&str, Vec<OwnedRecord>> = BTreeMap::new();
        for (topic, r) in records {
            by_topic.entry(topic).or_default().push(r.clone());
        }
        for (topic, rs) in by_topic {
            produce(&kafka_bootstrap(), &self.topics[topic], None, &rs).await;
        }
    }

    /// The URL of this chain's queue `suffix` (`bridge-dlq`, `customers-dlq`…).
    async fn queue(&self, clients: &hub_aws::AwsClients, suffix: &str) -> String {
        hub_integration_tests::stack_queue(clients, &self.stack, suffix).await
    }

    fn store(&self, clients: &hub_aws::AwsClients) -> DynamoStore {
        DynamoStore::new(clients.dynamodb.clone(), format!("{}-hub", self.stack))
    }
}

fn table_key(entity: Entity, key: &str) -> hub_store::Key {
    keys::item(entity, key)
}

/// The expected final table: for each key, the event id of its newest version.
fn expected(records: &[(&'static str, OwnedRecord)]) -> BTreeMap<hub_store::Key, String> {
    let mut newest: BTreeMap<(Entity, String), (hub_model::Version, String)> = BTreeMap::new();
    for (topic, r) in records {
        let Ok(outcomes) = parse_record(&r.envelope(Some(topic), None, None), &Limits::default())
        else {
            continue;
        };
        for o in outcomes {
            if let Outcome::Change(e) = o {
                let slot = newest
                    .entry((e.entity, e.key.clone()))
                    .or_insert((e.version, e.event_id.clone()));
                if e.version > slot.0 {
                    *slot = (e.version, e.event_id.clone());
                }
            }
        }
    }
    newest
        .into_iter()
        .map(|((entity, key), (_, id))| (table_key(entity, &key), id))
        .collect()
}

/// Waits until every expected key holds its expected event id; panics with the differences.
async fn converges(
    store: &DynamoStore,
    want: &BTreeMap<hub_store::Key, String>,
    timeout: Duration,
) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut wrong = Vec::new();
        for (key, id) in want {
            let got = store.get(key).await.ok().flatten().and_then(|i| {
                i.attrs
                    .get("event_id")
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            });
            if got.as_deref() != Some(id.as_str()) {
                wrong.push(format!("{key:?}: want {id}, have {got:?}"));
            }
        }
        if wrong.is_empty() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the table did not converge within {timeout:?}: {} of {} keys differ, e.g. {:?}",
            wrong.len(),
            want.len(),
            &wrong[..wrong.len().min(3)]
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn fixtures() -> Vec<(&'static str, OwnedRecord)> {
    hub_sap::samples::changes()
        .into_iter()
        .map(|s| (s.topic, s.record))
        .collect()
}

fn raw(value: &[u8]) -> OwnedRecord {
    OwnedRecord {
        value: value.to_vec(),
        ..OwnedRecord::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_lands_typed_and_bad_records_land_in_the_bridge_dlq() {
    // Scenario: the fixtures, each produced twice and shuffled, with garbage, a truncated IDoc,
    // an unknown IDoc type and a thin S/4 event between them: the table holds each key's newest
    // version (4 keys) as a typed record, or as the tombstone of the supplier the CREMAS06
    // fixture deletes; the four bad records are in the bridge DLQ with their
    // class; the domain DLQs stay empty.
    let clients = clients().await;
    let chain = Chain::new("e2e-fix", &[]);
    let mut records = fixtures();
    records.extend(fixtures());
    fastrand::shuffle(&mut records);
    let truncated = &hub_sap::samples::MATMAS05[..hub_sap::samples::MATMAS05.len() / 2];
    let unknown = hub_sap::samples::MATMAS05.replace("MATMAS", "ZZFOO");
    let bad = [
        ("sap.idoc.orders", raw(b"garbage \x00\xff")),
        ("sap.idoc.matmas", raw(truncated.as_bytes())),
        ("sap.idoc.matmas", raw(unknown.as_bytes())),
        ("sap.s4.events", hub_sap::samples::thin().record),
    ];
    for (i, b) in bad.iter().enumerate() {
        records.insert(i * 3, b.clone());
    }
    let want = expected(&records);
    // The business partner and the product are newer versions of the DEBMAS customer and the
    // MATMAS material; the S/4 supplier and CREMAS06 of the CREMAS05 supplier.
    assert_eq!(want.len(), 4, "4 distinct keys: {want:?}");
    let mut job = MainJob::start(&chain.args, &[]);
    chain.produce(&records).await;
    let store = chain.store(&clients);
    converges(&store, &want, Duration::from_secs(120)).await;
    for key in want.keys() {
        // A typed record: its entity's identifying field, next to the hub's attributes.
        let item = store.get(key).await.unwrap().unwrap();
        let entity = item.attrs["entity"].as_str().unwrap().to_string();
        if entity == "supplier" {
            // Its newest change is CREMAS06's deletion flag: a tombstone, without its data.
            assert_eq!(item.attrs["deleted"], true, "{key:?}: {item:?}");
            assert!(item.attrs.get("bank_details").is_none(), "{key:?}");
            continue;
        }
        let id_field = if entity == "sales_order" {
            "order"
        } else {
            entity.as_str()
        };
        assert_eq!(item.attrs[id_field], item.attrs["key"], "{key:?}: {item:?}");
        assert_eq!(item.attrs["deleted"], false, "{key:?}");
        assert_eq!(item.attrs["schema"], format!("{entity}.v1"), "{key:?}");
    }
    let letters = drain_queue(
        &clients,
        &chain.queue(&clients, "bridge-dlq").await,
        Duration::from_secs(60),
        |m| m.len() >= 4,
    )
    .await;
    let mut classes: Vec<String> = letters
        .iter()
        .map(|m| {
            hub_bridge::BridgeDeadLetter::from_body(m.body().unwrap())
                .unwrap()
                .error
                .class
                .as_str()
                .to_string()
        })
        .collect();
    classes.sort();
    // Garbage and truncated XML are poison; an IDoc of a type the hub does not map is
    // permanent (well-formed, not ours); the thin event needs enrichment.
    assert_eq!(
        classes,
        ["needs_enrichment", "permanent", "poison", "poison"]
    );
    for dlq in ["customers-dlq", "materials-dlq", "sales-orders-dlq"] {
        assert_eq!(
            depth(&clients, &chain.queue(&clients, dlq).await).await,
            (0, 0),
            "{dlq}"
        );
    }
    assert!(job.terminate(Duration::from_secs(40)).await.success());
}

/// `hubctl reconcile --json` over every topic of the chain: its exit status and report.
fn reconcile(chain: &Chain) -> (Option<i32>, serde_json::Value) {
    let topics: Vec<String> = chain.topics.values().cloned().collect();
    hub_integration_tests::drills::reconcile(&chain.stack, &topics, None)
}

/// `hubctl reconcile` as the oracle that counts every change produced (before, during and
/// after a fault): each of the `changes` must be applied (the table at its version or newer),
/// none missing, stale, dead-lettered or still in flight.
fn reconciled(chain: &Chain, changes: u64) {
    let (code, report) = reconcile(chain);
    let total = &report["total"];
    assert_eq!(
        total["changes"], changes,
        "every change produced is accounted: {report}"
    );
    assert_eq!(total["applied"], changes, "{report}");
    for status in ["missing", "stale", "dead_lettered", "in_flight"] {
        assert_eq!(total[status], 0, "{status}: {report}");
    }
    assert_eq!(code, Some(0), "{report}");
}

/// `n` synthetic IDocs over `keys` keys per entity (several versions per key), in order.
fn load(from: u64, n: u64, keys: u64) -> Vec<(&'static str, OwnedRecord)> {
    (from..from + n)
        .map(|i| {
            let s = hub_sap::samples::synthetic(i, keys);
            (s.topic, s.record)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_job_killed_mid_stream_loses_nothing() {
    // Scenario: 300 IDocs (30 keys per entity, several versions each) are produced while the
    // main job runs; it is killed with SIGKILL once some reached the table, then the other
    // 150 are produced and it is restarted: the table converges to the newest version of every
    // key, and `hubctl reconcile` accounts for all 300 changes as applied.
    let clients = clients().await;
    let chain = Chain::new("e2e-kill", &[]);
    let records = load(0, 300, 30);
    let want = expected(&records);
    let mut job = MainJob::start(&chain.args, &[]);
    chain.produce(&records[..150]).await;
    eventually(
        "the first records bridged",
        Duration::from_secs(60),
        Duration::from_millis(100),
        || {
            let seen = job.printed(|l| {
                l.split("published ")
                    .nth(1)
                    .and_then(|r| r.split(' ').next())
                    .and_then(|n| n.parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
            });
            async move { seen.then_some(()) }
        },
    )
    .await;
    job.kill9();
    chain.produce(&records[150..]).await;
    let mut job = MainJob::start(&chain.args, &[]);
    converges(&chain.store(&clients), &want, Duration::from_secs(180)).await;
    // Half the changes were produced while the job was dead, each key's newest among them.
    reconciled(&chain, records.len() as u64);
    assert!(job.terminate(Duration::from_secs(40)).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_sqs_and_dynamodb_each_down_for_30_s_lose_nothing() {
    // Scenario: the main job reaches SNS, SQS and DynamoDB through proxies; mid-stream each is
    // cut for 30 s in turn (a new batch of records produced during each outage). Retries, the
    // breaker and SQS redelivery recover everything: the table converges to the newest version
    // of every key, `hubctl reconcile` accounts for every change as applied, and the DLQs are
    // empty.
    let clients = clients().await;
    // Redelivery after a failed batch waits the visibility timeout: keep it short (it must
    // stay at least the function timeout, 30 s).
    let chain = Chain::new("e2e-down", &["DomainQueueVisibilityTimeout=30"]);
    let endpoints = hub_aws::clients::LocalEndpoints::from_env();
    let host = |url: &str| url.trim_start_matches("http://").to_string();
    let sns = Proxy::start(&host(&endpoints.sns)).await;
    let sqs = Proxy::start(&host(&endpoints.sqs)).await;
    let ddb = Proxy::start(&host(&endpoints.dynamodb)).await;
    let mut job = MainJob::start(
        &chain.args,
        &[
            ("AWS_ENDPOINT_URL_SNS", sns.endpoint.clone()),
            ("AWS_ENDPOINT_URL_SQS", sqs.endpoint.clone()),
            ("AWS_ENDPOINT_URL_DYNAMODB", ddb.endpoint.clone()),
        ],
    );
    let mut records = Vec::new();
    let store = chain.store(&clients);
    let warm = load(0, 30, 10);
    chain.produce(&warm).await;
    records.extend(warm);
    converges(&store, &expected(&records), Duration::from_secs(90)).await;
    for (i, proxy) in [&sns, &sqs, &ddb].into_iter().enumerate() {
        proxy.set_up(false);
        let batch = load(30 + 60 * i as u64, 60, 10);
        chain.produce(&batch).await;
        records.extend(batch);
        tokio::time::sleep(Duration::from_secs(30)).await; // the outage itself
        proxy.set_up(true);
    }
    converges(&store, &expected(&records), Duration::from_secs(240)).await;
    // Every change counted, those produced during each outage included.
    reconciled(&chain, records.len() as u64);
    for dlq in [
        "bridge-dlq",
        "customers-dlq",
        "materials-dlq",
        "sales-orders-dlq",
    ] {
        assert_eq!(
            depth(&clients, &chain.queue(&clients, dlq).await).await,
            (0, 0),
            "{dlq}"
        );
    }
    assert!(job.terminate(Duration::from_secs(60)).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_between_good_records_is_dead_lettered_exactly_and_blocks_nothing() {
    // Scenario: the poison drill, small: 140 bad records (20 of each kind: truncated, wrong
    // encoding, a bad number, a bad date, an unknown IDoc type, an unknown event type, binary)
    // interleaved one for one with 140 good IDocs. Every good change is applied (reconcile
    // counts each), exactly the 140 bad ones are in the bridge DLQ, each with its kind, and
    // the domain DLQs stay empty.
    let clients = clients().await;
    let chain = Chain::new("e2e-poison", &[]);
    let mut records = Vec::new();
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for i in 0..140 {
        let good = hub_sap::samples::synthetic(i, 20);
        records.push((good.topic, good.record));
        let (kind, bad) = hub_sap::samples::poison(i);
        *kinds.entry(kind).or_default() += 1;
        records.push((bad.topic, bad.record));
    }
    assert_eq!(kinds.len(), 7);
    let mut job = MainJob::start(&chain.args, &[]);
    chain.produce(&records).await;
    converges(
        &chain.store(&clients),
        &expected(&records),
        Duration::from_secs(180),
    )
    .await;
    let bridge_dlq = chain.queue(&clients, "bridge-dlq").await;
    eventually(
        "the bad records in the bridge DLQ",
        Duration::from_secs(60),
        Duration::from_millis(200),
        || async { (depth(&clients, &bridge_dlq).await.0 >= 140).then_some(()) },
    )
    .await;
    // Reconcile counts every record: 140 changes applied, 140 unparsed records dead-lettered.
    let (code, report) = reconcile(&chain);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["entities"]["unparsed"]["changes"], 140, "{report}");
    assert_eq!(
        report["entities"]["unparsed"]["dead_lettered"], 140,
        "{report}"
    );
    let total = &report["total"];
    assert_eq!(total["changes"], 280, "{report}");
    assert_eq!(total["applied"], 140, "{report}");
    assert_eq!(total["missing"], 0, "{report}");
    // Exactly the bad ones, each with its kind.
    let letters = drain_queue(&clients, &bridge_dlq, Duration::from_secs(60), |m| {
        m.len() >= 140
    })
    .await;
    assert_eq!(letters.len(), 140);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for m in &letters {
        let letter = hub_bridge::BridgeDeadLetter::from_body(m.body().unwrap()).unwrap();
        *seen.entry(letter.error.kind.clone()).or_default() += 1;
    }
    let want: BTreeMap<String, usize> = kinds.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    assert_eq!(seen, want);
    assert_eq!(depth(&clients, &bridge_dlq).await, (0, 0), "nothing more");
    for dlq in ["customers-dlq", "materials-dlq", "sales-orders-dlq"] {
        assert_eq!(
            depth(&clients, &chain.queue(&clients, dlq).await).await,
            (0, 0),
            "{dlq}"
        );
    }
    assert!(job.terminate(Duration::from_secs(40)).await.success());
}
