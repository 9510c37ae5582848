//! The state of a circuit breaker, shared by the hub's breakers: the bridge's around SNS
//! (`hub_bridge::breaker`) and the S/4 enricher's per S/4 host (`hub_enrich::breaker`). Their
//! mechanics differ (the bridge waits while open; a Lambda turns its event source mapping off),
//! their states and names do not.

/// A breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// No call goes through.
    Open,
    /// One probe call is in flight or allowed.
    HalfOpen,
}

impl BreakerState {
    /// `closed`, `open`, `half_open`.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }

    /// 0 closed, 1 half open, 2 open: the gauge of the metrics.
    pub fn gauge(self) -> u8 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::HalfOpen => 1,
            BreakerState::Open => 2,
        }
    }
}
