//! The `consolidated` SNS topic: [`SnsConsolidated`] publishes applied changes
//! ([`ConsolidatedMessage`]) with `PublishBatch`, ten to a request within SNS's 256 KiB, each
//! with its routing attributes (`entity`, `op`, `schema`, `source_system`); on a FIFO topic with
//! `MessageGroupId = entity:key` and one deduplication id per applied version. A message over
//! 256 KiB is stored in the claim-check bucket (`consolidated/<entity>/<key>/<version>.json`)
//! and published as its pointer with `claim_check = s3` (DESIGN §2).

use crate::error::AwsError;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use hub_core::{ErrorClass, PortError};
use hub_model::claim_check::{self, ClaimCheck};
use hub_model::consolidated::ConsolidatedMessage;

/// Most entries in one `PublishBatch`.
const BATCH_ENTRIES: usize = 10;
/// Most bytes of one `PublishBatch` (messages and attributes), with a margin.
const BATCH_BYTES: usize = 256 * 1024 - 4 * 1024;

/// The body of `m` for SNS or SQS: its JSON, or, over 256 KiB (less a margin for the
/// attributes), a claim check to the JSON stored in `bucket` under
/// `consolidated/<entity>/<key>/<version>.json` (then `true`). The change stream and the
/// backfill both send this.
pub async fn body(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    m: &ConsolidatedMessage,
) -> Result<(String, bool), PortError> {
    let body = serde_json::to_string(m)
        .map_err(|e| PortError::caused_by("s3:PutObject", ErrorClass::Permanent, e))?;
    if body.len() <= claim_check::SNS_MAX_BYTES - 8 * 1024 {
        return Ok((body, false));
    }
    let key = format!(
        "consolidated/{}/{}/{}.json",
        m.entity.as_str(),
        m.key,
        m.version.to_string().replace([':', '#'], "-")
    );
    let bytes = body.len() as u64;
    s3.put_object()
        .bucket(bucket)
        .key(&key)
        .content_type("application/json")
        .body(body.into_bytes().into())
        .send()
        .await
        .map_err(|e| PortError::from(AwsError::sdk("s3:PutObject", e)))?;
    let pointer = ClaimCheck {
        uri: format!("s3://{bucket}/{key}"),
        bytes,
    };
    Ok((pointer.to_body(), true))
}

/// Publishes to the consolidated topic.
#[derive(Debug, Clone)]
pub struct SnsConsolidated {
    sns: aws_sdk_sns::Client,
    s3: aws_sdk_s3::Client,
    topic_arn: String,
    fifo: bool,
    bucket: String,
}

/// One message ready to send: its body and attributes.
struct Ready {
    body: String,
    attributes: Vec<(&'static str, String)>,
    group: String,
    dedup: String,
}

impl SnsConsolidated {
    /// A publisher to `topic_arn` (FIFO when `fifo`), storing oversized bodies in `bucket`.
    pub fn new(
        sns: aws_sdk_sns::Client,
        s3: aws_sdk_s3::Client,
        topic_arn: impl Into<String>,
        fifo: bool,
        bucket: impl Into<String>,
    ) -> SnsConsolidated {
        SnsConsolidated {
            sns,
            s3,
            topic_arn: topic_arn.into(),
            fifo,
            bucket: bucket.into(),
        }
    }

    /// Publishes `messages` in order, ten to a request, one request after the other, stopping
    /// after the first request with a failed entry: one result per message, those not sent
    /// being errors too. A retry then starts at the first failure, and a key's messages never
    /// overtake each other.
    pub async fn publish(&self, messages: &[ConsolidatedMessage]) -> Vec<Result<(), PortError>> {
        let mut results: Vec<Result<(), PortError>> = Vec::with_capacity(messages.len());
        let mut batch: Vec<(usize, Ready)> = Vec::new();
        let mut bytes = 0usize;
        let mut slots: Vec<Option<Result<(), PortError>>> = vec![None; messages.len()];
        let mut groups: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (i, m) in messages.iter().enumerate() {
            let ready = match self.ready(m).await {
                Ok(r) => r,
                Err(e) => {
                    // What was gathered before it goes first, so the failure is this message's.
                    if !batch.is_empty() {
                        self.send(std::mem::take(&mut batch), &mut slots).await;
                    }
                    slots[i] = Some(Err(e));
                    break;
                }
            };
            let size = ready.body.len()
                + ready
                    .attributes
                    .iter()
                    .map(|(k, v)| k.len() + v.len() + 6)
                    .sum::<usize>();
            // On a FIFO topic one record's versions go in separate requests: an entry that
            // failed beside a later version of its key that succeeded would put them out of
            // order.
            let repeated = self.fifo && groups.contains(&ready.group);
            if batch.len() == BATCH_ENTRIES
                || (bytes + size > BATCH_BYTES && !batch.is_empty())
                || repeated
            {
                groups.clear();
                if !self.send(std::mem::take(&mut batch), &mut slots).await {
                    break;
                }
                bytes = 0;
            }
            bytes += size;
            groups.insert(ready.group.clone());
            batch.push((i, ready));
        }
        if !batch.is_empty() && slots.iter().all(|s| !matches!(s, Some(Err(_)))) {
            self.send(batch, &mut slots).await;
        }
        for s in slots {
            results.push(s.unwrap_or_else(|| {
                Err(PortError::transient(
                    "sns:PublishBatch",
                    "not sent: an earlier message failed (sent again in order)",
                ))
            }));
        }
        results
    }

    async fn ready(&self, m: &ConsolidatedMessage) -> Result<Ready, PortError> {
        let (body, claim_checked) = body(&self.s3, &self.bucket, m).await?;
        let mut attributes = m.attributes();
        if claim_checked {
            attributes.push((claim_check::ATTRIBUTE, "s3".to_string()));
        }
        Ok(Ready {
            body,
            attributes,
            group: m.group_id(),
            dedup: m.deduplication_id(),
        })
    }

    /// Sends one batch; `true` when every entry was published.
    async fn send(
        &self,
        batch: Vec<(usize, Ready)>,
        slots: &mut [Option<Result<(), PortError>>],
    ) -> bool {
        let mut entries = Vec::with_capacity(batch.len());
        for (n, (_, r)) in batch.iter().enumerate() {
            let mut entry = PublishBatchRequestEntry::builder()
                .id(n.to_string())
                .message(&r.body);
            for (name, value) in &r.attributes {
                entry = entry.message_attributes(
                    *name,
                    MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value(value)
                        .build()
                        .expect("data type is set"),
                );
            }
            if self.fifo {
                entry = entry
                    .message_group_id(&r.group)
                    .message_deduplication_id(&r.dedup);
            }
            match entry.build() {
                Ok(e) => entries.push(e),
                Err(e) => {
                    slots[batch[n].0] = Some(Err(PortError::caused_by(
                        "sns:PublishBatch",
                        ErrorClass::Permanent,
                        e,
                    )))
                }
            }
        }
        if entries.len() < batch.len() {
            return false;
        }
        let out = self
            .sns
            .publish_batch()
            .topic_arn(&self.topic_arn)
            .set_publish_batch_request_entries(Some(entries))
            .send()
            .await;
        match out {
            Err(e) => {
                let e = PortError::from(AwsError::sdk("sns:PublishBatch", e));
                for (i, _) in &batch {
                    slots[*i].get_or_insert_with(|| Err(e.clone()));
                }
            }
            Ok(out) => {
                for ok in out.successful() {
                    if let Some((i, _)) = ok
                        .id()
                        .and_then(|id| id.parse::<usize>().ok())
                        .and_then(|n| batch.get(n))
                    {
                        slots[*i].get_or_insert(Ok(()));
                    }
                }
                for failed in out.failed() {
                    if let Some((i, _)) =
                        failed.id().parse::<usize>().ok().and_then(|n| batch.get(n))
                    {
                        // Not the sender's fault: worth another attempt, whatever the code.
                        let class = if failed.sender_fault() {
                            ErrorClass::Permanent
                        } else {
                            ErrorClass::Transient
                        };
                        slots[*i].get_or_insert_with(|| {
                            Err(PortError::new(
                                "sns:PublishBatch",
                                class,
                                format!(
                                    "{}: {}",
                                    failed.code(),
                                    failed.message().unwrap_or("entry failed")
                                ),
                            ))
                        });
                    }
                }
            }
        }
        batch.iter().all(|(i, _)| matches!(slots[*i], Some(Ok(()))))
    }
}
