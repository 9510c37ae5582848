//! The resource types only the cloud deployment creates (functions, roles, alarms…), and the
//! ids the local stack gives them so that references to them still resolve.

use super::props::default_name;
use hub_template::{Context, Physical};
use serde_json::Value;
use std::collections::BTreeMap;

/// Resource types the local stack does not create; they exist only in the cloud deployment.
pub const CLOUD_ONLY: &[&str] = &[
    "AWS::Serverless::Function",
    "AWS::Lambda::Function",
    "AWS::Lambda::Permission",
    "AWS::Lambda::EventSourceMapping",
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::S3::BucketPolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::Logs::LogGroup",
    "AWS::KMS::Key",
    "AWS::KMS::Alias",
];

/// `<stack>-<id>` and its ARN in the stack's account and region (IAM: global).
pub(super) fn physical(ctx: &Context<'_>, id: &str, kind: &str) -> Physical {
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
