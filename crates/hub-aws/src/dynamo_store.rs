//! The single table on DynamoDB: [`DynamoStore`], the DynamoDB adapter of
//! [`hub_store::EntityStore`].
//!
//! How a plan is written:
//! - a customer, a material, a supplier, or a tombstone of any: one `PutItem` with the version
//!   guard `attribute_not_exists(pk) OR version < :v`; a failed condition is [`Applied::Stale`];
//! - an order whose materials did not change (the common case): one `PutItem` of the header
//!   guarded by `attribute_exists(pk) AND version < :v AND #rows = :rows`. The condition carries
//!   what a read would have told: the stored order is older and has the same index rows, so the
//!   rows stay as they are (no transaction, no read). `ReturnValuesOnConditionCheckFailure`
//!   returns the stored header when the guard fails, for free;
//! - an order that is new, whose materials changed, or a tombstone of an order: the order's
//!   partition is queried (consistent), every index row of the new set is put under the row's
//!   own version guard, rows of materials the order no longer has are deleted under
//!   `version < :v`, and the header is put last under the version guard. Because the header is
//!   written last, a header of version `v` means its rows were written: a failure in between is
//!   retried by the queue and redone from the query. The header put returns the header it
//!   replaced (`ReturnValues: ALL_OLD`), whose rows a concurrent writer may have added: those
//!   that are not in the new set are deleted too. A writer that loses the header to a newer
//!   version deletes the rows it wrote that the winner does not list (`version = :v`).
//!
//!   Index rows are eventually consistent with the header (DESIGN §3, `docs/table.md`): a
//!   reader of the material index may, for the time of one write, see a row of a material the
//!   order is losing, or miss one it is gaining. A row's `version` is the change that last
//!   changed the order's set of materials.
//! - an order whose items pass one item's size (`ITEMS#<n>` chunk rows, see `hub_store::plan`):
//!   the header is read (consistent read) to learn the stored version and rows, then one
//!   `TransactWriteItems` puts the header under the guard `attribute_not_exists(pk)` /
//!   `version = :read` (optimistic concurrency), puts the chunks and index rows and deletes the
//!   rows the order no longer has: a reader never sees the header of one version with the chunks
//!   of another. A transaction cancelled by its condition is re-read and retried (another writer
//!   won the race) until the stored version is newer (then it is stale). A transaction takes 100
//!   actions and 4 MB: rows beyond either limit are written right after it (orders with more
//!   than 99 rows or about 3.8 MB; readers keep the chunks whose `version` equals the header's).

use crate::error::AwsError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem,
};
use hub_core::{ErrorClass, PortError};
use hub_store::{Applied, EntityStore, Item, Key, WritePlan, keys};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// DynamoDB's limit on actions in one `TransactWriteItems`.
const TRANSACTION_ACTIONS: usize = 100;
/// DynamoDB's limit on the size of one `TransactWriteItems` (4 MB), with a margin for
/// attribute names and request overhead.
const TRANSACTION_BYTES: usize = 3_800_000;
/// Attempts when concurrent writers race on the same order.
const RACE_ATTEMPTS: usize = 5;

/// The table on DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoStore {
    /// The store over `table`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    /// A `PutItem` of `item` that applies only over an older version or no item
    /// (`attribute_not_exists(pk) OR version < :v`).
    fn put_newer(
        &self,
        item: &Item,
        version: &str,
    ) -> aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(item)))
            .condition_expression("attribute_not_exists(pk) OR version < :v")
            .expression_attribute_values(":v", AttributeValue::S(version.to_string()))
    }

    async fn put_guarded(&self, plan: &WritePlan) -> Result<Applied, PortError> {
        let result = self.put_newer(&plan.main, &plan.version).send().await;
        match result {
            Ok(_) => Ok(Applied::Written),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(Applied::Stale)
            }
            Err(e) => Err(store_error(AwsError::sdk("dynamodb:PutItem", e))),
        }
    }

    /// An order: header only when its rows did not change, rows then header when they did, a
    /// transaction when its items are chunked (see the module's documentation).
    async fn write_aggregate(&self, plan: &WritePlan) -> Result<Applied, PortError> {
        let chunked = plan
            .index_rows
            .iter()
            .any(|r| r.key.sk.starts_with(keys::ITEMS));
        if chunked {
            return self.write_transaction(plan).await;
        }
        let rows = rows_of(&plan.main);
        if !plan.tombstone {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(to_item(&plan.main)))
                .condition_expression("attribute_exists(pk) AND version < :v AND #rows = :rows")
                .expression_attribute_names("#rows", "rows")
                .expression_attribute_values(":v", AttributeValue::S(plan.version.clone()))
                .expression_attribute_values(":rows", rows_value(&rows))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            match result {
                Ok(_) => return Ok(Applied::Written),
                Err(e) => match conditional_failure(&e) {
                    Some(stored) => {
                        let newer = stored
                            .as_ref()
                            .and_then(Item::version)
                            .is_some_and(|v| v >= plan.version.as_str());
                        if newer {
                            return Ok(Applied::Stale);
                        }
                    }
                    None => return Err(store_error(AwsError::sdk("dynamodb:PutItem", e))),
                },
            }
        }
        self.write_rows_then_header(plan, &rows).await
    }

    /// An order that is new, whose set of materials changed, or a tombstone: its rows first,
    /// its header last (see the module's documentation).
    async fn write_rows_then_header(
        &self,
        plan: &WritePlan,
        rows: &[String],
    ) -> Result<Applied, PortError> {
        let stored = self.query(&plan.main.key.pk).await?;
        if let Some(header) = stored.iter().find(|i| i.key == plan.main.key)
            && header.version().is_some_and(|v| v >= plan.version.as_str())
        {
            return Ok(Applied::Stale);
        }
        for row in &plan.index_rows {
            self.put_row(row, &plan.version).await?;
        }
        for old in stored.iter().filter(|i| i.key != plan.main.key) {
            if !rows.contains(&old.key.sk) {
                self.delete_row(&old.key, "version < :v", &plan.version)
                    .await?;
            }
        }
        let result = self
            .put_newer(&plan.main, &plan.version)
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => {
                // Rows a concurrent older writer added after the query, that this version does
                // not have.
                let replaced = out.attributes().and_then(from_item);
                for sk in replaced.as_ref().map(rows_of).unwrap_or_default() {
                    if !rows.contains(&sk) {
                        let key = Key {
                            pk: plan.main.key.pk.clone(),
                            sk,
                        };
                        self.delete_row(&key, "version < :v", &plan.version).await?;
                    }
                }
                Ok(Applied::Written)
            }
            Err(e) => match conditional_failure(&e) {
                Some(winner) => {
                    // A newer version won the header: the rows this one wrote that the winner
                    // does not list go again.
                    let theirs = winner.as_ref().map(rows_of).unwrap_or_default();
                    for row in &plan.index_rows {
                        if !theirs.contains(&row.key.sk) {
                            self.delete_row(&row.key, "version = :v", &plan.version)
                                .await?;
                        }
                    }
                    Ok(Applied::Stale)
                }
                None => Err(store_error(AwsError::sdk("dynamodb:PutItem", e))),
            },
        }
    }

    /// Puts an index row under its version guard; a newer row stays.
    async fn put_row(&self, row: &Item, version: &str) -> Result<(), PortError> {
        let result = self.put_newer(row, version).send().await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if conditional_failure(&e).is_some() => Ok(()),
            Err(e) => Err(store_error(AwsError::sdk("dynamodb:PutItem", e))),
        }
    }

    /// Deletes an index row under `condition` (over `:v`); a failed condition leaves it.
    async fn delete_row(&self, key: &Key, condition: &str, version: &str) -> Result<(), PortError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.pk.clone()))
            .key("sk", AttributeValue::S(key.sk.clone()))
            .condition_expression(condition)
            .expression_attribute_values(":v", AttributeValue::S(version.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(store_error(AwsError::sdk("dynamodb:DeleteItem", e))),
        }
    }

    /// An order with item chunks: one transaction, optimistic on the header's version.
    async fn write_transaction(&self, plan: &WritePlan) -> Result<Applied, PortError> {
        for _ in 0..RACE_ATTEMPTS {
            let stored = self.get(&plan.main.key).await?;
            let stored_version = stored
                .as_ref()
                .and_then(|i| i.version().map(str::to_string));
            if stored_version
                .as_deref()
                .is_some_and(|v| v >= plan.version.as_str())
            {
                return Ok(Applied::Stale);
            }
            let old_rows: Vec<String> = stored
                .as_ref()
                .and_then(|i| i.attrs.get("rows"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let mut actions = Vec::new();
            let mut header = Put::builder()
                .table_name(&self.table)
                .set_item(Some(to_item(&plan.main)));
            header = match &stored_version {
                None => header.condition_expression("attribute_not_exists(pk)"),
                Some(v) => header
                    .condition_expression("version = :read")
                    .expression_attribute_values(":read", AttributeValue::S(v.clone())),
            };
            actions.push(
                TransactWriteItem::builder()
                    .put(header.build().map_err(|e| {
                        PortError::caused_by(
                            "dynamodb:TransactWriteItems",
                            ErrorClass::Permanent,
                            e,
                        )
                    })?)
                    .build(),
            );
            let mut later: Vec<TransactWriteItem> = Vec::new();
            let mut bytes = item_bytes(&plan.main);
            let mut push =
                |a: TransactWriteItem, size: usize, actions: &mut Vec<TransactWriteItem>| {
                    if actions.len() < TRANSACTION_ACTIONS && bytes + size <= TRANSACTION_BYTES {
                        bytes += size;
                        actions.push(a);
                    } else {
                        later.push(a);
                    }
                };
            for row in &plan.index_rows {
                let size = item_bytes(row);
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(to_item(row)))
                    .build()
                    .map_err(|e| {
                        PortError::caused_by(
                            "dynamodb:TransactWriteItems",
                            ErrorClass::Permanent,
                            e,
                        )
                    })?;
                push(
                    TransactWriteItem::builder().put(put).build(),
                    size,
                    &mut actions,
                );
            }
            for sk in old_rows {
                let key = Key {
                    pk: plan.main.key.pk.clone(),
                    sk,
                };
                if plan.index_rows.iter().any(|r| r.key == key) {
                    continue;
                }
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .key("pk", AttributeValue::S(key.pk))
                    .key("sk", AttributeValue::S(key.sk))
                    .build()
                    .map_err(|e| {
                        PortError::caused_by(
                            "dynamodb:TransactWriteItems",
                            ErrorClass::Permanent,
                            e,
                        )
                    })?;
                push(
                    TransactWriteItem::builder().delete(delete).build(),
                    64,
                    &mut actions,
                );
            }
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions))
                .send()
                .await;
            match result {
                Ok(_) => {
                    self.write_overflow(later).await?;
                    return Ok(Applied::Written);
                }
                Err(e) => {
                    let lost_race = e
                        .as_service_error()
                        .filter(|s| s.is_transaction_canceled_exception())
                        .and_then(|s| match s {
                            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => Some(c),
                            _ => None,
                        })
                        .is_some_and(|c| {
                            c.cancellation_reasons()
                                .first()
                                .and_then(|r| r.code())
                                == Some("ConditionalCheckFailed")
                        });
                    if !lost_race {
                        return Err(store_error(AwsError::sdk("dynamodb:TransactWriteItems", e)));
                    }
                    // Another writer changed the header since it was read: read again.
                }
            }
        }
        Err(PortError::transient(
            "dynamodb:TransactWriteItems",
            format!(
                "order {} kept changing under {RACE_ATTEMPTS} attempts",
                plan.main.key.pk
            ),
        ))
    }

    /// Index rows beyond one transaction's capacity, written after the header.
    async fn write_overflow(&self, actions: Vec<TransactWriteItem>) -> Result<(), PortError> {
        for chunk in actions.chunks(TRANSACTION_ACTIONS) {
            self.client
                .transact_write_items()
                .set_transact_items(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| store_error(AwsError::sdk("dynamodb:TransactWriteItems", e)))?;
        }
        Ok(())
    }

    async fn query_all(
        &self,
        index: Option<&str>,
        key_condition: &str,
        values: HashMap<String, AttributeValue>,
        forward: bool,
    ) -> Result<Vec<Item>, PortError> {
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_string))
                .key_condition_expression(key_condition)
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(forward)
                .set_exclusive_start_key(start.take())
                .consistent_read(index.is_none())
                .send()
                .await
                .map_err(|e| store_error(AwsError::sdk("dynamodb:Query", e)))?;
            out.extend(page.items().iter().filter_map(from_item));
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        Ok(out)
    }
}

impl EntityStore for DynamoStore {
    async fn apply(&self, plan: &WritePlan) -> Result<Applied, PortError> {
        if plan.entity.object().aggregate {
            self.write_aggregate(plan).await
        } else {
            self.put_guarded(plan).await
        }
    }

    async fn get(&self, key: &Key) -> Result<Option<Item>, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.pk.clone()))
            .key("sk", AttributeValue::S(key.sk.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(AwsError::sdk("dynamodb:GetItem", e)))?;
        Ok(out.item().and_then(from_item))
    }

    async fn query(&self, pk: &str) -> Result<Vec<Item>, PortError> {
        self.query_all(
            None,
            "pk = :pk",
            HashMap::from([(":pk".to_string(), AttributeValue::S(pk.to_string()))]),
            true,
        )
        .await
    }

    async fn query_gsi1(
        &self,
        gsi1pk: &str,
        prefix: &str,
        descending: bool,
    ) -> Result<Vec<Item>, PortError> {
        self.query_all(
            Some("gsi1"),
            "gsi1pk = :pk AND begins_with(gsi1sk, :prefix)",
            HashMap::from([
                (":pk".to_string(), AttributeValue::S(gsi1pk.to_string())),
                (":prefix".to_string(), AttributeValue::S(prefix.to_string())),
            ]),
            !descending,
        )
        .await
    }
}

/// Approximate size of an item as DynamoDB counts it (its JSON is close enough for budgeting).
fn item_bytes(item: &Item) -> usize {
    serde_json::to_vec(&item.attrs)
        .map(|b| b.len())
        .unwrap_or(0)
        + item.key.pk.len()
        + item.key.sk.len()
}

fn store_error(e: AwsError) -> PortError {
    PortError::from(e)
}

/// The sort keys of the rows an order's header lists (`rows`), empty for anything else.
fn rows_of(item: &Item) -> Vec<String> {
    item.attrs
        .get("rows")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn rows_value(rows: &[String]) -> AttributeValue {
    AttributeValue::L(rows.iter().cloned().map(AttributeValue::S).collect())
}

/// `Some(the stored item, if the request asked for it and there is one)` when a `PutItem`
/// failed on its condition; `None` for any other failure.
fn conditional_failure<R>(
    e: &aws_sdk_dynamodb::error::SdkError<PutItemError, R>,
) -> Option<Option<Item>> {
    match e.as_service_error()? {
        PutItemError::ConditionalCheckFailedException(c) => Some(c.item().and_then(from_item)),
        _ => None,
    }
}

/// An item as DynamoDB attributes (`pk`, `sk` and the JSON attributes).
pub fn to_item(item: &Item) -> HashMap<String, AttributeValue> {
    let mut out: HashMap<String, AttributeValue> = item
        .attrs
        .iter()
        .filter_map(|(k, v)| to_attr(v).map(|a| (k.clone(), a)))
        .collect();
    out.insert("pk".into(), AttributeValue::S(item.key.pk.clone()));
    out.insert("sk".into(), AttributeValue::S(item.key.sk.clone()));
    out
}

fn to_attr(v: &Value) -> Option<AttributeValue> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(a) => AttributeValue::L(a.iter().filter_map(to_attr).collect()),
        Value::Object(m) => AttributeValue::M(
            m.iter()
                .filter_map(|(k, v)| to_attr(v).map(|a| (k.clone(), a)))
                .collect(),
        ),
    })
}

/// An item from DynamoDB attributes; `None` without `pk`/`sk`.
pub fn from_item(attrs: &HashMap<String, AttributeValue>) -> Option<Item> {
    let pk = attrs.get("pk")?.as_s().ok()?.clone();
    let sk = attrs.get("sk")?.as_s().ok()?.clone();
    let mut map = Map::new();
    let mut names: Vec<&String> = attrs.keys().filter(|k| *k != "pk" && *k != "sk").collect();
    names.sort();
    for k in names {
        if let Some(v) = from_attr(&attrs[k]) {
            map.insert(k.clone(), v);
        }
    }
    Some(Item {
        key: Key { pk, sk },
        attrs: map,
    })
}

fn from_attr(a: &AttributeValue) -> Option<Value> {
    Some(match a {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::N(n) => n.parse::<i64>().map(Value::from).ok().or_else(|| {
            n.parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
        })?,
        AttributeValue::L(l) => Value::Array(l.iter().filter_map(from_attr).collect()),
        AttributeValue::M(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .filter_map(|k| from_attr(&m[k]).map(|v| (k.clone(), v)))
                    .collect(),
            )
        }
        AttributeValue::Null(_) => return None,
        _ => return None,
    })
}
