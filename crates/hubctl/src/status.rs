//! `hubctl status`: what is in the stack's queues and table.

use crate::stack::{StackArgs, local_clients};
use anyhow::Context as _;
use aws_sdk_sqs::types::QueueAttributeName;
use hub_aws::AwsClients;
use hub_aws::provision::{Provisioner, Report};
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
    let mut ctx = args.stack.context(&template, &clients)?;
    let report = Provisioner::new(clients.clone())
        .check(&mut ctx)
        .await
        .context("looking up the stack's resources")?;
    let status = collect(&clients, &report).await?;
    print_table(&status);
    Ok(ExitCode::SUCCESS)
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
                let out = clients
                    .sqs
                    .get_queue_attributes()
                    .queue_url(id)
                    .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                    .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                    .send()
                    .await
                    .with_context(|| format!("reading the depth of {}", r.logical_id))?;
                let get = |k: QueueAttributeName| {
                    out.attributes()
                        .and_then(|a| a.get(&k))
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0)
                };
                queues.push(QueueDepth {
                    logical_id: r.logical_id.clone(),
                    visible: get(QueueAttributeName::ApproximateNumberOfMessages),
                    in_flight: get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
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

/// One line for the live status of `hubctl run`.
pub fn line(s: &Status) -> String {
    let queues: Vec<String> = s
        .queues
        .iter()
        .map(|q| format!("{}={}+{}", q.logical_id, q.visible, q.in_flight))
        .collect();
    let tables: Vec<String> = s.tables.iter().map(|(t, n)| format!("{t}={n}")).collect();
    format!("queues[{}] tables[{}]", queues.join(" "), tables.join(" "))
}
