//! The Kafka bridge as a Lambda on the managed Kafka event source (MSK or self-managed Kafka).

// The handler future nests the SDK's, the pipeline's and the runtime's async state machines
// deeper than the default limit of 128 allows for layout queries.
#![recursion_limit = "256"]

use hub_core::config::Env;
use kafka_bridge::{Config, build, handler};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    hub_telemetry::init();
    let config = Config::from_env(&Env::process())?;
    let clients = hub_aws::AwsClients::from_env().await;
    let pipeline = Arc::new(build(&clients, &config));
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        let pipeline = pipeline.clone();
        async move { handler::handle(event, &pipeline).await }
    }))
    .await
}
