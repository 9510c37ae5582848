//! The domain sync Lambdas: one binary per domain (`customer-sync`, `material-sync`,
//! `sales-order-sync`), each draining its SQS queue into the single table.
//!
//! # Layout
//! - [`config`]: [`Config`] from the environment, validated at start.
//! - [`handler`]: the Lambda handler, [`handler::handle`], over the shared batch processing of
//!   `hub-sync`; the same function the local event source mapping runs.
//! - [`run`]: the wiring every binary's `main` calls: tracing, config, SDK clients (once), then
//!   `lambda_runtime::run`.

pub mod config;
pub mod handler;

pub use config::Config;

use hub_aws::AwsClients;
use hub_aws::dynamo_store::DynamoStore;
use hub_aws::sqs_dlq::SqsDeadLetters;
use hub_model::Entity;
use std::sync::Arc;

/// Runs the Lambda of one domain until the runtime stops it.
pub async fn run(entity: Entity, domain: &str) -> Result<(), lambda_runtime::Error> {
    hub_telemetry::init();
    let config = Config::from_env(entity, domain)?;
    let clients = AwsClients::from_env().await;
    let state = Arc::new(handler::State {
        store: DynamoStore::new(clients.dynamodb.clone(), &config.table_name),
        dlq: SqsDeadLetters::new(clients.sqs.clone(), &config.dlq_url),
        sync: config.sync,
    });
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        let state = state.clone();
        async move { handler::handle(event, &state).await }
    }))
    .await
}
