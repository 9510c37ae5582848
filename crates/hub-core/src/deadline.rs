//! Lambda deadlines: the context gives the invocation's deadline as epoch milliseconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Lambda's longest invocation (15 minutes), assumed when the context gives no deadline.
pub const LAMBDA_MAX: Duration = Duration::from_secs(900);

/// Time left until `deadline_epoch_ms` (zero if past; [`LAMBDA_MAX`] when it is 0, i.e. unknown).
///
/// ```
/// use hub_core::deadline::{remaining, LAMBDA_MAX};
/// assert_eq!(remaining(0), LAMBDA_MAX);
/// assert_eq!(remaining(1), std::time::Duration::ZERO);
/// ```
pub fn remaining(deadline_epoch_ms: u64) -> Duration {
    if deadline_epoch_ms == 0 {
        return LAMBDA_MAX;
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Duration::from_millis(deadline_epoch_ms.saturating_sub(now_ms))
}
