//! S3: `AWS::S3::Bucket`. A bucket's encryption, lifecycle and access settings only matter in
//! the cloud; locally the bucket exists, named as the template says.

use super::props::{check_properties, default_name, scalar};
use super::{Drift, ProvisionError, ResourceKind};
use hub_aws::AwsError;
use hub_template::{Context, Physical};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `AWS::S3::Bucket`.
pub(super) struct Bucket<'a>(pub &'a aws_sdk_s3::Client);

/// A bucket as the template states it: its name.
pub(super) struct BucketSpec {
    name: String,
}

impl ResourceKind for Bucket<'_> {
    type Desired = BucketSpec;
    /// A bucket that exists has nothing else the local stack compares.
    type Live = ();

    const CLOUD_ONLY_PROPERTIES: &'static [&'static str] = &[
        "BucketEncryption",
        "LifecycleConfiguration",
        "PublicAccessBlockConfiguration",
        "OwnershipControls",
        "Tags",
    ];

    fn desired(
        &self,
        ctx: &Context<'_>,
        id: &str,
        props: &Map<String, Value>,
    ) -> Result<BucketSpec, ProvisionError> {
        check_properties(id, props, &[&["BucketName"], Self::CLOUD_ONLY_PROPERTIES])?;
        // Bucket names are lower case; CloudFormation's generated ones too.
        let name = match props.get("BucketName").and_then(scalar) {
            Some(n) => n,
            None => default_name(ctx, id, "").to_lowercase(),
        };
        Ok(BucketSpec { name })
    }

    fn physical(&self, _id: &str, d: &BucketSpec, _live: Option<&()>) -> Physical {
        let name = &d.name;
        Physical {
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
        }
    }

    async fn read(&self, _id: &str, d: &BucketSpec) -> Result<Option<()>, ProvisionError> {
        match self.0.head_bucket().bucket(&d.name).send().await {
            Ok(_) => Ok(Some(())),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(None),
            Err(e) => Err(AwsError::sdk("s3:HeadBucket", e).into()),
        }
    }

    async fn create(&self, _id: &str, d: &BucketSpec) -> Result<(), ProvisionError> {
        self.0
            .create_bucket()
            .bucket(&d.name)
            .send()
            .await
            .map_err(|e| AwsError::sdk("s3:CreateBucket", e))?;
        Ok(())
    }

    async fn update(&self, _id: &str, _d: &BucketSpec, _live: &()) -> Result<bool, ProvisionError> {
        Ok(false)
    }

    fn diff(&self, _id: &str, _d: &BucketSpec, _live: &()) -> Vec<Drift> {
        Vec::new()
    }
}
