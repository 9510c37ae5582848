//! The single table of SAP Sync Hub (DESIGN §3 and §5): keys, items, version-guarded write
//! plans, the [`EntityStore`] port and its in-memory adapter. Pure: no SDK; the DynamoDB adapter
//! lives in `hub-aws`.
//!
//! **Its room:** hub-core and hub-model. The domain functions' side depends on it (hub-sync, the
//! DynamoDB adapter in hub-aws); no SDK.
//!
//! # Layout
//! - [`keys`]: every key builder and access pattern, with doctests.
//! - [`plan`]: [`WritePlan`], what a [`hub_model::ChangeEvent`] writes: one versioned item
//!   (a customer, a supplier, a material, an order with its items, or a tombstone) and, for
//!   orders, the material index rows; [`coalesce`] keeps the newest change per key of a batch.
//! - [`store`]: the [`EntityStore`] port, [`Applied`] (failures are `hub_core::PortError`).
//! - [`memory`]: [`MemoryStore`], the in-memory adapter with the same semantics.
//! - [`consolidated`]: an item of the table as a consolidated change message (the change
//!   stream and the backfill): which rows are changes of their own, and the record as it stands.
//!
//! The rule every adapter implements: a plan applies only if its item does not exist or holds an
//! older `version`; otherwise it is a no-op reported as [`Applied::Stale`]. Deletes write a
//! tombstone (with its version and a TTL) so that a late upsert cannot resurrect the record.

pub mod consolidated;
pub mod keys;
pub mod memory;
pub mod plan;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use keys::Key;
pub use memory::MemoryStore;
pub use plan::{Item, PlanError, WritePlan, coalesce, plan};
pub use store::{Applied, EntityStore};
