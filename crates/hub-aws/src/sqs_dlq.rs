//! The domain DLQ on SQS: [`SqsDeadLetters`], the SQS adapter of [`hub_sync::DeadLetterSink`].
//!
//! The original body is sent unchanged, with the original message attributes and the error
//! context as attributes. SQS allows ten message attributes per message: when the original's
//! attributes and the context do not fit, the original's are packed into one attribute,
//! `original_attributes` (a JSON object), which the redrive unpacks. That rule is hub-sync's
//! ([`hub_sync::DeadLetter::message_attributes`]), shared with the in-memory sink.

#[cfg(feature = "sync")]
use crate::error::AwsError;
use aws_sdk_sqs::types::MessageAttributeValue;
#[cfg(feature = "sync")]
use hub_core::PortError;
#[cfg(feature = "sync")]
use hub_sync::{DeadLetter, DeadLetterSink};

/// Sends dead letters to one SQS queue.
#[cfg(feature = "sync")]
#[derive(Debug, Clone)]
pub struct SqsDeadLetters {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

#[cfg(feature = "sync")]
impl SqsDeadLetters {
    /// A sink sending to `queue_url`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> SqsDeadLetters {
        SqsDeadLetters {
            client,
            queue_url: queue_url.into(),
        }
    }
}

/// A string message attribute (`None` for a value SQS would refuse).
pub(crate) fn string(v: &str) -> Option<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(v)
        .build()
        .ok()
}

#[cfg(feature = "sync")]
impl DeadLetterSink for SqsDeadLetters {
    async fn send(&self, letter: DeadLetter) -> Result<(), PortError> {
        let req = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(&letter.body);
        let values = letter
            .message_attributes()
            .into_iter()
            .filter_map(|(k, v)| string(&v).map(|a| (k, a)))
            .collect();
        // A FIFO queue's DLQ is FIFO too: each dead letter is its own group (a DLQ needs no
        // order), deduplicated per delivery attempt.
        let fifo = self.queue_url.ends_with(".fifo");
        req.set_message_attributes(Some(values))
            .set_message_group_id(fifo.then(|| letter.message_id.clone()))
            .set_message_deduplication_id(
                fifo.then(|| format!("{}-{}", letter.message_id, letter.attempts)),
            )
            .send()
            .await
            .map_err(|e| PortError::from(AwsError::sdk("sqs:SendMessage", e)))?;
        Ok(())
    }
}
