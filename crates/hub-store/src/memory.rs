//! The in-memory store: the same semantics as the DynamoDB adapter, for fast handler tests and
//! the contract tests.

use crate::keys::Key;
use crate::plan::{Item, WritePlan};
use crate::store::{Applied, EntityStore};
use hub_core::PortError;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A table in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    items: Mutex<BTreeMap<Key, Item>>,
}

impl MemoryStore {
    /// An empty table.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Every item, in key order.
    pub fn snapshot(&self) -> Vec<Item> {
        self.items
            .lock()
            .expect("not poisoned")
            .values()
            .cloned()
            .collect()
    }
}

impl EntityStore for MemoryStore {
    async fn apply(&self, plan: &WritePlan) -> Result<Applied, PortError> {
        let mut items = self.items.lock().expect("not poisoned");
        let previous = items.get(&plan.main.key);
        if previous
            .and_then(|p| p.version())
            .is_some_and(|v| v >= plan.version.as_str())
        {
            return Ok(Applied::Stale);
        }
        let old_rows: Vec<Key> = items
            .range(
                Key {
                    pk: plan.main.key.pk.clone(),
                    sk: String::new(),
                }..,
            )
            .take_while(|(k, _)| k.pk == plan.main.key.pk)
            .filter(|(k, _)| **k != plan.main.key)
            .map(|(k, _)| k.clone())
            .collect();
        // As the DynamoDB adapter does: rows that did not change keep the version that wrote
        // them; a new set of rows (or item chunks, which change with the items) is written whole.
        let same_rows = plan
            .index_rows
            .iter()
            .all(|r| !r.key.sk.starts_with(crate::keys::ITEMS))
            && old_rows.len() == plan.index_rows.len()
            && plan.index_rows.iter().all(|r| old_rows.contains(&r.key));
        if !same_rows {
            for k in old_rows {
                items.remove(&k);
            }
            for row in &plan.index_rows {
                items.insert(row.key.clone(), row.clone());
            }
        }
        items.insert(plan.main.key.clone(), plan.main.clone());
        Ok(Applied::Written)
    }

    async fn get(&self, key: &Key) -> Result<Option<Item>, PortError> {
        Ok(self.items.lock().expect("not poisoned").get(key).cloned())
    }

    async fn query(&self, pk: &str) -> Result<Vec<Item>, PortError> {
        Ok(self
            .items
            .lock()
            .expect("not poisoned")
            .values()
            .filter(|i| i.key.pk == pk)
            .cloned()
            .collect())
    }

    async fn query_gsi1(
        &self,
        gsi1pk: &str,
        prefix: &str,
        descending: bool,
    ) -> Result<Vec<Item>, PortError> {
        let items = self.items.lock().expect("not poisoned");
        let mut out: Vec<Item> = items
            .values()
            .filter(|i| i.attrs.get("gsi1pk").and_then(Value::as_str) == Some(gsi1pk))
            .filter(|i| {
                i.attrs
                    .get("gsi1sk")
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.starts_with(prefix))
            })
            .map(|i| Item {
                key: i.key.clone(),
                attrs: i
                    .attrs
                    .iter()
                    .filter(|(k, _)| *k == "gsi1pk" || *k == "gsi1sk")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            })
            .collect();
        out.sort_by(|a, b| {
            let k = |i: &Item| {
                i.attrs
                    .get("gsi1sk")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            k(a).cmp(&k(b))
        });
        if descending {
            out.reverse();
        }
        Ok(out)
    }
}
