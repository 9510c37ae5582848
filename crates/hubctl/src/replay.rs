//! `hubctl replay`: a window of SAP's topics through the bridge's parse and publish again.
//!
//! The records of the window (a time range, or offset ranges) are read with a consumer that
//! joins no group and commits nothing, so the bridge's own group and offsets are untouched,
//! and run through the same pipeline as the bridge of the template (parse, validate, publish to
//! the changes topic, dead-letter what does not parse). Use it after a parser fix, or for the
//! changes a reconciliation found missing. The table's version guard makes it safe: a change
//! already applied is stale, writes nothing, and so reaches no consolidated subscriber again.
//!
//! A dry run by default: it reads and parses the window and reports what it would publish.

use crate::reconcile::{kafka_config, time};
use crate::stack::{StackArgs, local_clients};
use anyhow::bail;
use hub_bridge::KafkaRecord;
use hub_kafka::window::{OffsetRange, Window, read_window};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Records handed to the pipeline at once (as the bridge's chunks).
const CHUNK: usize = 100;

/// Arguments of `hubctl replay`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kafka topics to replay, comma-separated (every partition; with --from/--to).
    #[arg(long, value_delimiter = ',')]
    topics: Vec<String>,
    /// Offset ranges instead, `topic:partition:from-to` (repeatable).
    #[arg(long = "offsets", value_parser = OffsetRange::parse)]
    offsets: Vec<OffsetRange>,
    /// Records with a timestamp at or after this time (RFC 3339).
    #[arg(long, value_parser = time)]
    from: Option<chrono::DateTime<chrono::Utc>>,
    /// Records with a timestamp before this time (RFC 3339).
    #[arg(long, value_parser = time)]
    to: Option<chrono::DateTime<chrono::Utc>>,
    /// Publish: without it, a dry run parses the window and reports what it would publish.
    #[arg(long)]
    execute: bool,
    /// Kafka bootstrap servers (default: the local stack's embedded Kafka).
    #[arg(long, env = "KAFKA_BOOTSTRAP_SERVERS")]
    bootstrap_servers: Option<String>,
    /// Longest wait for the next Kafka record before giving up (seconds).
    #[arg(long, default_value_t = 30)]
    kafka_stall_seconds: u64,
    #[command(flatten)]
    stack: StackArgs,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.topics.is_empty() == args.offsets.is_empty() {
        bail!("give --topics (with --from/--to) or --offsets, not both");
    }
    let template = args.stack.template()?;
    let clients = local_clients().await;
    let bootstrap = crate::publish::bootstrap(args.bootstrap_servers.as_deref())?;
    let mut overrides = args.stack.overrides()?;
    overrides
        .entry("KafkaBootstrapServers".into())
        .or_insert_with(|| bootstrap.clone());
    overrides
        .entry("KafkaAuth".into())
        .or_insert_with(|| "none".into());
    let mut ctx = hub_template::Context::new(&template, args.stack.stack(&clients), &overrides)?;
    let report = hub_local::provision::Provisioner::new(clients.clone())
        .resolve(&mut ctx)
        .await?;
    let missing = report.missing();
    if !missing.is_empty() {
        bail!(
            "stack {} is not provisioned ({} resources missing); run `hubctl provision` first",
            args.stack.stack_name,
            missing.len()
        );
    }
    let (config, _) = kafka_bridge::local::from_template(&ctx, &bootstrap)?;
    let pipeline = Arc::new(kafka_bridge::build(&clients, &config));
    let window = Window {
        topics: args.topics.clone(),
        from: args.from,
        to: args.to,
        offsets: args.offsets.clone(),
    };
    let kafka = kafka_config(Some(&bootstrap), &clients).await?;
    let stall = Duration::from_secs(args.kafka_stall_seconds.max(1));
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<KafkaRecord>>(4);
    let reader = tokio::task::spawn_blocking(move || {
        let mut chunk = Vec::with_capacity(CHUNK);
        let stats = read_window(kafka, &window, stall, |r| {
            chunk.push(r);
            if chunk.len() == CHUNK {
                tx.blocking_send(std::mem::take(&mut chunk)).ok();
            }
        });
        if !chunk.is_empty() {
            tx.blocking_send(chunk).ok();
        }
        stats
    });
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let (mut records, mut events, mut published, mut dead_lettered, mut claim_checked) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let limits = hub_sap::Limits::default();
    while let Some(chunk) = rx.recv().await {
        records += chunk.len() as u64;
        if args.execute {
            let r = pipeline.process(&chunk).await;
            published += r.published as u64;
            dead_lettered += r.dead_lettered as u64;
            claim_checked += r.claim_checked as u64;
        } else {
            for record in &chunk {
                match hub_sap::parse_record_with(&record.envelope(), &limits, &Default::default()) {
                    Ok(changes) => events += changes.len() as u64,
                    Err(_) => dead_lettered += 1,
                }
            }
        }
        bar.set_message(format!("{records} records replayed"));
    }
    bar.finish_and_clear();
    let stats = reader.await??;
    let trimmed: i64 = stats.trimmed.values().map(|(a, b)| b - a).sum();
    if trimmed > 0 {
        eprintln!(
            "warning: {trimmed} records of the window are no longer in Kafka (retention): not replayed"
        );
    }
    let out = json!({
        "dry_run": !args.execute,
        "records": records,
        "outside_time_range": stats.outside,
        "published": if args.execute { published } else { events },
        "dead_lettered": dead_lettered,
        "claim_checked": claim_checked,
        "partitions": stats.ranges.iter().map(|((t, p), (a, b))| json!({"topic": t, "partition": p, "from": a, "to": b})).collect::<Vec<_>>(),
        "trimmed": stats.trimmed.iter().map(|((t, p), (a, b))| json!({"topic": t, "partition": p, "from": a, "to": b})).collect::<Vec<_>>(),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    eprintln!(
        "{}: {records} records, {} events {}, {dead_lettered} {}.",
        if args.execute { "Replay" } else { "Dry run" },
        out["published"],
        if args.execute {
            "published"
        } else {
            "to publish (nothing sent: --execute publishes)"
        },
        if args.execute {
            "dead-lettered"
        } else {
            "would be dead-lettered"
        }
    );
    Ok(ExitCode::SUCCESS)
}
