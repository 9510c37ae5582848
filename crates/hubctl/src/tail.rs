//! `hubctl tail`: watch a topic of the local stack as a domain would see it. A queue of its
//! own is subscribed (raw delivery, the filter policy given), each message is printed as one
//! JSON line (`{"received_at": …, "attributes": {…}, "message": …}`) and deleted, and the queue and subscription
//! are removed on exit.

use crate::stack::{StackArgs, local_clients};
use anyhow::{Context as _, bail};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Which topic.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Topic {
    /// Every change the table applied, the record as it now stands (`ConsolidatedTopic`).
    Consolidated,
    /// The raw canonical events the bridge publishes (`ChangesTopic`).
    Changes,
}

impl Topic {
    fn logical_id(self) -> &'static str {
        match self {
            Topic::Consolidated => "ConsolidatedTopic",
            Topic::Changes => "ChangesTopic",
        }
    }
}

/// Arguments of `hubctl tail`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The topic to watch.
    #[arg(value_enum)]
    topic: Topic,
    /// Only messages whose attribute has this value, NAME=VALUE (repeatable; the values of one
    /// name are alternatives): an SNS filter policy, as a domain's subscription would have.
    #[arg(long = "filter", value_name = "NAME=VALUE")]
    filters: Vec<String>,
    /// Stop after this many messages.
    #[arg(long)]
    max: Option<usize>,
    /// Stop after this many seconds without a message.
    #[arg(long)]
    idle_timeout: Option<u64>,
    #[command(flatten)]
    stack: StackArgs,
}

/// The filter policy of `NAME=VALUE` pairs.
pub fn filter_policy(filters: &[String]) -> anyhow::Result<Option<String>> {
    if filters.is_empty() {
        return Ok(None);
    }
    let mut policy: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in filters {
        let Some((k, v)) = f.split_once('=') else {
            bail!("--filter {f}: expected NAME=VALUE");
        };
        policy
            .entry(k.trim().to_string())
            .or_default()
            .push(v.to_string());
    }
    Ok(Some(serde_json::to_string(&policy)?))
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let template = args.stack.template()?;
    let clients = local_clients().await;
    let (_, report) = args.stack.resolve(&template, &clients).await?;
    let topic_arn = report
        .physical_id(args.topic.logical_id())
        .with_context(|| format!("the template has no {}", args.topic.logical_id()))?
        .to_string();
    let fifo = topic_arn.ends_with(".fifo");
    let name = format!(
        "{}-tail-{}{}",
        args.stack.stack_name,
        std::process::id(),
        if fifo { ".fifo" } else { "" }
    );
    let mut create = clients.sqs.create_queue().queue_name(&name);
    if fifo {
        create = create.attributes(QueueAttributeName::FifoQueue, "true");
    }
    let queue_url = create
        .send()
        .await
        .context("creating the tail queue")?
        .queue_url
        .context("no queue url")?;
    let result = tail(&args, &clients, &topic_arn, &queue_url).await;
    clients
        .sqs
        .delete_queue()
        .queue_url(&queue_url)
        .send()
        .await
        .ok();
    result
}

async fn tail(
    args: &Args,
    clients: &hub_aws::AwsClients,
    topic_arn: &str,
    queue_url: &str,
) -> anyhow::Result<ExitCode> {
    let policy = filter_policy(&args.filters)?;
    let subscription = hub_aws::subscription::subscribe_queue(
        &clients.sns,
        &clients.sqs,
        topic_arn,
        queue_url,
        policy.as_deref(),
    )
    .await
    .context("subscribing to the topic")?;
    eprintln!(
        "Tailing {topic_arn} (Ctrl-C to stop){}.",
        if args.filters.is_empty() {
            String::new()
        } else {
            format!(", filter {}", args.filters.join(" "))
        }
    );
    let seen = watch(args, clients, queue_url).await;
    clients
        .sns
        .unsubscribe()
        .subscription_arn(subscription)
        .send()
        .await
        .ok();
    let seen = seen?;
    eprintln!("{seen} messages.");
    Ok(ExitCode::SUCCESS)
}

/// Prints and deletes the queue's messages until `--max`, `--idle-timeout` or a signal.
async fn watch(
    args: &Args,
    clients: &hub_aws::AwsClients,
    queue_url: &str,
) -> anyhow::Result<usize> {
    let mut seen = 0usize;
    let mut last = Instant::now();
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    loop {
        if args.max.is_some_and(|m| seen >= m) {
            break;
        }
        if args
            .idle_timeout
            .is_some_and(|t| last.elapsed() > Duration::from_secs(t))
        {
            break;
        }
        let wanted = args.max.map_or(10, |m| (m - seen).min(10)) as i32;
        let receive = clients
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(wanted)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .send();
        let out = tokio::select! {
            _ = int.recv() => break,
            _ = term.recv() => break,
            out = receive => out?,
        };
        for m in out.messages.unwrap_or_default() {
            let attributes: Map<String, Value> = m
                .message_attributes
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, json!(v.string_value.unwrap_or_default())))
                .collect();
            let body = m.body.unwrap_or_default();
            let message = serde_json::from_str::<Value>(&body).unwrap_or(Value::String(body));
            let received_at =
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            println!(
                "{}",
                serde_json::to_string(&json!({
                    "received_at": received_at,
                    "attributes": attributes,
                    "message": message,
                }))?
            );
            if let Some(h) = m.receipt_handle {
                clients
                    .sqs
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(h)
                    .send()
                    .await
                    .ok();
            }
            seen += 1;
            last = Instant::now();
        }
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_a_filter_policy() {
        // Scenario: values of one attribute are alternatives; a filter without `=` is refused.
        let p = filter_policy(&[
            "entity=customer".into(),
            "entity=supplier".into(),
            "op=delete".into(),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(p, r#"{"entity":["customer","supplier"],"op":["delete"]}"#);
        assert!(filter_policy(&["entity".into()]).is_err());
        assert_eq!(filter_policy(&[]).unwrap(), None);
    }
}
