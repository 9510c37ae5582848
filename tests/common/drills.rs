//! The reliability drills (docs/reliability.md): each runs the hub as it runs in production,
//! as separate processes (`hubctl run --only bridge`, `hubctl run --only domains`), on a Kafka
//! of its own (the librdkafka mock cluster, whose fault injection it drives) and on the AWS
//! stand-ins behind fault proxies. Each counts every change it produced, before, during and
//! after its fault, with `hubctl reconcile` as the oracle.
//!
//! `infra/local/drills.sh` runs them at full size (the `hub-drills` binary); `cargo test` runs
//! small versions (tests/drills.rs and tests/e2e.rs).

use crate::fault::{self, Fault, Proxy};
use crate::{MainJob, clients, depth, repo_root, unique, workspace_binary};
use hub_aws::AwsClients;
use hub_kafka::EmbeddedKafka;
use hub_sap::{Limits, Outcome, OwnedRecord, parse_record};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureProducer;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Brokers of a drill's Kafka.
pub const BROKERS: i32 = 1;
/// Partitions of each SAP topic: six, so the full poison drill's 20,000 records stay within
/// the 5 MiB a partition the embedded Kafka keeps (it drops the oldest beyond that).
pub const PARTITIONS: i32 = 6;

/// A drill's world: its own Kafka, the stand-ins behind proxies, direct clients.
pub struct Rig {
    /// The drill's Kafka (the mock cluster, faults injected into it).
    pub kafka: EmbeddedKafka,
    /// Direct clients of the stand-ins (for the drill's own reads).
    pub clients: AwsClients,
    /// The proxies the hub's processes reach the stand-ins through.
    pub sns: Proxy,
    /// SQS.
    pub sqs: Proxy,
    /// DynamoDB.
    pub dynamodb: Proxy,
    /// S3.
    pub s3: Proxy,
    kafka_fault: std::sync::Mutex<Fault>,
}

/// A service a drill can take down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Kafka (the mock cluster's fault injection).
    Kafka,
    /// SNS (proxy).
    Sns,
    /// SQS (proxy).
    Sqs,
    /// DynamoDB (proxy).
    DynamoDb,
    /// S3 (proxy).
    S3,
}

impl Service {
    /// Every service, in the order the outage drill takes them down.
    pub const ALL: [Service; 5] = [
        Service::Kafka,
        Service::Sns,
        Service::Sqs,
        Service::DynamoDb,
        Service::S3,
    ];

    /// Its name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Kafka => "Kafka",
            Service::Sns => "SNS",
            Service::Sqs => "SQS",
            Service::DynamoDb => "DynamoDB",
            Service::S3 => "S3",
        }
    }
}

impl Rig {
    /// A Kafka of its own and a proxy in front of each stand-in.
    pub async fn start() -> Rig {
        let kafka = EmbeddedKafka::start(BROKERS, &[]).expect("the mock cluster starts");
        let endpoints = hub_aws::clients::LocalEndpoints::from_env();
        let host = |url: &str| url.trim_start_matches("http://").to_string();
        Rig {
            kafka,
            clients: clients().await,
            sns: Proxy::start(&host(&endpoints.sns)).await,
            sqs: Proxy::start(&host(&endpoints.sqs)).await,
            dynamodb: Proxy::start(&host(&endpoints.dynamodb)).await,
            s3: Proxy::start(&host(&endpoints.s3)).await,
            kafka_fault: std::sync::Mutex::new(Fault::None),
        }
    }

    /// The drill Kafka's bootstrap address.
    pub fn bootstrap(&self) -> String {
        self.kafka.bootstrap_servers()
    }

    /// The environment of the hub's processes: this Kafka, the stand-ins through the proxies.
    pub fn proxied_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("KAFKA_BOOTSTRAP_SERVERS", self.bootstrap()),
            ("AWS_ENDPOINT_URL_SNS", self.sns.endpoint.clone()),
            ("AWS_ENDPOINT_URL_SQS", self.sqs.endpoint.clone()),
            ("AWS_ENDPOINT_URL_DYNAMODB", self.dynamodb.endpoint.clone()),
            ("AWS_ENDPOINT_URL_S3", self.s3.endpoint.clone()),
        ]
    }

    /// Sets a fault on a service (`Fault::None` restores it). `hang` is how long a Kafka hang
    /// holds its answers.
    pub fn set(&self, service: Service, fault: Fault, hang: Duration) {
        match service {
            Service::Kafka => {
                let mut previous = self.kafka_fault.lock().unwrap();
                fault::kafka::set(self.kafka.cluster(), BROKERS, *previous, fault, hang);
                *previous = fault;
            }
            Service::Sns => self.sns.set(fault),
            Service::Sqs => self.sqs.set(fault),
            Service::DynamoDb => self.dynamodb.set(fault),
            Service::S3 => self.s3.set(fault),
        }
    }
}

/// One stack of the hub on the rig: its topics, its processes' arguments, a producer.
pub struct Chain {
    /// Stack name.
    pub stack: String,
    /// `hubctl run` arguments (stack, topics, group prefix, parameters).
    pub args: Vec<String>,
    /// SAP topic name → this chain's Kafka topic.
    pub topics: BTreeMap<&'static str, String>,
    producer: FutureProducer,
    deliveries: Vec<rdkafka::producer::DeliveryFuture>,
    /// Every record produced, in order (SAP topic, record).
    pub produced: Vec<(&'static str, OwnedRecord)>,
    bootstrap: String,
}

impl Chain {
    /// A new stack named `name-<random>` on the rig, with template parameter overrides
    /// `extra` (`Name=value`). Its topics are created with [`PARTITIONS`] partitions.
    pub fn new(rig: &Rig, name: &str, extra: &[&str]) -> Chain {
        let stack = unique(name);
        let topics: BTreeMap<&'static str, String> = hub_model::object::sap_topics()
            .map(|t| (t.name, format!("{stack}.{}", t.name)))
            .collect();
        for t in topics.values() {
            rig.kafka
                .create_topic(t, PARTITIONS)
                .expect("the mock cluster creates the topic");
        }
        let mut args: Vec<String> = vec![
            "--status-interval".into(),
            "1".into(),
            "--stack-name".into(),
            stack.clone(),
            "--parameter".into(),
            format!("KafkaConsumerGroupPrefix={stack}"),
            // Redelivery after a failed or interrupted batch waits the visibility timeout:
            // keep it short (at least the function timeout, 30 s).
            "--parameter".into(),
            "DomainQueueVisibilityTimeout=30".into(),
        ];
        for t in hub_model::object::sap_topics() {
            args.extend([
                "--parameter".into(),
                format!("{}={}", t.parameter, topics[t.name]),
            ]);
        }
        for p in extra {
            args.extend(["--parameter".into(), p.to_string()]);
        }
        let producer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", rig.bootstrap())
            .set("message.max.bytes", "20000000")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "600000")
            .create()
            .expect("producer");
        Chain {
            stack,
            args,
            topics,
            producer,
            deliveries: Vec::new(),
            produced: Vec::new(),
            bootstrap: rig.bootstrap(),
        }
    }

    /// Starts one part of the hub (`bridge` or `domains`) on this chain, with `env`.
    pub fn start(&self, part: &str, env: &[(&str, String)]) -> MainJob {
        let mut args = self.args.clone();
        args.extend(["--only".into(), part.into()]);
        let mut env = env.to_vec();
        if !env.iter().any(|(k, _)| *k == "KAFKA_BOOTSTRAP_SERVERS") {
            env.push(("KAFKA_BOOTSTRAP_SERVERS", self.bootstrap.clone()));
        }
        MainJob::start(&args, &env)
    }

    /// [`Chain::start`], then waits until the process says it runs (the stack provisioned).
    pub async fn start_ready(&self, part: &str, env: &[(&str, String)]) -> MainJob {
        let job = self.start(part, env);
        crate::eventually(
            "the hub process to run",
            Duration::from_secs(120),
            Duration::from_millis(100),
            || {
                let up = job.printed(|l| l.starts_with("Hub running"));
                async move { up.then_some(()) }
            },
        )
        .await;
        job
    }

    /// Enqueues `records` for producing (in order per topic), without waiting for Kafka's
    /// acknowledgements; [`Chain::flush`] waits for them.
    pub fn produce(&mut self, records: Vec<(&'static str, OwnedRecord)>) {
        use rdkafka::message::{Header, OwnedHeaders};
        use rdkafka::producer::FutureRecord;
        for (topic, r) in records {
            let mut headers = OwnedHeaders::new();
            for (k, v) in &r.headers {
                headers = headers.insert(Header {
                    key: k,
                    value: Some(v),
                });
            }
            let mut rec = FutureRecord::to(&self.topics[topic])
                .payload(&r.value)
                .headers(headers);
            if let Some(k) = &r.key {
                rec = rec.key(k);
            }
            let mut rec = rec;
            loop {
                match self.producer.send_result(rec) {
                    Ok(delivery) => {
                        self.deliveries.push(delivery);
                        break;
                    }
                    // The local queue is full: let it drain.
                    Err((_, back)) => {
                        rec = back;
                        self.producer.poll(Duration::from_millis(50));
                    }
                }
            }
            self.produced.push((topic, r));
        }
    }

    /// Waits until Kafka acknowledged every record produced; panics on a failed delivery.
    pub async fn flush(&mut self) {
        for d in std::mem::take(&mut self.deliveries) {
            d.await
                .expect("the delivery future completes")
                .expect("Kafka acknowledges the record");
        }
    }

    /// The Kafka topics of this chain.
    pub fn kafka_topics(&self) -> Vec<String> {
        self.topics.values().cloned().collect()
    }

    /// The URL of this chain's queue `suffix` (`bridge-dlq`, `customers-dlq`…).
    pub async fn queue(&self, clients: &AwsClients, suffix: &str) -> String {
        crate::stack_queue(clients, &self.stack, suffix).await
    }

    /// The domain queues and DLQs of the stack.
    pub async fn domain_queues(&self, clients: &AwsClients) -> (Vec<String>, Vec<String>) {
        let mut queues = Vec::new();
        let mut dlqs = Vec::new();
        for d in ["customers", "materials", "sales-orders", "suppliers"] {
            queues.push(self.queue(clients, d).await);
            dlqs.push(self.queue(clients, &format!("{d}-dlq")).await);
        }
        (queues, dlqs)
    }

    /// Subscribes an audit queue of its own to the stack's change topic (raw delivery, no
    /// filter), as a domain team can: it receives every message the bridge publishes, so
    /// duplicates can be counted.
    pub async fn audit_queue(&self, clients: &AwsClients) -> String {
        let url = clients
            .sqs
            .create_queue()
            .queue_name(format!("{}-audit", self.stack))
            .send()
            .await
            .expect("CreateQueue audit")
            .queue_url
            .expect("url");
        let arn = crate::queue_arn(clients, &url).await;
        let topic = format!(
            "arn:aws:sns:{}:123456789012:{}-changes",
            clients.region(),
            self.stack
        );
        clients
            .sns
            .subscribe()
            .topic_arn(topic)
            .protocol("sqs")
            .endpoint(arn)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .expect("Subscribe audit");
        url
    }

    /// The changes among the records produced (what the parser makes of them).
    pub fn changes(&self) -> u64 {
        count_changes(&self.produced)
    }

    /// `hubctl reconcile --json` over every topic of the chain (direct endpoints).
    pub fn reconcile(&self) -> (Option<i32>, Value) {
        reconcile(&self.stack, &self.kafka_topics(), Some(&self.bootstrap))
    }
}

/// `hubctl reconcile --json` of stack `stack` over Kafka `topics` (on `bootstrap`, else the
/// local stack's Kafka): its exit status and report.
pub fn reconcile(stack: &str, topics: &[String], bootstrap: Option<&str>) -> (Option<i32>, Value) {
    let mut cmd = std::process::Command::new(workspace_binary("hubctl"));
    cmd.args(["reconcile", "--json", "--stack-name", stack, "--topics"])
        .arg(topics.join(","))
        .current_dir(repo_root());
    if let Some(b) = bootstrap {
        cmd.env("KAFKA_BOOTSTRAP_SERVERS", b);
    }
    let out = cmd.output().expect("hubctl runs");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "reconcile printed no report ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), report)
}

/// How many canonical changes `records` hold.
pub fn count_changes(records: &[(&'static str, OwnedRecord)]) -> u64 {
    records
        .iter()
        .map(|(topic, r)| {
            parse_record(&r.envelope(Some(topic), None, None), &Limits::default())
                .map(|o| o.iter().filter(|o| matches!(o, Outcome::Change(_))).count() as u64)
                .unwrap_or(0)
        })
        .sum()
}

/// Record `i` of the drills' load: the whole fixture mix over four topics (IDocs of MATMAS,
/// DEBMAS and ORDERS, S/4 CloudEvents structured and binary), `keys` keys per entity so a key
/// gets several versions, in the order SAP sends them; an order of over 256 KiB, which
/// travels by claim check through S3, one in a hundred of the first thousand records and one in
/// a thousand after (so a long drill stays within the 5 MiB a partition the embedded Kafka
/// keeps: it drops a partition's oldest records beyond that).
pub fn load(i: u64, keys: u64) -> (&'static str, OwnedRecord) {
    if (i < 1_000 && i % 100 == 99) || (i >= 1_000 && i % 1_000 == 999) {
        // The n-th large order, on key n mod 10 (all ten keys before any repeats).
        let n = if i < 1_000 { i / 100 } else { 9 + i / 1_000 };
        let text = hub_sap::samples::large_order(300 * 1024)
            .replace(
                "<DOCNUM>0000000004711250</DOCNUM>",
                &format!("<DOCNUM>{:016}</DOCNUM>", 7_000_000_000 + i),
            )
            .replace(
                "<BELNR>0000045001</BELNR>",
                &format!("<BELNR>{:010}</BELNR>", 900_000 + n % 10),
            );
        return (
            "sap.idoc.orders",
            OwnedRecord {
                key: Some(format!("L{}", n % 10).into_bytes()),
                value: text.into_bytes(),
                ..OwnedRecord::default()
            },
        );
    }
    let s = hub_sap::samples::mixed(i, keys);
    (s.topic, s.record)
}

/// A steady load: [`load`]'s records, `rate` a second, produced a fifth of a second's worth at
/// a time.
pub struct Steady {
    /// The next record's index (so, records produced so far).
    pub next: u64,
    per_tick: u64,
    keys: u64,
}

impl Steady {
    /// The time between two ticks.
    pub const TICK: Duration = Duration::from_millis(200);

    /// `rate` records a second over `keys` keys per entity.
    pub fn new(rate: u64, keys: u64) -> Steady {
        Steady {
            next: 0,
            per_tick: (rate / 5).max(1),
            keys,
        }
    }

    /// Produces one tick's records.
    pub fn tick(&mut self, chain: &mut Chain) {
        chain.produce(loads(self.next, self.next + self.per_tick, self.keys));
        self.next += self.per_tick;
    }

    /// Produces for `d`, a tick at a time.
    pub async fn run_for(&mut self, chain: &mut Chain, d: Duration) {
        let start = Instant::now();
        while start.elapsed() < d {
            self.tick(chain);
            tokio::time::sleep(Self::TICK).await;
        }
    }
}

/// Records `from..to` of [`load`].
pub fn loads(from: u64, to: u64, keys: u64) -> Vec<(&'static str, OwnedRecord)> {
    (from..to).map(|i| load(i, keys)).collect()
}

/// A consumer-group watcher: the group's committed offsets and the topics' end offsets, read
/// by one client that never joins the group.
pub struct Offsets {
    // Never joins the group and is never closed: the mock cluster can stall a close after an
    // offset fetch (one client per drill, freed with the process).
    consumer: std::mem::ManuallyDrop<BaseConsumer>,
    topics: Vec<String>,
    partitions: i32,
}

impl Offsets {
    /// Watches `group` on `topics` of `bootstrap`.
    pub fn new(bootstrap: &str, group: &str, topics: Vec<String>) -> Offsets {
        let consumer: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", group)
            .create()
            .expect("consumer");
        Offsets {
            consumer: std::mem::ManuallyDrop::new(consumer),
            topics,
            partitions: PARTITIONS,
        }
    }

    fn tpl(&self) -> rdkafka::TopicPartitionList {
        let mut tpl = rdkafka::TopicPartitionList::new();
        for t in &self.topics {
            for p in 0..self.partitions {
                tpl.add_partition(t, p);
            }
        }
        tpl
    }

    /// The committed offset of each partition (0 when none), or `None` when Kafka does not
    /// answer now.
    pub fn committed(&self) -> Option<BTreeMap<(String, i32), i64>> {
        let c = self
            .consumer
            .committed_offsets(self.tpl(), Duration::from_secs(5))
            .ok()?;
        Some(
            c.elements()
                .iter()
                .map(|e| {
                    let o = match e.offset() {
                        rdkafka::Offset::Offset(o) => o,
                        _ => 0,
                    };
                    ((e.topic().to_string(), e.partition()), o)
                })
                .collect(),
        )
    }

    /// The end offset of each partition, or `None` when Kafka does not answer now.
    pub fn ends(&self) -> Option<BTreeMap<(String, i32), i64>> {
        let mut out = BTreeMap::new();
        for t in &self.topics {
            for p in 0..self.partitions {
                let (_, high) = self
                    .consumer
                    .fetch_watermarks(t, p, Duration::from_secs(5))
                    .ok()?;
                out.insert((t.clone(), p), high);
            }
        }
        Some(out)
    }

    /// The end offsets, waiting for Kafka to answer (it may be recovering from a fault).
    pub async fn ends_eventually(&self) -> BTreeMap<(String, i32), i64> {
        loop {
            if let Some(e) = self.ends() {
                return e;
            }
            tokio::time::sleep(Steady::TICK).await;
        }
    }

    /// Whether every partition's committed offset reached `target`'s now.
    pub fn caught_up(&self, target: &BTreeMap<(String, i32), i64>) -> bool {
        self.committed().is_some_and(|c| covers(&c, target))
    }

    /// Polls until every partition's committed offset reached `target`'s (or `timeout`
    /// passes); the time it took.
    pub async fn reached(
        &self,
        target: &BTreeMap<(String, i32), i64>,
        timeout: Duration,
    ) -> Option<Duration> {
        self.reached_while(target, timeout, || {}).await
    }

    /// [`Offsets::reached`], calling `each` before every poll (a steady load goes on).
    pub async fn reached_while(
        &self,
        target: &BTreeMap<(String, i32), i64>,
        timeout: Duration,
        mut each: impl FnMut(),
    ) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            each();
            if self.caught_up(target) {
                return Some(start.elapsed());
            }
            tokio::time::sleep(Steady::TICK).await;
        }
        None
    }
}

/// Whether `committed` offsets reach `target`'s on every partition of `target`.
fn covers(committed: &BTreeMap<(String, i32), i64>, target: &BTreeMap<(String, i32), i64>) -> bool {
    target
        .iter()
        .all(|(k, end)| committed.get(k).copied().unwrap_or(0) >= *end)
}

/// The consumer group a bridge process printed it joins.
pub async fn bridge_group(job: &MainJob) -> String {
    crate::eventually(
        "the bridge's consumer group",
        Duration::from_secs(60),
        Duration::from_millis(100),
        || {
            let g = job.lines().iter().find_map(|l| {
                l.split(" as consumer group ")
                    .nth(1)
                    .map(|g| g.trim_end_matches('.').to_string())
            });
            async move { g }
        },
    )
    .await
}

/// Waits until the domain queues are empty (nothing visible, nothing in flight), at most
/// `timeout`; whether they were.
pub async fn domains_drained(clients: &AwsClients, queues: &[String], timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        let mut empty = true;
        for q in queues {
            if depth(clients, q).await != (0, 0) {
                empty = false;
                break;
            }
        }
        if empty {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    false
}

/// Messages in each queue (visible and in flight).
pub async fn queue_counts(clients: &AwsClients, queues: &[String]) -> u64 {
    let mut n = 0;
    for q in queues {
        let (v, f) = depth(clients, q).await;
        n += v + f;
    }
    n
}

/// Receives and deletes everything in a queue until three receives in a row find nothing,
/// handing each message to `each`.
pub async fn drain_all(
    clients: &AwsClients,
    url: &str,
    mut each: impl FnMut(&aws_sdk_sqs::types::Message),
) {
    let mut empty_polls = 0;
    while empty_polls < 3 {
        let batch = crate::receive(clients, url).await;
        if batch.is_empty() {
            empty_polls += 1;
            continue;
        }
        empty_polls = 0;
        let mut entries = Vec::new();
        for (i, m) in batch.iter().enumerate() {
            each(m);
            if let Some(h) = m.receipt_handle() {
                entries.push(
                    aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(h)
                        .build()
                        .expect("id and handle given"),
                );
            }
        }
        clients
            .sqs
            .delete_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .expect("DeleteMessageBatch");
    }
}

/// Drains the audit queue: (messages, distinct events).
pub async fn audit(clients: &AwsClients, url: &str) -> (u64, u64) {
    let mut messages = 0u64;
    let mut ids = BTreeSet::new();
    drain_all(clients, url, |m| {
        messages += 1;
        let body = m.body().unwrap_or_default();
        let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let id = v["event_id"]
            .as_str()
            .map(str::to_string)
            .or_else(|| v["claim_check"]["uri"].as_str().map(str::to_string))
            .unwrap_or_else(|| body.to_string());
        ids.insert(id);
    })
    .await;
    (messages, ids.len() as u64)
}

/// A drill's result: a row of the summary table, and its JSON.
#[derive(Debug, Clone)]
pub struct Report {
    /// Drill name.
    pub drill: String,
    /// What load it ran.
    pub load: String,
    /// What fault it injected.
    pub fault: String,
    /// The reconcile report's totals (changes, applied, missing, stale, dead-lettered, in
    /// flight).
    pub reconcile: Value,
    /// Reconcile's exit status.
    pub reconcile_exit: Option<i32>,
    /// Messages the bridge published more than once (None when not counted).
    pub duplicates: Option<u64>,
    /// Messages in the domain DLQs and the bridge DLQ at the end.
    pub dead_letters: BTreeMap<String, u64>,
    /// Recovery times, by what they measure, in seconds.
    pub recovery: BTreeMap<String, Vec<f64>>,
    /// Other figures.
    pub figures: Value,
    /// What failed (empty when the drill holds).
    pub failures: Vec<String>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl Report {
    fn new(drill: &str, load: String, fault: String) -> Report {
        Report {
            drill: drill.into(),
            load,
            fault,
            reconcile: Value::Null,
            reconcile_exit: None,
            duplicates: None,
            dead_letters: BTreeMap::new(),
            recovery: BTreeMap::new(),
            figures: json!({}),
            failures: Vec::new(),
            seconds: 0.0,
        }
    }

    /// Whether the drill held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    fn total(&self, field: &str) -> u64 {
        self.reconcile["total"][field].as_u64().unwrap_or(0)
    }

    /// Its JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "drill": self.drill,
            "load": self.load,
            "fault": self.fault,
            "passed": self.passed(),
            "failures": self.failures,
            "changes": self.total("changes"),
            "applied": self.total("applied"),
            "missing": self.total("missing"),
            "stale": self.total("stale"),
            "dead_lettered": self.total("dead_lettered"),
            "in_flight": self.total("in_flight"),
            "reconcile_exit": self.reconcile_exit,
            "duplicates": self.duplicates,
            "dead_letters": self.dead_letters,
            "recovery_seconds": self.recovery,
            "figures": self.figures,
            "seconds": (self.seconds * 10.0).round() / 10.0,
            "reconcile": self.reconcile,
        })
    }

    /// A Markdown table of reports.
    pub fn table(reports: &[Report]) -> String {
        let mut out = String::from(
            "| drill | load | fault | changes | applied | missing | stale | DLQ | duplicates | recovery | result |\n|---|---|---|---:|---:|---:|---:|---:|---:|---|---|\n",
        );
        for r in reports {
            let dlq: u64 = r.dead_letters.values().sum();
            let recovery: Vec<String> = r
                .recovery
                .iter()
                .map(|(what, v)| {
                    let mut s = v.clone();
                    s.sort_by(f64::total_cmp);
                    if s.len() == 1 {
                        format!("{what} {:.1} s", s[0])
                    } else if s.is_empty() {
                        format!("{what} —")
                    } else {
                        let n = s.len();
                        let median = if n % 2 == 1 {
                            s[n / 2]
                        } else {
                            (s[n / 2 - 1] + s[n / 2]) / 2.0
                        };
                        format!("{what} median {median:.1} s, max {:.1} s (n={n})", s[n - 1])
                    }
                })
                .collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                r.drill,
                r.load,
                r.fault,
                r.total("changes"),
                r.total("applied"),
                r.total("missing"),
                r.total("stale"),
                dlq,
                r.duplicates.map_or("—".into(), |d| d.to_string()),
                if recovery.is_empty() {
                    "—".into()
                } else {
                    recovery.join("; ")
                },
                if r.passed() {
                    "holds".to_string()
                } else {
                    format!("FAILS: {}", r.failures.join("; "))
                }
            ));
        }
        out
    }

    /// Checks the end state every drill wants: every change produced accounted for by
    /// reconcile and applied (none missing, stale, dead-lettered or in flight), and `dlqs`
    /// (name → URL) empty.
    async fn settle(
        &mut self,
        chain: &Chain,
        clients: &AwsClients,
        dlqs: &[(String, String)],
        unparsed: u64,
    ) {
        let (code, report) = chain.reconcile();
        let changes = chain.changes();
        self.reconcile_exit = code;
        self.reconcile = report;
        let trimmed: i64 = self.reconcile["input"]["kafka"]["trimmed"]
            .as_array()
            .map(|t| t.iter().filter_map(|p| p["records"].as_i64()).sum())
            .unwrap_or(0);
        if trimmed > 0 {
            // The oracle could not read them: the load outgrew what the embedded Kafka keeps
            // (5 MiB a partition), not a loss by the hub. Said as such, and still a failure.
            self.failures.push(format!(
                "Kafka's retention removed {trimmed} records before reconcile read them (the \
                 embedded Kafka keeps 5 MiB a partition): the load is too large to judge"
            ));
        }
        if self.total("changes") != changes + unparsed {
            self.failures.push(format!(
                "reconcile counted {} changes, {} were produced",
                self.total("changes"),
                changes + unparsed
            ));
        }
        if self.total("applied") != changes {
            self.failures.push(format!(
                "{} of {changes} changes applied",
                self.total("applied")
            ));
        }
        for status in ["missing", "stale", "in_flight"] {
            if self.total(status) != 0 {
                self.failures
                    .push(format!("{} {status}", self.total(status)));
            }
        }
        if self.total("dead_lettered") != unparsed {
            self.failures.push(format!(
                "{} dead-lettered, {unparsed} expected",
                self.total("dead_lettered")
            ));
        }
        if code != Some(0) {
            self.failures
                .push(format!("reconcile exited with {code:?}"));
        }
        for (name, url) in dlqs {
            let n = queue_counts(clients, std::slice::from_ref(url)).await;
            self.dead_letters.insert(name.clone(), n);
            if n > 0 && name != "bridge-dlq" {
                // Why: the error context the function gave, or none when SQS's redrive policy
                // moved the message after maxReceiveCount receives. The drill is over, so
                // receiving them (hidden, not deleted) changes nothing judged.
                let why: Vec<String> = crate::receive(clients, url)
                    .await
                    .iter()
                    .map(|m| {
                        let attr = |k: &str| {
                            m.message_attributes()
                                .and_then(|a| a.get(k))
                                .and_then(|v| v.string_value())
                                .map(str::to_string)
                        };
                        match attr("error_class") {
                            Some(class) => format!(
                                "{class}: {}",
                                attr("error_message").unwrap_or_default()
                            ),
                            None => format!(
                                "moved by the redrive policy after {} receives",
                                m.attributes()
                                    .and_then(|a| a.get(
                                        &aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount
                                    ))
                                    .map(String::as_str)
                                    .unwrap_or("?")
                            ),
                        }
                    })
                    .collect();
                self.figures["dead_letter_errors"][name] = json!(why);
            }
        }
    }
}

async fn all_dlqs(chain: &Chain, clients: &AwsClients) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for d in [
        "bridge-dlq",
        "customers-dlq",
        "materials-dlq",
        "sales-orders-dlq",
        "suppliers-dlq",
    ] {
        out.push((d.to_string(), chain.queue(clients, d).await));
    }
    out
}

fn empty_dlqs(report: &mut Report) {
    let full: Vec<String> = report
        .dead_letters
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(d, n)| format!("{n} in {d}"))
        .collect();
    if !full.is_empty() {
        let why = &report.figures["dead_letter_errors"];
        report.failures.push(format!(
            "dead letters: {}{}",
            full.join(", "),
            if why.is_null() {
                String::new()
            } else {
                format!(" ({why})")
            }
        ));
    }
}

/// Waits for the bridge to have committed everything produced, then for the domain queues to
/// drain.
async fn quiesce(
    report: &mut Report,
    rig: &Rig,
    chain: &mut Chain,
    group: &str,
    timeout: Duration,
) {
    chain.flush().await;
    let offsets = Offsets::new(&rig.bootstrap(), group, chain.kafka_topics());
    let ends = offsets.ends().expect("Kafka answers");
    if offsets.reached(&ends, timeout).await.is_none() {
        report
            .failures
            .push(format!("the bridge did not catch up within {timeout:?}"));
    }
    let (queues, _) = chain.domain_queues(&rig.clients).await;
    if !domains_drained(&rig.clients, &queues, timeout).await {
        report.failures.push(format!(
            "the domain queues did not drain within {timeout:?}"
        ));
    }
}

/// The end of a drill without poison: quiesce, reconcile, and every DLQ empty.
async fn finish(report: &mut Report, rig: &Rig, chain: &mut Chain, group: &str) {
    quiesce(report, rig, chain, group, Duration::from_secs(300)).await;
    let dlqs = all_dlqs(chain, &rig.clients).await;
    report.settle(chain, &rig.clients, &dlqs, 0).await;
    empty_dlqs(report);
}

fn random_ms(max: u64) -> Duration {
    Duration::from_millis(fastrand::u64(0..=max))
}

/// The bridge crash drill: `records` records in `kills` bursts; during each burst the bridge
/// process is killed with SIGKILL at a random point and restarted. Holds when every change is
/// applied; reports each restart's time to resume (from the restart until it committed what
/// was produced before the kill) and the duplicates the kills caused.
pub async fn bridge_crash(rig: &Rig, records: u64, kills: u32, keys: u64) -> Report {
    let started = Instant::now();
    let mut report = Report::new(
        "bridge crash",
        format!("{records} records, 4 topics, {keys} keys/entity"),
        format!("kill -9 of the bridge ×{kills}"),
    );
    let mut chain = Chain::new(rig, "drill-bcrash", &[]);
    let env = [("KAFKA_BOOTSTRAP_SERVERS", rig.bootstrap())];
    let domains = chain.start_ready("domains", &env).await;
    let mut bridge = chain.start_ready("bridge", &env).await;
    let group = bridge_group(&bridge).await;
    let audit_url = chain.audit_queue(&rig.clients).await;
    let offsets = Offsets::new(&rig.bootstrap(), &group, chain.kafka_topics());
    let burst = records / u64::from(kills.max(1));
    let mut resumes = Vec::new();
    let mut startups = Vec::new();
    for k in 0..u64::from(kills) {
        let to = if k + 1 == u64::from(kills) {
            records
        } else {
            (k + 1) * burst
        };
        chain.produce(loads(k * burst, to, keys));
        // A random point while the burst is being consumed, published and committed.
        tokio::time::sleep(random_ms(1_500)).await;
        bridge.kill9();
        chain.flush().await;
        let ends = offsets.ends().expect("Kafka answers");
        bridge = chain.start("bridge", &env);
        let restarted = Instant::now();
        let resumed = offsets
            .reached(&ends, Duration::from_secs(90))
            .await
            .map(|_| restarted.elapsed().as_secs_f64());
        // When the process printed it was up (timed as the line was read, not as polled).
        let running = bridge
            .printed_at(|l| l.starts_with("Hub running"))
            .map(|t| (t - restarted).as_secs_f64());
        match resumed {
            Some(t) => resumes.push(t),
            None => report
                .failures
                .push(format!("restart {k} did not resume within 90 s")),
        }
        startups.extend(running);
    }
    report.recovery.insert("restart→resumed".into(), resumes);
    report
        .recovery
        .insert("restart→process up".into(), startups);
    finish(&mut report, rig, &mut chain, &group).await;
    let (messages, distinct) = audit(&rig.clients, &audit_url).await;
    report.duplicates = Some(messages - distinct);
    report.figures = json!({"published_messages": messages, "distinct_events": distinct});
    if distinct != chain.changes() {
        report.failures.push(format!(
            "{distinct} distinct events published, {} changes produced",
            chain.changes()
        ));
    }
    drop(domains);
    drop(bridge);
    report.seconds = started.elapsed().as_secs_f64();
    report
}

/// The domain crash drill: the same load in `kills` bursts; during each, the process running
/// the domain queues' event source mappings is killed with SIGKILL at a random point and
/// restarted. Holds when every change is applied and no message reached a domain DLQ.
pub async fn domain_crash(rig: &Rig, records: u64, kills: u32, keys: u64) -> Report {
    let started = Instant::now();
    let mut report = Report::new(
        "domain crash",
        format!("{records} records, 4 topics, {keys} keys/entity"),
        format!("kill -9 of the domain mappings' process ×{kills}"),
    );
    let mut chain = Chain::new(rig, "drill-dcrash", &[]);
    let env = [("KAFKA_BOOTSTRAP_SERVERS", rig.bootstrap())];
    let bridge = chain.start_ready("bridge", &env).await;
    let group = bridge_group(&bridge).await;
    let mut domains = chain.start_ready("domains", &env).await;
    let (queues, _) = chain.domain_queues(&rig.clients).await;
    let burst = records / u64::from(kills.max(1));
    let mut killed_with = Vec::new();
    for k in 0..u64::from(kills) {
        let to = if k + 1 == u64::from(kills) {
            records
        } else {
            (k + 1) * burst
        };
        chain.produce(loads(k * burst, to, keys));
        // Wait until the burst reaches the domain queues, then kill at a random point while
        // their batches are being applied.
        let start = Instant::now();
        while queue_counts(&rig.clients, &queues).await == 0
            && start.elapsed() < Duration::from_secs(30)
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(random_ms(1_500)).await;
        killed_with.push(queue_counts(&rig.clients, &queues).await);
        domains.kill9();
        domains = chain.start("domains", &env);
    }
    report.figures = json!({"messages_in_domain_queues_at_each_kill": killed_with});
    finish(&mut report, rig, &mut chain, &group).await;
    drop(domains);
    drop(bridge);
    report.seconds = started.elapsed().as_secs_f64();
    report
}

/// Counts the breaker's transitions a bridge process printed so far.
fn breaker_transitions(job: &MainJob) -> u64 {
    job.lines()
        .iter()
        .filter_map(|l| {
            l.split("(transitions ")
                .nth(1)
                .and_then(|t| t.trim_end_matches(')').parse::<u64>().ok())
        })
        .max()
        .unwrap_or(0)
}

/// Every service in every form of outage, in turn.
pub fn full_plan() -> Vec<(Service, Fault)> {
    Service::ALL
        .iter()
        .flat_map(|s| Fault::FORMS.iter().map(move |f| (*s, *f)))
        .collect()
}

fn plan_text(plan: &[(Service, Fault)]) -> String {
    let mut by_service: Vec<(Service, Vec<&str>)> = Vec::new();
    for (s, f) in plan {
        match by_service.iter_mut().find(|(x, _)| x == s) {
            Some((_, forms)) => forms.push(f.as_str()),
            None => by_service.push((*s, vec![f.as_str()])),
        }
    }
    by_service
        .iter()
        .map(|(s, f)| format!("{} ({})", s.as_str(), f.join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The outage drill: a steady load of `rate` records per second while each service of `plan`
/// is taken down for `outage` in the form the plan gives, in turn. Holds when nothing is dead-lettered and
/// every change is applied; reports, per outage, the bridge's breaker transitions and the time
/// from the end of the outage until the bridge committed what was produced before it ended.
pub async fn outages(
    rig: &Rig,
    plan: &[(Service, Fault)],
    outage: Duration,
    rate: u64,
    keys: u64,
) -> Report {
    let started = Instant::now();
    let mut report = Report::new(
        "outages",
        format!("steady {rate} records/s, {keys} keys/entity"),
        format!("{} s outage of each: {}", outage.as_secs(), plan_text(plan)),
    );
    let mut chain = Chain::new(rig, "drill-outage", &[]);
    let env = rig.proxied_env();
    let env: Vec<(&str, String)> = env.iter().map(|(k, v)| (*k, v.clone())).collect();
    let domains = chain.start_ready("domains", &env).await;
    let bridge = chain.start_ready("bridge", &env).await;
    let group = bridge_group(&bridge).await;
    let offsets = Offsets::new(&rig.bootstrap(), &group, chain.kafka_topics());
    let mut steady = Steady::new(rate, keys);
    let mut rows = Vec::new();
    for (service, form) in plan {
        {
            let before = breaker_transitions(&bridge);
            rig.set(*service, *form, outage);
            steady.run_for(&mut chain, outage).await;
            rig.set(*service, Fault::None, outage);
            // What was produced before the outage ended, committed by the bridge: Kafka's
            // own answer is needed, so this waits for it too.
            let ends = offsets.ends_eventually().await;
            let recovered = offsets
                .reached_while(&ends, Duration::from_secs(180), || steady.tick(&mut chain))
                .await
                .map(|t| t.as_secs_f64());
            let transitions = breaker_transitions(&bridge) - before;
            let name = format!("{} {}", service.as_str(), form.as_str());
            match recovered {
                Some(t) => report
                    .recovery
                    .entry("outage end→bridge caught up".into())
                    .or_default()
                    .push(t),
                None => report
                    .failures
                    .push(format!("{name}: the bridge did not catch up within 180 s")),
            }
            rows.push(json!({
                "service": service.as_str(),
                "form": form.as_str(),
                "breaker_transitions": transitions,
                "recovered_seconds": recovered,
            }));
        }
    }
    report.figures = json!({ "outages": rows, "records": steady.next });
    finish(&mut report, rig, &mut chain, &group).await;
    drop(domains);
    drop(bridge);
    report.seconds = started.elapsed().as_secs_f64();
    report
}

/// An oversized record: a MATMAS IDoc padded past the parser's size limit, on the CREMAS
/// topic, which the poison drill's other records do not use. The embedded Kafka loses track of
/// a partition's log when a record over 16 MiB shares it with others (even kcat then reads
/// nothing of it: "offset out of range"), which a broker does not; alone in its partition it
/// is served, and the hub's side (the prefetch bound, hub-kafka's `QUEUED_MAX_KBYTES`) is what
/// the drill tests.
pub fn oversized(i: u64) -> (&'static str, OwnedRecord) {
    let (topic, r) = (
        "sap.idoc.cremas",
        hub_sap::samples::synthetic(i - i % 3, 1_000).record,
    );
    let mut value = r.value.clone();
    let pad = Limits::default().max_bytes + 1 - value.len().min(Limits::default().max_bytes);
    let at = value.len();
    value.splice(at..at, std::iter::repeat_n(b' ', pad));
    (topic, OwnedRecord { value, ..r })
}

/// The poison drill: `bad` generated bad records of every kind (`oversized` of them over the
/// size limit) interleaved with `good` good ones, produced before the bridge starts. Holds
/// when exactly the bad ones are in the bridge DLQ, each with its kind, and every good change
/// is applied; reports the bridge's throughput.
pub async fn poison(rig: &Rig, bad: u64, good: u64, oversized_n: u64, keys: u64) -> Report {
    let started = Instant::now();
    let mut report = Report::new(
        "poison",
        format!("{good} good + {bad} bad records, interleaved"),
        format!(
            "{} kinds of bad record ({oversized_n} over 16 MiB)",
            hub_sap::samples::POISON_KINDS.len() + 1
        ),
    );
    // The template's visibility timeout (180 s), not the other drills' 30 s: no fault here asks
    // for a quick redelivery, and 20,000 records at once slow the SQS stand-in enough that a
    // batch can outlive 30 s and be received again.
    let mut chain = Chain::new(rig, "drill-poison", &["DomainQueueVisibilityTimeout=180"]);
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    let mut records = Vec::new();
    let n = bad.max(good);
    for i in 0..n {
        if i < good {
            let s = hub_sap::samples::synthetic(i, keys);
            records.push((s.topic, s.record));
        }
        if i < bad {
            if i % (bad / oversized_n.max(1)).max(1) == 0
                && i / (bad / oversized_n.max(1)).max(1) < oversized_n
            {
                *kinds.entry("too_large".into()).or_default() += 1;
                records.push(oversized(i));
            } else {
                let (_, s) = hub_sap::samples::poison(i);
                let kind = hub_sap::samples::POISON_KINDS
                    [(i % hub_sap::samples::POISON_KINDS.len() as u64) as usize]
                    .1;
                *kinds.entry(kind.into()).or_default() += 1;
                records.push((s.topic, s.record));
            }
        }
    }
    chain.produce(records);
    chain.flush().await;
    let env = [("KAFKA_BOOTSTRAP_SERVERS", rig.bootstrap())];
    let domains = chain.start_ready("domains", &env).await;
    let bridge = chain.start_ready("bridge", &env).await;
    let group = bridge_group(&bridge).await;
    let offsets = Offsets::new(&rig.bootstrap(), &group, chain.kafka_topics());
    let ends = offsets.ends().expect("Kafka answers");
    // From the first commit to the last: the bridge's own time.
    let mut first = None;
    let t0 = Instant::now();
    let mut done = None;
    while t0.elapsed() < Duration::from_secs(900) {
        if let Some(c) = offsets.committed() {
            if first.is_none() && c.values().any(|o| *o > 0) {
                first = Some((Instant::now(), c.values().sum::<i64>()));
            }
            if covers(&c, &ends) {
                done = Some(Instant::now());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    match (first, done) {
        (Some((f, at_first)), Some(d)) => {
            // From the first commit to the last: the bridge at work, without its start
            // (provisioning, joining the group).
            let total: i64 = ends.values().sum();
            let secs = d.duration_since(f).as_secs_f64().max(0.001);
            let rate = (total - at_first) as f64 / secs;
            report.figures = json!({
                "bridge_seconds_first_to_last_commit": secs,
                "bridge_records_per_second": rate,
                "bridge_good_records_per_second": rate * good as f64 / (good + bad) as f64,
                "start_to_first_commit_seconds": f.duration_since(t0).as_secs_f64(),
            });
        }
        _ => report
            .failures
            .push("the bridge did not get through the load within 900 s".into()),
    }
    quiesce(
        &mut report,
        rig,
        &mut chain,
        &group,
        Duration::from_secs(900),
    )
    .await;
    let dlqs = all_dlqs(&chain, &rig.clients).await;
    report.settle(&chain, &rig.clients, &dlqs, bad).await;
    // Exactly the bad ones, each with its kind.
    let bridge_dlq = &dlqs[0].1;
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    drain_all(&rig.clients, bridge_dlq, |m| {
        let kind = hub_bridge::BridgeDeadLetter::from_body(m.body().unwrap_or_default())
            .map(|l| format!("{}/{}", l.error.class, l.error.kind))
            .unwrap_or_else(|_| "unreadable letter".into());
        *seen.entry(kind).or_default() += 1;
    })
    .await;
    let seen_kinds: BTreeMap<String, u64> = seen
        .iter()
        .map(|(k, n)| (k.rsplit('/').next().unwrap_or(k).to_string(), *n))
        .fold(BTreeMap::new(), |mut m, (k, n)| {
            *m.entry(k).or_default() += n;
            m
        });
    if seen_kinds != kinds {
        report.failures.push(format!(
            "bridge DLQ kinds {seen_kinds:?}, produced {kinds:?}"
        ));
    }
    report.figures["bridge_dlq_by_class_and_kind"] = json!(seen);
    let domain_letters: u64 = report
        .dead_letters
        .iter()
        .filter(|(d, _)| *d != "bridge-dlq")
        .map(|(_, n)| *n)
        .sum();
    if domain_letters > 0 {
        report
            .failures
            .push(format!("{domain_letters} in the domain DLQs"));
    }
    drop(domains);
    drop(bridge);
    report.seconds = started.elapsed().as_secs_f64();
    report
}

/// The failover drill: `bridges` long-running bridges in one consumer group under a steady
/// load of `rate` records per second; one is killed with SIGKILL, later a second. Holds when
/// the survivors take over (everything produced before each kill gets committed) and every
/// change is applied; reports the time from each kill until then.
pub async fn failover(rig: &Rig, bridges: usize, kills: usize, rate: u64, keys: u64) -> Report {
    let started = Instant::now();
    let mut report = Report::new(
        "failover",
        format!("{bridges} bridges in one group, steady {rate} records/s"),
        format!("kill -9 of {kills} bridges, one after the other"),
    );
    let mut chain = Chain::new(rig, "drill-failover", &[]);
    let env = [("KAFKA_BOOTSTRAP_SERVERS", rig.bootstrap())];
    let domains = chain.start_ready("domains", &env).await;
    let mut jobs: Vec<MainJob> = Vec::new();
    for _ in 0..bridges {
        jobs.push(chain.start_ready("bridge", &env).await);
    }
    let group = bridge_group(&jobs[0]).await;
    let offsets = Offsets::new(&rig.bootstrap(), &group, chain.kafka_topics());
    let mut steady = Steady::new(rate, keys);
    // Every bridge holding partitions and bridging.
    steady.run_for(&mut chain, Duration::from_secs(15)).await;
    let mut takeovers = Vec::new();
    for k in 0..kills.min(bridges - 1) {
        steady.tick(&mut chain);
        let ends = offsets.ends_eventually().await;
        let mut victim = jobs.remove(0);
        victim.kill9();
        let took = offsets
            .reached_while(&ends, Duration::from_secs(120), || steady.tick(&mut chain))
            .await
            .map(|t| t.as_secs_f64());
        match took {
            Some(t) => takeovers.push(t),
            None => report.failures.push(format!(
                "kill {k}: the survivors did not take over within 120 s"
            )),
        }
        // Steady load between the kills.
        steady.run_for(&mut chain, Duration::from_secs(10)).await;
    }
    report
        .recovery
        .insert("kill→survivors resumed".into(), takeovers);
    report.figures = json!({ "records": steady.next });
    finish(&mut report, rig, &mut chain, &group).await;
    drop(domains);
    drop(jobs);
    report.seconds = started.elapsed().as_secs_f64();
    report
}
