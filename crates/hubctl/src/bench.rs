//! `hubctl bench`: measured figures, printed as a table and written as JSON.
//!
//! Section `bridge` measures the Kafka bridge alone: `--records` records of the fixture mix
//! (`hub_sap::samples::mixed`) are produced to an embedded Kafka **in a child process**
//! (`hubctl kafka serve`), then the bridge (the same consumer and pipeline as the `kafka-bridge`
//! binary, signed `PublishBatch` calls through the AWS SDK) consumes and publishes them to
//! `hubctl fake-sns`, **another child process** that answers at once. This process then does
//! only the bridge's work, so its CPU time (user + system, all threads, librdkafka's included)
//! is the bridge's CPU time.

use anyhow::{Context as _, bail};
use hub_bridge::settings::Env;
use hub_kafka::bridge::{ConsumerConfig, run};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::Serialize;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `hubctl bench` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Records in the synthetic SAP load.
    #[arg(long, default_value_t = 100_000)]
    records: u64,
    /// Distinct business keys per entity (several versions per key).
    #[arg(long, default_value_t = 1_000)]
    keys: u64,
    /// Kafka partitions of the bench topic at least (more when the load needs them: the
    /// embedded Kafka keeps at most 5 MB per partition).
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Where to write the figures as JSON.
    #[arg(long, default_value = "target/bench/bench.json")]
    json: PathBuf,
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
}

struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `hubctl <args>` and returns it with the first line it prints.
fn spawn_self(args: &[&str]) -> anyhow::Result<(ChildGuard, String)> {
    let exe = std::env::current_exe().context("locating hubctl")?;
    let mut child = std::process::Command::new(exe)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting hubctl {}", args.join(" ")))?;
    let stdout = child.stdout.take().context("child stdout")?;
    let guard = ChildGuard(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .context("reading the child's first line")?;
    if line.trim().is_empty() {
        bail!("hubctl {} printed nothing", args.join(" "));
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

/// Measures the bridge alone; see the module documentation.
pub async fn bridge(args: &Args) -> anyhow::Result<BridgeFigures> {
    let dir = std::env::temp_dir().join(format!("hub-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
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
    let spec = format!("{topic}:{partitions}");
    let bootstrap_file = dir.join("kafka.bootstrap");
    let (_kafka, bootstrap) = spawn_self(&[
        "kafka",
        "serve",
        "--topic",
        &spec,
        "--bootstrap-file",
        bootstrap_file.to_str().context("temp path")?,
    ])?;
    let (_sns, endpoint) = spawn_self(&["fake-sns", "--port", "0"])?;
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

    let endpoints = hub_aws::clients::LocalEndpoints {
        sns: endpoint.clone(),
        sqs: endpoint.clone(),
        dynamodb: endpoint.clone(),
    };
    let clients = hub_aws::AwsClients::local(&endpoints).await;
    let config = kafka_bridge::Config::from_env(&Env::from_pairs(&[
        ("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:bench"),
        (
            "BRIDGE_DLQ_URL",
            &format!("{endpoint}/123456789012/bench-dlq"),
        ),
    ]))?;
    let pipeline = Arc::new(kafka_bridge::build(&clients, &config));
    let consumer = ConsumerConfig::from_env(&Env::from_pairs(&[
        ("KAFKA_BOOTSTRAP_SERVERS", &bootstrap),
        ("KAFKA_TOPICS", topic),
        ("KAFKA_GROUP_ID", "bench"),
        (
            "BRIDGE_METRICS_INTERVAL_MS",
            &std::env::var("BENCH_METRICS_MS").unwrap_or("0".into()),
        ),
    ]))?;
    eprintln!("bench: bridging…");
    let target = args.records;
    let metrics = pipeline.metrics().clone();
    let cpu0 = cpu_time::ProcessTime::now();
    let t0 = Instant::now();
    let done = async move {
        while metrics.snapshot().records_done < target {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    // The run's final EMF line goes to stdout; the bench's table follows it.
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
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu0.elapsed().as_secs_f64();
    let snap = pipeline.metrics().snapshot();
    let stats: serde_json::Value = fetch_stats(&endpoint).await?;
    let sns_calls = stats["calls"].as_u64().unwrap_or(0);
    std::fs::remove_dir_all(&dir).ok();
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
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
    })
}

struct Null;

impl hub_bridge::Publisher for Null {
    async fn publish_batch(
        &self,
        _messages: &[&hub_bridge::Message],
    ) -> Result<Vec<hub_bridge::ports::EntryFailure>, hub_bridge::ports::PortError> {
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
    let addr = endpoint.trim_start_matches("http://");
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = hyper::Request::get("/stats")
        .header("host", addr)
        .body(http_body_util::Empty::<hyper::body::Bytes>::new())?;
    let res = sender.send_request(req).await?;
    use http_body_util::BodyExt;
    let body = res.into_body().collect().await?.to_bytes();
    Ok(serde_json::from_slice(&body)?)
}

/// `hubctl bench`.
pub async fn run_bench(args: Args) -> anyhow::Result<ExitCode> {
    let figures = bridge(&args).await?;
    let host = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!();
    println!(
        "Bridge alone ({} records of the fixture mix, {} cores: {host})",
        figures.records, figures.cores
    );
    println!("| figure | value |");
    println!("|---|---|");
    println!("| events published | {} |", figures.events);
    println!("| wall time | {:.2} s |", figures.wall_seconds);
    println!(
        "| CPU time (user + system) | {:.2} s |",
        figures.cpu_seconds
    );
    println!("| events/s (wall) | {:.0} |", figures.events_per_second);
    println!(
        "| **events/s per core** (events / CPU s) | **{:.0}** |",
        figures.events_per_cpu_second
    );
    println!(
        "| CPU s per 100k events | {:.2} |",
        figures.cpu_seconds_per_100k
    );
    println!(
        "| SNS calls per event | {:.3} |",
        figures.sns_calls_per_event
    );
    if let Some(dir) = args.json.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let json =
        serde_json::json!({"machine": {"cpu": host, "cores": figures.cores}, "bridge": figures});
    std::fs::write(&args.json, serde_json::to_vec_pretty(&json)?)?;
    println!("\nwritten to {}", args.json.display());
    Ok(ExitCode::SUCCESS)
}
