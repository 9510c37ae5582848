//! The domain sync Lambdas: one binary per SAP object of the registry (`customer-sync`,
//! `material-sync`, `sales-order-sync`, `supplier-sync`), each draining its SQS queue into the
//! single table.
//!
//! **Its room:** hub-core, hub-model, hub-store, hub-sync, hub-telemetry and hub-aws with its
//! `sync` adapters; hub-local and hub-template only under the `local` feature (the CLI, the
//! bench and the tests). No other Lambda crate, no SAP parser, no bridge.
//!
//! # Layout
//! - [`config`]: [`Config`] from the environment, validated at start.
//! - [`handler`]: the Lambda handler, [`handler::handle`], over the shared batch processing of
//!   `hub-sync`; the same function the local event source mapping runs.
//! - [`run`]: the wiring every binary's `main` calls: tracing, config, SDK clients (once), then
//!   `lambda_runtime::run`.
//! - `local` (feature `local`): the same handlers as local functions for the local event source
//!   mapping, configured from the function's environment in `template.yaml`.
//! - [`domain_of`]: binary name → entity and domain, from the object registry
//!   (`hub_model::OBJECTS`); each binary under `src/bin/` is two lines naming its entity.

pub mod config;
pub mod handler;
#[cfg(feature = "local")]
pub mod local;

pub use config::Config;

use hub_aws::AwsClients;
use hub_aws::dynamo_store::DynamoStore;
use hub_aws::s3_payloads::S3Payloads;
use hub_aws::sqs_dlq::SqsDeadLetters;
use hub_model::Entity;
use std::sync::Arc;

/// The entity and domain of a domain function's binary (SAM `BuildProperties.Binary`), from
/// the object registry ([`hub_model::OBJECTS`]).
pub fn domain_of(binary: &str) -> Option<(Entity, &'static str)> {
    hub_model::OBJECTS
        .iter()
        .find(|o| o.function == binary)
        .map(|o| (o.entity, o.domain))
}

/// Runs the Lambda of `entity`'s domain until the runtime stops it.
pub async fn run(entity: Entity) -> Result<(), lambda_runtime::Error> {
    let domain = entity.object().domain;
    hub_telemetry::init();
    let config = Config::from_env(entity, domain, &hub_core::config::Env::process())?;
    let clients = AwsClients::from_env().await;
    let state = Arc::new(handler::State {
        store: DynamoStore::new(clients.dynamodb.clone(), &config.table_name),
        dlq: SqsDeadLetters::new(clients.sqs.clone(), &config.dlq_url),
        payloads: S3Payloads::new(clients.s3.clone()),
        sync: config.sync,
    });
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        let state = state.clone();
        async move { handler::handle(event, &state).await }
    }))
    .await
}
