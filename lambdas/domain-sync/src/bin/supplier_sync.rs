//! The suppliers sync Lambda: drains the suppliers queue into the single table.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    domain_sync::run(hub_model::Entity::Supplier).await
}
