//! SQS: `AWS::SQS::Queue` (attributes, redrive policy, tags) and `AWS::SQS::QueuePolicy`.

use super::policy::PolicyTarget;
use super::props::{
    attributes, changed, check_properties, compare, is_code, is_true, name_or_default, tags,
};
use super::{Drift, ProvisionError, ResourceKind};
use aws_sdk_sqs::types::QueueAttributeName;
use hub_aws::AwsError;
use hub_template::{Context, Physical};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use tracing::debug;

/// Queue properties that are SQS attributes with a scalar value.
const SCALARS: &[&str] = &[
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// Queue properties that are SQS attributes holding a JSON document.
const DOCUMENTS: &[&str] = &["RedrivePolicy", "RedriveAllowPolicy"];

/// Attributes SQS fixes at creation.
const IMMUTABLE: &[&str] = &["FifoQueue"];

/// `AWS::SQS::Queue`.
pub(super) struct Queue<'a>(pub &'a aws_sdk_sqs::Client);

/// A queue as the template states it.
pub(super) struct QueueSpec {
    name: String,
    /// The ARN the queue has in this stack's account and region.
    arn: String,
    attributes: BTreeMap<String, String>,
    tags: Option<Vec<(String, String)>>,
}

/// A queue as SQS has it.
pub(super) struct LiveQueue {
    url: String,
    attributes: BTreeMap<String, String>,
}

impl ResourceKind for Queue<'_> {
    type Desired = QueueSpec;
    type Live = LiveQueue;

    fn desired(
        &self,
        ctx: &Context<'_>,
        id: &str,
        props: &Map<String, Value>,
    ) -> Result<QueueSpec, ProvisionError> {
        check_properties(id, props, &[SCALARS, DOCUMENTS, &["QueueName", "Tags"]])?;
        let suffix = if is_true(props, "FifoQueue") {
            ".fifo"
        } else {
            ""
        };
        let name = name_or_default(ctx, id, props, "QueueName", suffix);
        let s = ctx.stack();
        Ok(QueueSpec {
            arn: format!(
                "arn:{}:sqs:{}:{}:{name}",
                s.partition, s.region, s.account_id
            ),
            name,
            attributes: attributes(id, props, SCALARS, DOCUMENTS)?,
            tags: tags(props),
        })
    }

    fn physical(&self, _id: &str, d: &QueueSpec, live: Option<&LiveQueue>) -> Physical {
        // A queue that does not exist has no URL yet: its name stands in for it.
        let (url, arn) = match live {
            Some(l) => (
                l.url.clone(),
                l.attributes.get("QueueArn").cloned().unwrap_or_default(),
            ),
            None => (d.name.clone(), d.arn.clone()),
        };
        Physical {
            reference: url.clone(),
            attributes: BTreeMap::from([
                ("Arn".to_string(), Value::String(arn)),
                ("QueueName".to_string(), Value::String(d.name.clone())),
                ("QueueUrl".to_string(), Value::String(url)),
            ]),
        }
    }

    async fn read(&self, _id: &str, d: &QueueSpec) -> Result<Option<LiveQueue>, ProvisionError> {
        let url = match self.0.get_queue_url().queue_name(&d.name).send().await {
            Ok(out) => out.queue_url().map(str::to_string),
            Err(e)
                if is_code(
                    &e,
                    &[
                        "AWS.SimpleQueueService.NonExistentQueue",
                        "QueueDoesNotExist",
                    ],
                ) =>
            {
                None
            }
            Err(e) => return Err(AwsError::sdk("sqs:GetQueueUrl", e).into()),
        };
        let Some(url) = url else {
            return Ok(None);
        };
        let attributes = queue_attributes(self.0, &url).await?;
        Ok(Some(LiveQueue { url, attributes }))
    }

    async fn create(&self, _id: &str, d: &QueueSpec) -> Result<(), ProvisionError> {
        self.0
            .create_queue()
            .queue_name(&d.name)
            .set_attributes(Some(
                d.attributes
                    .iter()
                    .map(|(k, v)| (k.as_str().into(), v.clone()))
                    .collect(),
            ))
            .set_tags(d.tags.clone().map(|t| t.into_iter().collect()))
            .send()
            .await
            .map_err(|e| AwsError::sdk("sqs:CreateQueue", e))?;
        Ok(())
    }

    async fn update(
        &self,
        id: &str,
        d: &QueueSpec,
        live: &LiveQueue,
    ) -> Result<bool, ProvisionError> {
        let changed = changed(&d.attributes, &live.attributes, IMMUTABLE);
        if changed.is_empty() {
            return Ok(false);
        }
        debug!(logical_id = id, ?changed, "Updating queue attributes.");
        self.0
            .set_queue_attributes()
            .queue_url(&live.url)
            .set_attributes(Some(
                changed
                    .into_iter()
                    .map(|(k, v)| (k.as_str().into(), v))
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| AwsError::sdk("sqs:SetQueueAttributes", e))?;
        Ok(true)
    }

    fn diff(&self, id: &str, d: &QueueSpec, live: &LiveQueue) -> Vec<Drift> {
        compare(id, &d.attributes, &live.attributes)
    }
}

/// `AWS::SQS::QueuePolicy`'s targets: queues by URL.
pub(super) struct Queues<'a>(pub &'a aws_sdk_sqs::Client);

impl PolicyTarget for Queues<'_> {
    const TARGETS: &'static str = "Queues";

    async fn policy(&self, url: &str) -> Result<Option<String>, ProvisionError> {
        Ok(queue_attributes(self.0, url).await?.remove("Policy"))
    }

    async fn set_policy(&self, url: &str, policy: &str) -> Result<(), ProvisionError> {
        self.0
            .set_queue_attributes()
            .queue_url(url)
            .attributes(QueueAttributeName::Policy, policy)
            .send()
            .await
            .map_err(|e| AwsError::sdk("sqs:SetQueueAttributes", e))?;
        Ok(())
    }
}

/// Every attribute of a queue.
async fn queue_attributes(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
) -> Result<BTreeMap<String, String>, ProvisionError> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .map_err(|e| AwsError::sdk("sqs:GetQueueAttributes", e))?;
    Ok(out
        .attributes()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                .collect()
        })
        .unwrap_or_default())
}
