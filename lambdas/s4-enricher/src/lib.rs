//! The S/4 enricher Lambda (issue 20): thin S/4HANA events from its queue made whole from S/4's
//! OData APIs and published to the changes topic, behind a circuit breaker per S/4 host and a
//! rate limit, turning its own event source mapping off while S/4 is down.
//!
//! **Its room:** hub-core, hub-model, hub-enrich (the enrichment), hub-bridge (the SNS message
//! and publisher port), hub-sync (the dead letter), hub-aws (the SNS publisher, the DLQ, the
//! secret) and the Lambda API's client; hub-local and hub-template only under `local`.
//!
//! # Layout
//! - [`config`]: [`Config`] from the environment.
//! - [`credentials`]: the S/4 secret: Basic or OAuth 2.0 client credentials, client, CA.
//! - [`s4_http`]: [`s4_http::HttpS4`], the S/4 API over HTTPS.
//! - [`mapping`]: [`mapping::LambdaMappingSwitch`], the function's own event source mapping.
//! - [`retry`]: [`retry::RetryLater`], what S/4 could not answer comes back sooner.
//! - [`handler`]: the SQS batch and the scheduled probe.
//! - `local` (feature `local`): the handler as a local function of the template.

pub mod config;
pub mod credentials;
pub mod handler;
#[cfg(feature = "local")]
pub mod local;
pub mod mapping;
pub mod retry;
pub mod s4_http;

pub use config::Config;

use hub_aws::AwsClients;
use hub_aws::sns_publisher::SnsPublisher;
use hub_aws::sqs_dlq::SqsDeadLetters;
use std::sync::Arc;

/// The state of a deployed function, over AWS and S/4.
pub type AwsState = handler::State<
    s4_http::HttpS4,
    SnsPublisher,
    SqsDeadLetters,
    mapping::LambdaMappingSwitch,
    retry::SqsRetryLater,
>;

/// Builds the state from `config`: the secret is read once, at start.
pub async fn state(
    config: &Config,
    clients: &AwsClients,
    lambda: aws_sdk_lambda::Client,
    function_name: &str,
    emit_metrics: bool,
) -> Result<AwsState, lambda_runtime::Error> {
    let secret = hub_aws::secrets::secret_string(&clients.config, &config.s4_secret_arn).await?;
    let secret = credentials::S4Secret::parse(&secret)?;
    let api = s4_http::HttpS4::new(
        &config.s4_base_url,
        secret,
        config.s4_timeout,
        config.allow_http,
    )?;
    Ok(handler::State {
        enricher: hub_enrich::Enricher::new(api, config.settings.clone()),
        publisher: SnsPublisher::new(clients, &config.topic_arn),
        dlq: SqsDeadLetters::new(clients.sqs.clone(), &config.dlq_url),
        mapping: mapping::LambdaMappingSwitch::new(lambda, function_name, &config.queue_arn),
        retry: retry::SqsRetryLater::new(clients.sqs.clone(), &config.queue_url),
        retry_delay: config.retry_delay,
        fifo: config.fifo,
        probe_path: config.probe_path.clone(),
        emit_metrics,
    })
}

/// Runs the function until the runtime stops it.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    hub_telemetry::init();
    let config = Config::from_env(&hub_core::config::Env::process())?;
    let clients = AwsClients::from_env().await;
    let lambda = aws_sdk_lambda::Client::new(&clients.config);
    let function_name = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    let state = Arc::new(state(&config, &clients, lambda, &function_name, true).await?);
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        let state = state.clone();
        async move { handler::handle(event, &state).await }
    }))
    .await
}
