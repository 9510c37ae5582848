//! The single table read for `hubctl reconcile` ([`hub_reconcile::TableVersions`]): the
//! versioned item of up to 100 keys per `BatchGetItem`, only the attributes the accounting
//! needs, eventually consistent (half the read units of a consistent read; a change applied
//! a moment ago may read as not yet there, which a second run settles). Unprocessed keys are
//! retried with jittered backoff; the read units DynamoDB reports are added up.

use crate::error::AwsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnConsumedCapacity};
use hub_core::PortError;
use hub_core::retry::Backoff;
use hub_model::{Entity, Version};
use hub_reconcile::{Stored, TableVersions};
use hub_store::keys;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// DynamoDB's limit on keys per `BatchGetItem`.
pub const BATCH_GET_KEYS: usize = 100;

/// The table's versions, read with `BatchGetItem`.
#[derive(Debug)]
pub struct DynamoVersions {
    client: aws_sdk_dynamodb::Client,
    table: String,
    backoff: Backoff,
    /// Read capacity units DynamoDB reported, in thousandths.
    read_milli_units: AtomicU64,
    /// Requests made (retries of unprocessed keys included).
    requests: AtomicU64,
}

impl DynamoVersions {
    /// The versions of `table`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> DynamoVersions {
        DynamoVersions {
            client,
            table: table.into(),
            backoff: Backoff {
                max_attempts: 10,
                ..Backoff::default()
            },
            read_milli_units: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        }
    }

    /// Read capacity units consumed so far, as DynamoDB reported them.
    pub fn read_units(&self) -> f64 {
        self.read_milli_units.load(Ordering::Relaxed) as f64 / 1000.0
    }

    /// `BatchGetItem` requests made so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

fn key_attrs(entity: Entity, id: &str) -> HashMap<String, AttributeValue> {
    let k = keys::item(entity, id);
    HashMap::from([
        ("pk".to_string(), AttributeValue::S(k.pk)),
        ("sk".to_string(), AttributeValue::S(k.sk)),
    ])
}

fn text<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

impl TableVersions for DynamoVersions {
    async fn read(&self, asked: &[(Entity, String)]) -> Result<Vec<Option<Stored>>, PortError> {
        let mut found: HashMap<(String, String), Stored> = HashMap::new();
        let mut pending: Vec<HashMap<String, AttributeValue>> =
            asked.iter().map(|(e, id)| key_attrs(*e, id)).collect();
        pending.sort_by(|a, b| (text(a, "pk"), text(a, "sk")).cmp(&(text(b, "pk"), text(b, "sk"))));
        pending.dedup();
        let mut retry = 0u32;
        while !pending.is_empty() {
            let chunk: Vec<_> = pending.drain(..pending.len().min(BATCH_GET_KEYS)).collect();
            let request = KeysAndAttributes::builder()
                .set_keys(Some(chunk))
                .projection_expression("pk, sk, version, deleted")
                .build()
                .map_err(|e| {
                    PortError::caused_by(
                        "dynamodb:BatchGetItem",
                        hub_core::ErrorClass::Permanent,
                        e,
                    )
                })?;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| PortError::from(AwsError::sdk("dynamodb:BatchGetItem", e)))?;
            for c in out.consumed_capacity() {
                let units = c.capacity_units().unwrap_or(0.0);
                self.read_milli_units
                    .fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
            }
            for item in out
                .responses()
                .and_then(|r| r.get(&self.table))
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                let (Some(pk), Some(sk)) = (text(item, "pk"), text(item, "sk")) else {
                    continue;
                };
                let Some(version) = text(item, "version").and_then(|v| v.parse::<Version>().ok())
                else {
                    continue;
                };
                let deleted = item
                    .get("deleted")
                    .and_then(|v| v.as_bool().ok())
                    .copied()
                    .unwrap_or(false);
                found.insert(
                    (pk.to_string(), sk.to_string()),
                    Stored { version, deleted },
                );
            }
            let unprocessed: Vec<_> = out
                .unprocessed_keys()
                .and_then(|u| u.get(&self.table))
                .map(|k| k.keys().to_vec())
                .unwrap_or_default();
            if !unprocessed.is_empty() {
                // Throttled: back off, then ask again for what was not read.
                if !self.backoff.allows(retry + 1) {
                    return Err(PortError::transient(
                        "dynamodb:BatchGetItem",
                        format!(
                            "{} keys still unprocessed after {} attempts",
                            unprocessed.len(),
                            retry + 1
                        ),
                    ));
                }
                tokio::time::sleep(self.backoff.delay(retry)).await;
                retry += 1;
                pending.extend(unprocessed);
            }
        }
        Ok(asked
            .iter()
            .map(|(e, id)| {
                let k = keys::item(*e, id);
                found.get(&(k.pk, k.sk)).cloned()
            })
            .collect())
    }
}
