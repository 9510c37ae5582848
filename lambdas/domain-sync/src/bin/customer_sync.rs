//! The customers sync Lambda: drains the customers queue into the single table.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    domain_sync::run(hub_model::Entity::Customer).await
}
