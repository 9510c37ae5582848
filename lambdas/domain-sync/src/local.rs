//! The domain handlers as local functions, for the local SQS event source mapping: configured
//! from the same environment variables the deployed function gets from `template.yaml`.

use crate::config::Config;
use crate::handler::{State, handle};
use hub_aws::AwsClients;
use hub_aws::dynamo_store::DynamoStore;
use hub_aws::s3_payloads::S3Payloads;
use hub_aws::sqs_dlq::SqsDeadLetters;
use hub_local::{LocalFunction, handler_fn};
use std::collections::HashMap;
use std::sync::Arc;

/// The local function of a domain binary, or `None` for a binary that is not a domain function.
pub fn function(
    binary: &str,
    env: &HashMap<String, String>,
    clients: &AwsClients,
) -> Result<Option<Arc<dyn LocalFunction>>, hub_core::config::ConfigError> {
    let Some((entity, domain)) = crate::domain_of(binary) else {
        return Ok(None);
    };
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let config = Config::from_env(entity, domain, &hub_core::config::Env::from_pairs(&pairs))?;
    let state = Arc::new(State {
        store: DynamoStore::new(clients.dynamodb.clone(), &config.table_name),
        dlq: SqsDeadLetters::new(clients.sqs.clone(), &config.dlq_url),
        payloads: S3Payloads::new(clients.s3.clone()),
        // Locally the main job's status line shows the counters (hub_sync::metrics::totals);
        // EMF lines are for CloudWatch.
        sync: hub_sync::SyncConfig {
            emit_metrics: false,
            ..config.sync
        },
    });
    Ok(Some(handler_fn(move |event| {
        let state = state.clone();
        async move { handle(event, &state).await }
    })))
}
