//! The sales-orders sync Lambda: drains the sales-orders queue into the single table.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    domain_sync::run(hub_model::Entity::SalesOrder).await
}
