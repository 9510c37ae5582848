//! `hubctl redrive`: the `dlq-redrive` Lambda's logic from a shell, configured as the deployed
//! function of that DLQ is (its environment in `template.yaml`), with a progress bar. For the
//! change-stream DLQ, the `change-stream-redrive` function's logic (its report as JSON).

use crate::stack::{StackArgs, local_clients};
use anyhow::{Context as _, bail};
use dlq_redrive::{Config, Redriver};
use hub_core::config::Env;
use hub_redrive::{RedriveRequest, RunLimits, When};
use hub_template::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `hubctl redrive`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The DLQ: its name (`sap-sync-hub-customers-dlq`), URL or logical id (`CustomersDLQ`).
    queue: String,
    /// Report only; nothing is sent or deleted.
    #[arg(long)]
    dry_run: bool,
    /// Messages to move at most.
    #[arg(long, default_value_t = hub_redrive::request::DEFAULT_MAX_MESSAGES)]
    max_messages: u32,
    /// Sends per second at most.
    #[arg(long)]
    rate: Option<f64>,
    /// Only this error class (repeatable): permanent, transient, poison, needs_enrichment.
    #[arg(long)]
    error_class: Vec<String>,
    /// Only this entity (repeatable): customer, material, sales_order, supplier.
    #[arg(long)]
    entity: Vec<String>,
    /// Only messages that failed before: a duration ago (30m, 2h, 7d) or an RFC 3339 time.
    #[arg(long)]
    older_than: Option<When>,
    /// Only messages that failed after (same forms).
    #[arg(long)]
    newer_than: Option<When>,
    /// Only this business key.
    #[arg(long)]
    key: Option<String>,
    /// Loop guard: messages redriven this often already stay.
    #[arg(long, default_value_t = hub_redrive::request::DEFAULT_MAX_REDRIVES)]
    max_redrives: u32,
    /// Stop after this long, like the Lambda before its timeout (seconds).
    #[arg(long, default_value_t = 900)]
    max_seconds: u64,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// A variable for the redrive's configuration, NAME=VALUE, over the template's (repeatable),
    /// e.g. BRIDGE_THIN_EVENTS=publish once thin events may be published.
    #[arg(long = "env", value_name = "NAME=VALUE")]
    env: Vec<String>,
    #[command(flatten)]
    stack: StackArgs,
}

/// The environment of the template's `dlq-redrive` function for `queue`.
pub fn redrive_environment(
    ctx: &Context<'_>,
    queue: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let template = ctx.template();
    let mut known = Vec::new();
    for f in template.resources_of_type("AWS::Serverless::Function") {
        let binary = f
            .metadata
            .get("BuildProperties")
            .and_then(|b| b.get("Binary"))
            .and_then(Value::as_str);
        if binary != Some("dlq-redrive") || !ctx.is_active(&f.logical_id)? {
            continue;
        }
        let env = ctx.function_environment(&f.logical_id)?;
        let dlq_url = env
            .iter()
            .find(|(k, _)| k == "DLQ_URL")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let dlq_id = f
            .properties
            .get("Environment")
            .and_then(|e| e.get("Variables"))
            .and_then(|v| v.get("DLQ_URL"))
            .and_then(|r| r.get("Ref"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        if dlq_url == queue || dlq_url.ends_with(&format!("/{queue}")) || dlq_id == queue {
            return Ok(env);
        }
        known.push(dlq_url.rsplit('/').next().unwrap_or_default().to_string());
    }
    bail!(
        "no dlq-redrive function in the template redrives {queue:?}; known DLQs: {}",
        known.join(", ")
    )
}

/// The environment of the template's `change-stream-redrive` function, when `queue` is its DLQ.
fn change_stream_environment(
    ctx: &Context<'_>,
    queue: &str,
) -> anyhow::Result<Option<Vec<(String, String)>>> {
    for f in ctx
        .template()
        .resources_of_type("AWS::Serverless::Function")
    {
        let binary = f
            .metadata
            .get("BuildProperties")
            .and_then(|b| b.get("Binary"))
            .and_then(Value::as_str);
        if binary != Some("change-stream-redrive") {
            continue;
        }
        let env = ctx.function_environment(&f.logical_id)?;
        let url = env
            .iter()
            .find(|(k, _)| k == "DLQ_URL")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let id = f.properties["Environment"]["Variables"]["DLQ_URL"]["Ref"]
            .as_str()
            .unwrap_or_default();
        if url == queue || url.ends_with(&format!("/{queue}")) || id == queue {
            return Ok(Some(env));
        }
    }
    Ok(None)
}

/// The change-stream DLQ: its batches' records read from the stream again and published (the
/// `change-stream-redrive` function's logic).
async fn run_change_stream(
    args: &Args,
    clients: &hub_aws::AwsClients,
    env: Vec<(String, String)>,
) -> anyhow::Result<ExitCode> {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let env = Env::from_pairs(&pairs);
    let config = change_stream::Config::from_env(&env)?;
    let dlq_url = env.required("DLQ_URL")?;
    let state = change_stream::state(clients, &config, false);
    let request = change_stream::redrive::Request {
        dry_run: args.dry_run,
        max_messages: args.max_messages as usize,
    };
    let report = change_stream::redrive::redrive(
        &request,
        &clients.sqs,
        &dlq_url,
        &hub_aws::stream_records::streams_client(clients),
        &clients.region(),
        &state,
    )
    .await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let template = args.stack.template()?;
    let clients = local_clients().await;
    let (ctx, _) = args.stack.resolve(&template, &clients).await?;
    if let Some(env) = change_stream_environment(&ctx, &args.queue)? {
        return run_change_stream(&args, &clients, env).await;
    }
    let mut env = redrive_environment(&ctx, &args.queue)?;
    for pair in &args.env {
        let Some((k, v)) = pair.split_once('=') else {
            bail!("--env {pair}: expected NAME=VALUE");
        };
        env.retain(|(name, _)| name != k);
        env.push((k.to_string(), v.to_string()));
    }
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let config = Config::from_env(&Env::from_pairs(&pairs))?;
    let request = RedriveRequest {
        dry_run: args.dry_run,
        max_messages: args.max_messages,
        rate_per_second: args.rate,
        error_class: args.error_class,
        entity: args.entity,
        older_than: args.older_than,
        newer_than: args.newer_than,
        key: args.key,
        max_redrives: args.max_redrives,
    };
    request.validate()?;
    let redriver = Redriver::new(&clients, &config);
    let depth = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&config.dlq_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .with_context(|| format!("reading {}", config.dlq_url))?
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(depth)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} examined  {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let limits = RunLimits::within(Duration::from_secs(args.max_seconds));
    let report = redriver
        .run(&request, limits, |r| {
            if r.examined > bar.length().unwrap_or(0) {
                bar.set_length(r.examined);
            }
            bar.set_position(r.examined);
            bar.set_message(r.summary());
        })
        .await;
    bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&report);
    }
    Ok(if report.totals.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_report(r: &hub_redrive::Report) {
    println!(
        "{} {} → {}",
        if r.dry_run { "DRY RUN" } else { "REDRIVE" },
        r.source,
        r.destination
    );
    println!(
        "{:<34} {:>10} {:>7} {:>13} {:>8} {:>6} {:>7}",
        "error class/entity", "would move", "moved", "still failing", "skipped", "held", "failed"
    );
    for (group, c) in r.groups.iter().chain([(&"total".to_string(), &r.totals)]) {
        println!(
            "{group:<34} {:>10} {:>7} {:>13} {:>8} {:>6} {:>7}",
            c.would_move,
            c.moved,
            c.still_failing,
            c.skipped_by_filter,
            c.held_by_loop_guard,
            c.failed
        );
    }
    for f in &r.failures {
        println!("failed: {} ({}): {}", f.message_id, f.group, f.error);
    }
    println!(
        "stopped: {:?} ({}); {} visible in the DLQ; {} ms",
        r.stopped,
        r.detail,
        r.remaining_in_dlq
            .map(|n| n.to_string())
            .unwrap_or_else(|| "?".into()),
        r.elapsed_ms
    );
}
