//! SNS: `AWS::SNS::Topic` (attributes, tags, inline subscriptions), `AWS::SNS::TopicPolicy` and
//! `AWS::SNS::Subscription` (raw delivery, filter policy…).

use super::policy::PolicyTarget;
use super::props::{
    attributes, changed, check_properties, compare, is_true, name_or_default, required_string,
    scalar, tags,
};
use super::{Drift, ProvisionError, ResourceKind, unsupported};
use hub_aws::AwsError;
use hub_template::{Context, Physical};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// Topic properties that are SNS attributes with a scalar value.
const TOPIC_SCALARS: &[&str] = &[
    "DisplayName",
    "KmsMasterKeyId",
    "FifoTopic",
    "ContentBasedDeduplication",
    "SignatureVersion",
    "TracingConfig",
];

/// Topic properties that are SNS attributes holding a JSON document.
const TOPIC_DOCUMENTS: &[&str] = &["ArchivePolicy", "DeliveryPolicy"];

/// Attributes SNS fixes at creation.
const TOPIC_IMMUTABLE: &[&str] = &["FifoTopic"];

/// Subscription properties that are subscription attributes with a scalar value.
const SUBSCRIPTION_SCALARS: &[&str] = &[
    "RawMessageDelivery",
    "FilterPolicyScope",
    "SubscriptionRoleArn",
];

/// Subscription properties that are subscription attributes holding a JSON document.
const SUBSCRIPTION_DOCUMENTS: &[&str] = &[
    "FilterPolicy",
    "RedrivePolicy",
    "DeliveryPolicy",
    "ReplayPolicy",
];

/// `AWS::SNS::Topic`.
pub(super) struct Topic<'a>(pub &'a aws_sdk_sns::Client);

/// A topic as the template states it.
pub(super) struct TopicSpec {
    name: String,
    /// The ARN the topic has in this stack's account and region.
    arn: String,
    attributes: BTreeMap<String, String>,
    tags: Option<Vec<(String, String)>>,
    /// Inline subscriptions: (protocol, endpoint).
    subscriptions: Vec<(String, String)>,
}

/// A topic as SNS has it.
pub(super) struct LiveTopic {
    arn: String,
    attributes: BTreeMap<String, String>,
}

impl Topic<'_> {
    /// Subscribes the inline subscriptions that do not exist yet; whether any was missing.
    async fn subscribe_inline(&self, d: &TopicSpec, arn: &str) -> Result<bool, ProvisionError> {
        let mut subscribed = false;
        for (protocol, endpoint) in &d.subscriptions {
            if find_subscription(self.0, arn, protocol, endpoint)
                .await?
                .is_none()
            {
                subscribe(self.0, arn, protocol, endpoint, HashMap::new()).await?;
                subscribed = true;
            }
        }
        Ok(subscribed)
    }
}

impl ResourceKind for Topic<'_> {
    type Desired = TopicSpec;
    type Live = LiveTopic;

    fn desired(
        &self,
        ctx: &Context<'_>,
        id: &str,
        props: &Map<String, Value>,
    ) -> Result<TopicSpec, ProvisionError> {
        check_properties(
            id,
            props,
            &[
                TOPIC_SCALARS,
                TOPIC_DOCUMENTS,
                &["TopicName", "Tags", "Subscription"],
            ],
        )?;
        let suffix = if is_true(props, "FifoTopic") {
            ".fifo"
        } else {
            ""
        };
        let name = name_or_default(ctx, id, props, "TopicName", suffix);
        let mut subscriptions = Vec::new();
        if let Some(subs) = props.get("Subscription").and_then(Value::as_array) {
            for (i, s) in subs.iter().enumerate() {
                let (Some(protocol), Some(endpoint)) = (
                    s.get("Protocol").and_then(scalar),
                    s.get("Endpoint").and_then(scalar),
                ) else {
                    return Err(unsupported(
                        format!("{id}.Subscription[{i}]"),
                        "needs Protocol and Endpoint",
                    ));
                };
                subscriptions.push((protocol, endpoint));
            }
        }
        let s = ctx.stack();
        Ok(TopicSpec {
            arn: format!(
                "arn:{}:sns:{}:{}:{name}",
                s.partition, s.region, s.account_id
            ),
            name,
            attributes: attributes(id, props, TOPIC_SCALARS, TOPIC_DOCUMENTS)?,
            tags: tags(props),
            subscriptions,
        })
    }

    fn physical(&self, _id: &str, d: &TopicSpec, live: Option<&LiveTopic>) -> Physical {
        let arn = live.map_or_else(|| d.arn.clone(), |l| l.arn.clone());
        Physical {
            reference: arn.clone(),
            attributes: BTreeMap::from([
                ("TopicArn".into(), Value::String(arn)),
                ("TopicName".into(), Value::String(d.name.clone())),
            ]),
        }
    }

    async fn read(&self, _id: &str, d: &TopicSpec) -> Result<Option<LiveTopic>, ProvisionError> {
        let Some(arn) = find_topic(self.0, &d.name).await? else {
            return Ok(None);
        };
        let attributes = topic_attributes(self.0, &arn).await?;
        Ok(Some(LiveTopic { arn, attributes }))
    }

    async fn create(&self, _id: &str, d: &TopicSpec) -> Result<(), ProvisionError> {
        let tags = d.tags.as_ref().map(|tags| {
            tags.iter()
                .filter_map(|(k, v)| {
                    aws_sdk_sns::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                        .ok()
                })
                .collect::<Vec<_>>()
        });
        let out = self
            .0
            .create_topic()
            .name(&d.name)
            .set_attributes(Some(d.attributes.clone().into_iter().collect()))
            .set_tags(tags)
            .send()
            .await
            .map_err(|e| AwsError::sdk("sns:CreateTopic", e))?;
        self.subscribe_inline(d, out.topic_arn().unwrap_or_default())
            .await?;
        Ok(())
    }

    async fn update(
        &self,
        _id: &str,
        d: &TopicSpec,
        live: &LiveTopic,
    ) -> Result<bool, ProvisionError> {
        let changed = changed(&d.attributes, &live.attributes, TOPIC_IMMUTABLE);
        for (k, v) in &changed {
            set_topic_attribute(self.0, &live.arn, k, v).await?;
        }
        let subscribed = self.subscribe_inline(d, &live.arn).await?;
        Ok(!changed.is_empty() || subscribed)
    }

    fn diff(&self, id: &str, d: &TopicSpec, live: &LiveTopic) -> Vec<Drift> {
        compare(id, &d.attributes, &live.attributes)
    }
}

/// `AWS::SNS::TopicPolicy`'s targets: topics by ARN.
pub(super) struct Topics<'a>(pub &'a aws_sdk_sns::Client);

impl PolicyTarget for Topics<'_> {
    const TARGETS: &'static str = "Topics";

    async fn policy(&self, arn: &str) -> Result<Option<String>, ProvisionError> {
        Ok(topic_attributes(self.0, arn).await?.remove("Policy"))
    }

    async fn set_policy(&self, arn: &str, policy: &str) -> Result<(), ProvisionError> {
        set_topic_attribute(self.0, arn, "Policy", policy).await
    }
}

/// `AWS::SNS::Subscription`.
pub(super) struct Subscription<'a>(pub &'a aws_sdk_sns::Client);

/// A subscription as the template states it.
pub(super) struct SubscriptionSpec {
    topic: String,
    protocol: String,
    endpoint: String,
    attributes: BTreeMap<String, String>,
}

/// A subscription as SNS has it.
pub(super) struct LiveSubscription {
    arn: String,
    attributes: BTreeMap<String, String>,
}

impl ResourceKind for Subscription<'_> {
    type Desired = SubscriptionSpec;
    type Live = LiveSubscription;

    fn desired(
        &self,
        _ctx: &Context<'_>,
        id: &str,
        props: &Map<String, Value>,
    ) -> Result<SubscriptionSpec, ProvisionError> {
        check_properties(
            id,
            props,
            &[
                SUBSCRIPTION_SCALARS,
                SUBSCRIPTION_DOCUMENTS,
                &["TopicArn", "Protocol", "Endpoint", "Region"],
            ],
        )?;
        Ok(SubscriptionSpec {
            topic: required_string(id, props, "TopicArn")?,
            protocol: required_string(id, props, "Protocol")?,
            endpoint: required_string(id, props, "Endpoint")?,
            attributes: attributes(id, props, SUBSCRIPTION_SCALARS, SUBSCRIPTION_DOCUMENTS)?,
        })
    }

    fn physical(
        &self,
        id: &str,
        d: &SubscriptionSpec,
        live: Option<&LiveSubscription>,
    ) -> Physical {
        // SNS names a subscription when it creates it; a missing one gets a stand-in id.
        Physical {
            reference: live.map_or_else(|| format!("{}:{id}", d.topic), |l| l.arn.clone()),
            attributes: BTreeMap::new(),
        }
    }

    async fn read(
        &self,
        _id: &str,
        d: &SubscriptionSpec,
    ) -> Result<Option<LiveSubscription>, ProvisionError> {
        let Some(arn) = find_subscription(self.0, &d.topic, &d.protocol, &d.endpoint).await? else {
            return Ok(None);
        };
        let out = self
            .0
            .get_subscription_attributes()
            .subscription_arn(&arn)
            .send()
            .await
            .map_err(|e| AwsError::sdk("sns:GetSubscriptionAttributes", e))?;
        let mut attributes: BTreeMap<String, String> = out
            .attributes()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        // SNS leaves FilterPolicyScope unset until a filter policy names it; its default is
        // MessageAttributes.
        if attributes.contains_key("FilterPolicy") && !attributes.contains_key("FilterPolicyScope")
        {
            attributes.insert("FilterPolicyScope".into(), "MessageAttributes".into());
        }
        Ok(Some(LiveSubscription { arn, attributes }))
    }

    async fn create(&self, _id: &str, d: &SubscriptionSpec) -> Result<(), ProvisionError> {
        let attributes = d.attributes.clone().into_iter().collect();
        subscribe(self.0, &d.topic, &d.protocol, &d.endpoint, attributes).await?;
        Ok(())
    }

    async fn update(
        &self,
        _id: &str,
        d: &SubscriptionSpec,
        live: &LiveSubscription,
    ) -> Result<bool, ProvisionError> {
        let changed = changed(&d.attributes, &live.attributes, &[]);
        for (k, v) in &changed {
            self.0
                .set_subscription_attributes()
                .subscription_arn(&live.arn)
                .attribute_name(k)
                .attribute_value(v)
                .send()
                .await
                .map_err(|e| AwsError::sdk("sns:SetSubscriptionAttributes", e))?;
        }
        Ok(!changed.is_empty())
    }

    fn diff(&self, id: &str, d: &SubscriptionSpec, live: &LiveSubscription) -> Vec<Drift> {
        let identity = BTreeMap::from([
            ("TopicArn".to_string(), d.topic.clone()),
            ("Protocol".to_string(), d.protocol.clone()),
            ("Endpoint".to_string(), d.endpoint.clone()),
        ]);
        let mut drift = compare(id, &d.attributes, &live.attributes);
        drift.extend(compare(id, &identity, &live.attributes));
        drift
    }
}

/// The ARN of the topic called `name`, if it exists.
async fn find_topic(
    sns: &aws_sdk_sns::Client,
    name: &str,
) -> Result<Option<String>, ProvisionError> {
    let mut pages = sns.list_topics().into_paginator().send();
    let suffix = format!(":{name}");
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::sdk("sns:ListTopics", e))?;
        for t in page.topics() {
            if let Some(arn) = t.topic_arn()
                && arn.ends_with(&suffix)
            {
                return Ok(Some(arn.to_string()));
            }
        }
    }
    Ok(None)
}

async fn topic_attributes(
    sns: &aws_sdk_sns::Client,
    arn: &str,
) -> Result<BTreeMap<String, String>, ProvisionError> {
    let out = sns
        .get_topic_attributes()
        .topic_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::sdk("sns:GetTopicAttributes", e))?;
    Ok(out
        .attributes()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}

async fn set_topic_attribute(
    sns: &aws_sdk_sns::Client,
    arn: &str,
    name: &str,
    value: &str,
) -> Result<(), ProvisionError> {
    sns.set_topic_attributes()
        .topic_arn(arn)
        .attribute_name(name)
        .attribute_value(value)
        .send()
        .await
        .map_err(|e| AwsError::sdk("sns:SetTopicAttributes", e))?;
    Ok(())
}

/// Subscribes `endpoint` to `topic`; returns the subscription ARN.
async fn subscribe(
    sns: &aws_sdk_sns::Client,
    topic: &str,
    protocol: &str,
    endpoint: &str,
    attributes: HashMap<String, String>,
) -> Result<String, ProvisionError> {
    let out = sns
        .subscribe()
        .topic_arn(topic)
        .protocol(protocol)
        .endpoint(endpoint)
        .set_attributes((!attributes.is_empty()).then_some(attributes))
        .return_subscription_arn(true)
        .send()
        .await
        .map_err(|e| AwsError::sdk("sns:Subscribe", e))?;
    Ok(out.subscription_arn().unwrap_or_default().to_string())
}

/// The ARN of `topic`'s subscription of `endpoint` over `protocol`, if it exists.
async fn find_subscription(
    sns: &aws_sdk_sns::Client,
    topic: &str,
    protocol: &str,
    endpoint: &str,
) -> Result<Option<String>, ProvisionError> {
    let mut pages = sns
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::sdk("sns:ListSubscriptionsByTopic", e))?;
        for s in page.subscriptions() {
            if s.protocol() == Some(protocol) && s.endpoint() == Some(endpoint) {
                return Ok(s.subscription_arn().map(str::to_string));
            }
        }
    }
    Ok(None)
}
