//! Lambda deadlines: the context gives the invocation's deadline as epoch milliseconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Lambda's longest invocation (15 minutes), assumed when the context gives no deadline.
pub const LAMBDA_MAX: Duration = Duration::from_secs(900);

/// Epoch ms of 2001-01-01: a deadline before it cannot be an epoch time.
const EPOCH_2001_MS: u64 = 978_307_200_000;

/// Time left until `deadline_epoch_ms` (zero if past; [`LAMBDA_MAX`] when it is 0, i.e. unknown).
///
/// cargo-lambda's Runtime API emulator sends the function's timeout (e.g. `600000`) instead
/// of an epoch deadline: a value before 2001 is taken as that duration, capped at
/// [`LAMBDA_MAX`].
///
/// ```
/// use hub_core::deadline::{remaining, LAMBDA_MAX};
/// use std::time::Duration;
/// assert_eq!(remaining(0), LAMBDA_MAX);
/// assert_eq!(remaining(978_307_200_001), Duration::ZERO);
/// assert_eq!(remaining(600_000), Duration::from_secs(600));
/// ```
pub fn remaining(deadline_epoch_ms: u64) -> Duration {
    if deadline_epoch_ms == 0 {
        return LAMBDA_MAX;
    }
    if deadline_epoch_ms < EPOCH_2001_MS {
        return Duration::from_millis(deadline_epoch_ms).min(LAMBDA_MAX);
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Duration::from_millis(deadline_epoch_ms.saturating_sub(now_ms))
}
