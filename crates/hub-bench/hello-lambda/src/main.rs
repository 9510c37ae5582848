//! A hello-world Lambda function: the bench's peer for the functions' cold start and size. It
//! builds nothing before its first request (no SDK clients, no configuration), so its
//! initialisation is the runtime's alone.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, lambda_runtime::Error>(json!({ "hello": event.payload }))
    }))
    .await
}
