//! `hubctl get` and `hubctl query`: what a domain consumer reads from the single table.

use crate::stack::{StackArgs, local_clients};
use anyhow::Context as _;
use hub_aws::dynamo_store::DynamoStore;
use hub_model::key::normalize;
use hub_store::{EntityStore, Item, keys};
use serde_json::{Value, json};
use std::process::ExitCode;

/// An object of the registry by its routing name (`customer`, `material`, `sales_order`,
/// `supplier`…), or `order` for a sales order.
fn entity(name: &str) -> Result<hub_model::Entity, String> {
    let name = if name == "order" { "sales_order" } else { name };
    hub_model::Entity::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = hub_model::OBJECTS.iter().map(|o| o.name).collect();
        format!(
            "not an object of the hub; one of: {} (or order)",
            known.join(", ")
        )
    })
}

/// Which index query.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Pattern {
    /// A customer's orders, newest first (GSI1 `gsi1pk = CUSTOMER#<id>`).
    CustomerOrders,
    /// The orders containing a material (GSI1 `gsi1pk = MATERIAL#<id>`).
    MaterialOrders,
}

/// Arguments of `hubctl get`.
#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// What to read: an object's name (customer, material, sales_order or order, supplier…).
    /// An aggregate (an order) is read with its whole partition: items, index rows, chunks.
    #[arg(value_parser = entity)]
    entity: hub_model::Entity,
    /// Its business key (padded or not: `0000100123` and `100123` are the same).
    id: String,
    #[command(flatten)]
    stack: StackArgs,
}

/// Arguments of `hubctl query`.
#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    /// The access pattern.
    #[arg(value_enum)]
    pattern: Pattern,
    /// The customer or material key.
    id: String,
    #[command(flatten)]
    stack: StackArgs,
}

async fn store(stack: &StackArgs) -> anyhow::Result<DynamoStore> {
    let template = stack.template()?;
    let clients = local_clients().await;
    let (_, report) = stack.resolve(&template, &clients).await?;
    let table = report
        .physical_id("HubTable")
        .context("the template has no HubTable")?
        .to_string();
    Ok(DynamoStore::new(clients.dynamodb.clone(), table))
}

fn print(items: &[Item]) -> anyhow::Result<()> {
    for i in items {
        let mut v = json!({"pk": i.key.pk, "sk": i.key.sk});
        if let Value::Object(m) = &mut v {
            m.extend(i.attrs.clone());
        }
        println!("{}", serde_json::to_string(&v)?);
    }
    Ok(())
}

pub async fn get(args: GetArgs) -> anyhow::Result<ExitCode> {
    let store = store(&args.stack).await?;
    let id = normalize(&args.id);
    let key = keys::item(args.entity, &id);
    let items = if args.entity.object().aggregate {
        store.query(&key.pk).await?
    } else {
        store.get(&key).await?.into_iter().collect()
    };
    print(&items)?;
    Ok(if items.is_empty() {
        eprintln!("not found");
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

pub async fn query(args: QueryArgs) -> anyhow::Result<ExitCode> {
    let store = store(&args.stack).await?;
    let id = normalize(&args.id);
    let entries = match args.pattern {
        Pattern::CustomerOrders => {
            let (pk, _) = keys::customer_order_gsi1(&id, "", "");
            store.query_gsi1(&pk, keys::ORDER, true).await?
        }
        Pattern::MaterialOrders => {
            let (pk, _) = keys::material_order_gsi1(&id, "");
            store.query_gsi1(&pk, keys::ORDER, false).await?
        }
    };
    // The index holds keys only: each order's header is read by its key, in the index's order.
    let mut items = Vec::new();
    for entry in &entries {
        let header = keys::Key {
            pk: entry.key.pk.clone(),
            sk: keys::ORDER_SK.to_string(),
        };
        if let Some(item) = store.get(&header).await? {
            items.push(item);
        }
    }
    print(&items)?;
    Ok(ExitCode::SUCCESS)
}
