//! The `dlq-redrive` Lambda: one deployment per DLQ.

use dlq_redrive::{Config, Redriver, handler};
use hub_core::config::Env;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    hub_telemetry::init();
    let config = Config::from_env(&Env::process())?;
    let clients = hub_aws::AwsClients::from_env().await;
    let redriver = Arc::new(Redriver::new(&clients, &config));
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        let redriver = redriver.clone();
        async move { handler::handle(event, &redriver).await }
    }))
    .await
}
