//! Creates the resources of `template.yaml` on the local stand-ins, checks that what exists
//! matches the template (drift), and finds the physical ids of a provisioned stack for commands
//! that only read it.
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
//!
//! # Layout
//! - this module: [`Provisioner`], one pass over the template in creation order in one of three
//!   [`Mode`]s; its [`Report`]; and the shape every resource kind shares: a `ResourceKind`
//!   (what the template asks for, read, create, update, compare) driven by one function,
//!   `converge`, which also does the check-only and resolve-only modes.
//! - `sqs`: queues and queue policies. `sns`: topics, topic policies, subscriptions. `s3`:
//!   buckets. `dynamodb`: tables and their time to live.
//! - `policy`: a policy attached to several queues or topics, shared by `sqs` and `sns`.
//! - `cloud_only`: the types only the cloud deployment creates, and their stand-in ids.
//! - `props`: reading properties as CloudFormation states them and comparing them with what the
//!   services return.

mod cloud_only;
mod dynamodb;
mod policy;
mod props;
mod s3;
mod sns;
mod sqs;

pub use cloud_only::CLOUD_ONLY;
pub use props::normalise;

use hub_aws::{AwsClients, AwsError};
use hub_core::{Classify, ErrorClass};
use hub_template::{Context, Physical, TemplateError};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;
use tracing::debug;

/// An error of the provisioner.
#[derive(Debug, Error)]
pub enum ProvisionError {
    /// A call to a stand-in failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The template could not be read or resolved.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A resource of the template cannot be provisioned as written.
    #[error("{resource}: {reason}")]
    Unsupported {
        /// Logical id (and property).
        resource: String,
        /// Why.
        reason: String,
    },
}

impl Classify for ProvisionError {
    fn class(&self) -> ErrorClass {
        match self {
            ProvisionError::Aws(e) => e.class(),
            ProvisionError::Template(_) | ProvisionError::Unsupported { .. } => {
                ErrorClass::Permanent
            }
        }
    }
}

fn unsupported(resource: impl Into<String>, reason: impl Into<String>) -> ProvisionError {
    ProvisionError::Unsupported {
        resource: resource.into(),
        reason: reason.into(),
    }
}

/// What the provisioner may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Create what is missing, update what differs, then check.
    Apply,
    /// Only look: report what is missing or differs.
    Check,
    /// Only find each resource's physical ids (names from the template, what the services
    /// assigned read back); write nothing, compare nothing.
    Resolve,
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
    /// It exists (resolve mode: its settings were not compared).
    Found,
    /// It does not exist (check and resolve modes).
    Missing,
    /// A cloud-only type: nothing to do locally.
    CloudOnly,
    /// Its `Condition` is false: it is not part of this stack.
    ConditionFalse,
}

impl Action {
    /// The word the summary uses.
    fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Unchanged => "unchanged",
            Action::Found => "found",
            Action::Missing => "missing",
            Action::CloudOnly => "cloud only",
            Action::ConditionFalse => "condition false",
        }
    }
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

/// The result of a provisioning, check or resolve run.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Report {
    /// Every resource of the template, in creation order.
    pub resources: Vec<ResourceReport>,
    /// Differences found after applying (or, in check mode, instead of applying). Resolve mode
    /// reports only missing resources.
    pub drift: Vec<Drift>,
    /// The template's outputs, resolved.
    pub outputs: BTreeMap<String, Value>,
    /// Settings that were not applied locally because the stand-ins lack them.
    pub notes: Vec<String>,
}

/// The resource types the summary names, in its order, with their plural.
const SUMMARY_KINDS: &[(&str, &str)] = &[
    ("AWS::SNS::Topic", "topics"),
    ("AWS::SNS::TopicPolicy", "topic policies"),
    ("AWS::SNS::Subscription", "subscriptions"),
    ("AWS::SQS::Queue", "queues"),
    ("AWS::SQS::QueuePolicy", "queue policies"),
    ("AWS::S3::Bucket", "buckets"),
    ("AWS::DynamoDB::Table", "tables"),
];

impl Report {
    /// The physical id of a resource.
    pub fn physical_id(&self, logical_id: &str) -> Option<&str> {
        self.resources
            .iter()
            .find(|r| r.logical_id == logical_id)
            .and_then(|r| r.physical_id.as_deref())
    }

    /// The logical ids of the resources the local stack creates that do not exist (check and
    /// resolve modes). Cloud-only resources that refer to them are left out.
    pub fn missing(&self) -> Vec<&str> {
        self.resources
            .iter()
            .filter(|r| r.action == Action::Missing && !CLOUD_ONLY.contains(&r.kind.as_str()))
            .map(|r| r.logical_id.as_str())
            .collect()
    }

    /// One line per resource kind with its count and what was done (`queues: 7 (7 created)`),
    /// then one for the cloud-only resources, one for those whose condition is false, and one
    /// for the settings not applied locally. Kinds the template does not have are left out.
    pub fn summary(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut kinds: Vec<(&str, &str)> = SUMMARY_KINDS.to_vec();
        for r in &self.resources {
            if !is_elsewhere(r) && !kinds.iter().any(|(k, _)| *k == r.kind) {
                kinds.push((&r.kind, &r.kind));
            }
        }
        for (kind, label) in kinds {
            let actions: Vec<Action> = self
                .resources
                .iter()
                .filter(|r| r.kind == kind && !is_elsewhere(r))
                .map(|r| r.action)
                .collect();
            if actions.is_empty() {
                continue;
            }
            let counts: Vec<String> = [
                Action::Created,
                Action::Updated,
                Action::Unchanged,
                Action::Found,
                Action::Missing,
            ]
            .into_iter()
            .filter_map(|a| {
                let n = actions.iter().filter(|x| **x == a).count();
                (n > 0).then(|| format!("{n} {}", a.as_str()))
            })
            .collect();
            lines.push(format!(
                "{label}: {} ({})",
                actions.len(),
                counts.join(", ")
            ));
        }
        let count =
            |f: &dyn Fn(&ResourceReport) -> bool| self.resources.iter().filter(|r| f(r)).count();
        let cloud_only = count(&|r| is_elsewhere(r) && r.action != Action::ConditionFalse);
        if cloud_only > 0 {
            lines.push(format!(
                "cloud only: {cloud_only} (functions, roles, alarms…: sam deploy creates them)"
            ));
        }
        let left_out = count(&|r| r.action == Action::ConditionFalse);
        if left_out > 0 {
            lines.push(format!(
                "not in this stack: {left_out} (their condition is false)"
            ));
        }
        if !self.notes.is_empty() {
            lines.push(format!(
                "settings not applied locally: {} (cloud only)",
                self.notes.len()
            ));
        }
        lines
    }
}

/// Whether a resource is not the local stack's to create: a cloud-only type (whatever the mode
/// says of it), or left out by its condition.
fn is_elsewhere(r: &ResourceReport) -> bool {
    r.action == Action::ConditionFalse || CLOUD_ONLY.contains(&r.kind.as_str())
}

/// What the provisioner did with one resource.
struct Outcome {
    physical: Physical,
    action: Action,
    drift: Vec<Drift>,
}

impl Outcome {
    /// A resource that does not exist, with the ids it would have.
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
}

/// One kind of resource the local stack creates: what the template asks for, how what exists
/// is read, created and updated, and how the two are compared. [`converge`] drives every kind
/// the same way, in every [`Mode`].
trait ResourceKind {
    /// What the template asks for: the name and the settings, resolved.
    type Desired;
    /// What exists: the ids the service assigned and the settings that can drift.
    type Live;

    /// Properties only the cloud applies: accepted, noted in the report, not applied locally.
    const CLOUD_ONLY_PROPERTIES: &'static [&'static str] = &[];

    /// Reads the resolved properties, refusing any it does not know.
    fn desired(
        &self,
        ctx: &Context<'_>,
        id: &str,
        props: &Map<String, Value>,
    ) -> Result<Self::Desired, ProvisionError>;

    /// Its `Ref` and `Fn::GetAtt` values: from what exists, or as they would be (`None`).
    fn physical(&self, id: &str, desired: &Self::Desired, live: Option<&Self::Live>) -> Physical;

    /// What exists, or `None`.
    async fn read(
        &self,
        id: &str,
        desired: &Self::Desired,
    ) -> Result<Option<Self::Live>, ProvisionError>;

    /// Creates it as the template says.
    async fn create(&self, id: &str, desired: &Self::Desired) -> Result<(), ProvisionError>;

    /// Changes what differs from the template; whether anything was changed.
    async fn update(
        &self,
        id: &str,
        desired: &Self::Desired,
        live: &Self::Live,
    ) -> Result<bool, ProvisionError>;

    /// Where what exists differs from the template.
    fn diff(&self, id: &str, desired: &Self::Desired, live: &Self::Live) -> Vec<Drift>;
}

/// The one create-update-check run of every resource kind: read what exists; in apply mode
/// create it when missing or update what differs, and read it back; then compare it with the
/// template. Check mode only reads and compares; resolve mode only reads.
async fn converge<K: ResourceKind>(
    kind: &K,
    ctx: &Context<'_>,
    mode: Mode,
    id: &str,
    props: &Map<String, Value>,
) -> Result<Outcome, ProvisionError> {
    let desired = kind.desired(ctx, id, props)?;
    let read_back = async || {
        kind.read(id, &desired)
            .await?
            .ok_or_else(|| unsupported(id, "cannot be read back after it was written"))
    };
    let (live, action) = match (kind.read(id, &desired).await?, mode) {
        (None, Mode::Check | Mode::Resolve) => {
            return Ok(Outcome::missing(id, kind.physical(id, &desired, None)));
        }
        (Some(live), Mode::Check) => (live, Action::Unchanged),
        (Some(live), Mode::Resolve) => (live, Action::Found),
        (None, Mode::Apply) => {
            kind.create(id, &desired).await?;
            (read_back().await?, Action::Created)
        }
        (Some(live), Mode::Apply) => {
            if kind.update(id, &desired, &live).await? {
                (read_back().await?, Action::Updated)
            } else {
                (live, Action::Unchanged)
            }
        }
    };
    let drift = match mode {
        Mode::Resolve => Vec::new(),
        Mode::Apply | Mode::Check => kind.diff(id, &desired, &live),
    };
    Ok(Outcome {
        physical: kind.physical(id, &desired, Some(&live)),
        action,
        drift,
    })
}

/// Creates, checks and resolves the template's resources with the given clients.
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
    pub async fn provision(&self, ctx: &mut Context<'_>) -> Result<Report, ProvisionError> {
        self.run(ctx, Mode::Apply).await
    }

    /// Finds every resource and reports what is missing or differs; writes nothing.
    pub async fn check(&self, ctx: &mut Context<'_>) -> Result<Report, ProvisionError> {
        self.run(ctx, Mode::Check).await
    }

    /// Finds every resource's physical ids, as a provisioned stack has them, for commands that
    /// only read: writes nothing, compares nothing; a resource that does not exist is reported
    /// [`Action::Missing`]. The context is left holding every physical id.
    pub async fn resolve(&self, ctx: &mut Context<'_>) -> Result<Report, ProvisionError> {
        self.run(ctx, Mode::Resolve).await
    }

    /// One pass over the template in creation order.
    pub async fn run(&self, ctx: &mut Context<'_>, mode: Mode) -> Result<Report, ProvisionError> {
        let template = ctx.template();
        let mut report = Report::default();
        let mut missing_ids = BTreeSet::new();
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
            let outcome = if mode != Mode::Apply
                && template
                    .references(id)
                    .iter()
                    .any(|r| missing_ids.contains(r))
            {
                // What it depends on does not exist, so neither can it.
                Outcome::missing(id, cloud_only::physical(ctx, id, kind))
            } else if CLOUD_ONLY.contains(&kind) {
                Outcome {
                    physical: cloud_only::physical(ctx, id, kind),
                    action: Action::CloudOnly,
                    drift: vec![],
                }
            } else {
                let props = ctx.resolve_properties(id)?;
                self.converge(&mut report, ctx, mode, id, kind, &props)
                    .await?
            };
            debug!(
                logical_id = id,
                kind,
                physical_id = %outcome.physical.reference,
                action = ?outcome.action,
                "{}",
                match mode {
                    Mode::Apply => "Resource provisioned.",
                    Mode::Check => "Resource checked.",
                    Mode::Resolve => "Resource resolved.",
                }
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

    /// [`converge`] with the kind of resource `kind` names.
    async fn converge(
        &self,
        report: &mut Report,
        ctx: &Context<'_>,
        mode: Mode,
        id: &str,
        kind: &str,
        props: &Map<String, Value>,
    ) -> Result<Outcome, ProvisionError> {
        let c = &self.clients;
        match kind {
            "AWS::SQS::Queue" => run_kind(&sqs::Queue(&c.sqs), report, ctx, mode, id, props).await,
            "AWS::SQS::QueuePolicy" => {
                let kind = policy::Policy(sqs::Queues(&c.sqs));
                run_kind(&kind, report, ctx, mode, id, props).await
            }
            "AWS::SNS::Topic" => run_kind(&sns::Topic(&c.sns), report, ctx, mode, id, props).await,
            "AWS::SNS::TopicPolicy" => {
                let kind = policy::Policy(sns::Topics(&c.sns));
                run_kind(&kind, report, ctx, mode, id, props).await
            }
            "AWS::SNS::Subscription" => {
                let kind = sns::Subscription(&c.sns);
                run_kind(&kind, report, ctx, mode, id, props).await
            }
            "AWS::S3::Bucket" => run_kind(&s3::Bucket(&c.s3), report, ctx, mode, id, props).await,
            "AWS::DynamoDB::Table" => {
                let kind = dynamodb::Table(&c.dynamodb);
                run_kind(&kind, report, ctx, mode, id, props).await
            }
            other => Err(unsupported(
                id,
                format!("type {other} is not supported by the local provisioner"),
            )),
        }
    }
}

/// Notes the kind's cloud-only properties the template sets, then [`converge`]s.
async fn run_kind<K: ResourceKind>(
    kind: &K,
    report: &mut Report,
    ctx: &Context<'_>,
    mode: Mode,
    id: &str,
    props: &Map<String, Value>,
) -> Result<Outcome, ProvisionError> {
    for p in K::CLOUD_ONLY_PROPERTIES {
        if props.contains_key(*p) {
            report.notes.push(format!(
                "{id}.{p}: not applied locally (a cloud-only setting)"
            ));
        }
    }
    converge(kind, ctx, mode, id, props).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(id: &str, kind: &str, action: Action) -> ResourceReport {
        ResourceReport {
            logical_id: id.into(),
            kind: kind.into(),
            physical_id: Some(format!("{id}-physical")),
            action,
        }
    }

    #[test]
    fn summary_counts_each_kind_and_what_was_done() {
        // Scenario: a first provisioning, a partly changed stack and a resolve: one line per
        // resource kind in a fixed order, the actions counted, cloud-only and left-out
        // resources and the cloud-only settings on a line each.
        let report = Report {
            resources: vec![
                resource("ChangesTopic", "AWS::SNS::Topic", Action::Unchanged),
                resource("BridgeRole", "AWS::IAM::Role", Action::CloudOnly),
                resource("CustomersDLQ", "AWS::SQS::Queue", Action::Created),
                resource("CustomersQueue", "AWS::SQS::Queue", Action::Created),
                resource("Sync", "AWS::Serverless::Function", Action::CloudOnly),
                resource(
                    "KafkaBridge",
                    "AWS::Serverless::Function",
                    Action::ConditionFalse,
                ),
                resource("MaterialsQueue", "AWS::SQS::Queue", Action::Updated),
                resource("HubTable", "AWS::DynamoDB::Table", Action::Created),
            ],
            notes: vec!["HubTable.SSESpecification: not applied locally".into()],
            ..Report::default()
        };
        assert_eq!(
            report.summary(),
            [
                "topics: 1 (1 unchanged)",
                "queues: 3 (2 created, 1 updated)",
                "tables: 1 (1 created)",
                "cloud only: 2 (functions, roles, alarms…: sam deploy creates them)",
                "not in this stack: 1 (their condition is false)",
                "settings not applied locally: 1 (cloud only)",
            ]
        );
        let resolved = Report {
            resources: vec![
                resource("CustomersQueue", "AWS::SQS::Queue", Action::Found),
                resource("MaterialsQueue", "AWS::SQS::Queue", Action::Missing),
                resource(
                    "MaterialsDlqAlarm",
                    "AWS::CloudWatch::Alarm",
                    Action::Missing,
                ),
            ],
            ..Report::default()
        };
        // A cloud-only resource that refers to a missing queue is not the local stack's to create.
        assert_eq!(
            resolved.summary(),
            [
                "queues: 2 (1 found, 1 missing)",
                "cloud only: 1 (functions, roles, alarms…: sam deploy creates them)",
            ]
        );
        assert_eq!(resolved.missing(), ["MaterialsQueue"]);
        assert!(Report::default().summary().is_empty());
    }
}
