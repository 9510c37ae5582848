//! Claim-checked events on S3: [`S3Payloads`], the S3 adapter of [`hub_sync::PayloadStore`].

use crate::error::AwsError;
use hub_core::Classify;
use hub_model::claim_check::ClaimCheck;
use hub_sync::{FetchError, PayloadStore};

/// Reads claim-checked events from S3.
#[derive(Debug, Clone)]
pub struct S3Payloads {
    client: aws_sdk_s3::Client,
}

impl S3Payloads {
    /// A payload store over this client.
    pub fn new(client: aws_sdk_s3::Client) -> S3Payloads {
        S3Payloads { client }
    }
}

impl PayloadStore for S3Payloads {
    async fn fetch(&self, claim: &ClaimCheck) -> Result<String, FetchError> {
        let (bucket, key) = claim
            .s3_location()
            .ok_or_else(|| FetchError::Permanent(format!("not an s3:// URI: {}", claim.uri)))?;
        let out = match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let missing = e.as_service_error().is_some_and(|s| s.is_no_such_key());
                let e = AwsError::sdk("s3:GetObject", e);
                return Err(if missing || !e.is_retryable() {
                    FetchError::Permanent(e.to_string())
                } else {
                    FetchError::Transient(e.to_string())
                });
            }
        };
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| FetchError::Transient(format!("reading {}: {e}", claim.uri)))?
            .into_bytes();
        String::from_utf8(bytes.to_vec())
            .map_err(|_| FetchError::Permanent(format!("{} is not UTF-8", claim.uri)))
    }
}

/// Stores bodies too large for SNS or SQS in one bucket: the [`hub_bridge::ClaimStore`]
/// adapter. Keys are deterministic per event (or per dead-lettered record), so a retry
/// overwrites the same object.
#[derive(Debug, Clone)]
pub struct S3Claims {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Claims {
    /// A claim store writing to `bucket`.
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> S3Claims {
        S3Claims {
            client,
            bucket: bucket.into(),
        }
    }
}

impl hub_bridge::ClaimStore for S3Claims {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<String, hub_bridge::ports::PortError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .map_err(|e| hub_bridge::ports::PortError::from(AwsError::sdk("s3:PutObject", e)))?;
        Ok(format!("s3://{}/{key}", self.bucket))
    }
}
