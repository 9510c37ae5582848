//! The enricher's own event source mapping, as a port: the function turns it off when its
//! breaker opens (no message is received, so none spends a receive count, while S/4 is down)
//! and the scheduled probe turns it on again once S/4 answers.
//!
//! Why this and not waiting: a Lambda cannot hold a batch for the length of an outage (15
//! minutes at most, and every message of the batch in flight meanwhile), and failing the batch
//! returns its messages to the queue with one more receive each, until `maxReceiveCount` sends
//! them to the DLQ. With the mapping off, the queue simply keeps them, for as long as its
//! retention (4 days by default, the template's `EnricherRetentionSeconds`).

use hub_core::PortError;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Turns the enricher's event source mapping on and off.
pub trait MappingSwitch: Send + Sync {
    /// Whether the mapping is on.
    fn enabled(&self) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Turns it on or off.
    fn set_enabled(&self, on: bool) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// A switch in memory (tests).
#[derive(Debug)]
pub struct MemorySwitch {
    on: AtomicBool,
    changes: AtomicU32,
}

impl Default for MemorySwitch {
    fn default() -> Self {
        MemorySwitch {
            on: AtomicBool::new(true),
            changes: AtomicU32::new(0),
        }
    }
}

impl MemorySwitch {
    /// How many times it was turned (to a new state).
    pub fn changes(&self) -> u32 {
        self.changes.load(Ordering::Relaxed)
    }

    /// Whether it is on.
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }
}

impl MappingSwitch for MemorySwitch {
    async fn enabled(&self) -> Result<bool, PortError> {
        Ok(self.is_on())
    }

    async fn set_enabled(&self, on: bool) -> Result<(), PortError> {
        if self.on.swap(on, Ordering::Relaxed) != on {
            self.changes.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}
