//! The change-stream Lambda: the single table's stream to the consolidated SNS topic.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    change_stream::run().await
}
