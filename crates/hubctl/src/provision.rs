//! `hubctl provision`.

use crate::stack::{StackArgs, local_clients};
use anyhow::Context as _;
use hub_local::provision::{Provisioner, Report};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `hubctl provision`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    stack: StackArgs,
    /// Only check: report missing resources and drift, write nothing. Exits 1 on drift.
    #[arg(long)]
    check: bool,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write the report (physical ids, outputs) as JSON to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub async fn run(args: Args, verbose: u8) -> anyhow::Result<ExitCode> {
    let template = args.stack.template()?;
    let clients = local_clients().await;
    let mut ctx = args.stack.context(&template, &clients)?;
    let provisioner = Provisioner::new(clients);
    let report = if args.check {
        provisioner.check(&mut ctx).await?
    } else {
        provisioner.provision(&mut ctx).await?
    };
    if let Some(path) = &args.out {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).ok();
        }
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report, verbose > 0);
    }
    Ok(if report.drift.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One line per resource kind with counts, then the drift or "no drift". With `resources`, every
/// resource and the settings not applied locally first.
pub fn print_report(report: &Report, resources: bool) {
    if resources {
        println!(
            "{:<26} {:<26} {:<15} PHYSICAL ID",
            "RESOURCE", "TYPE", "ACTION"
        );
        for r in &report.resources {
            println!(
                "{:<26} {:<26} {:<15} {}",
                r.logical_id,
                r.kind,
                format!("{:?}", r.action).to_lowercase(),
                r.physical_id.as_deref().unwrap_or("-")
            );
        }
        for n in &report.notes {
            println!("note: {n}");
        }
    }
    for line in report.summary() {
        println!("{line}");
    }
    if report.drift.is_empty() {
        println!("no drift: the stand-ins match the template");
    } else {
        for d in &report.drift {
            println!("DRIFT {d}");
        }
    }
}
