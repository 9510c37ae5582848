//! [`PortError`]: the one error of every port of the hub (publisher, dead letters, claim store,
//! entity store, DLQ, payload store), whatever adapter is behind it.
//!
//! It carries what the callers decide on: the operation that failed and its retry class. The
//! adapter's own error (an SDK error, an I/O error) stays attached as the
//! [`source`](std::error::Error::source), so nothing of it is flattened into text.
//!
//! ```
//! use hub_core::{Classify, ErrorClass, PortError};
//! let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
//! let e = PortError::caused_by("sqs:SendMessage", ErrorClass::Transient, io);
//! assert!(e.is_retryable());
//! assert_eq!(e.to_string(), "sqs:SendMessage failed (transient): refused");
//! assert!(std::error::Error::source(&e).is_some());
//! let e = PortError::new("sns:PublishBatch", ErrorClass::Transient, "no answer within 10000 ms");
//! assert!(std::error::Error::source(&e).is_none());
//! ```

use crate::error::{Classify, ErrorClass};
use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

/// A call through a port failed as a whole: nothing of it is known to have happened.
#[derive(Debug, Clone)]
pub struct PortError {
    /// The operation, e.g. `sns:PublishBatch`, `dynamodb:PutItem`.
    pub operation: &'static str,
    /// Retry or not.
    pub class: ErrorClass,
    detail: Detail,
}

#[derive(Debug, Clone)]
enum Detail {
    /// What the adapter found, in its own words (no underlying error).
    Said(Cow<'static, str>),
    /// The underlying error; shown after the operation and class.
    Cause(Arc<dyn StdError + Send + Sync + 'static>),
    /// An underlying error whose message already names the operation and class (an adapter's
    /// classified error): shown alone.
    Whole(Arc<dyn StdError + Send + Sync + 'static>),
}

impl PortError {
    /// A failure the adapter describes itself (a timeout, a malformed answer).
    pub fn new(
        operation: &'static str,
        class: ErrorClass,
        message: impl Into<Cow<'static, str>>,
    ) -> PortError {
        PortError {
            operation,
            class,
            detail: Detail::Said(message.into()),
        }
    }

    /// A failure caused by `source`, kept as the error's source.
    pub fn caused_by(
        operation: &'static str,
        class: ErrorClass,
        source: impl StdError + Send + Sync + 'static,
    ) -> PortError {
        PortError {
            operation,
            class,
            detail: Detail::Cause(Arc::new(source)),
        }
    }

    /// An adapter's classified error whose message already says the operation and the class
    /// (e.g. `dynamodb:PutItem failed (transient, ThrottlingException): …`): shown as it is,
    /// kept as the source.
    pub fn classified(
        operation: &'static str,
        class: ErrorClass,
        source: impl StdError + Send + Sync + 'static,
    ) -> PortError {
        PortError {
            operation,
            class,
            detail: Detail::Whole(Arc::new(source)),
        }
    }

    /// A transient failure the adapter describes itself.
    pub fn transient(operation: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        PortError::new(operation, ErrorClass::Transient, message)
    }

    /// A permanent failure the adapter describes itself.
    pub fn permanent(operation: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        PortError::new(operation, ErrorClass::Permanent, message)
    }
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Detail::Said(m) => write!(f, "{} failed ({}): {m}", self.operation, self.class),
            Detail::Cause(e) => {
                write!(f, "{} failed ({}): ", self.operation, self.class)?;
                chain(e.as_ref(), f)
            }
            Detail::Whole(e) => write!(f, "{e}"),
        }
    }
}

/// "a: b: c" from an error and its sources, each said once: a transport error often hides its
/// cause (connection refused, TLS) one or two levels down.
fn chain(err: &(dyn StdError + 'static), f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut said = err.to_string();
    f.write_str(&said)?;
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !said.contains(&s) {
            write!(f, ": {s}")?;
            said = s;
        }
        cur = e.source();
    }
    Ok(())
}

impl StdError for PortError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.detail {
            Detail::Said(_) => None,
            Detail::Cause(e) | Detail::Whole(e) => Some(e.as_ref()),
        }
    }
}

impl Classify for PortError {
    fn class(&self) -> ErrorClass {
        self.class
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Sdk;
    impl fmt::Display for Sdk {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("dynamodb:PutItem failed (transient, ThrottlingException): slow down")
        }
    }
    impl StdError for Sdk {}

    #[test]
    fn a_classified_source_is_shown_once_and_kept() {
        // Scenario: an adapter's classified error is neither repeated nor turned into text.
        let e = PortError::classified("dynamodb:PutItem", ErrorClass::Transient, Sdk);
        assert_eq!(
            e.to_string(),
            "dynamodb:PutItem failed (transient, ThrottlingException): slow down"
        );
        let source = StdError::source(&e).expect("the source is kept");
        assert!(source.downcast_ref::<Sdk>().is_some());
        assert_eq!(e.clone().class(), ErrorClass::Transient);
    }

    #[test]
    fn a_cause_is_shown_with_its_own_causes() {
        // Scenario: a dispatch failure shows the refused connection under it.
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let dispatch = std::io::Error::other(Wrapper(refused));
        let e = PortError::caused_by("sns:PublishBatch", ErrorClass::Transient, dispatch);
        assert_eq!(
            e.to_string(),
            "sns:PublishBatch failed (transient): client error: refused"
        );
    }

    #[derive(Debug)]
    struct Wrapper(std::io::Error);
    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("client error")
        }
    }
    impl StdError for Wrapper {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn shortcuts_set_the_class() {
        // Scenario: transient() retries, permanent() does not.
        assert!(PortError::transient("s3:PutObject", "timeout").is_retryable());
        let e = PortError::permanent("s3:PutObject", "no such bucket");
        assert!(!e.is_retryable());
        assert_eq!(
            e.to_string(),
            "s3:PutObject failed (permanent): no such bucket"
        );
    }
}
