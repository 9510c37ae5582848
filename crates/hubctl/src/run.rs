//! `hubctl run`: the main job.

use crate::provision::print_report;
use crate::stack::{StackArgs, local_clients};
use crate::status;
use anyhow::bail;
use hub_aws::provision::Provisioner;
use hub_local::{EsmConfig, LocalFunction, SqsEventSourceMapping};
use hub_template::Context;
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

/// The handler a function of the template runs locally, by logical id. The hub's Lambda crates
/// register theirs here as they are built.
fn local_function(logical_id: &str) -> Option<Arc<dyn LocalFunction>> {
    let _ = logical_id;
    None
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let template = args.stack.template()?;
    let clients = local_clients().await;
    let mut ctx = Context::new(
        &template,
        args.stack.stack(&clients),
        &args.stack.overrides()?,
    )?;
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
        let Some(function) = local_function(&config.function) else {
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
