//! The local S/4 (SAP CAP, `infra/local/s4`) in the main job: its logon as a secret of the
//! local Secrets Manager (moto), as the deployed enricher reads it, and the change `--seed`
//! makes there.

use anyhow::Context as _;
use hub_aws::AwsClients;

use hub_local::s4::USER;

/// Writes the local S/4's logon to the secret `<stack>-s4-logon` of the local Secrets Manager
/// (created, or given a new value) and returns its ARN: the stack's `S4ApiSecretArn`.
pub async fn local_secret(clients: &AwsClients, stack: &str) -> anyhow::Result<String> {
    let mut config = clients.config.to_builder();
    if let Some(endpoint) = &clients.sns_endpoint_url {
        // moto serves Secrets Manager beside SNS and SQS.
        config.set_endpoint_url(Some(endpoint.clone()));
    }
    let sm = aws_sdk_secretsmanager::Client::new(&config.build());
    let name = format!("{stack}-s4-logon");
    let value =
        serde_json::json!({"auth": "basic", "username": USER.0, "password": USER.1}).to_string();
    let created = sm
        .create_secret()
        .name(&name)
        .secret_string(&value)
        .send()
        .await;
    let arn = match created {
        Ok(out) => out.arn,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_exists_exception()) =>
        {
            sm.put_secret_value()
                .secret_id(&name)
                .secret_string(&value)
                .send()
                .await
                .context("secretsmanager:PutSecretValue")?
                .arn
        }
        Err(e) => return Err(hub_aws::AwsError::sdk("secretsmanager:CreateSecret", e).into()),
    };
    arn.context("the local Secrets Manager returned no ARN")
}

/// Changes business partner `key` on the local S/4 with an OData V2 `PATCH` (its search term),
/// as a user of S/4 would: S/4 raises the thin Changed event, and the hub makes it whole.
pub fn touch_business_partner(base_url: &str, key: &str, search_term: &str) -> anyhow::Result<()> {
    hub_local::s4::patch_business_partner(base_url, key, "SearchTerm1", search_term)
        .map_err(anyhow::Error::msg)
}
