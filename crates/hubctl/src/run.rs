//! `hubctl run`: the main job.

use crate::provision::print_report;
use crate::stack::{StackArgs, local_clients};
use crate::status;
use anyhow::bail;
use hub_local::provision::Provisioner;
use hub_local::{EsmConfig, SqsEventSourceMapping, StreamEsmConfig, StreamEventSourceMapping};
use hub_template::Context;
use serde_json::Value;
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
    /// business partner, a product, a supplier and its S/4 change) to their Kafka topics.
    #[arg(long)]
    seed: bool,
    /// Run one part of the hub only: `bridge` (Kafka to SNS) or `domains` (the domain queues'
    /// event source mappings and functions, to the table). Several processes can then share
    /// the work as the cloud splits it: bridges in one consumer group, domains apart from
    /// them, each restarted or scaled on its own. Default: both.
    #[arg(long, value_enum)]
    only: Option<Part>,
    /// Enrich thin S/4 events from the S/4 at this URL (the local one: `$HUB_S4_URL`, which
    /// `infra/local/up.sh` passes): sets the stack's `S4ApiBaseUrl`, writes its logon to the
    /// local Secrets Manager as `S4ApiSecretArn`, and runs the S/4 enricher under its event
    /// source mapping. With `--seed`, also changes a business partner there.
    #[arg(long, value_name = "URL")]
    s4: Option<String>,
    /// Seconds between two runs of the S/4 enricher's probe (its schedule in the template: one
    /// minute).
    #[arg(long, default_value_t = 60)]
    probe_interval: u64,
}

/// A part of the hub that `hubctl run --only` runs alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    /// The Kafka bridge.
    Bridge,
    /// The domain functions under their event source mappings.
    Domains,
}

/// Runs the S/4 enricher's probe every `interval` seconds (the template's schedule), and says
/// when its mapping turns off (breaker open) or on (S/4 answers again).
fn spawn_enricher_probe(
    state: Arc<s4_enricher::local::LocalState>,
    switch: hub_local::EsmSwitch,
    interval: u64,
    shutdown: CancellationToken,
) {
    let watched = switch.clone();
    let token = shutdown.clone();
    let seen = state.clone();
    tokio::spawn(async move {
        let mut on = watched.is_on();
        while !token.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = watched.is_on();
            if now != on {
                println!(
                    "{} s4 enricher mapping {} (breaker {})",
                    chrono::Utc::now().format("%H:%M:%S%.3f"),
                    if now { "on" } else { "off" },
                    seen.enricher.breaker_state().as_str()
                );
                on = now;
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(interval.max(1)));
        tick.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let report = s4_enricher::handler::probe(&state).await;
            if !report.was_enabled {
                info!(?report, "S/4 enricher probe.");
            }
        }
    });
}

/// Publishes the sample fixtures to the topics the template's bridge reads.
pub async fn seed(ctx: &Context<'_>, bootstrap: &str) -> anyhow::Result<usize> {
    let producer = hub_kafka::produce::acked_producer(bootstrap)?;
    let samples = hub_sap::samples::seed();
    for s in &samples {
        let topic = hub_model::object::sap_topics()
            .find(|t| t.name == s.topic)
            .and_then(|t| ctx.parameter(t.parameter))
            .and_then(Value::as_str)
            .unwrap_or(s.topic);
        let (partition, offset) = hub_kafka::produce::send(&producer, topic, &s.record).await?;
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
    // The embedded Kafka is plaintext and unauthenticated: the template's rules want that said.
    overrides
        .entry("KafkaAuth".into())
        .or_insert_with(|| "none".into());
    if let Some(url) = &args.s4 {
        overrides.insert("S4ApiBaseUrl".into(), url.trim_end_matches('/').to_string());
        if !overrides.contains_key("S4ApiSecretArn") {
            let arn = crate::s4::local_secret(&clients, &args.stack.stack_name).await?;
            overrides.insert("S4ApiSecretArn".into(), arn);
        }
    }
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
    let domains = args.only != Some(Part::Bridge);
    let configs = if domains {
        EsmConfig::from_template(&ctx)?
    } else {
        Vec::new()
    };
    let mut enricher = None;
    for config in configs {
        if config.function == s4_enricher::local::FUNCTION {
            let switch = hub_local::EsmSwitch::default();
            let Some((function, state)) =
                s4_enricher::local::function_of(&ctx, &clients, switch.clone()).await?
            else {
                continue;
            };
            let esm = SqsEventSourceMapping::new(config, clients.sqs.clone(), function)?
                .with_switch(switch.clone());
            let token = shutdown.clone();
            tasks.spawn(async move { Ok(esm.run(token).await?) });
            enricher = Some(state.clone());
            spawn_enricher_probe(state, switch, args.probe_interval, shutdown.clone());
            println!(
                "S/4 enricher reading {}.",
                args.s4.as_deref().unwrap_or("S/4")
            );
            continue;
        }
        let Some(function) = domain_sync::local::function_of(&ctx, &config.function, &clients)?
        else {
            warn!(function = %config.function, "No local handler for this function; its queue is not drained.");
            continue;
        };
        let esm = SqsEventSourceMapping::new(config, clients.sqs.clone(), function)?;
        let token = shutdown.clone();
        tasks.spawn(async move { Ok(esm.run(token).await?) });
    }
    // The table's stream mappings (the change stream to the consolidated topic), beside the
    // domain functions: they follow what those write.
    let mut streams = Vec::new();
    if domains {
        for config in StreamEsmConfig::from_template(&ctx)? {
            let Some(function) =
                change_stream::local::function_of(&ctx, &config.function, &clients)?
            else {
                warn!(function = %config.function, "No local handler for this function; its stream is not read.");
                continue;
            };
            let checkpoints = std::path::PathBuf::from(format!(
                ".local/run/{}-{}.checkpoints.json",
                args.stack.stack_name, config.function
            ));
            let esm = StreamEventSourceMapping::new(
                config,
                hub_aws::stream_records::streams_client(&clients),
                clients.sqs.clone(),
                function,
            )
            .with_checkpoints(checkpoints);
            streams.push(esm.stats());
            let token = shutdown.clone();
            tasks.spawn(async move { Ok(esm.run(token).await?) });
        }
    }
    if args.seed {
        // Before the bridge subscribes: producing creates the topics if they do not exist.
        let n = seed(&ctx, &bootstrap).await?;
        println!(
            "Seeded {n} sample records (a material, a customer, an order, a business partner, a product, a supplier and its S/4 change)."
        );
        if let Some(url) = &args.s4 {
            // A change in S/4 itself: its thin event comes back whole through the enricher.
            let term = format!("SEED{}", chrono::Utc::now().format("%H%M%S"));
            crate::s4::touch_business_partner(url, "100200", &term)?;
            println!(
                "Changed business partner 100200 on the S/4 at {url} (SearchTerm1 {term}); its thin event is enriched into customer 100200."
            );
        }
    }
    let mut bridge = None;
    if args.only != Some(Part::Domains) && ctx.is_active(kafka_bridge::local::FUNCTION)? {
        let (config, consumer) = kafka_bridge::local::from_template(&ctx, &bootstrap)?;
        println!(
            "Bridge consuming {} as consumer group {}.",
            consumer.topics.join(","),
            consumer.group_id
        );
        let pipeline = Arc::new(kafka_bridge::build(&clients, &config));
        bridge = Some(pipeline.clone());
        // Each change of the breaker as it happens, with its time and count (the status line
        // shows the state only every interval, and not while the stand-ins are unreachable).
        let breaker = pipeline.breaker().clone();
        let mut changes = breaker.subscribe();
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                let state = *changes.borrow_and_update();
                println!(
                    "{} bridge breaker {} (transitions {})",
                    chrono::Utc::now().format("%H:%M:%S%.3f"),
                    state.as_str(),
                    breaker.transitions()
                );
            }
        });
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
    // Both registered once, before the loop: a `ctrl_c()` future made per turn misses a
    // Ctrl-C that arrives while a status line is being collected.
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut tick = tokio::time::interval(Duration::from_secs(args.status_interval.max(1)));
    loop {
        tokio::select! {
            _ = int.recv() => break,
            _ = term.recv() => break,
            _ = tick.tick() => {
                match status::collect(&clients, &report).await {
                    Ok(s) => {
                        let mut live = status::Live::now(&s, bridge.as_deref().map(|p| (p.metrics().as_ref(), p.breaker().state())));
                        live.consolidated = (!streams.is_empty()).then(|| status::ConsolidatedLive::now(&streams));
                        live.enricher = enricher.as_ref().map(|s| s.enricher.metrics().totals());
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
    info!(
        "Stopping: draining the bridge, letting running invocations finish (Ctrl-C again to exit now)."
    );
    // A second signal exits at once, whatever the stop is waiting for.
    tokio::spawn(async move {
        let code = tokio::select! {
            _ = int.recv() => 130,
            _ = term.recv() => 143,
        };
        eprintln!("hubctl run: second signal, exiting now");
        std::process::exit(code);
    });
    shutdown.cancel();
    while tasks.join_next().await.is_some() {}
    std::fs::remove_file(status::LIVE_FILE).ok();
    Ok(ExitCode::SUCCESS)
}
