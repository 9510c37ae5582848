//! The Kafka bridge against the embedded Kafka and the AWS stand-ins: SAP records produced to
//! Kafka end up in the right domain queues through the real SNS filter policies, poison records
//! in the bridge DLQ, and outages (SNS cut, the bridge killed, broker faults) lose nothing.

use aws_sdk_sqs::types::Message as SqsMessage;
use hub_aws::clients::LocalEndpoints;
use hub_bridge::{BreakerState, Settings};
use hub_core::config::Env;
use hub_integration_tests::*;
use hub_kafka::bridge::{ConsumerConfig, run};
use hub_sap::{OwnedRecord, samples};
use kafka_bridge::{AwsPipeline, Config};
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// A provisioned copy of the project's stack.
struct Stack {
    clients: hub_aws::AwsClients,
    topic_arn: String,
    bridge_dlq: String,
    bucket: String,
    queues: BTreeMap<&'static str, String>,
}

async fn stack(name: &str) -> Stack {
    let clients = clients().await;
    let (report, _) = provision(&clients, project_template(), &unique(name), &[]).await;
    let id = |l: &str| report.physical_id(l).unwrap().to_string();
    Stack {
        topic_arn: id("ChangesTopic"),
        bridge_dlq: id("BridgeDLQ"),
        bucket: id("ClaimCheckBucket"),
        // Every object's queue, by its routing name.
        queues: project_objects()
            .iter()
            .map(|o| {
                let entity = hub_model::Entity::from_name(o.entity()).expect("a registered object");
                (entity.as_str(), id(&format!("{}Queue", o.stem())))
            })
            .collect(),
        clients,
    }
}

fn settings() -> Settings {
    let mut s = Settings::default();
    s.retry.base = Duration::from_millis(20);
    s.retry.cap = Duration::from_millis(200);
    s.breaker.failure_threshold = 2;
    s.breaker.open_for = Duration::from_millis(300);
    s.breaker.max_open_for = Duration::from_millis(600);
    s
}

/// The pipeline over the stand-ins; SNS through `sns_endpoint` when given (a proxy).
fn pipeline(stack: &Stack, sns_endpoint: Option<&str>) -> Arc<AwsPipeline> {
    let mut clients = stack.clients.clone();
    if let Some(endpoint) = sns_endpoint {
        clients = clients.with_sns_endpoint(endpoint);
    }
    let config = Config {
        topic_arn: stack.topic_arn.clone(),
        dlq_url: stack.bridge_dlq.clone(),
        claim_check_bucket: Some(stack.bucket.clone()),
        settings: settings(),
    };
    Arc::new(kafka_bridge::build(&clients, &config))
}

fn consumer_config(bootstrap: &str, topic: &str, group: &str) -> ConsumerConfig {
    let pairs = [
        ("KAFKA_BOOTSTRAP_SERVERS", bootstrap),
        ("KAFKA_TOPICS", topic),
        ("KAFKA_GROUP_ID", group),
        ("BRIDGE_CHUNK_RECORDS", "25"),
        ("BRIDGE_METRICS_INTERVAL_MS", "0"),
        ("KAFKA_PROP_SESSION_TIMEOUT_MS", "6000"),
    ];
    ConsumerConfig::from_env(&Env::from_pairs(&pairs)).unwrap()
}

/// Runs the bridge in this process until the returned sender fires.
fn spawn_bridge(
    config: ConsumerConfig,
    pipeline: Arc<AwsPipeline>,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<hub_kafka::bridge::RunSummary>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        run(&config, pipeline, async {
            let _ = rx.await;
        })
        .await
        .expect("bridge runs")
    });
    (tx, task)
}

fn attr(m: &SqsMessage, name: &str) -> Option<String> {
    m.message_attributes()?
        .get(name)?
        .string_value()
        .map(str::to_string)
}

fn event_id(m: &SqsMessage) -> String {
    let v: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
    v["event_id"].as_str().expect("an event body").to_string()
}

/// The event ids the records produce (through the same parser), by entity.
fn expected_ids(records: &[OwnedRecord]) -> BTreeMap<&'static str, BTreeSet<String>> {
    let mut out: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    for r in records {
        let outcomes = hub_sap::parse_record(&r.envelope(None, None, None), &Default::default());
        for o in outcomes.unwrap_or_default() {
            if let hub_sap::Outcome::Change(e) = o {
                out.entry(e.entity.as_str()).or_default().insert(e.event_id);
            }
        }
    }
    out
}

/// Drains every domain queue until each holds all of `expected`'s ids (duplicates allowed);
/// returns the messages by entity.
async fn collect_all(
    stack: &Stack,
    expected: &BTreeMap<&'static str, BTreeSet<String>>,
) -> BTreeMap<&'static str, Vec<SqsMessage>> {
    let mut out = BTreeMap::new();
    for (entity, ids) in expected {
        let messages = drain_queue(
            &stack.clients,
            &stack.queues[entity],
            Duration::from_secs(90),
            |ms| {
                ms.iter()
                    .map(event_id)
                    .collect::<BTreeSet<_>>()
                    .is_superset(ids)
            },
        )
        .await;
        out.insert(*entity, messages);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixtures_reach_their_domain_queues_and_poison_goes_to_the_bridge_dlq() {
    // Scenario: the change fixtures, the thin order and three poison records (garbage,
    // truncated XML, an unknown IDoc type) interleaved on one topic: each event is in the queue
    // of its entity with the routing attributes; the poison and thin records are in the bridge
    // DLQ with raw bytes, coordinates and error context; the committed offsets reach the end.
    let stack = stack("bridge-fixtures").await;
    let bootstrap = kafka_bootstrap();
    let topic = unique("sap.bridge.fixtures");
    let group = unique("bridge");
    let mut records: Vec<OwnedRecord> = samples::changes().into_iter().map(|s| s.record).collect();
    let poison = |v: &[u8]| OwnedRecord {
        value: v.to_vec(),
        headers: vec![("correlation_id".into(), b"poison-corr".to_vec())],
        ..OwnedRecord::default()
    };
    records.insert(1, poison(b"\x00\x01\x02 not SAP"));
    records.insert(3, poison(&samples::ORDERS05.as_bytes()[..700]));
    records.insert(
        5,
        poison(
            samples::MATMAS05
                .replace("<MESTYP>MATMAS</MESTYP>", "<MESTYP>ZFOO</MESTYP>")
                .as_bytes(),
        ),
    );
    records.push(samples::thin().record);
    produce(&bootstrap, &topic, Some(0), &records).await;

    let pipeline = pipeline(&stack, None);
    let (stop, task) = spawn_bridge(
        consumer_config(&bootstrap, &topic, &group),
        pipeline.clone(),
    );

    let expected = expected_ids(&records);
    let changes = samples::changes().len();
    assert_eq!(expected.values().map(BTreeSet::len).sum::<usize>(), changes);
    let delivered = collect_all(&stack, &expected).await;
    for (entity, messages) in &delivered {
        for m in messages {
            let event: hub_model::ChangeEvent = serde_json::from_str(m.body().unwrap()).unwrap();
            assert_eq!(attr(m, "entity").as_deref(), Some(*entity));
            assert_eq!(event.entity.as_str(), *entity);
            assert_eq!(attr(m, "op").as_deref(), Some(event.op.as_str()));
            assert_eq!(
                attr(m, "source_system").as_deref(),
                Some(event.source.system.as_str())
            );
            assert_eq!(attr(m, "schema").as_deref(), Some(event.entity.schema()));
        }
    }

    let letters = drain_queue(
        &stack.clients,
        &stack.bridge_dlq,
        Duration::from_secs(60),
        |ms| ms.len() >= 4,
    )
    .await;
    let mut by_offset: BTreeMap<i64, (String, hub_bridge::BridgeDeadLetter)> = BTreeMap::new();
    for m in &letters {
        let d = hub_bridge::BridgeDeadLetter::from_body(m.body().unwrap()).unwrap();
        assert_eq!(d.kafka.topic, topic);
        assert_eq!(attr(m, "kafka_topic").as_deref(), Some(topic.as_str()));
        assert_eq!(attr(m, "stage").as_deref(), Some("kafka-bridge"));
        assert!(attr(m, "failed_at").is_some());
        by_offset.insert(d.kafka.offset, (attr(m, "error_class").unwrap(), d));
    }
    let classes: Vec<(i64, &str)> = by_offset
        .iter()
        .map(|(o, (c, _))| (*o, c.as_str()))
        .collect();
    assert_eq!(
        classes,
        [
            (1, "poison"),
            (3, "poison"),
            (5, "permanent"),
            (changes as i64 + 3, "needs_enrichment")
        ]
    );
    for (offset, (_, d)) in &by_offset {
        let raw = d.to_record(None).unwrap();
        assert_eq!(
            raw.value, records[*offset as usize].value,
            "raw value of offset {offset}"
        );
        assert!(!d.error.message.is_empty());
    }
    assert_eq!(
        by_offset[&1].1.correlation_id.as_deref(),
        Some("poison-corr")
    );
    assert_eq!(by_offset[&5].1.error.kind, "unsupported_idoc_type");

    committed_to_the_end(&bootstrap, &group, &topic).await;
    stop.send(()).unwrap();
    let summary = task.await.unwrap();
    assert_eq!(summary.received, records.len() as u64);
    assert_eq!(summary.abandoned, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_mib_idoc_is_published_as_a_claim_check_on_s3() {
    // Scenario: an ORDERS IDoc of 1 MiB: the sales-orders queue receives a pointer (attribute
    // claim_check = s3) and the object on S3 holds the whole event.
    let stack = stack("bridge-claim").await;
    let bootstrap = kafka_bootstrap();
    let topic = unique("sap.bridge.claim");
    let big = OwnedRecord {
        value: samples::large_order(1 << 20).into_bytes(),
        ..OwnedRecord::default()
    };
    produce(&bootstrap, &topic, None, std::slice::from_ref(&big)).await;
    let (stop, task) = spawn_bridge(
        consumer_config(&bootstrap, &topic, &unique("bridge")),
        pipeline(&stack, None),
    );
    let messages = drain_queue(
        &stack.clients,
        &stack.queues["sales_order"],
        Duration::from_secs(60),
        |ms| !ms.is_empty(),
    )
    .await;
    let m = &messages[0];
    assert_eq!(attr(m, "claim_check").as_deref(), Some("s3"));
    assert_eq!(attr(m, "entity").as_deref(), Some("sales_order"));
    let pointer = hub_model::claim_check::ClaimCheck::from_body(m.body().unwrap()).unwrap();
    let (bucket, key) = pointer.s3_location().unwrap();
    assert_eq!(bucket, stack.bucket);
    let bytes = s3_object(&stack.clients, bucket, key).await;
    assert_eq!(bytes.len() as u64, pointer.bytes);
    let event: hub_model::ChangeEvent = serde_json::from_slice(&bytes).unwrap();
    let Some(hub_model::Record::SalesOrder(order)) = event.data else {
        panic!("an order")
    };
    assert!(order.items.len() > 1000);
    stop.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sns_outage_opens_the_breaker_pauses_and_loses_nothing() {
    // Scenario: SNS is cut (a proxy in front of the stand-in) while 60 records arrive: the
    // breaker opens, the consumer pauses, no offset is committed past an unpublished record and
    // the DLQ stays empty; SNS back: everything is delivered and the offsets reach the end.
    let stack = stack("bridge-outage").await;
    let bootstrap = kafka_bootstrap();
    let topic = unique("sap.bridge.outage");
    let group = unique("bridge");
    let sns = Proxy::start(&LocalEndpoints::from_env().sns.replace("http://", "")).await;
    sns.set_up(false);
    let pipeline = pipeline(&stack, Some(&sns.endpoint));
    let records: Vec<OwnedRecord> = (0..60).map(|i| samples::synthetic(i, 7).record).collect();
    produce(&bootstrap, &topic, None, &records).await;
    let (stop, task) = spawn_bridge(
        consumer_config(&bootstrap, &topic, &group),
        pipeline.clone(),
    );

    let mut state = pipeline.breaker().subscribe();
    tokio::time::timeout(
        Duration::from_secs(60),
        state.wait_for(|s| *s != BreakerState::Closed),
    )
    .await
    .expect("the breaker opens")
    .unwrap();
    eventually(
        "the consumer to pause",
        Duration::from_secs(30),
        Duration::from_millis(50),
        || {
            let paused = pipeline.metrics().consumer_paused();
            async move { paused.then_some(()) }
        },
    )
    .await;
    // While cut, two probes fail (each reopens the breaker: half-open, then open again); after
    // them nothing is committed, nothing dead-lettered.
    let reopened = pipeline.breaker().transitions() + 4;
    eventually(
        "two failed probes",
        Duration::from_secs(30),
        Duration::from_millis(50),
        || {
            let transitions = pipeline.breaker().transitions();
            async move { (transitions >= reopened).then_some(()) }
        },
    )
    .await;
    let (committed, _) = committed_and_end_offsets(&bootstrap, &group, &topic);
    assert!(
        committed.iter().all(|c| *c == 0),
        "no offset passes an unpublished record: {committed:?}"
    );
    assert_eq!(depth(&stack.clients, &stack.bridge_dlq).await, (0, 0));
    assert_eq!(pipeline.metrics().snapshot().published, 0);

    sns.set_up(true);
    let expected = expected_ids(&records);
    collect_all(&stack, &expected).await;
    committed_to_the_end(&bootstrap, &group, &topic).await;
    assert_eq!(pipeline.breaker().state(), BreakerState::Closed);
    assert!(!pipeline.metrics().consumer_paused());
    assert_eq!(depth(&stack.clients, &stack.bridge_dlq).await, (0, 0));
    stop.send(()).unwrap();
    task.await.unwrap();
}

/// The `kafka-bridge` binary, built by `cargo build --workspace --all-targets` (which
/// `infra/local/test.sh` runs before the tests).
fn bridge_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let bin = dir.join("kafka-bridge");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --workspace --all-targets` first",
        bin.display()
    );
    bin
}

struct BridgeProcess(Child);

impl BridgeProcess {
    fn start(stack: &Stack, bootstrap: &str, topic: &str, group: &str) -> BridgeProcess {
        let endpoints = LocalEndpoints::from_env();
        let child = Command::new(bridge_binary())
            .env("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
            .env("KAFKA_TOPICS", topic)
            .env("KAFKA_GROUP_ID", group)
            .env("KAFKA_AUTH", "none")
            .env("BRIDGE_HEALTH_ADDR", "off")
            .env("SNS_TOPIC_ARN", &stack.topic_arn)
            .env("BRIDGE_DLQ_URL", &stack.bridge_dlq)
            // Slow on purpose (one PublishBatch at a time) so the kill lands mid-stream.
            .env("BRIDGE_CHUNK_RECORDS", "10")
            .env("BRIDGE_MAX_IN_FLIGHT", "1")
            .env("BRIDGE_PUBLISH_CONCURRENCY", "1")
            .env("AWS_ENDPOINT_URL_SNS", &endpoints.sns)
            .env("AWS_ENDPOINT_URL_SQS", &endpoints.sqs)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the bridge starts");
        BridgeProcess(child)
    }

    fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args(["-s", signal, &self.0.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -s {signal}");
    }
}

impl Drop for BridgeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until the group's committed offsets equal the topic's end offsets on every partition.
async fn committed_to_the_end(bootstrap: &str, group: &str, topic: &str) {
    eventually(
        "offsets committed to the end",
        Duration::from_secs(60),
        Duration::from_millis(300),
        || {
            let (committed, ends) = committed_and_end_offsets(bootstrap, group, topic);
            async move { (committed == ends).then_some(()) }
        },
    )
    .await;
}

/// Waits until the domain queues hold at least `n` messages in all.
async fn delivered_at_least(stack: &Stack, n: u64) {
    eventually(
        "some events delivered",
        Duration::from_secs(60),
        Duration::from_millis(50),
        || async { (delivered_so_far(stack).await >= n).then_some(()) },
    )
    .await;
}

async fn delivered_so_far(stack: &Stack) -> u64 {
    let mut n = 0;
    for q in stack.queues.values() {
        let (visible, in_flight) = depth(&stack.clients, q).await;
        n += visible + in_flight;
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_killed_mid_stream_loses_nothing_and_sigterm_commits() {
    // Scenario: 600 records; the bridge process is killed with SIGKILL once some are delivered
    // but not all; a restarted bridge delivers every event at least once (counted by event id).
    // Then SIGTERM: it drains, commits every offset and exits 0.
    let stack = stack("bridge-kill").await;
    let bootstrap = kafka_bootstrap();
    let topic = unique("sap.bridge.kill");
    let group = unique("bridge");
    let records: Vec<OwnedRecord> = (0..600).map(|i| samples::synthetic(i, 50).record).collect();
    produce(&bootstrap, &topic, None, &records).await;

    let first = BridgeProcess::start(&stack, &bootstrap, &topic, &group);
    delivered_at_least(&stack, 60).await;
    first.signal("KILL");
    drop(first);
    let at_kill = delivered_so_far(&stack).await;
    assert!(
        at_kill < 600,
        "the kill came mid-stream ({at_kill} delivered)"
    );

    // The restarted bridge takes the partitions back once the killed member's session
    // expires (6 s by default), not librdkafka's 45 s. The embedded Kafka adds a rebalance
    // round of the session less a second before it evicts the dead member (a real broker evicts
    // it when its session ends), so the bound here is both: 6 + 5 s, and 4 s of start, join and
    // first publish.
    let restarted = std::time::Instant::now();
    let second = BridgeProcess::start(&stack, &bootstrap, &topic, &group);
    eventually(
        "the restarted bridge delivering",
        Duration::from_secs(60),
        Duration::from_millis(50),
        || async { (delivered_so_far(&stack).await > at_kill).then_some(()) },
    )
    .await;
    let resumed = restarted.elapsed();
    eprintln!("restarted after SIGKILL: resumed in {resumed:?}");
    assert!(
        resumed < Duration::from_secs(15),
        "a restarted bridge resumes within the session and one rebalance round, took {resumed:?}"
    );
    let expected = expected_ids(&records);
    assert_eq!(
        expected.values().map(BTreeSet::len).sum::<usize>(),
        600,
        "one event per record"
    );
    // Every event at least once: collect_all waits for each id.
    collect_all(&stack, &expected).await;

    committed_to_the_end(&bootstrap, &group, &topic).await;
    second.signal("TERM");
    let mut second = second;
    let status = tokio::task::spawn_blocking(move || {
        let s = second.0.wait();
        std::mem::forget(second);
        s
    })
    .await
    .unwrap()
    .unwrap();
    assert!(status.success(), "SIGTERM exits 0: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_faults_are_survived_without_loss() {
    // Scenario: a three-broker embedded cluster of our own; while 150 records are consumed,
    // fetches and offset commits fail with retriable errors and one broker goes down and up
    // again: every event is delivered and the offsets reach the end of every partition.
    use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
    let stack = stack("bridge-faults").await;
    let topic = unique("sap.bridge.faults");
    let kafka = hub_kafka::EmbeddedKafka::start(3, &[(topic.clone(), 3)]).unwrap();
    let bootstrap = kafka.bootstrap_servers();
    let group = unique("bridge");
    let records: Vec<OwnedRecord> = (0..150).map(|i| samples::synthetic(i, 20).record).collect();
    produce(&bootstrap, &topic, None, &records[..50]).await;

    let cluster = kafka.cluster();
    cluster.request_errors(
        RDKafkaApiKey::Fetch,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION; 5],
    );
    cluster.request_errors(
        RDKafkaApiKey::OffsetCommit,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS; 3],
    );
    let (stop, task) = spawn_bridge(
        consumer_config(&bootstrap, &topic, &group),
        pipeline(&stack, None),
    );
    delivered_at_least(&stack, 10).await;
    cluster.broker_down(2).unwrap();
    // Produced while the broker is down: the producer retries until its partitions' leader is
    // back.
    let producing = tokio::spawn({
        let (bootstrap, topic, rest) = (bootstrap.clone(), topic.clone(), records[50..].to_vec());
        async move { produce(&bootstrap, &topic, None, &rest).await }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.broker_up(2).unwrap();
    producing.await.unwrap();

    let expected = expected_ids(&records);
    collect_all(&stack, &expected).await;
    committed_to_the_end(&bootstrap, &group, &topic).await;
    stop.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_member_joining_mid_stream_rebalances_without_loss() {
    // Scenario: 450 records on a three-partition topic; a second bridge joins the group
    // mid-stream (partitions are revoked from the first and assigned to the second): every
    // event is delivered at least once, both members bridged records, and the group's
    // offsets reach the end.
    let stack = stack("bridge-rebalance").await;
    let bootstrap = kafka_bootstrap();
    let topic = unique("sap.bridge.rebalance");
    let group = unique("bridge");
    let records: Vec<OwnedRecord> = (0..450).map(|i| samples::synthetic(i, 40).record).collect();
    for (p, part) in records.chunks(150).enumerate() {
        produce(&bootstrap, &topic, Some(p as i32), part).await;
    }
    let mut first_config = consumer_config(&bootstrap, &topic, &group);
    first_config.max_in_flight = 1;
    first_config.chunk_records = 10;
    let (stop_a, a) = spawn_bridge(first_config.clone(), pipeline(&stack, None));
    delivered_at_least(&stack, 20).await;
    let (stop_b, b) = spawn_bridge(first_config, pipeline(&stack, None));

    let expected = expected_ids(&records);
    assert_eq!(
        expected.values().map(BTreeSet::len).sum::<usize>(),
        450,
        "one event per record: every event delivered is every record bridged"
    );
    collect_all(&stack, &expected).await;
    committed_to_the_end(&bootstrap, &group, &topic).await;
    stop_a.send(()).unwrap();
    stop_b.send(()).unwrap();
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert!(
        a.received > 0 && b.received > 0,
        "both members bridged: {a:?} {b:?}"
    );
}
