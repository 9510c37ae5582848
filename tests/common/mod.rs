//! Shared helpers of the integration tests: clients for the local stand-ins, unique names, the
//! embedded Kafka's address, provisioning of a template under a unique stack name, and polling.
//!
//! The tests need the local stack running (`infra/local/stack.sh start`, done by
//! `infra/local/test.sh`). Each test uses resources of its own (a unique stack name or queue
//! name), so tests run in parallel without resetting each other's state.

use hub_aws::AwsClients;
use hub_aws::clients::LocalEndpoints;
use hub_local::provision::{Provisioner, Report};
use hub_template::{Context, Stack, Template};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub mod drills;
pub mod fault;

pub use fault::{Fault, Proxy};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Clients for the stand-ins (endpoints from `AWS_ENDPOINT_URL_*`, else the stack's defaults).
pub async fn clients() -> AwsClients {
    AwsClients::local(&LocalEndpoints::from_env()).await
}

/// A name no other test run uses: `<prefix>-<random>`.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:08x}", fastrand::u32(..))
}

/// The embedded Kafka's bootstrap address (or `KAFKA_BOOTSTRAP_SERVERS`).
pub fn kafka_bootstrap() -> String {
    hub_kafka::resolve_bootstrap(&repo_root().join(".local/run/kafka.bootstrap"))
        .expect("a Kafka broker: run infra/local/stack.sh start")
}

/// The project's `template.yaml`, parsed.
pub fn project_template() -> &'static Template {
    let t = Template::from_path(repo_root().join("template.yaml")).expect("template.yaml parses");
    Box::leak(Box::new(t))
}

/// The SAP objects of `infra/template/objects.yaml`, which `template.yaml` is generated from.
pub fn project_objects() -> Vec<hub_template::generate::Object> {
    hub_template::generate::objects(&repo_root().join(hub_template::generate::DIR))
        .expect("infra/template/objects.yaml parses")
}

/// Provisions `template` as stack `stack_name` with parameter overrides; returns the report and
/// the context holding every physical id.
pub async fn provision(
    clients: &AwsClients,
    template: &'static Template,
    stack_name: &str,
    overrides: &[(&str, &str)],
) -> (Report, Context<'static>) {
    let overrides: BTreeMap<String, String> = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut ctx = Context::new(
        template,
        Stack::new(stack_name, &clients.region(), "123456789012"),
        &overrides,
    )
    .expect("parameters are valid");
    let report = Provisioner::new(clients.clone())
        .provision(&mut ctx)
        .await
        .expect("provisioning succeeds");
    (report, ctx)
}

/// Polls `check` every `every` until it returns `Some`, or panics after `timeout` naming `what`.
pub async fn eventually<T, F, Fut>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut check: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(every).await;
    }
}

/// Receives whatever is visible in a queue now (up to 10 messages, short poll of 1 s).
pub async fn receive(clients: &AwsClients, queue_url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    clients
        .sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .expect("ReceiveMessage")
        .messages
        .unwrap_or_default()
}

/// Creates a queue with a DLQ (redrive after `max_receive` receives) and the given visibility
/// timeout; returns (queue URL, queue ARN, DLQ URL).
pub async fn queue_with_dlq(
    clients: &AwsClients,
    name: &str,
    visibility_secs: u32,
    max_receive: u32,
) -> (String, String, String) {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let dlq = clients
        .sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .expect("CreateQueue dlq")
        .queue_url
        .expect("dlq url");
    let dlq_arn = queue_arn(clients, &dlq).await;
    let url = clients
        .sqs
        .create_queue()
        .queue_name(name)
        .attributes(A::VisibilityTimeout, visibility_secs.to_string())
        .attributes(
            A::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive})
                .to_string(),
        )
        .send()
        .await
        .expect("CreateQueue")
        .queue_url
        .expect("url");
    let arn = queue_arn(clients, &url).await;
    (url, arn, dlq)
}

/// The bytes of the S3 object at `bucket`/`key` on the stand-in.
pub async fn s3_object(clients: &AwsClients, bucket: &str, key: &str) -> Vec<u8> {
    let out = clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("the object exists");
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

/// The ARN of a queue.
pub async fn queue_arn(clients: &AwsClients, url: &str) -> String {
    hub_aws::subscription::queue_arn(&clients.sqs, url)
        .await
        .expect("GetQueueAttributes")
}

/// Sends messages with the given bodies (in batches of ten).
pub async fn send_all(clients: &AwsClients, queue_url: &str, bodies: &[String]) {
    for (n, chunk) in bodies.chunks(10).enumerate() {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, b)| {
                aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(format!("{n}-{i}"))
                    .message_body(b)
                    .build()
                    .expect("entry")
            })
            .collect();
        let out = clients
            .sqs
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .expect("SendMessageBatch");
        assert!(out.failed().is_empty(), "send failures: {:?}", out.failed());
    }
}

/// The URL of stack `stack`'s queue `suffix` (`bridge-dlq`, `customers-dlq`…).
pub async fn stack_queue(clients: &AwsClients, stack: &str, suffix: &str) -> String {
    clients
        .sqs
        .get_queue_url()
        .queue_name(format!("{stack}-{suffix}"))
        .send()
        .await
        .expect("GetQueueUrl")
        .queue_url
        .expect("a queue URL")
}

/// Approximate (visible, in flight) counts of a queue.
pub async fn depth(clients: &AwsClients, queue_url: &str) -> (u64, u64) {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let out = clients
        .sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("GetQueueAttributes");
    let get = |k: A| {
        out.attributes()
            .and_then(|a| a.get(&k))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (
        get(A::ApproximateNumberOfMessages),
        get(A::ApproximateNumberOfMessagesNotVisible),
    )
}

/// Produces records (key, value, headers) to `topic`, waiting for every acknowledgement; to
/// `partition` when given, else as the key (or the partitioner) decides.
pub async fn produce(
    bootstrap: &str,
    topic: &str,
    partition: Option<i32>,
    records: &[hub_sap::OwnedRecord],
) {
    use rdkafka::message::{Header, OwnedHeaders};
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("message.max.bytes", "20000000")
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    let sends = records.iter().map(|r| {
        let mut headers = OwnedHeaders::new();
        for (k, v) in &r.headers {
            headers = headers.insert(Header {
                key: k,
                value: Some(v),
            });
        }
        let mut rec = FutureRecord::to(topic).payload(&r.value).headers(headers);
        if let Some(k) = &r.key {
            rec = rec.key(k);
        }
        if let Some(p) = partition {
            rec = rec.partition(p);
        }
        producer.send(rec, Duration::from_secs(30))
    });
    for result in futures::future::join_all(sends).await {
        result.expect("produced");
    }
}

/// The committed offsets of `group` on every partition of `topic`, and the topic's end offsets,
/// read by a separate client (not a member of the group).
pub fn committed_and_end_offsets(
    bootstrap: &str,
    group: &str,
    topic: &str,
) -> (Vec<i64>, Vec<i64>) {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let c: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()
        .expect("consumer");
    let partitions = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata")
        .topics()
        .first()
        .map(|t| t.partitions().len() as i32)
        .expect("the topic exists");
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let committed = c
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed offsets");
    let committed = (0..partitions)
        .map(
            |p| match committed.find_partition(topic, p).map(|e| e.offset()) {
                Some(rdkafka::Offset::Offset(o)) => o,
                _ => 0,
            },
        )
        .collect();
    let ends = (0..partitions)
        .map(|p| {
            c.fetch_watermarks(topic, p, Duration::from_secs(10))
                .expect("watermarks")
                .1
        })
        .collect();
    // This client never joined the group; closing it is not needed (and the mock cluster can
    // stall a close after an offset fetch), so it is leaked for the test's lifetime.
    std::mem::forget(c);
    (committed, ends)
}

/// Receives from `queue_url` (deleting what it receives) until `done` says the collected
/// messages suffice, or panics after `timeout`.
pub async fn drain_queue(
    clients: &AwsClients,
    queue_url: &str,
    timeout: Duration,
    mut done: impl FnMut(&[aws_sdk_sqs::types::Message]) -> bool,
) -> Vec<aws_sdk_sqs::types::Message> {
    let deadline = Instant::now() + timeout;
    let mut all = Vec::new();
    while !done(&all) {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} draining {queue_url}: {} messages so far",
            all.len()
        );
        let batch = receive(clients, queue_url).await;
        for m in &batch {
            if let Some(h) = m.receipt_handle() {
                clients
                    .sqs
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(h)
                    .send()
                    .await
                    .expect("DeleteMessage");
            }
        }
        all.extend(batch);
    }
    all
}

/// A binary of the workspace, built next to the test binaries (`cargo build --workspace
/// --all-targets` builds them before `cargo test`).
pub fn workspace_binary(name: &str) -> PathBuf {
    // Test binaries are in target/<profile>/deps, other binaries in target/<profile>.
    let exe = std::env::current_exe().unwrap();
    let mut dir = exe.parent().unwrap();
    if dir.ends_with("deps") {
        dir = dir.parent().unwrap();
    }
    let bin = dir.join(name);
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --workspace --all-targets` first",
        bin.display()
    );
    bin
}

/// The main job, `hubctl run`, as a child process, with its stdout lines collected.
pub struct MainJob {
    child: std::process::Child,
    /// Each line with when it was read.
    lines: std::sync::Arc<std::sync::Mutex<Vec<(std::time::Instant, String)>>>,
}

impl MainJob {
    /// Starts `hubctl run ARGS` with `env` over the test's environment.
    pub fn start(args: &[String], env: &[(&str, String)]) -> MainJob {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(workspace_binary("hubctl"));
        cmd.arg("run")
            .args(args)
            .current_dir(repo_root())
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("hubctl runs");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn({
            let lines = lines.clone();
            move || {
                for l in std::io::BufReader::new(stdout)
                    .lines()
                    .map_while(Result::ok)
                {
                    lines.lock().unwrap().push((std::time::Instant::now(), l));
                }
            }
        });
        MainJob { child, lines }
    }

    /// Whether a line printed so far satisfies `f`.
    pub fn printed(&self, f: impl Fn(&str) -> bool) -> bool {
        self.printed_at(f).is_some()
    }

    /// When the first line satisfying `f` was printed (read from its output), if one was.
    pub fn printed_at(&self, f: impl Fn(&str) -> bool) -> Option<std::time::Instant> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .find(|(_, l)| f(l))
            .map(|(t, _)| *t)
    }

    /// The lines printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and reaps it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM; waits (polling) for the exit, at most `timeout`.
    pub async fn terminate(&mut self, timeout: Duration) -> std::process::ExitStatus {
        std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        eventually(
            "the main job to exit",
            timeout,
            Duration::from_millis(200),
            || {
                let s = self.child.try_wait().unwrap();
                async move { s }
            },
        )
        .await
    }
}

impl Drop for MainJob {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new queue `name` subscribed to `topic_arn` with raw delivery and, if given, a filter
/// policy; returns its URL.
pub async fn subscribed_queue(
    clients: &AwsClients,
    topic_arn: &str,
    name: &str,
    filter_policy: Option<&str>,
) -> String {
    let url = clients
        .sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("CreateQueue")
        .queue_url
        .expect("url");
    hub_aws::subscription::subscribe_queue(
        &clients.sns,
        &clients.sqs,
        topic_arn,
        &url,
        filter_policy,
    )
    .await
    .expect("Subscribe");
    url
}

/// Receives and deletes messages of `queue_url` until `n` were taken (or `timeout`, then
/// panics), then checks that nothing more is there; returns the bodies with their attributes.
pub async fn take_exactly(
    clients: &AwsClients,
    queue_url: &str,
    n: usize,
    timeout: Duration,
) -> Vec<(String, BTreeMap<String, String>)> {
    let mut out = Vec::new();
    let deadline = Instant::now() + timeout;
    while out.len() < n {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} with {} of {n} messages",
            out.len()
        );
        for m in receive(clients, queue_url).await {
            let attributes = m
                .message_attributes
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.string_value.unwrap_or_default()))
                .collect();
            out.push((m.body.clone().unwrap_or_default(), attributes));
            if let Some(h) = m.receipt_handle {
                clients
                    .sqs
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(h)
                    .send()
                    .await
                    .expect("DeleteMessage");
            }
        }
    }
    let extra = receive(clients, queue_url).await;
    assert!(
        extra.is_empty(),
        "{} messages more than the {n} expected: {:?}",
        extra.len(),
        extra.iter().map(|m| m.body.clone()).collect::<Vec<_>>()
    );
    out
}

/// How many records the DynamoDB stream `stream_arn` holds now, every shard read from its
/// start (independently of any event source mapping).
pub async fn stream_records(clients: &AwsClients, stream_arn: &str) -> u64 {
    let streams = hub_aws::stream_records::streams_client(clients);
    let shards = streams
        .describe_stream()
        .stream_arn(stream_arn)
        .send()
        .await
        .expect("DescribeStream");
    let mut n = 0;
    for shard in shards.stream_description.expect("a stream").shards() {
        let mut it = streams
            .get_shard_iterator()
            .stream_arn(stream_arn)
            .shard_id(shard.shard_id().expect("a shard id"))
            .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("GetShardIterator")
            .shard_iterator;
        let mut empty = 0;
        while let Some(i) = it.take() {
            let page = streams
                .get_records()
                .shard_iterator(i)
                .send()
                .await
                .expect("GetRecords");
            let got = page.records().len() as u64;
            n += got;
            empty = if got == 0 { empty + 1 } else { 0 };
            if empty == 2 {
                break;
            }
            it = page.next_shard_iterator;
        }
    }
    n
}

/// The stream ARN of table `table`.
pub async fn table_stream_arn(clients: &AwsClients, table: &str) -> String {
    clients
        .dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .expect("DescribeTable")
        .table
        .and_then(|t| t.latest_stream_arn)
        .expect("the table has a stream")
}

/// Every item of table `table` as JSON, sorted by key (a snapshot to compare).
pub async fn table_items(clients: &AwsClients, table: &str) -> Vec<hub_store::Item> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = clients
            .dynamodb
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .expect("Scan");
        out.extend(
            page.items()
                .iter()
                .filter_map(hub_aws::dynamo_store::from_item),
        );
        match page.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => break,
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}
