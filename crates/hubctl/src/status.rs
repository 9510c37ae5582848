//! `hubctl status`: what is in the stack's queues and table.

use crate::stack::{StackArgs, local_clients};
use anyhow::Context as _;
use aws_sdk_sqs::types::QueueAttributeName;
use hub_aws::AwsClients;
use hub_local::provision::Report;
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `hubctl status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    stack: StackArgs,
}

/// Depth of one queue.
#[derive(Debug, Clone)]
pub struct QueueDepth {
    pub logical_id: String,
    pub visible: u64,
    pub in_flight: u64,
}

/// A status snapshot.
#[derive(Debug, Clone)]
pub struct Status {
    pub kafka: String,
    pub queues: Vec<QueueDepth>,
    pub tables: Vec<(String, i64)>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let template = args.stack.template()?;
    let clients = local_clients().await;
    let (_, report) = args.stack.resolve(&template, &clients).await?;
    let status = collect(&clients, &report).await?;
    print_table(&status);
    if let Some(live) = Live::load(Path::new(LIVE_FILE)) {
        println!("main job (hubctl run), at {}:", live.at);
        if let Some(b) = &live.bridge {
            println!(
                "{:<24} {:>9} {:>10} {:>14} {:>10} {:>7}",
                "BRIDGE", "CONSUMED", "PUBLISHED", "DEAD-LETTERED", "BREAKER", "LAG"
            );
            println!(
                "{:<24} {:>9} {:>10} {:>14} {:>10} {:>7}",
                "kafka-bridge", b.consumed, b.published, b.dead_lettered, b.breaker, b.lag
            );
        }
        println!(
            "{:<24} {:>9} {:>9} {:>7} {:>11} {:>14} {:>7}",
            "DOMAIN", "RECEIVED", "APPLIED", "STALE", "TOMBSTONED", "DEAD-LETTERED", "FAILED"
        );
        for (d, t) in &live.domains {
            println!(
                "{d:<24} {:>9} {:>9} {:>7} {:>11} {:>14} {:>7}",
                t.received, t.applied, t.stale, t.tombstoned, t.dead_lettered, t.failed
            );
        }
        if let Some(c) = &live.consolidated {
            println!(
                "{:<24} {:>9} {:>10} {:>8} {:>7} {:>10}",
                "CONSOLIDATED", "RECORDS", "PUBLISHED", "SKIPPED", "FAILED", "DISCARDED"
            );
            println!(
                "{:<24} {:>9} {:>10} {:>8} {:>7} {:>10}",
                "change-stream", c.records, c.published, c.skipped, c.failed, c.discarded_records
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A queue's approximate (visible, in flight) message counts.
pub async fn queue_depth(clients: &AwsClients, url: &str) -> anyhow::Result<(u64, u64)> {
    let out = clients
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await?;
    let get = |k: QueueAttributeName| {
        out.attributes()
            .and_then(|a| a.get(&k))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok((
        get(QueueAttributeName::ApproximateNumberOfMessages),
        get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    ))
}

/// Reads queue depths and table item counts of the resources in `report`.
pub async fn collect(clients: &AwsClients, report: &Report) -> anyhow::Result<Status> {
    let kafka = hub_kafka::resolve_bootstrap(Path::new(".local/run/kafka.bootstrap"))
        .unwrap_or_else(|_| "(no broker)".to_string());
    let mut queues = Vec::new();
    let mut tables = Vec::new();
    for r in &report.resources {
        let Some(id) = &r.physical_id else { continue };
        match r.kind.as_str() {
            "AWS::SQS::Queue" => {
                let (visible, in_flight) = queue_depth(clients, id)
                    .await
                    .with_context(|| format!("reading the depth of {}", r.logical_id))?;
                queues.push(QueueDepth {
                    logical_id: r.logical_id.clone(),
                    visible,
                    in_flight,
                });
            }
            "AWS::DynamoDB::Table" => {
                let out = clients
                    .dynamodb
                    .describe_table()
                    .table_name(id)
                    .send()
                    .await
                    .with_context(|| format!("describing {}", r.logical_id))?;
                tables.push((
                    r.logical_id.clone(),
                    out.table().and_then(|t| t.item_count()).unwrap_or(0),
                ));
            }
            _ => {}
        }
    }
    Ok(Status {
        kafka,
        queues,
        tables,
    })
}

pub fn print_table(s: &Status) {
    println!("kafka bootstrap: {}", s.kafka);
    println!("{:<24} {:>9} {:>10}", "QUEUE", "VISIBLE", "IN FLIGHT");
    for q in &s.queues {
        println!("{:<24} {:>9} {:>10}", q.logical_id, q.visible, q.in_flight);
    }
    println!("{:<24} {:>9}", "TABLE", "ITEMS");
    for (t, n) in &s.tables {
        println!("{t:<24} {n:>9}");
    }
}

/// Where `hubctl run` keeps its live status, for `hubctl status` in another shell.
pub const LIVE_FILE: &str = ".local/run/status.json";

/// Counters of the bridge in the main job.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BridgeLive {
    /// Kafka records consumed.
    pub consumed: u64,
    /// Events published.
    pub published: u64,
    /// Records sent to the bridge DLQ.
    pub dead_lettered: u64,
    /// `closed`, `open`, `half_open`.
    pub breaker: String,
    /// Consumer lag (records), from librdkafka's statistics.
    pub lag: i64,
}

/// Counters of the consolidated change stream in the main job.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ConsolidatedLive {
    /// Stream records read.
    pub records: u64,
    /// Messages published to the consolidated topic.
    pub published: u64,
    /// Records that were not changes of their own (index rows, chunks, TTL removals).
    pub skipped: u64,
    /// Invocations of the change-stream function that failed (a record retried).
    pub failed: u64,
    /// Records of batches discarded after their retries (their coordinates in the DLQ).
    pub discarded_records: u64,
}

impl ConsolidatedLive {
    /// The counters now, from the mappings' and the handler's.
    pub fn now(mappings: &[std::sync::Arc<hub_local::StreamStats>]) -> ConsolidatedLive {
        use std::sync::atomic::Ordering::Relaxed;
        let t = change_stream::handler::totals();
        let mut out = ConsolidatedLive {
            published: t.published.load(Relaxed),
            skipped: t.skipped.load(Relaxed),
            failed: t.failed.load(Relaxed),
            ..ConsolidatedLive::default()
        };
        for m in mappings {
            let s = m.snapshot();
            out.records += s.records;
            out.discarded_records += s.discarded_records;
        }
        out
    }
}

/// The main job's status: the bridge's and the domain functions' counters, the depth of every
/// queue and DLQ, the table size.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Live {
    /// When (RFC 3339).
    pub at: String,
    /// The Kafka bootstrap address.
    pub kafka: String,
    /// The bridge, when it runs.
    pub bridge: Option<BridgeLive>,
    /// Per domain: applied, stale, dead-lettered… since the main job started.
    pub domains: std::collections::BTreeMap<String, hub_sync::metrics::Totals>,
    /// The consolidated change stream, when its mapping runs.
    #[serde(default)]
    pub consolidated: Option<ConsolidatedLive>,
    /// The S/4 enricher's counters since the main job started, when it runs.
    #[serde(default)]
    pub enricher: Option<hub_enrich::metrics::Counts>,
    /// Queue logical id → (visible, in flight).
    pub queues: Vec<(String, u64, u64)>,
    /// Table logical id → items (DynamoDB's estimate).
    pub tables: Vec<(String, i64)>,
}

impl Live {
    /// The status now, from the queue depths in `s` and the counters of this process.
    pub fn now(
        s: &Status,
        bridge: Option<(&hub_bridge::BridgeMetrics, hub_bridge::BreakerState)>,
    ) -> Live {
        Live {
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            kafka: s.kafka.clone(),
            bridge: bridge.map(|(m, state)| {
                let snap = m.snapshot();
                BridgeLive {
                    consumed: snap.received,
                    published: snap.published,
                    dead_lettered: snap.dead_lettered,
                    breaker: state.as_str().to_string(),
                    lag: m.consumer_lag().max(0),
                }
            }),
            domains: hub_sync::metrics::totals(),
            consolidated: None,
            enricher: None,
            queues: s
                .queues
                .iter()
                .map(|q| (q.logical_id.clone(), q.visible, q.in_flight))
                .collect(),
            tables: s.tables.clone(),
        }
    }

    /// One compact line.
    pub fn line(&self) -> String {
        let mut parts = vec![format!("{} kafka {}", &self.at[11..19], self.kafka)];
        if let Some(b) = &self.bridge {
            parts.push(format!(
                "bridge consumed {} published {} dead-lettered {} breaker {} lag {}",
                b.consumed, b.published, b.dead_lettered, b.breaker, b.lag
            ));
        }
        for (d, t) in &self.domains {
            parts.push(format!("{d} applied {} stale {}", t.applied, t.stale));
        }
        if let Some(c) = &self.consolidated {
            parts.push(format!(
                "consolidated published {} skipped {} discarded {}",
                c.published, c.skipped, c.discarded_records
            ));
        }
        if let Some(e) = &self.enricher {
            parts.push(format!(
                "enricher events {} enriched {} superseded {} not-found {} as-is {} unavailable {} dead-lettered {} s4-calls {} rate-limited {} breaker {}",
                e.events,
                e.enriched,
                e.superseded,
                e.not_found,
                e.as_is,
                e.unavailable,
                e.dead_lettered,
                e.calls,
                e.rate_limited_waits,
                ["closed", "half_open", "open"][usize::from(e.breaker_state.min(2))]
            ));
        }
        let dlqs: Vec<String> = self
            .queues
            .iter()
            .filter(|(id, _, _)| id.ends_with("DLQ"))
            .map(|(id, v, f)| format!("{} {}", id.trim_end_matches("DLQ"), v + f))
            .collect();
        parts.push(format!("DLQ {}", dlqs.join(" ")));
        let items: i64 = self.tables.iter().map(|(_, n)| n).sum();
        parts.push(format!("table {items} items"));
        parts.join(" | ")
    }

    /// Writes it to `path` (best effort: the status line is what matters).
    pub fn save(&self, path: &Path) {
        if let Ok(json) = serde_json::to_vec_pretty(self) {
            std::fs::write(path, json).ok();
        }
    }

    /// Reads what the main job wrote, if it runs.
    pub fn load(path: &Path) -> Option<Live> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }
}
