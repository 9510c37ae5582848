//! Claim-checked events on S3: [`S3Payloads`] (feature `sync`), the S3 adapter of
//! `hub_sync::PayloadStore`, and the object reader it shares with the redrive.

use crate::error::AwsError;
#[cfg(feature = "sync")]
use hub_core::{ErrorClass, PortError};
#[cfg(feature = "sync")]
use hub_model::claim_check::ClaimCheck;
#[cfg(feature = "sync")]
use hub_sync::PayloadStore;

/// Reads claim-checked events from S3.
#[cfg(feature = "sync")]
#[derive(Debug, Clone)]
pub struct S3Payloads {
    client: aws_sdk_s3::Client,
}

#[cfg(feature = "sync")]
impl S3Payloads {
    /// A payload store over this client.
    pub fn new(client: aws_sdk_s3::Client) -> S3Payloads {
        S3Payloads { client }
    }
}

/// Why an object could not be read.
pub(crate) enum GetError {
    /// The call failed (`missing`: the object does not exist).
    Call { error: AwsError, missing: bool },
    /// The body could not be read to its end (transient).
    Body(String),
}

/// Reads the whole object at `bucket`/`key`.
pub(crate) async fn get_object(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Vec<u8>, GetError> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            let missing = e.as_service_error().is_some_and(|s| s.is_no_such_key());
            GetError::Call {
                error: AwsError::sdk("s3:GetObject", e),
                missing,
            }
        })?;
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| GetError::Body(format!("reading s3://{bucket}/{key}: {e}")))?;
    Ok(bytes.into_bytes().to_vec())
}

#[cfg(feature = "sync")]
impl PayloadStore for S3Payloads {
    async fn fetch(&self, claim: &ClaimCheck) -> Result<String, PortError> {
        const OPERATION: &str = "s3:GetObject";
        let (bucket, key) = claim.s3_location().ok_or_else(|| {
            PortError::permanent(OPERATION, format!("not an s3:// URI: {}", claim.uri))
        })?;
        let bytes = get_object(&self.client, bucket, key)
            .await
            .map_err(|e| match e {
                // A missing object will not appear by retrying, whatever S3's status said.
                GetError::Call {
                    error,
                    missing: true,
                } => PortError::classified(OPERATION, ErrorClass::Permanent, error),
                GetError::Call { error, .. } => PortError::from(error),
                GetError::Body(m) => PortError::transient(OPERATION, m),
            })?;
        String::from_utf8(bytes)
            .map_err(|e| PortError::caused_by(OPERATION, ErrorClass::Permanent, e))
    }
}
