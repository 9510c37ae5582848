//! The change-stream Lambda: the single table's DynamoDB stream to the `consolidated` SNS
//! topic. Every change the table applied (one that won its version guard) becomes one
//! [`ConsolidatedMessage`](hub_model::consolidated::ConsolidatedMessage), the record as it now
//! stands; stale and duplicate SAP events never reach the stream, so never the topic.
//!
//! **Its room:** hub-core, hub-model, hub-store, hub-telemetry and hub-aws with its `stream`
//! adapters; hub-local and hub-template only under the `local` feature. No SAP parser, no
//! bridge, no other Lambda crate.
//!
//! # Layout
//! - [`config`]: [`Config`] from the environment, validated at start.
//! - [`handler`]: the handler, [`handler::handle`]: stream records in, partial batch response
//!   out; the same function the local stream event source mapping runs.
//! - [`redrive`]: the change-stream DLQ's redrive (binary `change-stream-redrive`): the
//!   discarded batches' records read from the stream again and published.
//! - [`backfill`]: the current state of an entity's records sent to one queue (binary
//!   `backfill`, and `hubctl backfill`).
//! - [`run`], [`run_redrive`], [`run_backfill`]: the wiring of the binaries' `main`.
//! - `local` (feature `local`): the handler as a local function, configured from the
//!   function's environment in `template.yaml`.

pub mod backfill;
pub mod config;
pub mod handler;
#[cfg(feature = "local")]
pub mod local;
pub mod redrive;

pub use config::Config;

use hub_aws::AwsClients;
use hub_aws::consolidated::SnsConsolidated;
use hub_aws::dynamo_store::DynamoStore;
use std::sync::Arc;

/// The binary's name (SAM `BuildProperties.Binary`).
pub const BINARY: &str = "change-stream";

/// The handler's state from a configuration.
pub fn state(
    clients: &AwsClients,
    config: &Config,
    emit_metrics: bool,
) -> handler::State<SnsConsolidated, DynamoStore> {
    handler::State {
        sink: SnsConsolidated::new(
            clients.sns.clone(),
            clients.s3.clone(),
            &config.topic_arn,
            config.fifo,
            &config.bucket,
        ),
        store: DynamoStore::new(clients.dynamodb.clone(), &config.table_name),
        emit_metrics,
    }
}

/// Runs the Lambda until the runtime stops it.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    hub_telemetry::init();
    let config = Config::from_env(&hub_core::config::Env::process())?;
    let clients = AwsClients::from_env().await;
    let state = Arc::new(state(&clients, &config, true));
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        let state = state.clone();
        async move { handler::handle(event, &state).await }
    }))
    .await
}

/// Runs the redrive Lambda until the runtime stops it. Its input is a [`redrive::Request`]
/// (unknown fields refused); its answer the [`redrive::Report`].
pub async fn run_redrive() -> Result<(), lambda_runtime::Error> {
    hub_telemetry::init();
    let env = hub_core::config::Env::process();
    let config = Config::from_env(&env)?;
    let dlq_url = env.required("DLQ_URL")?;
    let clients = AwsClients::from_env().await;
    let state = Arc::new(state(&clients, &config, false));
    let streams = hub_aws::stream_records::streams_client(&clients);
    let region = clients.region();
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let (state, streams, clients, dlq_url, region) = (
                state.clone(),
                streams.clone(),
                clients.clone(),
                dlq_url.clone(),
                region.clone(),
            );
            async move {
                let request: redrive::Request = serde_json::from_value(event.payload)
                    .map_err(|e| format!("invalid input: {e}"))?;
                let report =
                    redrive::redrive(&request, &clients.sqs, &dlq_url, &streams, &region, &state)
                        .await?;
                Ok::<_, lambda_runtime::Error>(report)
            }
        },
    ))
    .await
}

/// Runs the backfill Lambda until the runtime stops it. Its input is a [`backfill::Request`]
/// (unknown fields refused, a dry run by default); its answer the [`backfill::Report`], whose
/// `checkpoint` is the `resume` of the next invocation when `complete` is false.
pub async fn run_backfill() -> Result<(), lambda_runtime::Error> {
    hub_telemetry::init();
    let env = hub_core::config::Env::process();
    let table = env.required("TABLE_NAME")?;
    let bucket = env.required("CLAIM_CHECK_BUCKET")?;
    let clients = AwsClients::from_env().await;
    let store = Arc::new(DynamoStore::new(clients.dynamodb.clone(), &table));
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let (clients, store, table, bucket) = (
                clients.clone(),
                store.clone(),
                table.clone(),
                bucket.clone(),
            );
            async move {
                let request: backfill::Request = serde_json::from_value(event.payload)
                    .map_err(|e| format!("invalid input: {e}"))?;
                let deadline = tokio::time::Instant::now()
                    + hub_core::deadline::remaining(event.context.deadline);
                let fill = backfill::Backfill {
                    dynamodb: &clients.dynamodb,
                    sqs: &clients.sqs,
                    s3: &clients.s3,
                    table: &table,
                    bucket: &bucket,
                    store: store.as_ref(),
                };
                let report = fill
                    .run(&request, Some(deadline), &|_, _| {}, &|_| {})
                    .await?;
                Ok::<_, lambda_runtime::Error>(report)
            }
        },
    ))
    .await
}
