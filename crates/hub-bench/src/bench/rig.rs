//! The bench's rig: its helper processes (the embedded Kafka and the fake SNS, each a child
//! `hub-bench` process, so that the bench's own CPU time is the bridge's), the bridge-alone load
//! produced to that Kafka, and the Kafka helpers of the phases.

use anyhow::{Context as _, bail};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::io::{BufRead, BufReader};
use std::process::{Child, ExitCode, Stdio};
use std::time::Duration;

/// The topic of the bridge-alone load.
const TOPIC: &str = "bench.sap.mixed";

/// librdkafka's mock cluster keeps at most 5 MB per partition (older segments are dropped, like
/// retention): the load is spread at about 2 MiB per partition, so that nothing is dropped before
/// it is consumed.
const BYTES_PER_PARTITION: u64 = 2 << 20;

/// A child process, killed when dropped.
pub struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `hub-bench <args>` and returns it with the first line it prints.
pub fn spawn_self(args: &[&str]) -> anyhow::Result<(ChildGuard, String)> {
    let exe = std::env::current_exe().context("locating hub-bench")?;
    let mut child = std::process::Command::new(exe)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting hub-bench {}", args.join(" ")))?;
    let stdout = child.stdout.take().context("child stdout")?;
    let guard = ChildGuard(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .context("reading the child's first line")?;
    if line.trim().is_empty() {
        bail!("hub-bench {} printed nothing", args.join(" "));
    }
    Ok((guard, line.trim().to_string()))
}

/// `hub-bench embedded-kafka` arguments: the one topic of the bench's load.
#[derive(Debug, clap::Args)]
pub struct KafkaArgs {
    /// The topic to create.
    #[arg(long)]
    topic: String,
    /// Its partitions.
    #[arg(long)]
    partitions: i32,
}

/// `hub-bench embedded-kafka`: hosts an embedded Kafka with one topic, prints its bootstrap
/// address and serves until the process is killed (the bench kills it when it is done).
pub fn serve_kafka(args: KafkaArgs) -> anyhow::Result<ExitCode> {
    let kafka = hub_kafka::EmbeddedKafka::start(1, &[(args.topic, args.partitions)])?;
    println!("{}", kafka.bootstrap_servers());
    loop {
        std::thread::park();
    }
}

/// The embedded Kafka holding the bridge-alone load, and the fast SNS endpoint.
pub struct Rig {
    _kafka: ChildGuard,
    _sns: ChildGuard,
    /// Kafka bootstrap.
    pub bootstrap: String,
    /// The fake SNS endpoint.
    pub sns: String,
    /// The topic of the load.
    pub topic: &'static str,
}

impl Rig {
    /// Starts the embedded Kafka (at least `min_partitions` partitions) and the fake SNS, and
    /// produces the bridge-alone load: `records` records of the fixture mix over `keys` keys per
    /// entity.
    pub async fn start(records: u64, keys: u64, min_partitions: i32) -> anyhow::Result<Rig> {
        let partitions = min_partitions.max(partitions_for(records, keys));
        let (kafka, bootstrap) = spawn_self(&[
            "embedded-kafka",
            "--topic",
            TOPIC,
            "--partitions",
            &partitions.to_string(),
        ])?;
        let (sns_child, sns) = spawn_self(&["fake-sns", "--port", "0"])?;
        eprintln!("bench: producing {records} records to the embedded Kafka…");
        produce(&bootstrap, TOPIC, partitions, records, keys).await?;
        let stored = stored_records(&bootstrap, TOPIC)?;
        if stored != records {
            bail!(
                "the embedded Kafka holds {stored} of {records} records (it keeps 5 MB per partition)"
            );
        }
        Ok(Rig {
            _kafka: kafka,
            _sns: sns_child,
            bootstrap,
            sns,
            topic: TOPIC,
        })
    }
}

/// Partitions the load needs so that none outgrows the mock cluster's limit: its size
/// estimated from its first 1,000 records.
fn partitions_for(records: u64, keys: u64) -> i32 {
    let load_bytes: u64 = (0..records.min(1000))
        .map(|i| hub_sap::samples::mixed(i, keys).record.value.len() as u64)
        .sum::<u64>()
        * records
        / records.clamp(1, 1000);
    i32::try_from(load_bytes / BYTES_PER_PARTITION + 1).unwrap_or(i32::MAX)
}

/// Produces records `0..records` of the fixture mix to `topic`, round robin over its
/// partitions, 10,000 at a time.
async fn produce(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    records: u64,
    keys: u64,
) -> anyhow::Result<()> {
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "20")
        .set("batch.num.messages", "10000")
        .set("queue.buffering.max.messages", "1000000")
        .create()?;
    let mut i = 0;
    while i < records {
        let end = (i + 10_000).min(records);
        let samples: Vec<_> = (i..end).map(|n| hub_sap::samples::mixed(n, keys)).collect();
        let sends = samples.iter().zip(i..).map(|(s, n)| {
            let mut headers = OwnedHeaders::new();
            for (k, v) in &s.record.headers {
                headers = headers.insert(Header {
                    key: k,
                    value: Some(v),
                });
            }
            // Round robin: an even spread, so that no partition outgrows the mock's limit.
            let mut r = FutureRecord::to(topic)
                .payload(&s.record.value)
                .partition((n % partitions as u64) as i32)
                .headers(headers);
            if let Some(k) = &s.record.key {
                r = r.key(k);
            }
            producer.send(r, Duration::from_secs(60))
        });
        for r in futures::future::join_all(sends).await {
            r.map_err(|(e, _)| e).context("producing the load")?;
        }
        i = end;
    }
    Ok(())
}

/// Records held by `topic` (sum of high − low watermarks).
fn stored_records(bootstrap: &str, topic: &str) -> anyhow::Result<u64> {
    let c: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let md = c.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut total = 0u64;
    for t in md.topics() {
        for p in t.partitions() {
            let (low, high) = c.fetch_watermarks(topic, p.id(), Duration::from_secs(10))?;
            total += (high - low).max(0) as u64;
        }
    }
    Ok(total)
}

/// Commits `group`'s offsets at the end of every partition of `topics`, so that a consumer of
/// that group reads only what is produced afterwards. Each end-to-end run of the hub provisions
/// the template under a stack name of its own, hence a new consumer group on the template's
/// topics, which would otherwise start at the earliest offset and bridge the earlier runs'
/// records again.
pub fn start_group_at_end(bootstrap: &str, group: &str, topics: &[String]) -> anyhow::Result<()> {
    use rdkafka::consumer::CommitMode;
    use rdkafka::{Offset, TopicPartitionList};
    let c: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()?;
    let timeout = Duration::from_secs(10);
    let mut ends = TopicPartitionList::new();
    for t in topics {
        let md = c.fetch_metadata(Some(t), timeout)?;
        for p in md.topics().iter().flat_map(|t| t.partitions()) {
            let (_, high) = c.fetch_watermarks(t, p.id(), timeout)?;
            ends.add_partition_offset(t, p.id(), Offset::Offset(high))?;
        }
    }
    if ends.count() > 0 {
        c.commit(&ends, CommitMode::Sync)
            .with_context(|| format!("committing group {group} at the end of its topics"))?;
    }
    Ok(())
}

/// Creates `topics` on the embedded Kafka (a metadata request creates a missing topic), so
/// that consumers subscribe to topics that exist.
pub fn create_topics(bootstrap: &str, topics: &[String]) -> anyhow::Result<()> {
    let c: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("allow.auto.create.topics", "true")
        .create()?;
    for t in topics {
        c.fetch_metadata(Some(t), Duration::from_secs(10))
            .with_context(|| format!("creating topic {t}"))?;
    }
    Ok(())
}
