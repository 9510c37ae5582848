//! `hub-bench bench`: the hub measured against a baseline, printed as one table and written as
//! JSON, Markdown and a PNG chart.
//!
//! Phases, in this order, each alone on the machine:
//!
//! 1. **Bridge alone, hub.** `--records` records of the fixture mix (`hub_sap::samples::mixed`)
//!    are produced to an embedded Kafka **in a child process** (`hub-bench embedded-kafka`), then the
//!    bridge (the same consumer and pipeline as the `kafka-bridge` binary, signed
//!    `PublishBatch` calls through the AWS SDK) consumes and publishes them to `hub-bench
//!    fake-sns`, **another child process** that answers at once. This process then does only the
//!    bridge's work, so its CPU time (user + system, all threads, librdkafka's included) is the
//!    bridge's CPU time. The clocks start when the bridge starts its first chunk, as the
//!    baseline's start at its first record: joining the consumer group is not throughput.
//! 2. **Bridge alone, baseline**: `infra/baseline/baseline.py bridge` on the same topic (its own
//!    consumer group), `--baseline-records` records, into the same fake SNS.
//! 3. **Handler alone, hub** ([`e2e::handler`]): the domain functions invoked in batches against
//!    DynamoDB Local.
//! 4. **End to end, hub then baseline** ([`e2e::hub`], [`e2e::baseline`]) on the stand-ins, every
//!    AWS request counted by `hub-bench count-proxy`.
//!
//! Costs are computed in [`cost`], at the list prices documented there.

use anyhow::{Context as _, bail};
use hub_core::config::Env;
use hub_kafka::bridge::{ConsumerConfig, run};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::Serialize;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub mod chart;
pub mod cost;
pub mod e2e;

use crate::{baseline, proxy};

/// `hub-bench bench` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Records in the synthetic SAP load of the bridge-alone phase.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    records: u64,
    /// Distinct business keys per entity (several versions per key).
    #[arg(long, default_value_t = 1_000)]
    keys: u64,
    /// Kafka partitions of the bench topic at least (more when the load needs them: the
    /// embedded Kafka keeps at most 5 MB per partition).
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Where to write bench.json, bench.md and bench.png.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// Measure the hub's bridge alone and stop (no stand-ins, no baseline).
    #[arg(long)]
    bridge_only: bool,
    /// Runs of the hub's bridge over the same load, each with its own consumer group; the
    /// figures are the median run's (by CPU per event): a shared two-core machine varies by
    /// ±15% from one run to the next.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    bridge_runs: u32,
    /// Records the baseline bridge consumes in the bridge-alone phase (at most `--records`).
    #[arg(long, default_value_t = 10_000)]
    baseline_records: u64,
    /// Records of the handler-alone phase.
    #[arg(long, default_value_t = 2_000)]
    handler_records: u64,
    /// Records of each end-to-end run.
    #[arg(long, default_value_t = 600)]
    e2e_records: u64,
    /// Distinct keys per entity in the end-to-end load.
    #[arg(long, default_value_t = 100)]
    e2e_keys: u64,
    /// Records per burst in the end-to-end load (SAP sends IDocs in packets).
    #[arg(long, default_value_t = 20)]
    burst: u64,
    /// Milliseconds between two bursts.
    #[arg(long, default_value_t = 1_000)]
    interval_ms: u64,
    /// Seconds without progress, after the last record, before changes still not visible
    /// count as never visible.
    #[arg(long, default_value_t = 30)]
    settle_s: u64,
    /// The domain mappings' batching window in ms, instead of the template's
    /// `MaximumBatchingWindowInSeconds` (to see what the window costs and saves; below 1 s the
    /// batch size is at most 10, as AWS requires).
    #[arg(long)]
    esm_window_ms: Option<u64>,
    /// Milliseconds between two scans of the latency poller.
    #[arg(long, default_value_t = 100)]
    poll_ms: u64,
    /// The Python interpreter of the baseline (with confluent-kafka and boto3; `.local/run/env`
    /// sets `HUB_PYTHON` to the one `infra/local/install.sh` prepares).
    #[arg(long, env = "HUB_PYTHON", default_value = ".local/venv/bin/python")]
    python: PathBuf,
    /// The baseline's script.
    #[arg(long, default_value = "infra/baseline/baseline.py")]
    baseline_script: PathBuf,
    /// The SAM template the hub is provisioned from.
    #[arg(long, default_value = "template.yaml")]
    template: PathBuf,
}

/// The bridge's figures.
#[derive(Debug, Serialize)]
pub struct BridgeFigures {
    /// Records consumed and bridged.
    pub records: u64,
    /// Events published.
    pub events: u64,
    /// Wall-clock seconds.
    pub wall_seconds: f64,
    /// CPU seconds of the bridge process (user + system, all threads).
    pub cpu_seconds: f64,
    /// Events per wall-clock second.
    pub events_per_second: f64,
    /// Events per CPU second: throughput per core.
    pub events_per_cpu_second: f64,
    /// CPU seconds per 100k events.
    pub cpu_seconds_per_100k: f64,
    /// `PublishBatch` calls counted at the SNS endpoint.
    pub sns_calls: u64,
    /// SNS calls per event.
    pub sns_calls_per_event: f64,
    /// Cores of the machine.
    pub cores: usize,
    /// Events per CPU second of every run, in order, when the figures are the median of
    /// several runs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runs_events_per_cpu_second: Vec<f64>,
}

struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `hub-bench <args>` and returns it with the first line it prints.
fn spawn_self(args: &[&str]) -> anyhow::Result<(ChildGuard, String)> {
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

async fn produce(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    records: u64,
    keys: u64,
) -> anyhow::Result<()> {
    use rdkafka::message::{Header, OwnedHeaders};
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

/// Starts the embedded Kafka and the fake SNS, and produces the bridge-alone load.
pub async fn rig(args: &Args) -> anyhow::Result<Rig> {
    let topic = "bench.sap.mixed";
    // librdkafka's mock cluster keeps at most 5 MB per partition (older segments are dropped,
    // like retention): spread the load so that nothing is dropped before it is consumed.
    let load_bytes: u64 = (0..args.records.min(1000))
        .map(|i| hub_sap::samples::mixed(i, args.keys).record.value.len() as u64)
        .sum::<u64>()
        * args.records
        / args.records.clamp(1, 1000);
    let partitions = args
        .partitions
        .max(i32::try_from(load_bytes / (2 << 20) + 1).unwrap_or(i32::MAX));
    let (kafka, bootstrap) = spawn_self(&[
        "embedded-kafka",
        "--topic",
        topic,
        "--partitions",
        &partitions.to_string(),
    ])?;
    let (sns_child, sns) = spawn_self(&["fake-sns", "--port", "0"])?;
    eprintln!(
        "bench: producing {} records to the embedded Kafka…",
        args.records
    );
    produce(&bootstrap, topic, partitions, args.records, args.keys).await?;
    let stored = stored_records(&bootstrap, topic)?;
    if stored != args.records {
        bail!(
            "the embedded Kafka holds {stored} of {} records (it keeps 5 MB per partition)",
            args.records
        );
    }
    Ok(Rig {
        _kafka: kafka,
        _sns: sns_child,
        bootstrap,
        sns,
        topic,
    })
}

/// Measures the hub's bridge alone `--bridge-runs` times, each run consuming the whole load in
/// its own consumer group; the median run, with every run's events per CPU second.
pub async fn bridge_runs(rig: &Rig, args: &Args) -> anyhow::Result<BridgeFigures> {
    let mut runs = Vec::new();
    for run in 1..=args.bridge_runs {
        runs.push(bridge(rig, args, &format!("bench-{run}")).await?);
    }
    let all: Vec<f64> = runs.iter().map(|r| r.events_per_cpu_second).collect();
    runs.sort_by(|a, b| a.events_per_cpu_second.total_cmp(&b.events_per_cpu_second));
    let mut median = runs.swap_remove(runs.len() / 2);
    if all.len() > 1 {
        median.runs_events_per_cpu_second = all;
    }
    Ok(median)
}

/// Measures the hub's bridge alone once, consuming the load as consumer group `group`; see the
/// module documentation.
pub async fn bridge(rig: &Rig, args: &Args, group: &str) -> anyhow::Result<BridgeFigures> {
    let endpoint = rig.sns.clone();
    let endpoints = hub_aws::clients::LocalEndpoints {
        sns: endpoint.clone(),
        sqs: endpoint.clone(),
        dynamodb: endpoint.clone(),
    };
    let clients = hub_aws::AwsClients::local(&endpoints).await;
    // The bridge's tuning (`BRIDGE_CHUNK_RECORDS`, `BRIDGE_MAX_IN_FLIGHT`…) from the
    // environment, as the bridge takes it; the bench's own settings after, so they win.
    let tuning = bridge_tuning(std::env::vars());
    let with_tuning = |own: &[(&str, &str)]| {
        let mut pairs: Vec<(&str, &str)> = tuning
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        pairs.extend_from_slice(own);
        Env::from_pairs(&pairs)
    };
    let config = kafka_bridge::Config::from_env(&with_tuning(&[
        ("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:bench"),
        (
            "BRIDGE_DLQ_URL",
            &format!("{endpoint}/123456789012/bench-dlq"),
        ),
    ]))?;
    let pipeline = Arc::new(kafka_bridge::build(&clients, &config));
    let consumer = ConsumerConfig::from_env(&with_tuning(&[
        ("KAFKA_BOOTSTRAP_SERVERS", &rig.bootstrap),
        ("KAFKA_TOPICS", rig.topic),
        ("KAFKA_GROUP_ID", group),
        (
            "BRIDGE_METRICS_INTERVAL_MS",
            &std::env::var("BENCH_METRICS_MS").unwrap_or("0".into()),
        ),
    ]))?;
    // infra/local/profile-bridge.sh starts profiling at the first line that begins so.
    eprintln!("bench: bridging (hub, consumer group {group})…");
    let target = args.records;
    let metrics = pipeline.metrics().clone();
    let before = fetch_stats(&endpoint).await?;
    // The clocks start when the bridge starts its first chunk, as the baseline's start at its
    // first record: joining the consumer group (about 3 s on the embedded Kafka, as on a broker
    // with Kafka's default `group.initial.rebalance.delay.ms`) is not throughput. What is left
    // out: reading that chunk from librdkafka and at most the 1 ms between two looks (together
    // about 0.1% of a run's CPU).
    let started: Arc<std::sync::OnceLock<(Instant, cpu_time::ProcessTime)>> = Arc::default();
    let start = started.clone();
    let done = async move {
        loop {
            let snap = metrics.snapshot();
            if snap.received > 0 {
                start.get_or_init(|| (Instant::now(), cpu_time::ProcessTime::now()));
            }
            if snap.records_done >= target {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    if std::env::var("BENCH_NULL_PUBLISHER").is_ok() {
        // Diagnostic: the same run with a publisher that discards (no SDK, no HTTP), to see
        // what the consumer, parsing and routing cost alone.
        let null = Arc::new(hub_bridge::Pipeline::new(
            Null,
            hub_bridge::ports::MemoryDeadLetters::default(),
            hub_bridge::ports::NoClaims,
            config.settings.clone(),
            pipeline.metrics().clone(),
        ));
        run(&consumer, null, done).await?;
    } else {
        run(&consumer, pipeline.clone(), done).await?;
    }
    let (t0, cpu0) = started
        .get()
        .copied()
        .context("the bridge finished without starting a chunk")?;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu0.elapsed().as_secs_f64();
    let snap = pipeline.metrics().snapshot();
    let after = fetch_stats(&endpoint).await?;
    let sns_calls = after["calls"].as_u64().unwrap_or(0) - before["calls"].as_u64().unwrap_or(0);
    let events = snap.published;
    Ok(BridgeFigures {
        records: snap.records_done,
        events,
        wall_seconds: wall,
        cpu_seconds: cpu,
        events_per_second: events as f64 / wall,
        events_per_cpu_second: events as f64 / cpu,
        cpu_seconds_per_100k: cpu / events as f64 * 100_000.0,
        sns_calls,
        sns_calls_per_event: sns_calls as f64 / events.max(1) as f64,
        cores: cores(),
        runs_events_per_cpu_second: Vec::new(),
    })
}

/// The `BRIDGE_*` variables of `vars` (the environment), but the ones the bench sets itself.
fn bridge_tuning(vars: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    vars.filter(|(k, _)| {
        k.starts_with("BRIDGE_") && k != "BRIDGE_DLQ_URL" && k != "BRIDGE_METRICS_INTERVAL_MS"
    })
    .collect()
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Measures the baseline's bridge alone: the same topic (its own group), `n` records, into the
/// same fake SNS.
pub async fn baseline_bridge(
    rig: &Rig,
    python: &baseline::Python,
    n: u64,
) -> anyhow::Result<BridgeFigures> {
    eprintln!("bench: bridging (baseline, {n} records)…");
    let before = fetch_stats(&rig.sns).await?;
    let f = python
        .run(&[
            "bridge",
            "--bootstrap",
            &rig.bootstrap,
            "--topics",
            rig.topic,
            "--group",
            "baseline-bench",
            "--endpoint",
            &rig.sns,
            "--topic-arn",
            "arn:aws:sns:us-east-1:123456789012:bench",
            "--max-records",
            &n.to_string(),
        ])
        .await?;
    let after = fetch_stats(&rig.sns).await?;
    if f.records != n || f.errors > 0 {
        bail!(
            "the baseline bridge handled {} of {n} records ({} errors)",
            f.records,
            f.errors
        );
    }
    let sns_calls = after["calls"].as_u64().unwrap_or(0) - before["calls"].as_u64().unwrap_or(0);
    let cpu = f.cpu_seconds.unwrap_or(0.0).max(1e-9);
    let wall = f.wall_seconds.unwrap_or(0.0).max(1e-9);
    Ok(BridgeFigures {
        records: f.records,
        events: f.events,
        wall_seconds: wall,
        cpu_seconds: cpu,
        events_per_second: f.events as f64 / wall,
        events_per_cpu_second: f.events as f64 / cpu,
        cpu_seconds_per_100k: cpu / f.events.max(1) as f64 * 100_000.0,
        sns_calls,
        sns_calls_per_event: sns_calls as f64 / f.events.max(1) as f64,
        cores: cores(),
        runs_events_per_cpu_second: Vec::new(),
    })
}

/// Creates `topics` on the embedded Kafka (a metadata request creates a missing topic), so
/// that consumers subscribe to topics that exist.
pub fn create_topics(bootstrap: &str, topics: &[String]) -> anyhow::Result<()> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
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

struct Null;

impl hub_bridge::Publisher for Null {
    async fn publish_batch(
        &self,
        _messages: &[&hub_bridge::Message],
    ) -> Result<Vec<hub_bridge::ports::EntryFailure>, hub_core::PortError> {
        Ok(Vec::new())
    }
}

/// Records held by `topic` (sum of high − low watermarks).
fn stored_records(bootstrap: &str, topic: &str) -> anyhow::Result<u64> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
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

async fn fetch_stats(endpoint: &str) -> anyhow::Result<serde_json::Value> {
    crate::local_http::get_json(&format!("{endpoint}/stats")).await
}

/// Every run's events per CPU second, as `41.2k, 44.0k, 39.8k`.
fn runs_text(runs: &[f64]) -> String {
    runs.iter()
        .map(|r| format!("{:.1}k", r / 1000.0))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The machine the figures come from.
#[derive(Debug, Serialize)]
pub struct Machine {
    /// CPU model.
    pub cpu: String,
    /// Cores.
    pub cores: usize,
}

fn machine() -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    Machine {
        cpu,
        cores: cores(),
    }
}

/// One row of the table.
#[derive(Debug, Serialize)]
pub struct Row {
    /// What is measured.
    pub figure: String,
    /// The hub's value.
    pub hub: Option<f64>,
    /// The baseline's value.
    pub baseline: Option<f64>,
    /// hub / baseline.
    pub ratio: Option<f64>,
    /// Decimals to print.
    #[serde(skip)]
    pub decimals: usize,
}

fn row(figure: &str, hub: Option<f64>, baseline: Option<f64>, decimals: usize) -> Row {
    let ratio = match (hub, baseline) {
        (Some(h), Some(b)) if b != 0.0 => Some(h / b),
        _ => None,
    };
    Row {
        figure: figure.to_string(),
        hub,
        baseline,
        ratio,
        decimals,
    }
}

fn cell(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "–".to_string(), |v| format!("{v:.decimals$}"))
}

/// The table as Markdown.
pub fn markdown(rows: &[Row]) -> String {
    let mut out =
        String::from("| figure | hub | baseline | hub / baseline |\n|---|---:|---:|---:|\n");
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.figure,
            cell(r.hub, r.decimals),
            cell(r.baseline, r.decimals),
            r.ratio.map_or_else(|| "–".into(), |x| format!("{x:.3}")),
        ));
    }
    out
}

fn per_1000(counts: &proxy::Counts, service: &str, events: u64) -> f64 {
    counts
        .get(service)
        .map_or(0, |ops| ops.values().map(|c| c.requests).sum::<u64>()) as f64
        * 1000.0
        / events.max(1) as f64
}

/// `hub-bench bench`.
pub async fn run_bench(args: Args) -> anyhow::Result<ExitCode> {
    let machine = machine();
    std::fs::create_dir_all(&args.out)?;
    let python = baseline::Python {
        interpreter: args.python.clone(),
        script: args.baseline_script.clone(),
    };
    let template = if args.bridge_only {
        None
    } else {
        python.check().await?;
        Some(
            hub_template::Template::from_path(&args.template)
                .with_context(|| format!("reading {}", args.template.display()))?,
        )
    };
    let rig = rig(&args).await?;
    let hub_bridge = bridge_runs(&rig, &args).await?;
    let Some(template) = template else {
        println!();
        println!(
            "Bridge alone ({} records of the fixture mix, {} cores: {})",
            hub_bridge.records, machine.cores, machine.cpu
        );
        println!("| figure | value |\n|---|---|");
        println!("| events/s (wall) | {:.0} |", hub_bridge.events_per_second);
        println!(
            "| **events/s per core** (events / CPU s) | **{:.0}** |",
            hub_bridge.events_per_cpu_second
        );
        if !hub_bridge.runs_events_per_cpu_second.is_empty() {
            println!(
                "| events/s per core of each run (the median's figures above) | {} |",
                runs_text(&hub_bridge.runs_events_per_cpu_second)
            );
        }
        println!(
            "| CPU s per 100k events | {:.2} |",
            hub_bridge.cpu_seconds_per_100k
        );
        println!(
            "| SNS calls per event | {:.3} |",
            hub_bridge.sns_calls_per_event
        );
        let path = args.out.join("bridge.json");
        std::fs::write(
            &path,
            serde_json::to_vec_pretty(
                &serde_json::json!({"machine": machine, "bridge": hub_bridge}),
            )?,
        )?;
        println!("\nwritten to {}", path.display());
        return Ok(ExitCode::SUCCESS);
    };
    let base_bridge =
        baseline_bridge(&rig, &python, args.baseline_records.min(args.records)).await?;

    // The stand-ins, through the counting proxy.
    let endpoints = hub_aws::clients::LocalEndpoints::from_env();
    let (_proxy, proxy_url) = spawn_self(&[
        "count-proxy",
        "--moto",
        &endpoints.sqs,
        "--dynamodb",
        &endpoints.dynamodb,
    ])?;
    let stand = e2e::Stand::new(&proxy_url).await?;
    let plan = e2e::Plan {
        records: args.e2e_records,
        keys: args.e2e_keys,
        burst: args.burst,
        interval: Duration::from_millis(args.interval_ms),
        poll: Duration::from_millis(args.poll_ms),
        timeout: Duration::from_secs(args.settle_s),
        handler_records: args.handler_records,
        window: args.esm_window_ms.map(Duration::from_millis),
    };
    let run_id = format!(
        "bench-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp()
    );
    eprintln!("bench: handler alone ({} records)…", plan.handler_records);
    let handler = e2e::handler(&template, &stand, &plan, &format!("{run_id}-h")).await?;
    eprintln!("bench: end to end, hub ({} records)…", plan.records);
    let hub_e2e = e2e::hub(
        &template,
        &stand,
        &plan,
        &rig.bootstrap,
        &format!("{run_id}-e"),
    )
    .await?;
    eprintln!("bench: end to end, baseline ({} records)…", plan.records);
    let base_e2e = e2e::baseline(
        &python,
        &stand,
        &plan,
        &rig.bootstrap,
        &format!("{run_id}-b"),
    )
    .await?;

    // Costs.
    let memory_mb = template
        .function_property("CustomerSync", "MemorySize")
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(256.0);
    let hub_cost = cost::per_million(
        &hub_e2e.requests,
        &cost::Inputs {
            events: hub_e2e.records,
            invocations_per_event: hub_e2e.lambda_invocations as f64
                / hub_e2e.records.max(1) as f64,
            seconds_per_invocation: handler.ms_per_invocation / 1000.0,
            memory_gb: memory_mb / 1024.0,
            cpu_seconds_per_event: hub_bridge.cpu_seconds / hub_bridge.events.max(1) as f64,
        },
    );
    let consumer_cpu = base_e2e.consumer_cpu_seconds.unwrap_or(0.0);
    let base_cost = cost::per_million(
        &base_e2e.requests,
        &cost::Inputs {
            events: base_e2e.records,
            invocations_per_event: 0.0,
            seconds_per_invocation: 0.0,
            memory_gb: 0.0,
            cpu_seconds_per_event: base_bridge.cpu_seconds / base_bridge.events.max(1) as f64
                + consumer_cpu / base_e2e.records.max(1) as f64,
        },
    );

    let distinct = |records: u64| -> anyhow::Result<u64> {
        let l = e2e::load(0, records, args.e2e_keys)?;
        Ok(l.iter()
            .map(|r| r.entity_key.clone())
            .collect::<std::collections::HashSet<_>>()
            .len() as u64)
    };
    let e2e_entities = distinct(plan.records)?;
    let ddb_writes = |c: &proxy::Counts| proxy::dynamodb_writes(c) as f64;
    let publish_side = |c: &proxy::Counts, events: u64| {
        (["sns", "s3"]
            .iter()
            .map(|s| {
                c.get(*s)
                    .map_or(0, |o| o.values().map(|x| x.requests).sum::<u64>())
            })
            .sum::<u64>()) as f64
            / events.max(1) as f64
    };
    let rows = vec![
        row(
            "Bridge alone: events/s per core",
            Some(hub_bridge.events_per_cpu_second),
            Some(base_bridge.events_per_cpu_second),
            0,
        ),
        row(
            "Bridge alone: events/s (wall, 2 cores)",
            Some(hub_bridge.events_per_second),
            Some(base_bridge.events_per_second),
            0,
        ),
        row(
            "Bridge alone: CPU s per 100k events",
            Some(hub_bridge.cpu_seconds_per_100k),
            Some(base_bridge.cpu_seconds_per_100k),
            2,
        ),
        row(
            "Bridge alone: SNS requests per event",
            Some(hub_bridge.sns_calls_per_event),
            Some(base_bridge.sns_calls_per_event),
            3,
        ),
        row(
            "Handler: CPU µs per record",
            Some(handler.cpu_us_per_record),
            Some(consumer_cpu / base_e2e.records.max(1) as f64 * 1e6),
            0,
        ),
        row(
            "Handler alone (batches of up to 100): DynamoDB writes per distinct entity",
            Some(handler.writes_per_entity),
            None,
            2,
        ),
        row(
            "End to end: DynamoDB writes per distinct entity",
            Some(ddb_writes(&hub_e2e.requests) / e2e_entities.max(1) as f64),
            Some(ddb_writes(&base_e2e.requests) / e2e_entities.max(1) as f64),
            2,
        ),
        row(
            "End to end: changes never visible (the table ends on an older version)",
            Some(hub_e2e.never_visible as f64),
            Some(base_e2e.never_visible as f64),
            0,
        ),
        row(
            "End to end: latency p50 (ms)",
            Some(hub_e2e.latency_ms.p50),
            Some(base_e2e.latency_ms.p50),
            0,
        ),
        row(
            "End to end: latency p95 (ms)",
            Some(hub_e2e.latency_ms.p95),
            Some(base_e2e.latency_ms.p95),
            0,
        ),
        row(
            "End to end: latency p99 (ms)",
            Some(hub_e2e.latency_ms.p99),
            Some(base_e2e.latency_ms.p99),
            0,
        ),
        row(
            "End to end: publish-side requests per event (SNS, S3)",
            Some(publish_side(&hub_e2e.requests, hub_e2e.records)),
            Some(publish_side(&base_e2e.requests, base_e2e.records)),
            3,
        ),
        row(
            "Requests per 1,000 events: SNS",
            Some(per_1000(&hub_e2e.requests, "sns", hub_e2e.records)),
            Some(per_1000(&base_e2e.requests, "sns", base_e2e.records)),
            1,
        ),
        row(
            "Requests per 1,000 events: SQS",
            Some(per_1000(&hub_e2e.requests, "sqs", hub_e2e.records)),
            Some(per_1000(&base_e2e.requests, "sqs", base_e2e.records)),
            1,
        ),
        row(
            "Requests per 1,000 events: Lambda invocations",
            Some(hub_e2e.lambda_invocations as f64 * 1000.0 / hub_e2e.records.max(1) as f64),
            Some(0.0),
            1,
        ),
        row(
            "Requests per 1,000 events: DynamoDB",
            Some(per_1000(&hub_e2e.requests, "dynamodb", hub_e2e.records)),
            Some(per_1000(&base_e2e.requests, "dynamodb", base_e2e.records)),
            1,
        ),
        row(
            "Cost per million events (USD): SNS",
            Some(hub_cost.sns),
            Some(base_cost.sns),
            3,
        ),
        row(
            "Cost per million events (USD): SQS",
            Some(hub_cost.sqs),
            Some(base_cost.sqs),
            3,
        ),
        row(
            "Cost per million events (USD): Lambda",
            Some(hub_cost.lambda),
            Some(base_cost.lambda),
            3,
        ),
        row(
            "Cost per million events (USD): DynamoDB",
            Some(hub_cost.dynamodb),
            Some(base_cost.dynamodb),
            3,
        ),
        row(
            "Cost per million events (USD): compute (bridge, consumer)",
            Some(hub_cost.compute),
            Some(base_cost.compute),
            3,
        ),
        row(
            "**Cost per million events (USD): total**",
            Some(hub_cost.total),
            Some(base_cost.total),
            3,
        ),
    ];
    let title = format!(
        "Bridge alone: {} records (hub{}), {} (baseline) of the fixture mix into a fast local SNS endpoint. \
         Handler alone: {} records. End to end: {} records ({} keys per entity, bursts of {} every {} ms) \
         on moto and DynamoDB Local. Machine: {} cores, {}.",
        hub_bridge.records,
        match hub_bridge.runs_events_per_cpu_second.as_slice() {
            [] => String::new(),
            runs => format!(
                "; the median of {} runs, whose events/s per core were {}",
                runs.len(),
                runs_text(runs)
            ),
        },
        base_bridge.records,
        handler.records,
        plan.records,
        plan.keys,
        plan.burst,
        plan.interval.as_millis(),
        machine.cores,
        machine.cpu
    );
    let hub_write = hub_e2e.to_write_ms.unwrap_or_default();
    let window = plan.window.map_or_else(
        || "the template's batching window of the domain mappings (1 s)".to_string(),
        |w| {
            format!(
                "a batching window of {} ms (--esm-window-ms)",
                w.as_millis()
            )
        },
    );
    let time_goes = format!(
        "Where the hub's end-to-end time goes: SAP change produced → item written p50 {:.0} ms / p95 {:.0} ms \
         (Kafka fetch, the bridge's batching, SNS → SQS, {window}, the handler's writes); written → seen \
         by the poller p50 {:.0} ms (it scans every {} ms).",
        hub_write.p50,
        hub_write.p95,
        (hub_e2e.latency_ms.p50 - hub_write.p50).max(0.0),
        plan.poll.as_millis()
    );
    let table = markdown(&rows);
    println!("\n{title}\n\n{table}\n{time_goes}");
    let md = format!("{title}\n\n{table}\n{time_goes}\n");
    std::fs::write(args.out.join("bench.md"), &md)?;
    let json = serde_json::json!({
        "machine": machine,
        "plan": {
            "bridge_records": args.records, "baseline_bridge_records": base_bridge.records,
            "handler_records": plan.handler_records, "e2e_records": plan.records,
            "e2e_keys": plan.keys, "burst": plan.burst, "interval_ms": args.interval_ms, "poll_ms": args.poll_ms,
            "esm_window_ms": args.esm_window_ms,
        },
        "bridge": {"hub": hub_bridge, "baseline": base_bridge},
        "handler": {"hub": handler},
        "end_to_end": {"hub": hub_e2e, "baseline": base_e2e},
        "cost_per_million_events": {"hub": hub_cost, "baseline": base_cost},
        "rows": rows,
    });
    std::fs::write(
        args.out.join("bench.json"),
        serde_json::to_vec_pretty(&json)?,
    )?;
    chart::draw(
        &args.out.join("bench.png"),
        &chart::Figures {
            hub_latency: [
                hub_e2e.latency_ms.p50,
                hub_e2e.latency_ms.p95,
                hub_e2e.latency_ms.p99,
            ],
            baseline_latency: [
                base_e2e.latency_ms.p50,
                base_e2e.latency_ms.p95,
                base_e2e.latency_ms.p99,
            ],
            throughput: [
                hub_bridge.events_per_cpu_second,
                base_bridge.events_per_cpu_second,
            ],
        },
    )?;
    println!(
        "\nwritten to {} (bench.json, bench.md, bench.png)",
        args.out.display()
    );
    if hub_e2e.never_visible > 0 {
        eprintln!(
            "bench: {} of the hub's changes never became visible: the hub lost updates",
            hub_e2e.never_visible
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bridge_tuning_is_taken_from_the_environment_but_not_the_bench_s_own_settings() {
        // Scenario: BRIDGE_* tuning passes; the DLQ, the metrics interval and other variables
        // do not.
        let vars = [
            ("BRIDGE_CHUNK_RECORDS", "100"),
            ("BRIDGE_DLQ_URL", "http://elsewhere/q"),
            ("BRIDGE_METRICS_INTERVAL_MS", "1000"),
            ("KAFKA_GROUP_ID", "other"),
            ("PATH", "/bin"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(
            bridge_tuning(vars.into_iter()),
            vec![("BRIDGE_CHUNK_RECORDS".to_string(), "100".to_string())]
        );
    }
}
