//! The bridge's SNS adapter: [`SnsPublisher`], the SNS implementation of
//! [`hub_bridge::Publisher`] (`PublishBatch`). The only module that publishes to SNS.

use crate::error::{AwsError, classify_code};
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use hub_bridge::Message;
use hub_bridge::ports::{EntryFailure, PortError, Publisher};
use hub_core::ErrorClass;
use std::collections::HashMap;

/// Publishes to one SNS topic.
#[derive(Debug, Clone)]
pub struct SnsPublisher {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsPublisher {
    /// A publisher to `topic_arn`.
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> SnsPublisher {
        SnsPublisher {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

fn entry(i: usize, m: &Message) -> Result<PublishBatchRequestEntry, PortError> {
    let attributes: HashMap<String, MessageAttributeValue> = m
        .attributes
        .iter()
        .filter_map(|(k, v)| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .ok()
                .map(|a| (k.to_string(), a))
        })
        .collect();
    PublishBatchRequestEntry::builder()
        .id(i.to_string())
        .message(&m.body)
        .set_message_attributes(Some(attributes))
        .set_message_group_id(m.group_id.clone())
        .set_message_deduplication_id(m.dedup_id.clone())
        .build()
        .map_err(|e| PortError {
            operation: "sns:PublishBatch",
            class: ErrorClass::Permanent,
            message: e.to_string(),
        })
}

impl Publisher for SnsPublisher {
    async fn publish_batch(&self, messages: &[&Message]) -> Result<Vec<EntryFailure>, PortError> {
        let entries = messages
            .iter()
            .enumerate()
            .map(|(i, m)| entry(i, m))
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .publish_batch()
            .topic_arn(&self.topic_arn)
            .set_publish_batch_request_entries(Some(entries))
            .send()
            .await
            .map_err(|e| PortError::from(AwsError::sdk("sns:PublishBatch", e)))?;
        Ok(out
            .failed()
            .iter()
            .filter_map(|f| {
                let index = f.id().parse::<usize>().ok()?;
                // Throttling and internal errors may succeed next time even when SNS marks
                // them a sender fault; anything else a sender fault names is permanent.
                let retryable = !f.sender_fault()
                    || classify_code(Some(f.code()), None) == ErrorClass::Transient;
                Some(EntryFailure {
                    index,
                    code: f.code().to_string(),
                    message: f.message().unwrap_or_default().to_string(),
                    retryable,
                })
            })
            .collect())
    }
}
