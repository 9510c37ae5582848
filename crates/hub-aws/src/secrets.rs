//! Secrets Manager: the long-running bridge reads its Kafka credentials (SASL, a client
//! certificate and key, a private CA) by secret ARN at start, so no password sits in an
//! environment variable, a unit file or a task definition.

use crate::AwsError;
use aws_config::SdkConfig;

/// The `SecretString` of a secret (its current version), fetched with the SDK's retries.
///
/// The endpoint follows the SDK's configuration (`AWS_ENDPOINT_URL_SECRETS_MANAGER` points it
/// at a stand-in). The value is returned to the caller and never logged here.
pub async fn secret_string(config: &SdkConfig, secret_arn: &str) -> Result<String, AwsError> {
    let client = aws_sdk_secretsmanager::Client::new(config);
    let out = client
        .get_secret_value()
        .secret_id(secret_arn)
        .send()
        .await
        .map_err(|e| AwsError::sdk("secretsmanager:GetSecretValue", e))?;
    out.secret_string.ok_or_else(|| AwsError::Sdk {
        operation: "secretsmanager:GetSecretValue",
        class: hub_core::ErrorClass::Permanent,
        code: None,
        message: format!("{secret_arn} holds a binary secret; a JSON SecretString is expected"),
        source: "SecretBinary instead of SecretString".into(),
    })
}
