//! `hubctl run`: the main job.

use crate::provision::print_report;
use crate::stack::{StackArgs, local_clients};
use crate::status;
use anyhow::{Context as _, bail};
use hub_aws::AwsClients;
use hub_core::config::Env;
use hub_kafka::bridge::ConsumerConfig;
use hub_local::provision::Provisioner;
use hub_local::{EsmConfig, LocalFunction, SqsEventSourceMapping};
use hub_template::Context;
use serde_json::Value;
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Arguments of `hubctl run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    stack: StackArgs,
    /// Seconds between two status lines.
    #[arg(long, default_value_t = 10)]
    status_interval: u64,
    /// Once the chain is up, publish the sample fixtures (a material, a customer, an order, a
    /// business partner, a product) to their Kafka topics.
    #[arg(long)]
    seed: bool,
}

/// The handler a function of the template runs locally: chosen by its SAM build binary
/// (`Metadata.BuildProperties.Binary`), configured from its resolved environment variables, as
/// the deployed function would be.
pub fn local_function(
    ctx: &Context<'_>,
    logical_id: &str,
    clients: &AwsClients,
) -> anyhow::Result<Option<Arc<dyn LocalFunction>>> {
    let template = ctx.template();
    let Some(resource) = template.resource(logical_id) else {
        return Ok(None);
    };
    let Some(binary) = resource
        .metadata
        .get("BuildProperties")
        .and_then(|b| b.get("Binary"))
        .and_then(Value::as_str)
    else {
        return Ok(None);
    };
    let env: HashMap<String, String> = ctx.function_environment(logical_id)?.into_iter().collect();
    Ok(domain_sync::local::function(binary, &env, clients)?)
}

/// The bridge as the template deploys it: the `KafkaBridge` function's environment (topic,
/// DLQ, bucket, thin-event policy, FIFO mode) and its Kafka event sources (topics, group), with
/// the long-running consumer in place of Lambda's event source mapping.
pub fn bridge_config(
    ctx: &Context<'_>,
    bootstrap: &str,
) -> anyhow::Result<(kafka_bridge::Config, ConsumerConfig)> {
    let env = ctx.function_environment("KafkaBridge")?;
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let config = kafka_bridge::Config::from_env(&Env::from_pairs(&pairs))?;
    let function = ctx
        .template()
        .resource("KafkaBridge")
        .context("template.yaml has no KafkaBridge function")?;
    let mut topics = Vec::new();
    let mut group = None;
    for (name, event) in function
        .properties
        .get("Events")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let path = format!("Resources.KafkaBridge.Properties.Events.{name}.Properties");
        let p = ctx.resolve_required(&event["Properties"], &path)?;
        for t in p["Topics"].as_array().into_iter().flatten() {
            topics.extend(t.as_str().map(str::to_string));
        }
        group = group.or(p["ConsumerGroupId"].as_str().map(str::to_string));
    }
    if topics.is_empty() {
        bail!("the KafkaBridge function has no Kafka topic in its events");
    }
    let topics = topics.join(",");
    let group = group.unwrap_or_else(|| "sap-sync-hub-bridge".into());
    let consumer = ConsumerConfig::from_env(&Env::from_pairs(&[
        ("KAFKA_BOOTSTRAP_SERVERS", bootstrap),
        ("KAFKA_TOPICS", &topics),
        ("KAFKA_GROUP_ID", &group),
        // The status line shows the counters; no EMF lines on the terminal.
        ("BRIDGE_METRICS_INTERVAL_MS", "0"),
    ]))?;
    Ok((config, consumer))
}

/// Publishes the sample fixtures to the topics the template's bridge reads.
pub async fn seed(ctx: &Context<'_>, bootstrap: &str) -> anyhow::Result<usize> {
    let producer = crate::publish::producer(bootstrap)?;
    let samples = hub_sap::samples::seed();
    for s in &samples {
        let topic = hub_model::object::sap_topics()
            .find(|t| t.name == s.topic)
            .and_then(|t| ctx.parameter(t.parameter))
            .and_then(Value::as_str)
            .unwrap_or(s.topic);
        let (partition, offset) = crate::publish::send(&producer, topic, &s.record).await?;
        info!(fixture = s.name, topic, partition, offset, "Seeded.");
    }
    Ok(samples.len())
}

pub async fn run(args: Args, verbose: u8) -> anyhow::Result<ExitCode> {
    let template = args.stack.template()?;
    let clients = local_clients().await;
    let bootstrap = crate::publish::bootstrap(None)?;
    // With brokers, the template's bridge function (and its configuration) exists.
    let mut overrides = args.stack.overrides()?;
    overrides
        .entry("KafkaBootstrapServers".into())
        .or_insert_with(|| bootstrap.clone());
    let mut ctx = Context::new(&template, args.stack.stack(&clients), &overrides)?;
    let report = Provisioner::new(clients.clone())
        .provision(&mut ctx)
        .await?;
    print_report(&report, verbose > 0);
    if !report.drift.is_empty() {
        bail!("the stand-ins do not match the template (see DRIFT above)");
    }
    let shutdown = CancellationToken::new();
    let mut tasks: tokio::task::JoinSet<anyhow::Result<()>> = tokio::task::JoinSet::new();
    for config in EsmConfig::from_template(&ctx)? {
        let Some(function) = local_function(&ctx, &config.function, &clients)? else {
            warn!(function = %config.function, "No local handler for this function; its queue is not drained.");
            continue;
        };
        let esm = SqsEventSourceMapping::new(config, clients.sqs.clone(), function)?;
        let token = shutdown.clone();
        tasks.spawn(async move { Ok(esm.run(token).await?) });
    }
    if args.seed {
        // Before the bridge subscribes: producing creates the topics if they do not exist.
        let n = seed(&ctx, &bootstrap).await?;
        println!(
            "Seeded {n} sample records (a material, a customer, an order, a business partner, a product)."
        );
    }
    let mut bridge = None;
    if ctx.is_active("KafkaBridge")? {
        let (config, consumer) = bridge_config(&ctx, &bootstrap)?;
        let pipeline = Arc::new(kafka_bridge::build(&clients, &config));
        bridge = Some(pipeline.clone());
        let token = shutdown.clone();
        tasks.spawn(async move {
            let summary =
                hub_kafka::bridge::run(&consumer, pipeline, token.cancelled_owned()).await?;
            info!(received = summary.received, "Bridge stopped.");
            Ok(())
        });
    }
    println!(
        "Hub running: Kafka bootstrap {bootstrap} (produce: target/debug/hubctl publish FILE --topic sap.idoc.matmas, or kcat -b {bootstrap} -t sap.idoc.matmas -P FILE); Ctrl-C to stop."
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut tick = tokio::time::interval(Duration::from_secs(args.status_interval.max(1)));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            _ = tick.tick() => {
                match status::collect(&clients, &report).await {
                    Ok(s) => {
                        let live = status::Live::now(&s, bridge.as_deref().map(|p| (p.metrics().as_ref(), p.breaker().state())));
                        println!("{}", live.line());
                        live.save(std::path::Path::new(status::LIVE_FILE));
                    }
                    Err(e) => warn!(error = %e, "Status unavailable."),
                }
            }
            Some(r) = tasks.join_next(), if !tasks.is_empty() => {
                if let Ok(Err(e)) = r {
                    shutdown.cancel();
                    bail!("a component of the hub stopped: {e}");
                }
            }
        }
    }
    info!("Stopping: draining the bridge, letting running invocations finish.");
    shutdown.cancel();
    while tasks.join_next().await.is_some() {}
    std::fs::remove_file(status::LIVE_FILE).ok();
    Ok(ExitCode::SUCCESS)
}
