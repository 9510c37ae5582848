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
