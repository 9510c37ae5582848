//! The S/4 OData API as a port: one GET, its answer or a typed failure.

use hub_model::key::normalize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use thiserror::Error;

pub use hub_sap::odata::PROBE_PATH;

/// S/4's OData API: GET requests relative to the system's base URL.
pub trait S4Api: Send + Sync {
    /// The host the calls go to: what a circuit breaker guards.
    fn host(&self) -> &str;

    /// GETs `path_and_query` (`/sap/opu/odata/sap/<SERVICE>/<EntitySet>?…`) and returns the
    /// body of a 2xx answer.
    fn get(&self, path_and_query: &str) -> impl Future<Output = Result<Vec<u8>, CallError>> + Send;
}

/// A call that did not bring a 2xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CallError {
    /// No answer in time.
    #[error("S/4 did not answer within {0:?}")]
    Timeout(Duration),
    /// No connection (refused, reset, TLS).
    #[error("no connection to S/4: {0}")]
    Connect(String),
    /// S/4 (or its gateway) answered with a status that is not 2xx.
    #[error("S/4 answered HTTP {status}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// `Retry-After`, when the answer had one (seconds or an HTTP date).
        retry_after: Option<Duration>,
        /// The start of the answer's body (an OData error's message).
        message: String,
    },
    /// The credentials could not be had (the secret, the OAuth token endpoint).
    #[error("S/4 credentials: {0}")]
    Credentials(String),
}

impl CallError {
    /// How long S/4 asked the hub to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CallError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A stable kind for logs and metrics: `timeout`, `connect`, `http_429`, `http_5xx`,
    /// `http_401`, `http_403`, `http_4xx`, `credentials`.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::Timeout(_) => "timeout",
            CallError::Connect(_) => "connect",
            CallError::Status { status: 429, .. } => "http_429",
            CallError::Status { status: 401, .. } => "http_401",
            CallError::Status { status: 403, .. } => "http_403",
            CallError::Status { status, .. } if *status >= 500 => "http_5xx",
            CallError::Status { .. } => "http_4xx",
            CallError::Credentials(_) => "credentials",
        }
    }

    /// Whether the request itself was refused (400, 414, 422): sent again it fails again,
    /// whatever the state of S/4. Everything else is S/4 (or the way to it) not answering as
    /// it should: it counts toward the breaker, and the messages wait. 401 and 403 are among
    /// those: a wrong password or a missing role is mended by an administrator, and the breaker
    /// keeps the hub from locking the technical user with failed logons meanwhile.
    pub fn is_request_refused(&self) -> bool {
        matches!(
            self,
            CallError::Status {
                status: 400 | 414 | 422,
                ..
            }
        )
    }
}

/// An S/4 in memory for tests: entity sets of V2 entities (JSON, as S/4 answers them), read
/// with `$filter=<P> eq '<v>' or …` as S/4 answers such a read, with failures on request.
#[derive(Debug, Default)]
pub struct MemoryS4 {
    inner: Mutex<MemoryInner>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    sets: HashMap<String, Vec<Value>>,
    calls: Vec<String>,
    failures: Vec<CallError>,
    down: Option<CallError>,
}

impl MemoryS4 {
    /// An S/4 without data.
    pub fn new() -> MemoryS4 {
        MemoryS4::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds (or replaces, by `property`) an entity of `entity_set`.
    pub fn put(&self, entity_set: &str, property: &str, entity: Value) {
        let mut inner = self.lock();
        let set = inner.sets.entry(entity_set.to_string()).or_default();
        set.retain(|e| e.get(property) != entity.get(property));
        set.push(entity);
    }

    /// Removes the entity of `entity_set` whose `property` is `value`.
    pub fn delete(&self, entity_set: &str, property: &str, value: &str) {
        if let Some(set) = self.lock().sets.get_mut(entity_set) {
            set.retain(|e| e.get(property).and_then(Value::as_str) != Some(value));
        }
    }

    /// The next calls fail with these errors, in order.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = CallError>) {
        self.lock().failures.extend(errors);
    }

    /// Every call fails with `error` (an outage) until `None`.
    pub fn set_down(&self, error: Option<CallError>) {
        self.lock().down = error;
    }

    /// The calls made, each path and query.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    fn answer(&self, path_and_query: &str) -> Result<Vec<u8>, CallError> {
        let mut inner = self.lock();
        inner.calls.push(path_and_query.to_string());
        if !inner.failures.is_empty() {
            return Err(inner.failures.remove(0));
        }
        if let Some(e) = &inner.down {
            return Err(e.clone());
        }
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let set = path.rsplit('/').next().unwrap_or_default();
        let filter = query
            .split('&')
            .find_map(|p| p.strip_prefix("$filter="))
            .map(|f| {
                percent_encoding::percent_decode_str(f)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .unwrap_or_default();
        let mut wanted = Vec::new();
        for term in filter.split(" or ").filter(|t| !t.is_empty()) {
            let Some((property, literal)) = term.split_once(" eq ") else {
                return Err(refused(format!("cannot read the filter term {term:?}")));
            };
            let Some(v) = literal
                .strip_prefix('\'')
                .and_then(|l| l.strip_suffix('\''))
            else {
                return Err(refused(format!("not a string literal: {literal}")));
            };
            wanted.push((property.to_string(), normalize(&v.replace("''", "'"))));
        }
        let results: Vec<&Value> = inner
            .sets
            .get(set)
            .map(|entities| {
                entities
                    .iter()
                    .filter(|e| {
                        // No `$filter`: the whole set (the probe reads one with `$top=1`).
                        wanted.is_empty()
                            || wanted.iter().any(|(p, v)| {
                                e.get(p).and_then(Value::as_str).map(normalize).as_ref() == Some(v)
                            })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(serde_json::to_vec(&json!({"d": {"results": results}})).expect("JSON values serialise"))
    }
}

fn refused(message: String) -> CallError {
    CallError::Status {
        status: 400,
        retry_after: None,
        message,
    }
}

impl S4Api for MemoryS4 {
    fn host(&self) -> &str {
        "s4.memory"
    }

    async fn get(&self, path_and_query: &str) -> Result<Vec<u8>, CallError> {
        self.answer(path_and_query)
    }
}

impl<T: S4Api> S4Api for std::sync::Arc<T> {
    fn host(&self) -> &str {
        (**self).host()
    }

    fn get(&self, path_and_query: &str) -> impl Future<Output = Result<Vec<u8>, CallError>> + Send {
        (**self).get(path_and_query)
    }
}
