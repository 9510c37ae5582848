//! The bridge-alone phases: the hub's bridge, then the baseline's, each consuming the rig's
//! load from the embedded Kafka and publishing into the fake SNS.

use super::cores;
use super::rig::Rig;
use crate::baseline::{Mode, Python};
use crate::fake_sns;
use anyhow::{Context as _, bail};
use hub_aws::AwsClients;
use hub_aws::clients::LocalEndpoints;
use hub_bridge::BridgeMetrics;
use hub_core::config::Env;
use hub_kafka::bridge::ConsumerConfig;
use kafka_bridge::AwsPipeline;
use serde::Serialize;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The SNS topic both bridges publish to (the fake SNS accepts any).
const TOPIC_ARN: &str = "arn:aws:sns:us-east-1:123456789012:bench";

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

impl BridgeFigures {
    /// The figures of one run: what it did, in how much time, with how many SNS calls.
    fn new(records: u64, events: u64, wall: f64, cpu: f64, sns_calls: u64) -> BridgeFigures {
        BridgeFigures {
            records,
            events,
            wall_seconds: wall,
            cpu_seconds: cpu,
            events_per_second: events as f64 / wall,
            events_per_cpu_second: events as f64 / cpu,
            cpu_seconds_per_100k: cpu / events.max(1) as f64 * 100_000.0,
            sns_calls,
            sns_calls_per_event: sns_calls as f64 / events.max(1) as f64,
            cores: cores(),
            runs_events_per_cpu_second: Vec::new(),
        }
    }
}

/// Measures the hub's bridge alone `runs` times, each run consuming the whole load (`records`)
/// in its own consumer group; the median run, with every run's events per CPU second.
pub async fn hub(rig: &Rig, records: u64, runs: u32) -> anyhow::Result<BridgeFigures> {
    let mut figures = Vec::new();
    for run in 1..=runs {
        figures.push(hub_once(rig, records, &format!("bench-{run}")).await?);
    }
    let all: Vec<f64> = figures.iter().map(|r| r.events_per_cpu_second).collect();
    figures.sort_by(|a, b| a.events_per_cpu_second.total_cmp(&b.events_per_cpu_second));
    let mut median = figures.swap_remove(figures.len() / 2);
    if all.len() > 1 {
        median.runs_events_per_cpu_second = all;
    }
    Ok(median)
}

/// Measures the hub's bridge alone once, consuming the load as consumer group `group`: the
/// same consumer and pipeline as the `kafka-bridge` binary, in this process, publishing to the
/// fake SNS (see the module documentation of `bench`).
async fn hub_once(rig: &Rig, records: u64, group: &str) -> anyhow::Result<BridgeFigures> {
    let endpoints = LocalEndpoints {
        sns: rig.sns.clone(),
        sqs: rig.sns.clone(),
        dynamodb: rig.sns.clone(),
        s3: rig.sns.clone(),
    };
    let clients = AwsClients::local(&endpoints).await;
    let (config, consumer) = hub_configs(rig, group)?;
    let pipeline = Arc::new(kafka_bridge::build(&clients, &config));
    // infra/local/profile-bridge.sh starts profiling at the first line that begins so.
    eprintln!("bench: bridging (hub, consumer group {group})…");
    let before = fake_sns::fetch_stats(&rig.sns).await?;
    let (wall, cpu) = consume(&consumer, &pipeline, &config.settings, records).await?;
    let snap = pipeline.metrics().snapshot();
    let sns_calls = fake_sns::calls_between(&before, &fake_sns::fetch_stats(&rig.sns).await?);
    Ok(BridgeFigures::new(
        snap.records_done,
        snap.published,
        wall,
        cpu,
        sns_calls,
    ))
}

/// The hub bridge's configuration and its consumer's: the bridge's tuning (`BRIDGE_CHUNK_RECORDS`,
/// `BRIDGE_MAX_IN_FLIGHT`…) from the environment, as the bridge takes it, and the bench's own
/// settings after, so they win.
fn hub_configs(rig: &Rig, group: &str) -> anyhow::Result<(kafka_bridge::Config, ConsumerConfig)> {
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
        ("SNS_TOPIC_ARN", TOPIC_ARN),
        (
            "BRIDGE_DLQ_URL",
            &format!("{}/123456789012/bench-dlq", rig.sns),
        ),
    ]))?;
    let consumer = ConsumerConfig::from_env(&with_tuning(&[
        ("KAFKA_BOOTSTRAP_SERVERS", &rig.bootstrap),
        ("KAFKA_TOPICS", rig.topic),
        ("KAFKA_GROUP_ID", group),
        (
            "BRIDGE_METRICS_INTERVAL_MS",
            &std::env::var("BENCH_METRICS_MS").unwrap_or("0".into()),
        ),
    ]))?;
    Ok((config, consumer))
}

/// The `BRIDGE_*` variables of `vars` (the environment), but the ones the bench sets itself.
fn bridge_tuning(vars: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    vars.filter(|(k, _)| {
        k.starts_with("BRIDGE_") && k != "BRIDGE_DLQ_URL" && k != "BRIDGE_METRICS_INTERVAL_MS"
    })
    .collect()
}

/// When the clocks started: wall and CPU time of this process.
type Start = Arc<OnceLock<(Instant, cpu_time::ProcessTime)>>;

/// Runs the bridge until `records` records are done; returns the wall and CPU seconds since it
/// started its first chunk.
///
/// The clocks start when the bridge starts its first chunk, as the baseline's start at its first
/// record: joining the consumer group (about 3 s on the embedded Kafka, as on a broker with
/// Kafka's default `group.initial.rebalance.delay.ms`) is not throughput. What is left out:
/// reading that chunk from librdkafka and at most the 1 ms between two looks (together about
/// 0.1% of a run's CPU).
async fn consume(
    consumer: &ConsumerConfig,
    pipeline: &Arc<AwsPipeline>,
    settings: &hub_bridge::Settings,
    records: u64,
) -> anyhow::Result<(f64, f64)> {
    let started = Start::default();
    let done = done_after(records, pipeline.metrics().clone(), started.clone());
    if std::env::var("BENCH_NULL_PUBLISHER").is_ok() {
        // Diagnostic: the same run with a publisher that discards (no SDK, no HTTP), to see
        // what the consumer, parsing and routing cost alone.
        let null = Arc::new(hub_bridge::Pipeline::new(
            Null,
            hub_bridge::ports::MemoryDeadLetters::default(),
            hub_bridge::ports::NoClaims,
            settings.clone(),
            pipeline.metrics().clone(),
        ));
        hub_kafka::bridge::run(consumer, null, done).await?;
    } else {
        hub_kafka::bridge::run(consumer, pipeline.clone(), done).await?;
    }
    let (t0, cpu0) = started
        .get()
        .copied()
        .context("the bridge finished without starting a chunk")?;
    Ok((t0.elapsed().as_secs_f64(), cpu0.elapsed().as_secs_f64()))
}

/// A future that starts the clocks at the bridge's first record received and ends once
/// `records` records are done, looking every millisecond.
async fn done_after(records: u64, metrics: Arc<BridgeMetrics>, start: Start) {
    loop {
        let snap = metrics.snapshot();
        if snap.received > 0 {
            start.get_or_init(|| (Instant::now(), cpu_time::ProcessTime::now()));
        }
        if snap.records_done >= records {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// A publisher that discards (`BENCH_NULL_PUBLISHER`).
struct Null;

impl hub_bridge::Publisher for Null {
    async fn publish_batch(
        &self,
        _messages: &[&hub_bridge::Message],
    ) -> Result<Vec<hub_bridge::ports::EntryFailure>, hub_core::PortError> {
        Ok(Vec::new())
    }
}

/// Measures the baseline's bridge alone: the same topic (its own group), `records` records,
/// into the same fake SNS.
pub async fn baseline(
    rig: &Rig,
    python: &Python,
    mode: Mode,
    records: u64,
) -> anyhow::Result<BridgeFigures> {
    eprintln!(
        "bench: bridging (baseline, {}, {records} records)…",
        mode.as_str()
    );
    let before = fake_sns::fetch_stats(&rig.sns).await?;
    let group = format!("baseline-bench-{}", mode.as_str());
    let f = python
        .run(&[
            "bridge",
            "--mode",
            mode.as_str(),
            "--bootstrap",
            &rig.bootstrap,
            "--topics",
            rig.topic,
            "--group",
            &group,
            "--endpoint",
            &rig.sns,
            "--topic-arn",
            TOPIC_ARN,
            "--max-records",
            &records.to_string(),
        ])
        .await?;
    let after = fake_sns::fetch_stats(&rig.sns).await?;
    if f.records != records || f.errors > 0 {
        bail!(
            "the baseline bridge handled {} of {records} records ({} errors)",
            f.records,
            f.errors
        );
    }
    let cpu = f.cpu_seconds.unwrap_or(0.0).max(1e-9);
    let wall = f.wall_seconds.unwrap_or(0.0).max(1e-9);
    Ok(BridgeFigures::new(
        f.records,
        f.events,
        wall,
        cpu,
        fake_sns::calls_between(&before, &after),
    ))
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

    #[test]
    fn a_run_s_figures_are_per_event_per_second_and_per_core() {
        // Scenario: 1,000 records, 2,000 events in 2 s of wall time and 0.5 s of CPU, 200 calls.
        let f = BridgeFigures::new(1_000, 2_000, 2.0, 0.5, 200);
        assert_eq!(f.events_per_second, 1_000.0);
        assert_eq!(f.events_per_cpu_second, 4_000.0);
        assert_eq!(f.cpu_seconds_per_100k, 25.0);
        assert_eq!(f.sns_calls_per_event, 0.1);
        assert!(f.runs_events_per_cpu_second.is_empty());
    }
}
