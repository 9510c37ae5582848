//! When a thin event comes back after S/4 could not be read: sooner than the queue's visibility
//! timeout (six times the function's, for overlapping retries of a slow batch), so that a blip
//! of S/4 delays an event by a minute, not six. The messages of such events get a visibility of
//! `S4_RETRY_DELAY_SECONDS` (template `EnricherRetryDelaySeconds`) before the batch answers.

use hub_core::PortError;
use std::future::Future;
use std::time::Duration;

/// Makes received messages visible again after a delay.
pub trait RetryLater: Send + Sync {
    /// Messages (by receipt handle) come back after `delay`.
    fn retry_in(
        &self,
        receipts: &[String],
        delay: Duration,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// The queue's own visibility timeout decides (in-memory tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct QueueVisibility;

impl RetryLater for QueueVisibility {
    async fn retry_in(&self, _: &[String], _: Duration) -> Result<(), PortError> {
        Ok(())
    }
}

/// `ChangeMessageVisibilityBatch` on the enricher's queue.
#[derive(Debug, Clone)]
pub struct SqsRetryLater {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsRetryLater {
    /// Over the queue at `queue_url`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> SqsRetryLater {
        SqsRetryLater {
            client,
            queue_url: queue_url.into(),
        }
    }
}

impl RetryLater for SqsRetryLater {
    async fn retry_in(&self, receipts: &[String], delay: Duration) -> Result<(), PortError> {
        let seconds = i32::try_from(delay.as_secs())
            .unwrap_or(i32::MAX)
            .min(43_200);
        hub_aws::sqs_visibility::change_visibility(&self.client, &self.queue_url, receipts, seconds)
            .await
    }
}
