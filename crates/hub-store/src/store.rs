//! The store port.

use crate::keys::Key;
use crate::plan::{Item, WritePlan};
use hub_core::{Classify, ErrorClass};
use std::future::Future;
use thiserror::Error;

/// What applying a plan did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The plan was written.
    Written,
    /// The stored item holds this version or a newer one: nothing was written.
    Stale,
}

/// A store failure.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The store is throttling or unavailable; try again later.
    #[error("store unavailable: {0}")]
    Transient(String),
    /// The request can never succeed (validation, size limits…).
    #[error("store refused the write: {0}")]
    Permanent(String),
}

impl Classify for StoreError {
    fn class(&self) -> ErrorClass {
        match self {
            StoreError::Transient(_) => ErrorClass::Transient,
            StoreError::Permanent(_) => ErrorClass::Permanent,
        }
    }
}

/// The single table, as the domain handlers use it.
pub trait EntityStore: Send + Sync {
    /// Applies a plan under the version guard.
    fn apply(&self, plan: &WritePlan) -> impl Future<Output = Result<Applied, StoreError>> + Send;

    /// Reads one item.
    fn get(&self, key: &Key) -> impl Future<Output = Result<Option<Item>, StoreError>> + Send;

    /// Every item of a partition, in sort-key order.
    fn query(&self, pk: &str) -> impl Future<Output = Result<Vec<Item>, StoreError>> + Send;

    /// Items of GSI1 with `gsi1pk` whose `gsi1sk` begins with `prefix`; newest (highest sort
    /// key) first when `descending`.
    fn query_gsi1(
        &self,
        gsi1pk: &str,
        prefix: &str,
        descending: bool,
    ) -> impl Future<Output = Result<Vec<Item>, StoreError>> + Send;
}
