//! One circuit breaker per S/4 host.
//!
//! - **Closed**: calls go through; `failure_threshold` consecutive failed calls open it.
//! - **Open**: no call goes through. After `open_for`, one caller is let through as the probe.
//! - **HalfOpen**: the probe's call is the only one; success closes the breaker, failure opens
//!   it again.
//!
//! A Lambda's breaker lives as long as its execution environment. That is why the enricher
//! does not wait in `Open` the way the bridge does: the function disables its own event source
//! mapping when its breaker opens, so that no message is received (and no receive count spent)
//! while S/4 is down, and the scheduled probe ([`Breakers::close`] after a good call) turns it
//! back on (`lambdas/s4-enricher`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;
use tracing::{info, warn};

pub use hub_core::breaker::BreakerState;

/// When a breaker opens, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failed calls that open it.
    pub failure_threshold: u32,
    /// How long it stays open before one call may probe.
    pub open_for: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings {
            failure_threshold: 5,
            open_for: Duration::from_secs(30),
        }
    }
}

/// Whether a call may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// A call of a closed breaker.
    Call,
    /// The half-open probe.
    Probe,
    /// The breaker is open (or a probe is in flight): do not call.
    Refused,
}

/// A state change: from, to.
pub type Transition = (BreakerState, BreakerState);

#[derive(Debug)]
struct Host {
    state: BreakerState,
    failures: u32,
    opened_at: Instant,
    probing: bool,
}

impl Host {
    fn new() -> Host {
        Host {
            state: BreakerState::Closed,
            failures: 0,
            opened_at: Instant::now(),
            probing: false,
        }
    }
}

/// The breakers of every S/4 host an enricher calls.
#[derive(Debug, Default)]
pub struct Breakers {
    settings: BreakerSettings,
    hosts: Mutex<HashMap<String, Host>>,
    transitions: AtomicU64,
}

impl Breakers {
    /// Closed breakers with these settings.
    pub fn new(settings: BreakerSettings) -> Breakers {
        Breakers {
            settings,
            hosts: Mutex::default(),
            transitions: AtomicU64::new(0),
        }
    }

    fn with<R>(&self, host: &str, f: impl FnOnce(&mut Host) -> R) -> R {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        f(hosts.entry(host.to_string()).or_insert_with(Host::new))
    }

    /// Whether a call to `host` may go now.
    pub fn admit(&self, host: &str) -> Admission {
        let open_for = self.settings.open_for;
        self.with(host, |h| match h.state {
            BreakerState::Closed => Admission::Call,
            BreakerState::Open if h.opened_at.elapsed() >= open_for => {
                h.state = BreakerState::HalfOpen;
                h.probing = true;
                self.transitions.fetch_add(1, Ordering::Relaxed);
                info!(host, "S/4 breaker half open: one probe call.");
                Admission::Probe
            }
            BreakerState::HalfOpen if !h.probing => {
                h.probing = true;
                Admission::Probe
            }
            _ => Admission::Refused,
        })
    }

    /// A call to `host` succeeded: the breaker closes.
    pub fn success(&self, host: &str) -> Option<Transition> {
        self.with(host, |h| {
            h.failures = 0;
            h.probing = false;
            let from = h.state;
            h.state = BreakerState::Closed;
            (from != BreakerState::Closed).then(|| {
                self.transitions.fetch_add(1, Ordering::Relaxed);
                info!(host, from = from.as_str(), "S/4 breaker closed.");
                (from, BreakerState::Closed)
            })
        })
    }

    /// A call to `host` failed: the breaker opens at the threshold, or at once when the call
    /// was the probe.
    pub fn failure(&self, host: &str) -> Option<Transition> {
        let threshold = self.settings.failure_threshold.max(1);
        self.with(host, |h| {
            h.failures = h.failures.saturating_add(1);
            let from = h.state;
            let open = match from {
                BreakerState::Closed => h.failures >= threshold,
                BreakerState::HalfOpen => true,
                BreakerState::Open => false,
            };
            h.probing = false;
            if !open {
                return None;
            }
            h.state = BreakerState::Open;
            h.opened_at = Instant::now();
            self.transitions.fetch_add(1, Ordering::Relaxed);
            warn!(
                host,
                failures = h.failures,
                from = from.as_str(),
                "S/4 breaker open: no calls to this host until a probe succeeds."
            );
            Some((from, BreakerState::Open))
        })
    }

    /// An open breaker of `host` lets its next call probe now, without waiting out `open_for`:
    /// a batch reaching a Lambda whose mapping was turned off means the scheduled probe found
    /// S/4 answering and turned it back on (the probe may have run in another execution
    /// environment, whose breaker this one does not share).
    pub fn probe_now(&self, host: &str) {
        self.with(host, |h| {
            if h.state == BreakerState::Open {
                h.state = BreakerState::HalfOpen;
                h.probing = false;
                self.transitions.fetch_add(1, Ordering::Relaxed);
                info!(host, "S/4 breaker half open: the mapping is on again.");
            }
        });
    }

    /// Closes `host`'s breaker after a good call made outside (the scheduled probe).
    pub fn close(&self, host: &str) -> Option<Transition> {
        self.success(host)
    }

    /// State changes so far, of every host.
    pub fn transitions(&self) -> u64 {
        self.transitions.load(Ordering::Relaxed)
    }

    /// The state of `host`'s breaker.
    pub fn state(&self, host: &str) -> BreakerState {
        self.with(host, |h| h.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn opens_on_consecutive_failures_and_probes_half_open() {
        // Scenario: 3 failures open it (a success in between resets the count); after open_for
        // one probe goes, others are refused; a failed probe opens it again, a good one closes.
        let b = Breakers::new(BreakerSettings {
            failure_threshold: 3,
            open_for: Duration::from_secs(10),
        });
        let h = "s4.example";
        assert_eq!(b.failure(h), None);
        assert_eq!(b.failure(h), None);
        assert_eq!(b.success(h), None);
        assert_eq!(b.failure(h), None);
        assert_eq!(b.failure(h), None);
        assert_eq!(
            b.failure(h),
            Some((BreakerState::Closed, BreakerState::Open))
        );
        assert_eq!(b.admit(h), Admission::Refused);
        assert_eq!(b.admit("other.host"), Admission::Call);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(b.admit(h), Admission::Probe);
        assert_eq!(b.admit(h), Admission::Refused);
        assert_eq!(
            b.failure(h),
            Some((BreakerState::HalfOpen, BreakerState::Open))
        );
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(b.admit(h), Admission::Probe);
        assert_eq!(
            b.success(h),
            Some((BreakerState::HalfOpen, BreakerState::Closed))
        );
        assert_eq!(b.admit(h), Admission::Call);
        assert_eq!(b.transitions(), 5);
    }
}
