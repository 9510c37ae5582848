//! Changing received messages' visibility: `ChangeMessageVisibilityBatch`, ten at a time. The
//! redrive releases what it will not move (visibility 0); the S/4 enricher brings back sooner
//! what S/4 could not answer.

use crate::AwsError;
use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry;
use hub_core::PortError;

const OPERATION: &str = "sqs:ChangeMessageVisibilityBatch";

/// Makes the messages of `receipts` (receipt handles) on `queue_url` visible again after
/// `seconds` (0: at once; SQS's maximum is 43,200).
pub async fn change_visibility(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
    receipts: &[String],
    seconds: i32,
) -> Result<(), PortError> {
    for chunk in receipts.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, r)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(r)
                    .visibility_timeout(seconds)
                    .build()
                    .map_err(|e| PortError::permanent(OPERATION, e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        client
            .change_message_visibility_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| PortError::from(AwsError::sdk(OPERATION, e)))?;
    }
    Ok(())
}
