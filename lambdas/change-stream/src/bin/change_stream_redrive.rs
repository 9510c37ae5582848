//! The change-stream DLQ's redrive Lambda, invoked from the console.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    change_stream::run_redrive().await
}
