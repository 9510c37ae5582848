//! Error classes: the one answer every error of the hub gives to "retry or not?".
//!
//! The class decides what happens to the record that failed (DESIGN §4):
//!
//! | class | meaning | what happens |
//! |---|---|---|
//! | [`ErrorClass::Transient`] | the dependency may answer next time (throttling, timeout, 5xx) | retry with backoff; never dead-lettered on first sight |
//! | [`ErrorClass::Permanent`] | the request itself is wrong (validation, access denied, condition failed) | no retry; dead-letter or surface |
//! | [`ErrorClass::Poison`] | the input can never be processed (unparseable SAP payload) | dead-letter at once with the raw bytes |

use serde::{Deserialize, Serialize};
use std::fmt;

/// The retry class of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// May succeed when tried again later.
    Transient,
    /// Will fail again the same way; retrying wastes capacity.
    Permanent,
    /// The input itself is unusable; it goes to a DLQ with its raw bytes.
    Poison,
}

impl ErrorClass {
    /// Whether an operation that failed with this class should be tried again.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorClass::Transient)
    }

    /// The stable lower-case name used in DLQ attributes, logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Transient => "transient",
            ErrorClass::Permanent => "permanent",
            ErrorClass::Poison => "poison",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Implemented by every error type of the hub's crates.
pub trait Classify {
    /// The retry class of this error.
    fn class(&self) -> ErrorClass;

    /// Shorthand for `self.class().is_retryable()`.
    fn is_retryable(&self) -> bool {
        self.class().is_retryable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_is_retryable() {
        // Scenario: the three classes answer "retry?" as DESIGN §4 says.
        assert!(ErrorClass::Transient.is_retryable());
        assert!(!ErrorClass::Permanent.is_retryable());
        assert!(!ErrorClass::Poison.is_retryable());
    }

    #[test]
    fn names_are_stable() {
        // Scenario: the serialized names are the ones written into DLQ attributes.
        assert_eq!(serde_json_like(ErrorClass::Poison), "poison");
        assert_eq!(ErrorClass::Transient.to_string(), "transient");
    }

    fn serde_json_like(c: ErrorClass) -> &'static str {
        c.as_str()
    }
}
