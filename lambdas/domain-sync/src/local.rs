//! The domain handlers as local functions, for the local SQS event source mapping: configured
//! from the same environment variables the deployed function gets from `template.yaml`.
//!
//! [`function`] builds one from a binary name and its environment; [`function_of`] from a
//! function of the template, as `hubctl run` and the bench run them.

use crate::config::Config;
use crate::handler::{State, handle};
use hub_aws::AwsClients;
use hub_aws::dynamo_store::DynamoStore;
use hub_aws::s3_payloads::S3Payloads;
use hub_aws::sqs_dlq::SqsDeadLetters;
use hub_core::config::{ConfigError, Env};
use hub_core::{Classify, ErrorClass};
use hub_local::{LocalFunction, handler_fn};
use hub_template::{Context, TemplateError};
use std::collections::HashMap;
use std::sync::Arc;
use thiserror::Error;

/// Why a function of the template cannot run locally.
#[derive(Debug, Error)]
pub enum LocalError {
    /// Its environment does not resolve.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// Its environment is not a valid configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl Classify for LocalError {
    /// A template or a configuration does not mend itself: never retried.
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

/// The handler a function of the template runs locally: chosen by its SAM build binary
/// (`Metadata.BuildProperties.Binary`), configured from its resolved environment variables, as
/// the deployed function would be. `None` for a resource that is not a domain function.
pub fn function_of(
    ctx: &Context<'_>,
    logical_id: &str,
    clients: &AwsClients,
) -> Result<Option<Arc<dyn LocalFunction>>, LocalError> {
    let Some(resource) = ctx.template().resource(logical_id) else {
        return Ok(None);
    };
    let Some(binary) = resource
        .metadata
        .get("BuildProperties")
        .and_then(|b| b.get("Binary"))
        .and_then(|b| b.as_str())
    else {
        return Ok(None);
    };
    let env: HashMap<String, String> = ctx.function_environment(logical_id)?.into_iter().collect();
    Ok(function(binary, &env, clients)?)
}

/// The local function of a domain binary, or `None` for a binary that is not a domain function.
pub fn function(
    binary: &str,
    env: &HashMap<String, String>,
    clients: &AwsClients,
) -> Result<Option<Arc<dyn LocalFunction>>, ConfigError> {
    let Some((entity, domain)) = crate::domain_of(binary) else {
        return Ok(None);
    };
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let config = Config::from_env(entity, domain, &Env::from_pairs(&pairs))?;
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
