//! Shared helpers of the integration tests: clients for the local stand-ins, unique names, the
//! embedded Kafka's address, provisioning of a template under a unique stack name, and polling.
//!
//! The tests need the local stack running (`infra/local/stack.sh start`, done by
//! `infra/local/test.sh`). Each test uses resources of its own (a unique stack name or queue
//! name), so tests run in parallel without resetting each other's state.

use hub_aws::AwsClients;
use hub_aws::clients::LocalEndpoints;
use hub_aws::provision::{Provisioner, Report};
use hub_template::{Context, Stack, Template};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Clients for the stand-ins (endpoints from `AWS_ENDPOINT_URL_*`, else the stack's defaults).
pub async fn clients() -> AwsClients {
    AwsClients::local(&LocalEndpoints::from_env()).await
}

/// A name no other test run uses: `<prefix>-<random>`.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:08x}", fastrand::u32(..))
}

/// The embedded Kafka's bootstrap address (or `KAFKA_BOOTSTRAP_SERVERS`).
pub fn kafka_bootstrap() -> String {
    hub_kafka::resolve_bootstrap(&repo_root().join(".local/run/kafka.bootstrap"))
        .expect("a Kafka broker: run infra/local/stack.sh start")
}

/// The project's `template.yaml`, parsed.
pub fn project_template() -> &'static Template {
    let t = Template::from_path(repo_root().join("template.yaml")).expect("template.yaml parses");
    Box::leak(Box::new(t))
}

/// Provisions `template` as stack `stack_name` with parameter overrides; returns the report and
/// the context holding every physical id.
pub async fn provision(
    clients: &AwsClients,
    template: &'static Template,
    stack_name: &str,
    overrides: &[(&str, &str)],
) -> (Report, Context<'static>) {
    let overrides: BTreeMap<String, String> = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut ctx = Context::new(
        template,
        Stack::new(stack_name, &clients.region(), "123456789012"),
        &overrides,
    )
    .expect("parameters are valid");
    let report = Provisioner::new(clients.clone())
        .provision(&mut ctx)
        .await
        .expect("provisioning succeeds");
    (report, ctx)
}

/// Polls `check` every `every` until it returns `Some`, or panics after `timeout` naming `what`.
pub async fn eventually<T, F, Fut>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut check: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(every).await;
    }
}

/// Receives whatever is visible in a queue now (up to 10 messages, short poll of 1 s).
pub async fn receive(clients: &AwsClients, queue_url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    clients
        .sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .expect("ReceiveMessage")
        .messages
        .unwrap_or_default()
}

/// Creates a queue with a DLQ (redrive after `max_receive` receives) and the given visibility
/// timeout; returns (queue URL, queue ARN, DLQ URL).
pub async fn queue_with_dlq(
    clients: &AwsClients,
    name: &str,
    visibility_secs: u32,
    max_receive: u32,
) -> (String, String, String) {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let dlq = clients
        .sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .expect("CreateQueue dlq")
        .queue_url
        .expect("dlq url");
    let dlq_arn = queue_arn(clients, &dlq).await;
    let url = clients
        .sqs
        .create_queue()
        .queue_name(name)
        .attributes(A::VisibilityTimeout, visibility_secs.to_string())
        .attributes(
            A::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive})
                .to_string(),
        )
        .send()
        .await
        .expect("CreateQueue")
        .queue_url
        .expect("url");
    let arn = queue_arn(clients, &url).await;
    (url, arn, dlq)
}

/// The ARN of a queue.
pub async fn queue_arn(clients: &AwsClients, url: &str) -> String {
    clients
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes()
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("QueueArn")
}

/// Sends messages with the given bodies (in batches of ten).
pub async fn send_all(clients: &AwsClients, queue_url: &str, bodies: &[String]) {
    for (n, chunk) in bodies.chunks(10).enumerate() {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, b)| {
                aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(format!("{n}-{i}"))
                    .message_body(b)
                    .build()
                    .expect("entry")
            })
            .collect();
        let out = clients
            .sqs
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .expect("SendMessageBatch");
        assert!(out.failed().is_empty(), "send failures: {:?}", out.failed());
    }
}

/// Approximate (visible, in flight) counts of a queue.
pub async fn depth(clients: &AwsClients, queue_url: &str) -> (u64, u64) {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let out = clients
        .sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("GetQueueAttributes");
    let get = |k: A| {
        out.attributes()
            .and_then(|a| a.get(&k))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (
        get(A::ApproximateNumberOfMessages),
        get(A::ApproximateNumberOfMessagesNotVisible),
    )
}
