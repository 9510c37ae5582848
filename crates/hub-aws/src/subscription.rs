//! A queue subscribed to a topic: the queue's ARN, and an SNS subscription with raw delivery and
//! an optional filter policy. `hubctl tail`'s temporary queue, the bench's probe queues and the
//! tests' queues are subscribed this way, as the template's domain queues are.

use crate::AwsError;
use aws_sdk_sqs::types::QueueAttributeName;
use hub_core::PortError;

/// The ARN of the queue at `queue_url` (`GetQueueAttributes`).
pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Result<String, PortError> {
    const OPERATION: &str = "sqs:GetQueueAttributes";
    sqs.get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| PortError::from(AwsError::sdk(OPERATION, e)))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| PortError::permanent(OPERATION, format!("no QueueArn for {queue_url}")))
}

/// Subscribes the queue at `queue_url` to `topic_arn` with raw message delivery (the body is the
/// event, the SNS attributes become SQS attributes) and `filter_policy` (JSON, on the message
/// attributes) when given; returns the subscription's ARN, for unsubscribing.
///
/// The queue's policy must let the topic send to it; the stand-ins do not check it.
pub async fn subscribe_queue(
    sns: &aws_sdk_sns::Client,
    sqs: &aws_sdk_sqs::Client,
    topic_arn: &str,
    queue_url: &str,
    filter_policy: Option<&str>,
) -> Result<String, PortError> {
    const OPERATION: &str = "sns:Subscribe";
    let endpoint = queue_arn(sqs, queue_url).await?;
    let mut subscribe = sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(endpoint)
        .attributes("RawMessageDelivery", "true")
        .return_subscription_arn(true);
    if let Some(policy) = filter_policy {
        subscribe = subscribe.attributes("FilterPolicy", policy);
    }
    subscribe
        .send()
        .await
        .map_err(|e| PortError::from(AwsError::sdk(OPERATION, e)))?
        .subscription_arn
        .ok_or_else(|| {
            PortError::permanent(OPERATION, format!("no subscription ARN for {queue_url}"))
        })
}
