//! The circuit breaker around SNS (DESIGN §4).
//!
//! - **Closed**: calls go through. `failure_threshold` consecutive failed calls open it.
//! - **Open**: no call goes through; callers wait (they sleep, no busy loop) and the consumer
//!   pauses its partitions (it watches [`CircuitBreaker::subscribe`]). After `open_for` one caller
//!   becomes the probe.
//! - **HalfOpen**: the probe's call is the only one in flight. Success closes the breaker;
//!   failure opens it again for twice as long (up to `max_open_for`).
//!
//! State changes are logged (WARN when it opens, INFO when it closes) and counted.

use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{info, warn};

pub use hub_core::breaker::BreakerState;

/// The breaker's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failed calls that open the breaker.
    pub failure_threshold: u32,
    /// How long it stays open before the first probe.
    pub open_for: Duration,
    /// The longest it stays open (the wait doubles after each failed probe).
    pub max_open_for: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings {
            failure_threshold: 5,
            open_for: Duration::from_secs(1),
            max_open_for: Duration::from_secs(30),
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    failures: u32,
    opened_at: Instant,
    open_for: Duration,
    probing: bool,
    transitions: u64,
}

/// A circuit breaker shared by every publisher task.
#[derive(Debug)]
pub struct CircuitBreaker {
    settings: BreakerSettings,
    inner: Mutex<Inner>,
    state_tx: watch::Sender<BreakerState>,
}

/// Leave to make one call. Report the call's outcome with [`CircuitBreaker::success`] or
/// [`CircuitBreaker::failure`]; a probe permit dropped without an outcome lets another caller
/// probe (a cancelled call proves nothing).
#[derive(Debug)]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    probe: bool,
}

impl Permit<'_> {
    /// Whether this call is the half-open probe.
    pub fn is_probe(&self) -> bool {
        self.probe
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.probe {
            let mut inner = self.breaker.lock();
            if inner.state == BreakerState::HalfOpen {
                inner.probing = false;
            }
        }
    }
}

enum Next {
    Go(bool),
    Sleep(Duration),
    WaitForProbe,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(settings: BreakerSettings) -> CircuitBreaker {
        let (state_tx, _) = watch::channel(BreakerState::Closed);
        CircuitBreaker {
            settings,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                failures: 0,
                opened_at: Instant::now(),
                open_for: settings.open_for,
                probing: false,
                transitions: 0,
            }),
            state_tx,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        self.lock().state
    }

    /// State changes so far.
    pub fn transitions(&self) -> u64 {
        self.lock().transitions
    }

    /// A receiver of state changes (the consumer pauses and resumes on them).
    pub fn subscribe(&self) -> watch::Receiver<BreakerState> {
        self.state_tx.subscribe()
    }

    fn set(&self, inner: &mut Inner, state: BreakerState) {
        if inner.state != state {
            inner.state = state;
            inner.transitions += 1;
            self.state_tx.send_replace(state);
        }
    }

    /// Waits until a call may be made.
    pub async fn permit(&self) -> Permit<'_> {
        let mut changes = self.state_tx.subscribe();
        loop {
            let next = {
                let mut inner = self.lock();
                match inner.state {
                    BreakerState::Closed => Next::Go(false),
                    BreakerState::Open => {
                        let at = inner.opened_at + inner.open_for;
                        let now = Instant::now();
                        if now >= at {
                            self.set(&mut inner, BreakerState::HalfOpen);
                            inner.probing = true;
                            info!(breaker = "sns", "Circuit breaker half-open: probing.");
                            Next::Go(true)
                        } else {
                            Next::Sleep(at - now)
                        }
                    }
                    BreakerState::HalfOpen if !inner.probing => {
                        inner.probing = true;
                        Next::Go(true)
                    }
                    BreakerState::HalfOpen => Next::WaitForProbe,
                }
            };
            match next {
                Next::Go(probe) => {
                    return Permit {
                        breaker: self,
                        probe,
                    };
                }
                Next::Sleep(d) => tokio::time::sleep(d).await,
                Next::WaitForProbe => {
                    // The probe reports (or is dropped); wake on any change, or re-check after
                    // a while in case the probe was cancelled.
                    changes.borrow_and_update();
                    let _ = tokio::time::timeout(self.settings.open_for, changes.changed()).await;
                }
            }
        }
    }

    /// The call made under `permit` succeeded.
    pub fn success(&self, permit: Permit<'_>) {
        let mut inner = self.lock();
        inner.failures = 0;
        if inner.state != BreakerState::Closed {
            inner.probing = false;
            inner.open_for = self.settings.open_for;
            self.set(&mut inner, BreakerState::Closed);
            info!(
                breaker = "sns",
                "Circuit breaker closed: SNS answers again."
            );
        }
        drop(inner);
        std::mem::forget(permit);
    }

    /// The call made under `permit` failed with a retryable error.
    pub fn failure(&self, permit: Permit<'_>) {
        let probe = permit.probe;
        std::mem::forget(permit);
        let mut inner = self.lock();
        inner.failures = inner.failures.saturating_add(1);
        match inner.state {
            BreakerState::HalfOpen if probe => {
                inner.probing = false;
                inner.open_for = (inner.open_for * 2).min(self.settings.max_open_for);
                inner.opened_at = Instant::now();
                self.set(&mut inner, BreakerState::Open);
                warn!(
                    breaker = "sns",
                    open_for_ms = inner.open_for.as_millis() as u64,
                    "Circuit breaker re-opened: the probe failed."
                );
            }
            BreakerState::Closed if inner.failures >= self.settings.failure_threshold => {
                inner.opened_at = Instant::now();
                inner.open_for = self.settings.open_for;
                self.set(&mut inner, BreakerState::Open);
                warn!(
                    breaker = "sns",
                    failures = inner.failures,
                    open_for_ms = inner.open_for.as_millis() as u64,
                    "Circuit breaker opened: publishing paused."
                );
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> CircuitBreaker {
        CircuitBreaker::new(BreakerSettings {
            failure_threshold: 3,
            open_for: Duration::from_secs(1),
            max_open_for: Duration::from_secs(4),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_threshold_and_probes_after_wait() {
        // Scenario: 3 failures open it; a permit waits the open period, then is the probe;
        // a successful probe closes it.
        let b = breaker();
        for _ in 0..3 {
            let p = b.permit().await;
            b.failure(p);
        }
        assert_eq!(b.state(), BreakerState::Open);
        let start = Instant::now();
        let p = b.permit().await;
        assert!(p.is_probe());
        assert!(start.elapsed() >= Duration::from_secs(1));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        b.success(p);
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.transitions(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn failed_probe_doubles_the_wait_up_to_the_cap() {
        // Scenario: each failed probe re-opens for twice as long, capped at max_open_for.
        let b = breaker();
        for _ in 0..3 {
            let p = b.permit().await;
            b.failure(p);
        }
        let mut waits = Vec::new();
        for _ in 0..4 {
            let start = Instant::now();
            let p = b.permit().await;
            waits.push(start.elapsed().as_secs());
            b.failure(p);
        }
        assert_eq!(waits, vec![1, 2, 4, 4]);
    }

    #[tokio::test(start_paused = true)]
    async fn only_one_probe_at_a_time_and_others_follow_its_outcome() {
        // Scenario: while the probe is out, a second caller waits; the probe's success lets it go.
        let b = std::sync::Arc::new(breaker());
        for _ in 0..3 {
            let p = b.permit().await;
            b.failure(p);
        }
        let probe = b.permit().await;
        assert!(probe.is_probe());
        let b2 = b.clone();
        let waiter = tokio::spawn(async move {
            let p = b2.permit().await;
            let probe = p.is_probe();
            b2.success(p);
            probe
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiter.is_finished());
        b.success(probe);
        assert!(!waiter.await.unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_probe_lets_another_caller_probe() {
        // Scenario: a cancelled probe (permit dropped) does not wedge the breaker half-open.
        let b = breaker();
        for _ in 0..3 {
            let p = b.permit().await;
            b.failure(p);
        }
        drop(b.permit().await);
        let p = b.permit().await;
        assert!(p.is_probe());
    }

    #[tokio::test]
    async fn subscribers_see_state_changes() {
        // Scenario: the consumer's receiver observes open then closed.
        let b = CircuitBreaker::new(BreakerSettings {
            failure_threshold: 1,
            open_for: Duration::from_millis(1),
            max_open_for: Duration::from_millis(1),
        });
        let mut rx = b.subscribe();
        let p = b.permit().await;
        b.failure(p);
        rx.changed().await.unwrap();
        assert_eq!(*rx.borrow_and_update(), BreakerState::Open);
        let p = b.permit().await;
        b.success(p);
        assert_eq!(*rx.borrow_and_update(), BreakerState::Closed);
    }
}
