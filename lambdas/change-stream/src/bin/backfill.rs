//! The backfill Lambda, invoked from the console: an entity's current state sent to one queue.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    change_stream::run_backfill().await
}
