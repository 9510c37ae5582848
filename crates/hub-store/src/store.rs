//! The store port.

use crate::keys::Key;
use crate::plan::{Item, WritePlan};
use hub_core::PortError;
use std::future::Future;

/// What applying a plan did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The plan was written.
    Written,
    /// The stored item holds this version or a newer one: nothing was written.
    Stale,
}

/// The single table, as the domain handlers use it. A failure is a [`PortError`]: transient
/// (throttling, unavailable) or permanent (validation, size limits), with the adapter's error as
/// its source.
pub trait EntityStore: Send + Sync {
    /// Applies a plan under the version guard.
    fn apply(&self, plan: &WritePlan) -> impl Future<Output = Result<Applied, PortError>> + Send;

    /// Reads one item.
    fn get(&self, key: &Key) -> impl Future<Output = Result<Option<Item>, PortError>> + Send;

    /// Every item of a partition, in sort-key order.
    fn query(&self, pk: &str) -> impl Future<Output = Result<Vec<Item>, PortError>> + Send;

    /// Entries of GSI1 with `gsi1pk` whose `gsi1sk` begins with `prefix`; newest (highest sort
    /// key) first when `descending`. The index projects keys only (`KEYS_ONLY`: a write that
    /// keeps an item's index keys costs the index nothing), so an entry has its `pk`/`sk` and
    /// `gsi1pk`/`gsi1sk`, and a reader gets the items it wants by their keys.
    fn query_gsi1(
        &self,
        gsi1pk: &str,
        prefix: &str,
        descending: bool,
    ) -> impl Future<Output = Result<Vec<Item>, PortError>> + Send;
}
