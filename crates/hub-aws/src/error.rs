//! Errors of the AWS adapters, and the rule that classifies SDK errors.
//!
//! The rule (Vector's `is_retriable_error` and the SDK's own retry classifier agree on it):
//!
//! | SDK error | class |
//! |---|---|
//! | timeout, I/O or other dispatch failure, unparseable response | transient |
//! | throttling codes (`ThrottlingException`, `ProvisionedThroughputExceededException`, …) | transient |
//! | service-side faults (`InternalError`, `ServiceUnavailable`, HTTP 5xx, HTTP 429) | transient |
//! | request construction failure, or a dispatch failure caused by the caller's configuration | permanent |
//! | validation, access denied, not found, condition check failed, any other 4xx | permanent |

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use hub_core::{Classify, ErrorClass};
use thiserror::Error;

/// Error codes that mean "slow down and try again".
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "KMSThrottlingException",
    "KMSThrottling",
];

/// Error codes of service-side faults.
const TRANSIENT_CODES: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalServiceError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
    "KMSInternalException",
];

/// The retry class of an SDK error.
pub fn classify<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> ErrorClass {
    match err {
        SdkError::ConstructionFailure(_) => ErrorClass::Permanent,
        SdkError::TimeoutError(_) => ErrorClass::Transient,
        SdkError::DispatchFailure(d) if d.is_user() => ErrorClass::Permanent,
        SdkError::DispatchFailure(_) => ErrorClass::Transient,
        SdkError::ResponseError(_) => ErrorClass::Transient,
        SdkError::ServiceError(ctx) => {
            classify_code(ctx.err().code(), Some(ctx.raw().status().as_u16()))
        }
        // `SdkError` is non-exhaustive: an unknown kind is retried, bounded by the retry policy.
        _ => ErrorClass::Transient,
    }
}

/// The retry class of a service error from its code and HTTP status.
pub fn classify_code(code: Option<&str>, status: Option<u16>) -> ErrorClass {
    if let Some(code) = code
        && (THROTTLING_CODES.contains(&code) || TRANSIENT_CODES.contains(&code))
    {
        return ErrorClass::Transient;
    }
    match status {
        Some(429) => ErrorClass::Transient,
        Some(s) if s >= 500 => ErrorClass::Transient,
        _ => ErrorClass::Permanent,
    }
}

/// An error of the AWS adapters.
#[derive(Debug, Error)]
pub enum AwsError {
    /// An SDK call failed. The SDK error is kept as the source.
    #[error("{operation} failed ({class}{}): {message}", .code.as_deref().map(|c| format!(", {c}")).unwrap_or_default())]
    Sdk {
        /// The operation, e.g. `sqs:CreateQueue`.
        operation: &'static str,
        /// Retry class.
        class: ErrorClass,
        /// The service's error code, if it sent one.
        code: Option<String>,
        /// The service's message, or a description of the failure.
        message: String,
        /// The SDK error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl AwsError {
    /// Wraps an SDK error, classifying it.
    pub fn sdk<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let class = classify(&err);
        let (code, message) = match &err {
            SdkError::ServiceError(ctx) => (
                ctx.err().code().map(str::to_string),
                ctx.err()
                    .message()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("HTTP {}", ctx.raw().status().as_u16())),
            ),
            other => (None, describe_chain(other)),
        };
        AwsError::Sdk {
            operation,
            class,
            code,
            message,
            source: Box::new(err),
        }
    }

    /// The service's error code, if any.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Sdk { code, .. } => code.as_deref(),
        }
    }
}

impl Classify for AwsError {
    fn class(&self) -> ErrorClass {
        match self {
            AwsError::Sdk { class, .. } => *class,
        }
    }
}

/// "a: b: c" from an error and its sources: SDK dispatch errors hide the cause two levels down.
pub(crate) fn describe_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = e.source();
    }
    out
}

/// An SDK error as a port's error: its retry class kept, and the SDK error as its source.
impl From<AwsError> for hub_core::PortError {
    fn from(e: AwsError) -> Self {
        let operation = match &e {
            AwsError::Sdk { operation, .. } => *operation,
        };
        hub_core::PortError::classified(operation, e.class(), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service(code: &str, status: u16) -> SdkError<PutItemError, HttpResponse> {
        let err = PutItemError::generic(ErrorMetadata::builder().code(code).message("m").build());
        let raw = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        SdkError::service_error(err, raw)
    }

    #[test]
    fn throttling_and_faults_are_transient() {
        // Scenario: throttling codes, 5xx and 429 are retried whatever the code says.
        for (code, status) in [
            ("ThrottlingException", 400),
            ("ProvisionedThroughputExceededException", 400),
            ("RequestLimitExceeded", 400),
            ("InternalServerError", 500),
            ("Whatever", 503),
            ("Whatever", 429),
        ] {
            assert_eq!(
                classify(&service(code, status)),
                ErrorClass::Transient,
                "{code}"
            );
        }
    }

    #[test]
    fn client_errors_are_permanent() {
        // Scenario: validation, access denied, not found and condition checks are never retried.
        for code in [
            "ValidationException",
            "AccessDeniedException",
            "ConditionalCheckFailedException",
            "ResourceNotFoundException",
            "AWS.SimpleQueueService.NonExistentQueue",
        ] {
            assert_eq!(
                classify(&service(code, 400)),
                ErrorClass::Permanent,
                "{code}"
            );
        }
    }

    #[test]
    fn transport_failures_are_transient_and_construction_is_permanent() {
        // Scenario: timeouts and I/O failures are retried; a request that cannot be built is not.
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e: SdkError<PutItemError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(io)));
        assert_eq!(classify(&e), ErrorClass::Transient);
        let e: SdkError<PutItemError, HttpResponse> = SdkError::timeout_error("slow");
        assert_eq!(classify(&e), ErrorClass::Transient);
        let e: SdkError<PutItemError, HttpResponse> = SdkError::construction_failure("bad input");
        assert_eq!(classify(&e), ErrorClass::Permanent);
        let user = std::io::Error::other("bad endpoint");
        let e: SdkError<PutItemError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::user(Box::new(user)));
        assert_eq!(classify(&e), ErrorClass::Permanent);
    }

    #[test]
    fn wrapped_errors_keep_code_class_and_source() {
        // Scenario: AwsError keeps the SDK error as its source and answers is_retryable().
        let e = AwsError::sdk("dynamodb:PutItem", service("ThrottlingException", 400));
        assert!(e.is_retryable());
        assert_eq!(e.code(), Some("ThrottlingException"));
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(
            e.to_string(),
            "dynamodb:PutItem failed (transient, ThrottlingException): m"
        );
    }
}
