//! `hubctl run`: the main job.

use crate::provision::print_report;
use crate::stack::{StackArgs, local_clients};
use crate::status;
use anyhow::bail;
use hub_aws::AwsClients;
use hub_aws::provision::Provisioner;
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

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let template = args.stack.template()?;
    let clients = local_clients().await;
    let mut ctx = args.stack.context(&template, &clients)?;
    let report = Provisioner::new(clients.clone())
        .provision(&mut ctx)
        .await?;
    print_report(&report);
    if !report.drift.is_empty() {
        bail!("the stand-ins do not match the template (see DRIFT above)");
    }
    let shutdown = CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
    for config in EsmConfig::from_template(&ctx)? {
        let Some(function) = local_function(&ctx, &config.function, &clients)? else {
            warn!(function = %config.function, "No local handler for this function; its queue is not drained.");
            continue;
        };
        let esm = SqsEventSourceMapping::new(config, clients.sqs.clone(), function)?;
        let token = shutdown.clone();
        tasks.spawn(esm.run(token));
    }
    info!(mappings = tasks.len(), "Hub running; Ctrl-C to stop.");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut tick = tokio::time::interval(Duration::from_secs(args.status_interval.max(1)));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            _ = tick.tick() => {
                match status::collect(&clients, &report).await {
                    Ok(s) => println!("status kafka={} {}", s.kafka, status::line(&s)),
                    Err(e) => warn!(error = %e, "Status unavailable."),
                }
            }
            Some(r) = tasks.join_next(), if !tasks.is_empty() => {
                if let Ok(Err(e)) = r {
                    shutdown.cancel();
                    bail!("an event source mapping stopped: {e}");
                }
            }
        }
    }
    info!("Stopping: letting running invocations finish.");
    shutdown.cancel();
    while tasks.join_next().await.is_some() {}
    Ok(ExitCode::SUCCESS)
}
