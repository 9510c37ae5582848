//! The change-stream DLQ's redrive: the `change-stream-redrive` function, invoked from the
//! console with a small JSON input, like every redrive of the hub.
//!
//! The DLQ holds what the stream mapping's on-failure destination receives: the coordinates of a
//! discarded batch (`DDBStreamBatchInfo`: stream, shard, first and last sequence numbers), never
//! its records. The redrive reads those records from the stream again (it keeps them 24 hours),
//! runs them through the same handler as the mapping, and deletes the DLQ message only when
//! every record was published or skipped. A batch whose records the stream no longer holds is
//! reported as expired and left in the DLQ: its records' current state can be sent again with
//! a backfill.
//!
//! Input (unknown fields are refused):
//!
//! ```json
//! {"dry_run": true, "max_messages": 10}
//! ```
//!
//! `dry_run` (default `true`) reads the records and reports what would be published, moving
//! nothing; `max_messages` (1–1000, default 10) bounds the DLQ messages handled.

use crate::handler::{Sink, State, message_outcome, process};
use aws_lambda_events::dynamodb::EventRecord;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use hub_aws::AwsError;
use hub_aws::stream_records::lambda_record;
use hub_store::EntityStore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::{info, warn};

/// The console's input.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// Report only (default true).
    #[serde(default = "yes")]
    pub dry_run: bool,
    /// Most DLQ messages to handle (default 10).
    #[serde(default = "ten")]
    pub max_messages: usize,
}

fn yes() -> bool {
    true
}

fn ten() -> usize {
    10
}

impl Default for Request {
    fn default() -> Request {
        Request {
            dry_run: true,
            max_messages: 10,
        }
    }
}

/// What a redrive did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Whether nothing was published or deleted.
    pub dry_run: bool,
    /// DLQ messages handled.
    pub messages: usize,
    /// Stream records read again.
    pub records: usize,
    /// Messages published (dry run: that would be).
    pub published: usize,
    /// Records that are not changes of their own.
    pub skipped: usize,
    /// DLQ messages deleted after their whole batch went through.
    pub redriven: usize,
    /// DLQ messages whose records the stream no longer holds (older than 24 hours).
    pub expired: usize,
    /// DLQ messages left in place, with why.
    pub failed: Vec<Failure>,
}

/// A DLQ message left in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Its SQS message id.
    pub message_id: String,
    /// Why.
    pub reason: String,
}

/// A discarded batch's coordinates, as the on-failure destination received them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchInfo {
    /// The shard.
    pub shard_id: String,
    /// The first record's sequence number.
    pub start_sequence_number: String,
    /// The last record's.
    pub end_sequence_number: String,
    /// The stream.
    pub stream_arn: String,
}

/// The batch coordinates in an on-failure message body.
pub fn batch_info(body: &str) -> Option<BatchInfo> {
    let v: Value = serde_json::from_str(body).ok()?;
    serde_json::from_value(v.get("DDBStreamBatchInfo")?.clone()).ok()
}

/// Sequence numbers are decimal strings: longer is later, then by text.
fn seq_key(s: &str) -> (usize, &str) {
    (s.len(), s)
}

/// Why a batch's records cannot be read.
enum ReadError {
    /// The stream no longer holds them.
    Expired,
    /// The call failed.
    Failed(String),
}

/// Reads the records of `info` from the stream, in order.
async fn read_batch(
    streams: &aws_sdk_dynamodbstreams::Client,
    info: &BatchInfo,
    region: &str,
) -> Result<Vec<EventRecord>, ReadError> {
    let it = streams
        .get_shard_iterator()
        .stream_arn(&info.stream_arn)
        .shard_id(&info.shard_id)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number(&info.start_sequence_number)
        .send()
        .await;
    let mut iterator = match it {
        Ok(o) => o.shard_iterator,
        Err(e) => {
            let trimmed = e.as_service_error().is_some_and(|s| {
                s.is_trimmed_data_access_exception() || s.is_resource_not_found_exception()
            });
            return Err(if trimmed {
                ReadError::Expired
            } else {
                ReadError::Failed(AwsError::sdk("dynamodbstreams:GetShardIterator", e).to_string())
            });
        }
    };
    let end = seq_key(&info.end_sequence_number);
    let mut out = Vec::new();
    let mut empty_reads = 0;
    while let Some(i) = iterator.take() {
        let page = streams
            .get_records()
            .shard_iterator(i)
            .limit(1000)
            .send()
            .await
            .map_err(|e| {
                ReadError::Failed(AwsError::sdk("dynamodbstreams:GetRecords", e).to_string())
            })?;
        let records = page.records.unwrap_or_default();
        if records.is_empty() {
            empty_reads += 1;
        }
        let mut done = false;
        for r in &records {
            let Some(seq) = r
                .dynamodb
                .as_ref()
                .and_then(|d| d.sequence_number.as_deref())
            else {
                continue;
            };
            if seq_key(seq) > end {
                done = true;
                break;
            }
            let json = lambda_record(r, &info.stream_arn, region);
            let record: EventRecord = serde_json::from_value(json)
                .map_err(|e| ReadError::Failed(format!("stream record: {e}")))?;
            let last = seq_key(seq) == end;
            out.push(record);
            if last {
                done = true;
                break;
            }
        }
        if done || empty_reads > 20 {
            break;
        }
        iterator = page.next_shard_iterator;
    }
    // Every record of the batch, or nothing: a partial read must not delete the DLQ message.
    let last = out
        .last()
        .and_then(|r| r.change.sequence_number.as_deref())
        .map(seq_key);
    if last != Some(end) {
        return Err(ReadError::Failed(format!(
            "read the stream up to {} without reaching the batch's last record {}",
            out.last()
                .and_then(|r| r.change.sequence_number.clone())
                .unwrap_or_else(|| "its start".into()),
            info.end_sequence_number
        )));
    }
    Ok(out)
}

/// Handles one DLQ message; `true` when its whole batch was published (delete it).
async fn redrive_one<P: Sink, S: EntityStore>(
    m: &aws_sdk_sqs::types::Message,
    dry_run: bool,
    streams: &aws_sdk_dynamodbstreams::Client,
    region: &str,
    state: &State<P, S>,
    report: &mut Report,
) -> bool {
    let id = m.message_id.clone().unwrap_or_default();
    let fail = |reason: String| Failure {
        message_id: id.clone(),
        reason,
    };
    let Some(info) = m.body.as_deref().and_then(batch_info) else {
        report.failed.push(fail(
            "not an on-failure message of a stream mapping (no DDBStreamBatchInfo)".into(),
        ));
        return false;
    };
    let records = match read_batch(streams, &info, region).await {
        Ok(r) => r,
        Err(ReadError::Expired) => {
            report.expired += 1;
            report.failed.push(fail(format!(
                "the stream no longer holds sequence numbers {}..{} (records are kept 24 hours): send the records' current state with a backfill",
                info.start_sequence_number, info.end_sequence_number
            )));
            return false;
        }
        Err(ReadError::Failed(reason)) => {
            report.failed.push(fail(reason));
            return false;
        }
    };
    report.records += records.len();
    if dry_run {
        for r in &records {
            match message_outcome(r, &state.store).await {
                Ok(Some(_)) => report.published += 1,
                Ok(None) => report.skipped += 1,
                Err(fault) => {
                    report.failed.push(fail(fault.to_string()));
                    break;
                }
            }
        }
        return false;
    }
    let done = process(&records, state).await;
    report.published += done.published;
    report.skipped += done.skipped;
    if let Some(reason) = done.reason {
        warn!(message_id = %id, %reason, "Batch not redriven; left in the DLQ.");
        report.failed.push(fail(reason));
        return false;
    }
    true
}

/// Redrives up to `request.max_messages` messages of the DLQ at `dlq_url`.
pub async fn redrive<P: Sink, S: EntityStore>(
    request: &Request,
    sqs: &aws_sdk_sqs::Client,
    dlq_url: &str,
    streams: &aws_sdk_dynamodbstreams::Client,
    region: &str,
    state: &State<P, S>,
) -> Result<Report, AwsError> {
    let mut report = Report {
        dry_run: request.dry_run,
        ..Report::default()
    };
    let max = request.max_messages.clamp(1, 1000);
    // Messages left in place are hidden for the rest of the run (so none is handled twice),
    // then made visible again at its end.
    let mut left: Vec<String> = Vec::new();
    while report.messages < max {
        let out = sqs
            .receive_message()
            .queue_url(dlq_url)
            .max_number_of_messages((max - report.messages).min(10) as i32)
            // Not seen again within this run; back in the DLQ afterwards if left in place.
            .visibility_timeout(900)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(|e| AwsError::sdk("sqs:ReceiveMessage", e))?;
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            report.messages += 1;
            let handle = m.receipt_handle.clone().unwrap_or_default();
            if redrive_one(&m, request.dry_run, streams, region, state, &mut report).await {
                sqs.delete_message()
                    .queue_url(dlq_url)
                    .receipt_handle(&handle)
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("sqs:DeleteMessage", e))?;
                report.redriven += 1;
            } else {
                left.push(handle);
            }
        }
    }
    for handle in left {
        sqs.change_message_visibility()
            .queue_url(dlq_url)
            .receipt_handle(handle)
            .visibility_timeout(0)
            .send()
            .await
            .ok();
    }
    info!(
        messages = report.messages,
        redriven = report.redriven,
        published = report.published,
        failed = report.failed.len(),
        dry_run = report.dry_run,
        "Change-stream redrive."
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_refuses_unknown_fields_and_defaults_to_a_dry_run() {
        // Scenario: `{}` is a dry run of 10 messages; a misspelt field is refused.
        let r: Request = serde_json::from_str("{}").unwrap();
        assert_eq!(r, Request::default());
        assert!(serde_json::from_str::<Request>(r#"{"dryrun": false}"#).is_err());
        let r: Request = serde_json::from_str(r#"{"dry_run": false, "max_messages": 3}"#).unwrap();
        assert_eq!((r.dry_run, r.max_messages), (false, 3));
    }

    #[test]
    fn batch_coordinates_are_read_from_an_on_failure_message() {
        // Scenario: AWS's on-failure body gives the shard and the sequence range.
        let body = r#"{"version":"1.0","DDBStreamBatchInfo":{"shardId":"s1","startSequenceNumber":"100","endSequenceNumber":"2000","batchSize":2,"streamArn":"arn:s"}}"#;
        let b = batch_info(body).unwrap();
        assert_eq!(
            (b.shard_id.as_str(), b.start_sequence_number.as_str()),
            ("s1", "100")
        );
        assert!(seq_key("2000") > seq_key("999"));
        assert!(batch_info("{}").is_none());
    }
}
