//! `hubctl backfill`: the current state of an entity's records sent to one domain's queue, as
//! the `backfill` function does (`change_stream::backfill`), with a progress bar and a
//! checkpoint file to resume from after a crash.

use crate::stack::{StackArgs, local_clients};
use anyhow::Context as _;
use change_stream::backfill::{Backfill, Checkpoint, Request};
use hub_aws::dynamo_store::DynamoStore;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `hubctl backfill`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The entity (customer, material, sales_order, supplier).
    #[arg(long)]
    entity: String,
    /// Only the keys in this file, one per line (padded or not).
    #[arg(long)]
    keys: Option<PathBuf>,
    /// Only records the table applied at or after this time (RFC 3339).
    #[arg(long)]
    changed_since: Option<String>,
    /// The one queue to send to (its URL).
    #[arg(long)]
    to_queue: String,
    /// Send: without it, a dry run reads and counts what would be sent.
    #[arg(long)]
    execute: bool,
    /// Parallel scan segments (1–64).
    #[arg(long, default_value_t = change_stream::backfill::DEFAULT_SEGMENTS)]
    segments: u32,
    /// Read units per second, at most (default: a quarter of a provisioned table's read
    /// capacity, or 100 on an on-demand table).
    #[arg(long)]
    max_read_units_per_second: Option<f64>,
    /// The checkpoint file: written after every page, resumed from when it exists, removed
    /// when the backfill completes (default `.local/run/backfill-<stack>-<entity>-<hash of
    /// the queue, keys, time and segments>.json`). A dry run uses none.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Start from the beginning even if a checkpoint exists.
    #[arg(long)]
    restart: bool,
    #[command(flatten)]
    stack: StackArgs,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let template = args.stack.template()?;
    let clients = local_clients().await;
    let (_, report) = args.stack.resolve(&template, &clients).await?;
    let table = report
        .physical_id("HubTable")
        .context("the template has no HubTable")?
        .to_string();
    let bucket = report
        .physical_id("ClaimCheckBucket")
        .context("the template has no ClaimCheckBucket")?
        .to_string();
    let keys = match &args.keys {
        None => None,
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>(),
        ),
    };
    // One checkpoint per backfill: the same stack, entity, queue, keys and time (another
    // backfill, to another queue say, never resumes this one's).
    let identity = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&args.to_queue, &keys, &args.changed_since, args.segments).hash(&mut h);
        h.finish()
    };
    let checkpoint_path = args.checkpoint.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            ".local/run/backfill-{}-{}-{identity:016x}.json",
            args.stack.stack_name, args.entity
        ))
    });
    // A dry run neither resumes nor leaves a checkpoint: the backfill that sends starts from
    // the beginning after one.
    let resume: Option<Checkpoint> = if args.restart || !args.execute {
        None
    } else {
        std::fs::read(&checkpoint_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    };
    if resume.is_some() {
        eprintln!("Resuming from {}.", checkpoint_path.display());
    }
    let request = Request {
        entity: args.entity.clone(),
        keys,
        changed_since: args.changed_since.clone(),
        to_queue: args.to_queue.clone(),
        dry_run: !args.execute,
        segments: Some(args.segments),
        max_read_units_per_second: args.max_read_units_per_second,
        resume,
    };
    let store = DynamoStore::new(clients.dynamodb.clone(), &table);
    let fill = Backfill {
        dynamodb: &clients.dynamodb,
        sqs: &clients.sqs,
        s3: &clients.s3,
        table: &table,
        bucket: &bucket,
        store: &store,
    };
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let verb = if args.execute { "sent" } else { "to send" };
    let path = checkpoint_path.clone();
    let report = fill
        .run(
            &request,
            None,
            &|read, sent| bar.set_message(format!("{read} items read, {sent} {verb}")),
            &|c| {
                if !args.execute {
                    return;
                }
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).ok();
                }
                let tmp = path.with_extension("tmp");
                if std::fs::write(&tmp, serde_json::to_vec(c).unwrap_or_default()).is_ok() {
                    std::fs::rename(&tmp, &path).ok();
                }
            },
        )
        .await?;
    bar.finish_and_clear();
    if report.complete && args.execute {
        std::fs::remove_file(&checkpoint_path).ok();
    }
    println!("{}", serde_json::to_string_pretty(&report)?);
    eprintln!(
        "{}: {} read, {} {verb}, {} skipped, {} failed, {:.1} read units in {:.1} s{}.",
        if args.execute { "Backfill" } else { "Dry run" },
        report.read,
        report.sent,
        report.skipped,
        report.failed,
        report.read_units,
        report.seconds,
        if args.execute {
            ""
        } else {
            " (nothing sent: --execute sends)"
        }
    );
    Ok(if report.failed == 0 && report.complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
