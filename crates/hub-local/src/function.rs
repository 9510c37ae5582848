//! Functions as the local event source mapping invokes them.

use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// The future an invocation returns.
pub type InvokeFuture = Pin<Box<dyn Future<Output = Result<Value, FunctionError>> + Send>>;

/// Why an invocation failed. To the event source mapping every variant is a function error: the
/// whole batch returns to the queue.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum FunctionError {
    /// The handler returned an error (Lambda's `errorType` / `errorMessage`).
    #[error("{error_type}: {error_message}")]
    Failed {
        /// Lambda's `errorType`.
        error_type: String,
        /// Lambda's `errorMessage`.
        error_message: String,
    },
    /// The handler ran past the function's timeout.
    #[error("function timed out after {0:?}")]
    Timeout(Duration),
    /// The payload did not deserialise into the handler's event type, or the response did not
    /// serialise (the runtime reports both as function errors).
    #[error("payload: {0}")]
    Payload(String),
}

/// A function that takes a JSON payload, as Lambda invokes one.
pub trait LocalFunction: Send + Sync + 'static {
    /// Invokes the function.
    fn invoke(&self, payload: Value, context: Context) -> InvokeFuture;
}

/// Wraps a `lambda_runtime` handler, the same `async fn(LambdaEvent<T>) -> Result<R, E>` a
/// Lambda binary passes to `service_fn`, into a [`LocalFunction`].
pub fn handler_fn<F, Fut, T, R, E>(handler: F) -> Arc<dyn LocalFunction>
where
    F: Fn(LambdaEvent<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
    T: DeserializeOwned + Send + 'static,
    R: Serialize + 'static,
    E: Into<Diagnostic> + 'static,
{
    raw_fn(move |payload, context| {
        let fut = serde_json::from_value::<T>(payload)
            .map(|event| handler(LambdaEvent::new(event, context)));
        async move {
            match fut {
                Err(e) => Err(FunctionError::Payload(e.to_string())),
                Ok(fut) => match fut.await {
                    Ok(r) => {
                        serde_json::to_value(r).map_err(|e| FunctionError::Payload(e.to_string()))
                    }
                    Err(e) => {
                        let d: Diagnostic = e.into();
                        Err(FunctionError::Failed {
                            error_type: d.error_type,
                            error_message: d.error_message,
                        })
                    }
                },
            }
        }
    })
}

/// A [`LocalFunction`] from a closure over raw JSON, for functions whose response is not a typed
/// value (and for testing how malformed responses are treated).
pub fn raw_fn<F, Fut>(f: F) -> Arc<dyn LocalFunction>
where
    F: Fn(Value, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, FunctionError>> + Send + 'static,
{
    Arc::new(Raw(f))
}

struct Raw<F>(F);

impl<F, Fut> LocalFunction for Raw<F>
where
    F: Fn(Value, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, FunctionError>> + Send + 'static,
{
    fn invoke(&self, payload: Value, context: Context) -> InvokeFuture {
        Box::pin((self.0)(payload, context))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
    use serde_json::json;

    #[derive(Debug, thiserror::Error)]
    #[error("boom")]
    struct Boom;

    impl From<Boom> for Diagnostic {
        fn from(_: Boom) -> Diagnostic {
            Diagnostic {
                error_type: "Boom".into(),
                error_message: "boom".into(),
            }
        }
    }

    #[tokio::test]
    async fn typed_handlers_round_trip_json() {
        // Scenario: a typed SQS handler is invoked with a JSON payload and answers JSON, as the
        // Lambda runtime would serialise it.
        let f = handler_fn(|e: LambdaEvent<SqsEvent>| async move {
            let mut r = SqsBatchResponse::default();
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = e.payload.records[0].message_id.clone().unwrap_or_default();
            r.batch_item_failures.push(failure);
            Ok::<_, Boom>(r)
        });
        let out = f
            .invoke(
                json!({"Records": [{"messageId": "m1", "body": "x"}]}),
                Context::default(),
            )
            .await
            .unwrap();
        assert_eq!(
            out,
            json!({"batchItemFailures": [{"itemIdentifier": "m1"}]})
        );
    }

    #[tokio::test]
    async fn handler_errors_and_bad_payloads_are_function_errors() {
        // Scenario: an Err from the handler becomes errorType/errorMessage; a payload that does
        // not fit the event type fails before the handler runs.
        let f = handler_fn(|_: LambdaEvent<SqsEvent>| async move { Err::<Value, _>(Boom) });
        let e = f
            .invoke(json!({"Records": []}), Context::default())
            .await
            .unwrap_err();
        assert_eq!(
            e,
            FunctionError::Failed {
                error_type: "Boom".into(),
                error_message: "boom".into()
            }
        );
        let e = f
            .invoke(json!({"Records": 5}), Context::default())
            .await
            .unwrap_err();
        assert!(matches!(e, FunctionError::Payload(_)));
    }
}
