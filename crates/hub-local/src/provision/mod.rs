//! Creates the resources of `template.yaml` on the local stand-ins, and checks that what exists
//! matches the template (drift).
//!
//! Supported resource types and what they become:
//!
//! | type | local effect | `Ref` | `Fn::GetAtt` |
//! |---|---|---|---|
//! | `AWS::SNS::Topic` | `CreateTopic` (+ attributes, tags, inline subscriptions) | topic ARN | `TopicArn`, `TopicName` |
//! | `AWS::SNS::Subscription` | `Subscribe` with attributes (raw delivery, filter policy…) | subscription ARN | – |
//! | `AWS::SNS::TopicPolicy` | the topics' `Policy` attribute | generated id | – |
//! | `AWS::SQS::Queue` | `CreateQueue` / `SetQueueAttributes` (redrive policy…) | queue URL | `Arn`, `QueueName`, `QueueUrl` |
//! | `AWS::SQS::QueuePolicy` | the queues' `Policy` attribute | generated id | – |
//! | `AWS::S3::Bucket` | `CreateBucket` (encryption and lifecycle are cloud-only notes) | bucket name | `Arn`, `DomainName` |
//! | `AWS::DynamoDB::Table` | `CreateTable` (keys, GSIs, LSIs, stream), `UpdateTimeToLive` | table name | `Arn`, `StreamArn` |
//! | functions, roles, alarms, dashboards, log groups, KMS | nothing: cloud-only ([`CLOUD_ONLY`]); functions run under the local event source mapping | `<stack>-<id>` | `Arn` |
//!
//! Any other type, and any property a handler does not know, is an error naming it: the
//! provisioner never silently creates something other than what the template says.
//!
//! Re-running is safe: existing resources are found by name and updated to the template.

use aws_sdk_dynamodb::types as ddb;
use hub_aws::{AwsClients, AwsError};
use hub_template::{Context, Physical};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tracing::{debug, info};

/// Resource types the local stack does not create; they exist only in the cloud deployment.
pub const CLOUD_ONLY: &[&str] = &[
    "AWS::Serverless::Function",
    "AWS::Lambda::Function",
    "AWS::Lambda::Permission",
    "AWS::Lambda::EventSourceMapping",
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::Logs::LogGroup",
    "AWS::KMS::Key",
    "AWS::KMS::Alias",
];

/// Table settings DynamoDB Local does not implement; applied only by `sam deploy`.
const TABLE_CLOUD_ONLY_PROPERTIES: &[&str] = &[
    "PointInTimeRecoverySpecification",
    "SSESpecification",
    "Tags",
    "DeletionProtectionEnabled",
    "ContributorInsightsSpecification",
    "TableClass",
];

/// Bucket settings that only matter in the cloud (encryption, lifecycle, access blocks).
const BUCKET_CLOUD_ONLY_PROPERTIES: &[&str] = &[
    "BucketEncryption",
    "LifecycleConfiguration",
    "PublicAccessBlockConfiguration",
    "OwnershipControls",
    "Tags",
];

/// Whether the provisioner may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Create what is missing, update what differs, then check.
    Apply,
    /// Only look: report what is missing or differs.
    Check,
}

/// What happened to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// It did not exist and was created.
    Created,
    /// It existed and some of its settings were changed to the template's.
    Updated,
    /// It existed as the template says.
    Unchanged,
    /// It does not exist (check mode).
    Missing,
    /// A cloud-only type: nothing to do locally.
    CloudOnly,
    /// Its `Condition` is false: it is not part of this stack.
    ConditionFalse,
}

/// One resource of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceReport {
    /// Logical id in the template.
    pub logical_id: String,
    /// Resource type.
    pub kind: String,
    /// What `Ref` resolves to.
    pub physical_id: Option<String>,
    /// What was done.
    pub action: Action,
}

/// A difference between the template and what exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// Logical id in the template.
    pub logical_id: String,
    /// The property (or attribute) that differs.
    pub property: String,
    /// What the template says.
    pub expected: String,
    /// What the stand-in has.
    pub actual: String,
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{}: template says {}, found {}",
            self.logical_id, self.property, self.expected, self.actual
        )
    }
}

/// The result of a provisioning or check run.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Report {
    /// Every resource of the template, in creation order.
    pub resources: Vec<ResourceReport>,
    /// Differences found after applying (or, in check mode, instead of applying).
    pub drift: Vec<Drift>,
    /// The template's outputs, resolved.
    pub outputs: BTreeMap<String, Value>,
    /// Settings that were not applied locally because the stand-ins lack them.
    pub notes: Vec<String>,
}

impl Report {
    /// The physical id of a resource.
    pub fn physical_id(&self, logical_id: &str) -> Option<&str> {
        self.resources
            .iter()
            .find(|r| r.logical_id == logical_id)
            .and_then(|r| r.physical_id.as_deref())
    }
}

struct Outcome {
    physical: Physical,
    action: Action,
    drift: Vec<Drift>,
}

/// Creates and checks the template's resources with the given clients.
#[derive(Debug, Clone)]
pub struct Provisioner {
    clients: AwsClients,
}

impl Provisioner {
    /// A provisioner using these clients.
    pub fn new(clients: AwsClients) -> Provisioner {
        Provisioner { clients }
    }

    /// Creates or updates every resource, then checks each against the template. The context
    /// is left holding every physical id, for callers that resolve more (function events…).
    pub async fn provision(&self, ctx: &mut Context<'_>) -> Result<Report, AwsError> {
        self.run(ctx, Mode::Apply).await
    }

    /// Finds every resource and reports what is missing or differs; writes nothing.
    pub async fn check(&self, ctx: &mut Context<'_>) -> Result<Report, AwsError> {
        self.run(ctx, Mode::Check).await
    }

    async fn run(&self, ctx: &mut Context<'_>, mode: Mode) -> Result<Report, AwsError> {
        let template = ctx.template();
        let mut report = Report::default();
        let mut missing_ids = std::collections::BTreeSet::new();
        for id in template.creation_order()? {
            let resource = template
                .resource(id)
                .expect("creation order lists resources");
            let kind = resource.kind.as_str();
            if !ctx.is_active(id)? {
                report.resources.push(ResourceReport {
                    logical_id: id.to_string(),
                    kind: kind.to_string(),
                    physical_id: None,
                    action: Action::ConditionFalse,
                });
                continue;
            }
            let outcome = if mode == Mode::Check
                && template
                    .references(id)
                    .iter()
                    .any(|r| missing_ids.contains(r))
            {
                // What it depends on does not exist, so neither can it.
                missing(id, cloud_only_physical(ctx, id, kind))
            } else if CLOUD_ONLY.contains(&kind) {
                Outcome {
                    physical: cloud_only_physical(ctx, id, kind),
                    action: Action::CloudOnly,
                    drift: vec![],
                }
            } else {
                let props = ctx.resolve_properties(id)?;
                match kind {
                    "AWS::SQS::Queue" => self.queue(ctx, mode, id, &props).await?,
                    "AWS::SQS::QueuePolicy" => self.queue_policy(mode, id, &props).await?,
                    "AWS::SNS::Topic" => self.topic(ctx, mode, id, &props).await?,
                    "AWS::SNS::TopicPolicy" => self.topic_policy(mode, id, &props).await?,
                    "AWS::SNS::Subscription" => self.subscription(mode, id, &props).await?,
                    "AWS::S3::Bucket" => {
                        note_cloud_only(&mut report, id, &props, BUCKET_CLOUD_ONLY_PROPERTIES);
                        self.bucket(ctx, mode, id, &props).await?
                    }
                    "AWS::DynamoDB::Table" => {
                        note_cloud_only(&mut report, id, &props, TABLE_CLOUD_ONLY_PROPERTIES);
                        self.table(ctx, mode, id, &props).await?
                    }
                    other => {
                        return Err(AwsError::Unsupported {
                            resource: id.to_string(),
                            reason: format!(
                                "type {other} is not supported by the local provisioner"
                            ),
                        });
                    }
                }
            };
            info!(
                logical_id = id,
                kind,
                physical_id = %outcome.physical.reference,
                action = ?outcome.action,
                "Resource provisioned."
            );
            report.resources.push(ResourceReport {
                logical_id: id.to_string(),
                kind: kind.to_string(),
                physical_id: Some(outcome.physical.reference.clone()),
                action: outcome.action,
            });
            if outcome.action == Action::Missing {
                missing_ids.insert(id.to_string());
            }
            report.drift.extend(outcome.drift);
            ctx.set_physical(id, outcome.physical);
        }
        // Outputs of a stack with missing resources cannot all resolve; they are left empty.
        if missing_ids.is_empty() {
            report.outputs = ctx.resolve_outputs()?;
        }
        Ok(report)
    }

    // ------------------------------------------------------------------------------- SQS

    async fn queue(
        &self,
        ctx: &Context<'_>,
        mode: Mode,
        id: &str,
        props: &Map<String, Value>,
    ) -> Result<Outcome, AwsError> {
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
        const DOCUMENTS: &[&str] = &["RedrivePolicy", "RedriveAllowPolicy"];
        check_properties(id, props, &[SCALARS, DOCUMENTS, &["QueueName", "Tags"]])?;
        let fifo = props.get("FifoQueue").and_then(scalar).as_deref() == Some("true");
        let name = match props.get("QueueName").and_then(scalar) {
            Some(n) => n,
            None => default_name(ctx, id, if fifo { ".fifo" } else { "" }),
        };
        let mut expected = BTreeMap::new();
        for key in SCALARS {
            if let Some(v) = props.get(*key) {
                expected.insert(key.to_string(), prop_string(id, key, v)?);
            }
        }
        for key in DOCUMENTS {
            if let Some(v) = props.get(*key) {
                expected.insert(key.to_string(), document_string(v));
            }
        }
        let sqs = &self.clients.sqs;
        let existing = match sqs.get_queue_url().queue_name(&name).send().await {
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
            Err(e) => return Err(AwsError::sdk("sqs:GetQueueUrl", e)),
        };
        let (url, action) = match (existing, mode) {
            (None, Mode::Check) => {
                return Ok(missing(id, expected_queue_physical(ctx, &name)));
            }
            (None, Mode::Apply) => {
                let out = sqs
                    .create_queue()
                    .queue_name(&name)
                    .set_attributes(Some(
                        expected
                            .iter()
                            .map(|(k, v)| (k.as_str().into(), v.clone()))
                            .collect(),
                    ))
                    .set_tags(tags_map(props))
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("sqs:CreateQueue", e))?;
                (
                    out.queue_url().unwrap_or_default().to_string(),
                    Action::Created,
                )
            }
            (Some(url), Mode::Check) => (url, Action::Unchanged),
            (Some(url), Mode::Apply) => {
                let live = self.queue_attributes(&url).await?;
                let changed: HashMap<_, _> = expected
                    .iter()
                    .filter(|(k, v)| {
                        k.as_str() != "FifoQueue"
                            && !same_value(v, live.get(*k).map(String::as_str))
                    })
                    .map(|(k, v)| (k.as_str().into(), v.clone()))
                    .collect();
                if changed.is_empty() {
                    (url, Action::Unchanged)
                } else {
                    debug!(logical_id = id, ?changed, "Updating queue attributes.");
                    sqs.set_queue_attributes()
                        .queue_url(&url)
                        .set_attributes(Some(changed))
                        .send()
                        .await
                        .map_err(|e| AwsError::sdk("sqs:SetQueueAttributes", e))?;
                    (url, Action::Updated)
                }
            }
        };
        let live = self.queue_attributes(&url).await?;
        let drift = compare(id, &expected, &live);
        let arn = live.get("QueueArn").cloned().unwrap_or_default();
        Ok(Outcome {
            physical: Physical {
                reference: url.clone(),
                attributes: BTreeMap::from([
                    ("Arn".to_string(), Value::String(arn)),
                    ("QueueName".to_string(), Value::String(name)),
                    ("QueueUrl".to_string(), Value::String(url)),
                ]),
            },
            action,
            drift,
        })
    }

    async fn queue_attributes(&self, url: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let out = self
            .clients
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
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

    async fn queue_policy(
        &self,
        mode: Mode,
        id: &str,
        props: &Map<String, Value>,
    ) -> Result<Outcome, AwsError> {
        check_properties(id, props, &[&["Queues", "PolicyDocument"]])?;
        let policy = document_string(required(id, props, "PolicyDocument")?);
        let queues = string_list(id, props, "Queues")?;
        let mut drift = Vec::new();
        let mut action = Action::Unchanged;
        for url in &queues {
            let live = self.queue_attributes(url).await?;
            if !same_value(&policy, live.get("Policy").map(String::as_str)) {
                if mode == Mode::Apply {
                    self.clients
                        .sqs
                        .set_queue_attributes()
                        .queue_url(url)
                        .attributes(aws_sdk_sqs::types::QueueAttributeName::Policy, &policy)
                        .send()
                        .await
                        .map_err(|e| AwsError::sdk("sqs:SetQueueAttributes", e))?;
                    action = Action::Updated;
                }
                let live = self.queue_attributes(url).await?;
                if !same_value(&policy, live.get("Policy").map(String::as_str)) {
                    drift.push(drift_of(
                        id,
                        &format!("Policy of {url}"),
                        &policy,
                        live.get("Policy"),
                    ));
                }
            }
        }
        Ok(Outcome {
            physical: Physical {
                reference: format!("{id}-policy"),
                attributes: BTreeMap::new(),
            },
            action,
            drift,
        })
    }

    // ------------------------------------------------------------------------------- SNS

    async fn topic(
        &self,
        ctx: &Context<'_>,
        mode: Mode,
        id: &str,
        props: &Map<String, Value>,
    ) -> Result<Outcome, AwsError> {
        const SCALARS: &[&str] = &[
            "DisplayName",
            "KmsMasterKeyId",
            "FifoTopic",
            "ContentBasedDeduplication",
            "SignatureVersion",
            "TracingConfig",
        ];
        const DOCUMENTS: &[&str] = &["ArchivePolicy", "DeliveryPolicy"];
        check_properties(
            id,
            props,
            &[SCALARS, DOCUMENTS, &["TopicName", "Tags", "Subscription"]],
        )?;
        let fifo = props.get("FifoTopic").and_then(scalar).as_deref() == Some("true");
        let name = match props.get("TopicName").and_then(scalar) {
            Some(n) => n,
            None => default_name(ctx, id, if fifo { ".fifo" } else { "" }),
        };
        let mut expected = BTreeMap::new();
        for key in SCALARS {
            if let Some(v) = props.get(*key) {
                expected.insert(key.to_string(), prop_string(id, key, v)?);
            }
        }
        for key in DOCUMENTS {
            if let Some(v) = props.get(*key) {
                expected.insert(key.to_string(), document_string(v));
            }
        }
        let existing = self.find_topic(&name).await?;
        let (arn, action) = match (existing, mode) {
            (None, Mode::Check) => {
                let arn = format!(
                    "arn:{}:sns:{}:{}:{name}",
                    ctx.stack().partition,
                    ctx.stack().region,
                    ctx.stack().account_id
                );
                return Ok(missing(
                    id,
                    Physical {
                        reference: arn.clone(),
                        attributes: BTreeMap::from([
                            ("TopicArn".into(), Value::String(arn)),
                            ("TopicName".into(), Value::String(name)),
                        ]),
                    },
                ));
            }
            (None, Mode::Apply) => {
                let tags = props.get("Tags").and_then(Value::as_array).map(|tags| {
                    tags.iter()
                        .filter_map(|t| {
                            aws_sdk_sns::types::Tag::builder()
                                .key(t.get("Key").and_then(scalar)?)
                                .value(t.get("Value").and_then(scalar)?)
                                .build()
                                .ok()
                        })
                        .collect::<Vec<_>>()
                });
                let out = self
                    .clients
                    .sns
                    .create_topic()
                    .name(&name)
                    .set_attributes(Some(expected.clone().into_iter().collect()))
                    .set_tags(tags)
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("sns:CreateTopic", e))?;
                (
                    out.topic_arn().unwrap_or_default().to_string(),
                    Action::Created,
                )
            }
            (Some(arn), Mode::Check) => (arn, Action::Unchanged),
            (Some(arn), Mode::Apply) => {
                let live = self.topic_attributes(&arn).await?;
                let mut action = Action::Unchanged;
                for (k, v) in &expected {
                    if k != "FifoTopic" && !same_value(v, live.get(k).map(String::as_str)) {
                        self.set_topic_attribute(&arn, k, v).await?;
                        action = Action::Updated;
                    }
                }
                (arn, action)
            }
        };
        let mut action = action;
        if let Some(subs) = props.get("Subscription").and_then(Value::as_array) {
            for (i, s) in subs.iter().enumerate() {
                let (Some(protocol), Some(endpoint)) = (
                    s.get("Protocol").and_then(scalar),
                    s.get("Endpoint").and_then(scalar),
                ) else {
                    return Err(AwsError::Unsupported {
                        resource: format!("{id}.Subscription[{i}]"),
                        reason: "needs Protocol and Endpoint".into(),
                    });
                };
                if self
                    .find_subscription(&arn, &protocol, &endpoint)
                    .await?
                    .is_none()
                    && mode == Mode::Apply
                {
                    self.subscribe(&arn, &protocol, &endpoint, HashMap::new())
                        .await?;
                    if action == Action::Unchanged {
                        action = Action::Updated;
                    }
                }
            }
        }
        let live = self.topic_attributes(&arn).await?;
        let drift = compare(id, &expected, &live);
        Ok(Outcome {
            physical: Physical {
                reference: arn.clone(),
                attributes: BTreeMap::from([
                    ("TopicArn".into(), Value::String(arn)),
                    ("TopicName".into(), Value::String(name)),
                ]),
            },
            action,
            drift,
        })
    }

    async fn find_topic(&self, name: &str) -> Result<Option<String>, AwsError> {
        let mut pages = self.clients.sns.list_topics().into_paginator().send();
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

    async fn topic_attributes(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let out = self
            .clients
            .sns
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
        &self,
        arn: &str,
        name: &str,
        value: &str,
    ) -> Result<(), AwsError> {
        self.clients
            .sns
            .set_topic_attributes()
            .topic_arn(arn)
            .attribute_name(name)
            .attribute_value(value)
            .send()
            .await
            .map_err(|e| AwsError::sdk("sns:SetTopicAttributes", e))?;
        Ok(())
    }

    async fn topic_policy(
        &self,
        mode: Mode,
        id: &str,
        props: &Map<String, Value>,
    ) -> Result<Outcome, AwsError> {
        check_properties(id, props, &[&["Topics", "PolicyDocument"]])?;
        let policy = document_string(required(id, props, "PolicyDocument")?);
        let mut drift = Vec::new();
        let mut action = Action::Unchanged;
        for arn in string_list(id, props, "Topics")? {
            let live = self.topic_attributes(&arn).await?;
            if !same_value(&policy, live.get("Policy").map(String::as_str)) {
                if mode == Mode::Apply {
                    self.set_topic_attribute(&arn, "Policy", &policy).await?;
                    action = Action::Updated;
                }
                let live = self.topic_attributes(&arn).await?;
                if !same_value(&policy, live.get("Policy").map(String::as_str)) {
                    drift.push(drift_of(
                        id,
                        &format!("Policy of {arn}"),
                        &policy,
                        live.get("Policy"),
                    ));
                }
            }
        }
        Ok(Outcome {
            physical: Physical {
                reference: format!("{id}-policy"),
                attributes: BTreeMap::new(),
            },
            action,
            drift,
        })
    }

    async fn subscription(
        &self,
        mode: Mode,
        id: &str,
        props: &Map<String, Value>,
    ) -> Result<Outcome, AwsError> {
        const SCALARS: &[&str] = &[
            "RawMessageDelivery",
            "FilterPolicyScope",
            "SubscriptionRoleArn",
        ];
        const DOCUMENTS: &[&str] = &[
            "FilterPolicy",
            "RedrivePolicy",
            "DeliveryPolicy",
            "ReplayPolicy",
        ];
        check_properties(
            id,
            props,
            &[
                SCALARS,
                DOCUMENTS,
                &["TopicArn", "Protocol", "Endpoint", "Region"],
            ],
        )?;
        let topic = prop_string(id, "TopicArn", required(id, props, "TopicArn")?)?;
        let protocol = prop_string(id, "Protocol", required(id, props, "Protocol")?)?;
        let endpoint = prop_string(id, "Endpoint", required(id, props, "Endpoint")?)?;
        let mut expected = BTreeMap::new();
        for key in SCALARS {
            if let Some(v) = props.get(*key) {
                expected.insert(key.to_string(), prop_string(id, key, v)?);
            }
        }
        for key in DOCUMENTS {
            if let Some(v) = props.get(*key) {
                expected.insert(key.to_string(), document_string(v));
            }
        }
        let existing = self.find_subscription(&topic, &protocol, &endpoint).await?;
        let (arn, action) = match (existing, mode) {
            (None, Mode::Check) => {
                return Ok(missing(
                    id,
                    Physical {
                        reference: format!("{topic}:{id}"),
                        attributes: BTreeMap::new(),
                    },
                ));
            }
            (None, Mode::Apply) => {
                let arn = self
                    .subscribe(
                        &topic,
                        &protocol,
                        &endpoint,
                        expected.clone().into_iter().collect(),
                    )
                    .await?;
                (arn, Action::Created)
            }
            (Some(arn), Mode::Check) => (arn, Action::Unchanged),
            (Some(arn), Mode::Apply) => {
                let live = self.subscription_attributes(&arn).await?;
                let mut action = Action::Unchanged;
                for (k, v) in &expected {
                    if !same_value(v, live.get(k).map(String::as_str)) {
                        self.clients
                            .sns
                            .set_subscription_attributes()
                            .subscription_arn(&arn)
                            .attribute_name(k)
                            .attribute_value(v)
                            .send()
                            .await
                            .map_err(|e| AwsError::sdk("sns:SetSubscriptionAttributes", e))?;
                        action = Action::Updated;
                    }
                }
                (arn, action)
            }
        };
        let mut live = self.subscription_attributes(&arn).await?;
        // SNS leaves FilterPolicyScope unset until a filter policy names it; its default is
        // MessageAttributes.
        if live.contains_key("FilterPolicy") && !live.contains_key("FilterPolicyScope") {
            live.insert("FilterPolicyScope".into(), "MessageAttributes".into());
        }
        let mut identity = BTreeMap::new();
        identity.insert("TopicArn".to_string(), topic);
        identity.insert("Protocol".to_string(), protocol);
        identity.insert("Endpoint".to_string(), endpoint);
        let mut drift = compare(id, &expected, &live);
        drift.extend(compare(id, &identity, &live));
        Ok(Outcome {
            physical: Physical {
                reference: arn,
                attributes: BTreeMap::new(),
            },
            action,
            drift,
        })
    }

    async fn subscribe(
        &self,
        topic: &str,
        protocol: &str,
        endpoint: &str,
        attributes: HashMap<String, String>,
    ) -> Result<String, AwsError> {
        let out = self
            .clients
            .sns
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

    async fn find_subscription(
        &self,
        topic: &str,
        protocol: &str,
        endpoint: &str,
    ) -> Result<Option<String>, AwsError> {
        let mut pages = self
            .clients
            .sns
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

    async fn subscription_attributes(
        &self,
        arn: &str,
    ) -> Result<BTreeMap<String, String>, AwsError> {
        let out = self
            .clients
            .sns
            .get_subscription_attributes()
            .subscription_arn(arn)
            .send()
            .await
            .map_err(|e| AwsError::sdk("sns:GetSubscriptionAttributes", e))?;
        Ok(out
            .attributes()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    // ------------------------------------------------------------------------------- S3

    async fn bucket(
        &self,
        ctx: &Context<'_>,
        mode: Mode,
        id: &str,
        props: &Map<String, Value>,
    ) -> Result<Outcome, AwsError> {
        check_properties(id, props, &[&["BucketName"], BUCKET_CLOUD_ONLY_PROPERTIES])?;
        let name = match props.get("BucketName").and_then(scalar) {
            Some(n) => n,
            None => default_name(ctx, id, "").to_lowercase(),
        };
        let physical = Physical {
            reference: name.clone(),
            attributes: BTreeMap::from([
                (
                    "Arn".to_string(),
                    Value::String(format!("arn:aws:s3:::{name}")),
                ),
                (
                    "DomainName".to_string(),
                    Value::String(format!("{name}.s3.amazonaws.com")),
                ),
            ]),
        };
        let exists = match self.clients.s3.head_bucket().bucket(&name).send().await {
            Ok(_) => true,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => false,
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => false,
            Err(e) => return Err(AwsError::sdk("s3:HeadBucket", e)),
        };
        let action = match (exists, mode) {
            (true, _) => Action::Unchanged,
            (false, Mode::Check) => return Ok(missing(id, physical)),
            (false, Mode::Apply) => {
                self.clients
                    .s3
                    .create_bucket()
                    .bucket(&name)
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("s3:CreateBucket", e))?;
                Action::Created
            }
        };
        Ok(Outcome {
            physical,
            action,
            drift: Vec::new(),
        })
    }

    // ------------------------------------------------------------------------------- DynamoDB

    async fn table(
        &self,
        ctx: &Context<'_>,
        mode: Mode,
        id: &str,
        props: &Map<String, Value>,
    ) -> Result<Outcome, AwsError> {
        check_properties(
            id,
            props,
            &[
                &[
                    "TableName",
                    "AttributeDefinitions",
                    "KeySchema",
                    "GlobalSecondaryIndexes",
                    "LocalSecondaryIndexes",
                    "BillingMode",
                    "ProvisionedThroughput",
                    "StreamSpecification",
                    "TimeToLiveSpecification",
                ],
                TABLE_CLOUD_ONLY_PROPERTIES,
            ],
        )?;
        let name = match props.get("TableName").and_then(scalar) {
            Some(n) => n,
            None => default_name(ctx, id, ""),
        };
        let spec = TableSpec::from_properties(id, props)?;
        let db = &self.clients.dynamodb;
        let mut action = Action::Unchanged;
        let mut described = self.describe_table(&name).await?;
        if described.is_none() {
            if mode == Mode::Check {
                return Ok(missing(
                    id,
                    Physical {
                        reference: name,
                        attributes: BTreeMap::new(),
                    },
                ));
            }
            spec.create(db, &name)
                .await
                .map_err(|e| AwsError::sdk("dynamodb:CreateTable", e))?;
            action = Action::Created;
            described = self.wait_active(&name).await?;
        }
        let table = described.ok_or_else(|| AwsError::Unsupported {
            resource: id.to_string(),
            reason: format!("table {name} did not appear after CreateTable"),
        })?;
        if let Some((attr, enabled)) = &spec.ttl {
            let live = self.ttl(&name).await?;
            let wanted = enabled.then(|| attr.clone());
            if live != wanted && mode == Mode::Apply {
                db.update_time_to_live()
                    .table_name(&name)
                    .time_to_live_specification(
                        ddb::TimeToLiveSpecification::builder()
                            .attribute_name(attr)
                            .enabled(*enabled)
                            .build()
                            .map_err(|e| AwsError::Unsupported {
                                resource: format!("{id}.TimeToLiveSpecification"),
                                reason: e.to_string(),
                            })?,
                    )
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("dynamodb:UpdateTimeToLive", e))?;
                if action == Action::Unchanged {
                    action = Action::Updated;
                }
            }
        }
        let live_ttl = self.ttl(&name).await?;
        let drift = spec.drift(id, &table, live_ttl);
        let mut attributes = BTreeMap::new();
        attributes.insert(
            "Arn".to_string(),
            Value::String(table.table_arn().unwrap_or_default().to_string()),
        );
        if let Some(s) = table.latest_stream_arn() {
            attributes.insert("StreamArn".to_string(), Value::String(s.to_string()));
        }
        Ok(Outcome {
            physical: Physical {
                reference: name,
                attributes,
            },
            action,
            drift,
        })
    }

    async fn describe_table(&self, name: &str) -> Result<Option<ddb::TableDescription>, AwsError> {
        match self
            .clients
            .dynamodb
            .describe_table()
            .table_name(name)
            .send()
            .await
        {
            Ok(out) => Ok(out.table().cloned()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(None),
            Err(e) => Err(AwsError::sdk("dynamodb:DescribeTable", e)),
        }
    }

    /// Polls until the table is ACTIVE (DynamoDB Local: at once; AWS: seconds).
    async fn wait_active(&self, name: &str) -> Result<Option<ddb::TableDescription>, AwsError> {
        for _ in 0..600 {
            let t = self.describe_table(name).await?;
            if t.as_ref().and_then(|t| t.table_status()) == Some(&ddb::TableStatus::Active) {
                return Ok(t);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.describe_table(name).await
    }

    async fn ttl(&self, name: &str) -> Result<Option<String>, AwsError> {
        let out = self
            .clients
            .dynamodb
            .describe_time_to_live()
            .table_name(name)
            .send()
            .await
            .map_err(|e| AwsError::sdk("dynamodb:DescribeTimeToLive", e))?;
        Ok(out.time_to_live_description().and_then(|d| {
            matches!(
                d.time_to_live_status(),
                Some(ddb::TimeToLiveStatus::Enabled | ddb::TimeToLiveStatus::Enabling)
            )
            .then(|| d.attribute_name().unwrap_or_default().to_string())
        }))
    }
}

/// The table's schema as the template states it.
#[derive(Debug, Clone, PartialEq)]
struct TableSpec {
    attributes: BTreeMap<String, String>,
    keys: Vec<(String, String)>,
    gsis: BTreeMap<String, IndexSpec>,
    lsis: BTreeMap<String, IndexSpec>,
    billing: String,
    throughput: Option<(i64, i64)>,
    stream: Option<String>,
    ttl: Option<(String, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
struct IndexSpec {
    keys: Vec<(String, String)>,
    projection: String,
    non_key: Vec<String>,
    throughput: Option<(i64, i64)>,
}

impl TableSpec {
    fn from_properties(id: &str, props: &Map<String, Value>) -> Result<TableSpec, AwsError> {
        let bad = |what: &str| AwsError::Unsupported {
            resource: format!("{id}.{what}"),
            reason: "is malformed".into(),
        };
        let pairs = |v: Option<&Value>,
                     a: &str,
                     b: &str,
                     what: &str|
         -> Result<Vec<(String, String)>, AwsError> {
            v.and_then(Value::as_array)
                .ok_or_else(|| bad(what))?
                .iter()
                .map(|e| {
                    Ok((
                        e.get(a).and_then(scalar).ok_or_else(|| bad(what))?,
                        e.get(b).and_then(scalar).ok_or_else(|| bad(what))?,
                    ))
                })
                .collect()
        };
        let throughput = |v: Option<&Value>| -> Option<(i64, i64)> {
            let v = v?;
            Some((
                v.get("ReadCapacityUnits").and_then(scalar)?.parse().ok()?,
                v.get("WriteCapacityUnits").and_then(scalar)?.parse().ok()?,
            ))
        };
        let indexes = |key: &str| -> Result<BTreeMap<String, IndexSpec>, AwsError> {
            let Some(list) = props.get(key) else {
                return Ok(BTreeMap::new());
            };
            list.as_array()
                .ok_or_else(|| bad(key))?
                .iter()
                .map(|ix| {
                    let name = ix
                        .get("IndexName")
                        .and_then(scalar)
                        .ok_or_else(|| bad(key))?;
                    let p = ix.get("Projection");
                    Ok((
                        name,
                        IndexSpec {
                            keys: pairs(ix.get("KeySchema"), "AttributeName", "KeyType", key)?,
                            projection: p
                                .and_then(|p| p.get("ProjectionType"))
                                .and_then(scalar)
                                .unwrap_or_else(|| "ALL".into()),
                            non_key: p
                                .and_then(|p| p.get("NonKeyAttributes"))
                                .and_then(Value::as_array)
                                .map(|a| a.iter().filter_map(scalar).collect())
                                .unwrap_or_default(),
                            throughput: throughput(ix.get("ProvisionedThroughput")),
                        },
                    ))
                })
                .collect()
        };
        let stream = props
            .get("StreamSpecification")
            .and_then(|s| s.get("StreamViewType"))
            .and_then(scalar);
        let ttl = props.get("TimeToLiveSpecification").map(|t| {
            (
                t.get("AttributeName").and_then(scalar).unwrap_or_default(),
                t.get("Enabled").and_then(scalar).as_deref() == Some("true"),
            )
        });
        Ok(TableSpec {
            attributes: pairs(
                props.get("AttributeDefinitions"),
                "AttributeName",
                "AttributeType",
                "AttributeDefinitions",
            )?
            .into_iter()
            .collect(),
            keys: pairs(
                props.get("KeySchema"),
                "AttributeName",
                "KeyType",
                "KeySchema",
            )?,
            gsis: indexes("GlobalSecondaryIndexes")?,
            lsis: indexes("LocalSecondaryIndexes")?,
            billing: props
                .get("BillingMode")
                .and_then(scalar)
                .unwrap_or_else(|| "PROVISIONED".into()),
            throughput: throughput(props.get("ProvisionedThroughput")),
            stream,
            ttl,
        })
    }

    async fn create(
        &self,
        db: &aws_sdk_dynamodb::Client,
        name: &str,
    ) -> Result<
        (),
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::create_table::CreateTableError,
        >,
    > {
        // Builders only fail on missing required fields, which from_properties guarantees.
        let keys = |k: &[(String, String)]| -> Vec<ddb::KeySchemaElement> {
            k.iter()
                .filter_map(|(n, t)| {
                    ddb::KeySchemaElement::builder()
                        .attribute_name(n)
                        .key_type(ddb::KeyType::from(t.as_str()))
                        .build()
                        .ok()
                })
                .collect()
        };
        let throughput = |t: &Option<(i64, i64)>| {
            t.and_then(|(r, w)| {
                ddb::ProvisionedThroughput::builder()
                    .read_capacity_units(r)
                    .write_capacity_units(w)
                    .build()
                    .ok()
            })
        };
        let projection = |ix: &IndexSpec| {
            ddb::Projection::builder()
                .projection_type(ddb::ProjectionType::from(ix.projection.as_str()))
                .set_non_key_attributes((!ix.non_key.is_empty()).then(|| ix.non_key.clone()))
                .build()
        };
        let gsis: Vec<_> = self
            .gsis
            .iter()
            .filter_map(|(n, ix)| {
                ddb::GlobalSecondaryIndex::builder()
                    .index_name(n)
                    .set_key_schema(Some(keys(&ix.keys)))
                    .projection(projection(ix))
                    .set_provisioned_throughput(throughput(&ix.throughput))
                    .build()
                    .ok()
            })
            .collect();
        let lsis: Vec<_> = self
            .lsis
            .iter()
            .filter_map(|(n, ix)| {
                ddb::LocalSecondaryIndex::builder()
                    .index_name(n)
                    .set_key_schema(Some(keys(&ix.keys)))
                    .projection(projection(ix))
                    .build()
                    .ok()
            })
            .collect();
        db.create_table()
            .table_name(name)
            .set_attribute_definitions(Some(
                self.attributes
                    .iter()
                    .filter_map(|(n, t)| {
                        ddb::AttributeDefinition::builder()
                            .attribute_name(n)
                            .attribute_type(ddb::ScalarAttributeType::from(t.as_str()))
                            .build()
                            .ok()
                    })
                    .collect(),
            ))
            .set_key_schema(Some(keys(&self.keys)))
            .billing_mode(ddb::BillingMode::from(self.billing.as_str()))
            .set_provisioned_throughput(throughput(&self.throughput))
            .set_global_secondary_indexes((!gsis.is_empty()).then_some(gsis))
            .set_local_secondary_indexes((!lsis.is_empty()).then_some(lsis))
            .set_stream_specification(self.stream.as_ref().and_then(|v| {
                ddb::StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(ddb::StreamViewType::from(v.as_str()))
                    .build()
                    .ok()
            }))
            .send()
            .await?;
        Ok(())
    }

    fn drift(&self, id: &str, t: &ddb::TableDescription, ttl: Option<String>) -> Vec<Drift> {
        let mut out = Vec::new();
        let mut check = |property: &str, expected: String, actual: String| {
            if expected != actual {
                out.push(Drift {
                    logical_id: id.to_string(),
                    property: property.to_string(),
                    expected,
                    actual,
                });
            }
        };
        let keys_str = |k: &[(String, String)]| {
            k.iter()
                .map(|(n, t)| format!("{n} {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let live_keys = |k: &[ddb::KeySchemaElement]| {
            k.iter()
                .map(|e| format!("{} {}", e.attribute_name(), e.key_type().as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        check("KeySchema", keys_str(&self.keys), live_keys(t.key_schema()));
        let live_attrs: BTreeMap<String, String> = t
            .attribute_definitions()
            .iter()
            .map(|a| {
                (
                    a.attribute_name().to_string(),
                    a.attribute_type().as_str().to_string(),
                )
            })
            .collect();
        check(
            "AttributeDefinitions",
            format!("{:?}", self.attributes),
            format!("{live_attrs:?}"),
        );
        let index_str = |ix: &IndexSpec| {
            let mut nk = ix.non_key.clone();
            nk.sort();
            format!(
                "{} ({}{})",
                keys_str(&ix.keys),
                ix.projection,
                if nk.is_empty() {
                    String::new()
                } else {
                    format!(": {}", nk.join(","))
                }
            )
        };
        let live_projection = |p: Option<&ddb::Projection>| {
            let mut nk: Vec<String> = p
                .map(|p| p.non_key_attributes().to_vec())
                .unwrap_or_default();
            nk.sort();
            format!(
                "{}{}",
                p.and_then(|p| p.projection_type())
                    .map(|p| p.as_str())
                    .unwrap_or("ALL"),
                if nk.is_empty() {
                    String::new()
                } else {
                    format!(": {}", nk.join(","))
                }
            )
        };
        let expected_indexes = |ixs: &BTreeMap<String, IndexSpec>| {
            let m: BTreeMap<_, _> = ixs
                .iter()
                .map(|(n, ix)| (n.clone(), index_str(ix)))
                .collect();
            format!("{m:?}")
        };
        let live_indexes = |ixs: Vec<(
            Option<&str>,
            &[ddb::KeySchemaElement],
            Option<&ddb::Projection>,
        )>| {
            let m: BTreeMap<_, _> = ixs
                .into_iter()
                .map(|(name, keys, projection)| {
                    let shape = format!("{} ({})", live_keys(keys), live_projection(projection));
                    (name.unwrap_or_default().to_string(), shape)
                })
                .collect();
            format!("{m:?}")
        };
        let gsis = t
            .global_secondary_indexes()
            .iter()
            .map(|g| (g.index_name(), g.key_schema(), g.projection()))
            .collect();
        check(
            "GlobalSecondaryIndexes",
            expected_indexes(&self.gsis),
            live_indexes(gsis),
        );
        let lsis = t
            .local_secondary_indexes()
            .iter()
            .map(|g| (g.index_name(), g.key_schema(), g.projection()))
            .collect();
        check(
            "LocalSecondaryIndexes",
            expected_indexes(&self.lsis),
            live_indexes(lsis),
        );
        if let Some(b) = t.billing_mode_summary().and_then(|b| b.billing_mode()) {
            check("BillingMode", self.billing.clone(), b.as_str().to_string());
        }
        let live_stream = t
            .stream_specification()
            .filter(|s| s.stream_enabled())
            .and_then(|s| s.stream_view_type())
            .map(|v| v.as_str().to_string());
        check(
            "StreamSpecification.StreamViewType",
            format!("{:?}", self.stream),
            format!("{live_stream:?}"),
        );
        if let Some((attr, enabled)) = &self.ttl {
            check(
                "TimeToLiveSpecification",
                format!("{:?}", enabled.then(|| attr.clone())),
                format!("{ttl:?}"),
            );
        }
        out
    }
}

// ----------------------------------------------------------------------------------- helpers

/// Notes the properties the stand-ins do not implement (applied only by `sam deploy`).
fn note_cloud_only(report: &mut Report, id: &str, props: &Map<String, Value>, cloud_only: &[&str]) {
    for p in cloud_only {
        if props.contains_key(*p) {
            report.notes.push(format!(
                "{id}.{p}: not applied locally (a cloud-only setting)"
            ));
        }
    }
}

/// `<stack>-<logical id><suffix>`: the local stand-in for CloudFormation's generated names.
fn default_name(ctx: &Context<'_>, id: &str, suffix: &str) -> String {
    format!("{}-{id}{suffix}", ctx.stack().name)
}

fn cloud_only_physical(ctx: &Context<'_>, id: &str, kind: &str) -> Physical {
    let s = ctx.stack();
    let name = default_name(ctx, id, "");
    let service = kind
        .split("::")
        .nth(1)
        .unwrap_or("cloudformation")
        .to_ascii_lowercase();
    let service = if service == "serverless" {
        "lambda".to_string()
    } else {
        service
    };
    let arn = if service == "iam" {
        // IAM is global: no region, and the resource type is part of the name.
        let kind = kind
            .rsplit("::")
            .next()
            .unwrap_or("Role")
            .to_ascii_lowercase();
        format!("arn:{}:iam::{}:{kind}/{name}", s.partition, s.account_id)
    } else {
        format!(
            "arn:{}:{service}:{}:{}:{name}",
            s.partition, s.region, s.account_id
        )
    };
    Physical {
        reference: name,
        attributes: BTreeMap::from([("Arn".to_string(), Value::String(arn))]),
    }
}

fn expected_queue_physical(ctx: &Context<'_>, name: &str) -> Physical {
    let s = ctx.stack();
    let arn = format!(
        "arn:{}:sqs:{}:{}:{name}",
        s.partition, s.region, s.account_id
    );
    Physical {
        reference: name.to_string(),
        attributes: BTreeMap::from([
            ("Arn".to_string(), Value::String(arn)),
            ("QueueName".to_string(), Value::String(name.to_string())),
            ("QueueUrl".to_string(), Value::String(name.to_string())),
        ]),
    }
}

fn missing(id: &str, physical: Physical) -> Outcome {
    Outcome {
        physical,
        action: Action::Missing,
        drift: vec![Drift {
            logical_id: id.to_string(),
            property: "(resource)".into(),
            expected: "exists".into(),
            actual: "missing".into(),
        }],
    }
}

fn check_properties(
    id: &str,
    props: &Map<String, Value>,
    known: &[&[&str]],
) -> Result<(), AwsError> {
    for key in props.keys() {
        if !known.iter().any(|k| k.contains(&key.as_str())) {
            return Err(AwsError::Unsupported {
                resource: format!("{id}.{key}"),
                reason: "property is not supported by the local provisioner".into(),
            });
        }
    }
    Ok(())
}

fn required<'a>(id: &str, props: &'a Map<String, Value>, key: &str) -> Result<&'a Value, AwsError> {
    props.get(key).ok_or_else(|| AwsError::Unsupported {
        resource: format!("{id}.{key}"),
        reason: "is required".into(),
    })
}

fn string_list(id: &str, props: &Map<String, Value>, key: &str) -> Result<Vec<String>, AwsError> {
    required(id, props, key)?
        .as_array()
        .map(|a| a.iter().filter_map(scalar).collect())
        .ok_or_else(|| AwsError::Unsupported {
            resource: format!("{id}.{key}"),
            reason: "must be a list".into(),
        })
}

/// A scalar as CloudFormation stringifies it (`true`, `5`, `text`).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn prop_string(id: &str, key: &str, v: &Value) -> Result<String, AwsError> {
    scalar(v).ok_or_else(|| AwsError::Unsupported {
        resource: format!("{id}.{key}"),
        reason: "must be a string, number or boolean".into(),
    })
}

/// A JSON document property (a policy, a redrive policy): mappings are serialised, strings kept.
fn document_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn tags_map(props: &Map<String, Value>) -> Option<HashMap<String, String>> {
    let tags = props.get("Tags")?.as_array()?;
    Some(
        tags.iter()
            .filter_map(|t| {
                Some((
                    t.get("Key").and_then(scalar)?,
                    t.get("Value").and_then(scalar)?,
                ))
            })
            .collect(),
    )
}

/// JSON with every scalar turned into its string form, for comparing documents that AWS
/// re-serialises (`"maxReceiveCount": "5"` vs `5`).
fn normalise(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, normalise(v))).collect()),
        Value::Array(a) => Value::Array(a.into_iter().map(normalise).collect()),
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        other => other,
    }
}

/// Whether the template's value and the live one mean the same: JSON documents are compared
/// parsed and normalised, booleans case-insensitively.
fn same_value(expected: &str, actual: Option<&str>) -> bool {
    let Some(actual) = actual else {
        return false;
    };
    if expected == actual
        || expected.eq_ignore_ascii_case(actual)
            && matches!(expected, "true" | "false" | "True" | "False")
    {
        return true;
    }
    match (
        serde_json::from_str::<Value>(expected),
        serde_json::from_str::<Value>(actual),
    ) {
        (Ok(e @ (Value::Object(_) | Value::Array(_))), Ok(a)) => normalise(e) == normalise(a),
        _ => false,
    }
}

fn compare(
    id: &str,
    expected: &BTreeMap<String, String>,
    live: &BTreeMap<String, String>,
) -> Vec<Drift> {
    expected
        .iter()
        .filter(|(k, v)| !same_value(v, live.get(*k).map(String::as_str)))
        .map(|(k, v)| drift_of(id, k, v, live.get(k)))
        .collect()
}

fn drift_of(id: &str, property: &str, expected: &str, actual: Option<&String>) -> Drift {
    Drift {
        logical_id: id.to_string(),
        property: property.to_string(),
        expected: expected.to_string(),
        actual: actual.cloned().unwrap_or_else(|| "(not set)".to_string()),
    }
}

fn is_code<E: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    err: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
    codes: &[&str],
) -> bool {
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|c| codes.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_compare_by_meaning() {
        // Scenario: a redrive policy written with a numeric string in the template equals the
        // one SQS returns with a number; key order does not matter.
        assert!(same_value(
            r#"{"deadLetterTargetArn":"arn:x","maxReceiveCount":"5"}"#,
            Some(r#"{"maxReceiveCount": 5, "deadLetterTargetArn": "arn:x"}"#)
        ));
        assert!(!same_value(
            r#"{"deadLetterTargetArn":"arn:x","maxReceiveCount":"5"}"#,
            Some(r#"{"maxReceiveCount": 6, "deadLetterTargetArn": "arn:x"}"#)
        ));
        assert!(same_value("true", Some("True")));
        assert!(!same_value("30", None));
        assert!(!same_value("30", Some("31")));
    }

    #[test]
    fn unknown_properties_are_refused() {
        // Scenario: a property the provisioner does not know fails, naming it, instead of being
        // silently dropped.
        let mut props = Map::new();
        props.insert("QueueName".into(), Value::String("q".into()));
        props.insert("Colour".into(), Value::String("blue".into()));
        let err = check_properties("Q", &props, &[&["QueueName"]]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Q.Colour: property is not supported by the local provisioner"
        );
    }
}
