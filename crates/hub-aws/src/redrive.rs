//! SQS and S3 adapters of the redrive ([`hub_redrive`]): the DLQ it reads ([`SqsDlq`]), the
//! queue it sends to ([`SqsSendQueue`]) and claim-checked values it reads back ([`S3Objects`]).

use crate::error::AwsError;
use crate::s3_payloads::{GetError, get_object};
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName,
};
use hub_core::ErrorClass;
use hub_core::PortError;
use hub_redrive::letter::epoch_ms;
use hub_redrive::{DlqMessage, DlqQueue, ObjectReader, Outgoing, SendQueue};
use std::time::Duration;

/// A request the SDK could not build: never retried, the build error kept as the source.
fn built(operation: &'static str, e: impl std::error::Error + Send + Sync + 'static) -> PortError {
    PortError::caused_by(operation, ErrorClass::Permanent, e)
}

/// A DLQ on SQS.
#[derive(Debug, Clone)]
pub struct SqsDlq {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    /// Long-poll wait of each receive (short: an empty DLQ should end a run quickly).
    wait: Duration,
}

impl SqsDlq {
    /// The DLQ at `queue_url`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> SqsDlq {
        SqsDlq {
            client,
            queue_url: queue_url.into(),
            wait: Duration::from_secs(1),
        }
    }
}

impl DlqQueue for SqsDlq {
    fn describe(&self) -> String {
        self.queue_url.clone()
    }

    async fn receive(&self, max: usize, hide_for: Duration) -> Result<Vec<DlqMessage>, PortError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .visibility_timeout(hide_for.as_secs().clamp(1, 43_200) as i32)
            .wait_time_seconds(self.wait.as_secs() as i32)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .send()
            .await
            .map_err(|e| PortError::from(AwsError::sdk("sqs:ReceiveMessage", e)))?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let system = m.attributes.unwrap_or_default();
                DlqMessage {
                    message_id: m.message_id.unwrap_or_default(),
                    receipt_handle: m.receipt_handle.unwrap_or_default(),
                    body: m.body.unwrap_or_default(),
                    attributes: m
                        .message_attributes
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|(k, v)| v.string_value.map(|s| (k, s)))
                        .collect(),
                    sent_at: system
                        .get(&MessageSystemAttributeName::SentTimestamp)
                        .and_then(|s| epoch_ms(s)),
                    group_id: system
                        .get(&MessageSystemAttributeName::MessageGroupId)
                        .cloned(),
                }
            })
            .collect())
    }

    async fn delete(&self, receipts: &[String]) -> Result<Vec<String>, PortError> {
        let entries = receipts
            .iter()
            .enumerate()
            .map(|(i, r)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(r)
                    .build()
                    .map_err(|e| built("sqs:DeleteMessageBatch", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .delete_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| PortError::from(AwsError::sdk("sqs:DeleteMessageBatch", e)))?;
        Ok(out
            .failed
            .iter()
            .filter_map(|f| f.id.parse::<usize>().ok())
            .filter_map(|i| receipts.get(i).cloned())
            .collect())
    }

    async fn release(&self, receipts: &[String]) -> Result<(), PortError> {
        crate::sqs_visibility::change_visibility(&self.client, &self.queue_url, receipts, 0).await
    }

    async fn depth(&self) -> Result<u64, PortError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(|e| PortError::from(AwsError::sdk("sqs:GetQueueAttributes", e)))?;
        Ok(out
            .attributes
            .and_then(|a| {
                a.get(&QueueAttributeName::ApproximateNumberOfMessages)
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0))
    }
}

/// A queue the redrive sends to.
#[derive(Debug, Clone)]
pub struct SqsSendQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsSendQueue {
    /// Sends to `queue_url`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> SqsSendQueue {
        SqsSendQueue {
            client,
            queue_url: queue_url.into(),
        }
    }
}

impl SendQueue for SqsSendQueue {
    fn describe(&self) -> String {
        self.queue_url.clone()
    }

    async fn send(&self, message: &Outgoing) -> Result<String, PortError> {
        let attributes = message
            .attributes
            .iter()
            .filter_map(|(k, v)| {
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(v)
                    .build()
                    .ok()
                    .map(|a| (k.clone(), a))
            })
            .collect();
        let fifo = self.queue_url.ends_with(".fifo");
        let out = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(&message.body)
            .set_message_attributes(Some(attributes))
            .set_message_group_id(fifo.then(|| message.group_id.clone()).flatten())
            .set_message_deduplication_id(fifo.then(|| message.dedup_id.clone()).flatten())
            .send()
            .await
            .map_err(|e| PortError::from(AwsError::sdk("sqs:SendMessage", e)))?;
        Ok(out.message_id.unwrap_or_default())
    }
}

/// Reads `s3://bucket/key` objects.
#[derive(Debug, Clone)]
pub struct S3Objects {
    client: aws_sdk_s3::Client,
}

impl S3Objects {
    /// A reader over `client`.
    pub fn new(client: aws_sdk_s3::Client) -> S3Objects {
        S3Objects { client }
    }
}

impl ObjectReader for S3Objects {
    async fn get(&self, uri: &str) -> Result<Vec<u8>, PortError> {
        let (bucket, key) = hub_model::claim_check::s3_location(uri).ok_or_else(|| {
            PortError::new(
                "s3:GetObject",
                ErrorClass::Permanent,
                format!("{uri:?} is not an s3://bucket/key URI"),
            )
        })?;
        get_object(&self.client, bucket, key)
            .await
            .map_err(|e| match e {
                // A missing object will not appear by retrying, whatever S3's status said.
                GetError::Call {
                    error,
                    missing: true,
                } => PortError::classified("s3:GetObject", ErrorClass::Permanent, error),
                GetError::Call { error, .. } => PortError::from(error),
                GetError::Body(message) => {
                    PortError::new("s3:GetObject", ErrorClass::Transient, message)
                }
            })
    }
}
