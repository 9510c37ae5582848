//! The probe: a queue of the bench's own, subscribed to a side's topic (raw delivery, no filter),
//! that tells when each change reached SQS. SQS stamps every message with `SentTimestamp` as it
//! enqueues it, so the probe's copy of a change says when the bridge's publish reached the
//! queues (moto delivers to SQS within the `Publish` call; on AWS, SNS adds its fan-out).
//!
//! The probe talks to the stand-ins directly: its requests are not counted.

use anyhow::Context as _;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use hub_aws::AwsClients;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How the probe names a change in a message body.
#[derive(Debug, Clone, Copy)]
pub enum Naming {
    /// The hub's change event: its `event_id`.
    EventId,
    /// The baseline's message: its Kafka coordinates, `topic:partition:offset`.
    Source,
}

/// A running probe.
pub struct Probe {
    token: CancellationToken,
    task: JoinHandle<HashMap<String, SystemTime>>,
}

/// Creates queue `name` and subscribes it to `topic_arn` with raw delivery (and `filter_policy`
/// if given); returns its URL.
pub async fn subscribed_queue(
    clients: &AwsClients,
    topic_arn: &str,
    name: &str,
    filter_policy: Option<String>,
) -> anyhow::Result<String> {
    let url = clients
        .sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await?
        .queue_url
        .context("no queue URL")?;
    hub_aws::subscription::subscribe_queue(
        &clients.sns,
        &clients.sqs,
        topic_arn,
        &url,
        filter_policy.as_deref(),
    )
    .await?;
    Ok(url)
}

impl Probe {
    /// Creates queue `name`, subscribes it to `topic_arn` and drains it until stopped.
    pub async fn start(
        clients: &AwsClients,
        topic_arn: &str,
        name: &str,
        naming: Naming,
    ) -> anyhow::Result<Probe> {
        let url = subscribed_queue(clients, topic_arn, name, None).await?;
        let token = CancellationToken::new();
        let sqs = clients.sqs.clone();
        let stop = token.clone();
        let task = tokio::spawn(async move { drain(sqs, url, naming, stop).await });
        Ok(Probe { token, task })
    }

    /// Stops the probe: each change's time of arrival in SQS, by its name.
    pub async fn stop(self) -> HashMap<String, SystemTime> {
        self.token.cancel();
        self.task.await.unwrap_or_default()
    }
}

async fn drain(
    sqs: aws_sdk_sqs::Client,
    url: String,
    naming: Naming,
    stop: CancellationToken,
) -> HashMap<String, SystemTime> {
    let mut seen = HashMap::new();
    while !stop.is_cancelled() {
        let received = tokio::select! {
            r = sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
                .send() => r,
            () = stop.cancelled() => break,
        };
        let Ok(out) = received else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let mut handles = Vec::new();
        for m in out.messages() {
            let sent = m
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
                .and_then(|v| v.parse::<u64>().ok())
                .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms));
            if let (Some(name), Some(sent)) = (m.body().and_then(|b| name_of(b, naming)), sent) {
                seen.entry(name).or_insert(sent);
            }
            if let Some(h) = m.receipt_handle() {
                handles.push(h.to_string());
            }
        }
        if !handles.is_empty() {
            let mut batch = sqs.delete_message_batch().queue_url(&url);
            for (i, h) in handles.into_iter().enumerate() {
                if let Ok(e) = aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(h)
                    .build()
                {
                    batch = batch.entries(e);
                }
            }
            let _ = batch.send().await;
        }
    }
    seen
}

/// The change a message body names.
fn name_of(body: &str, naming: Naming) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    match naming {
        Naming::EventId => v.get("event_id")?.as_str().map(str::to_string),
        Naming::Source => {
            let s = v.get("source")?;
            Some(format!(
                "{}:{}:{}",
                s.get("topic")?.as_str()?,
                s.get("partition")?,
                s.get("offset")?
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_named_by_its_event_id_or_its_kafka_coordinates() {
        // Scenario: the hub's body by its event id, the baseline's by topic:partition:offset;
        // anything else has no name.
        assert_eq!(
            name_of(r#"{"event_id":"idoc:X:1","data":{}}"#, Naming::EventId).as_deref(),
            Some("idoc:X:1")
        );
        assert_eq!(
            name_of(
                r#"{"source":{"topic":"t","partition":2,"offset":17}}"#,
                Naming::Source
            )
            .as_deref(),
            Some("t:2:17")
        );
        assert_eq!(name_of("not json", Naming::EventId), None);
    }
}
