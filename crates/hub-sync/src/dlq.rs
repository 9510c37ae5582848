//! Where messages that can never be written go: the domain DLQ.
//!
//! What a dead letter looks like on the queue ([`DeadLetter::message_attributes`]) is decided
//! here, once, for the SQS adapter and the in-memory one alike: the port contract suite
//! (`tests/port_contracts.rs`) checks both against the same scenarios.

use hub_core::{ErrorClass, PortError};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Mutex;

/// SQS's limit on message attributes per message.
pub const SQS_MAX_ATTRIBUTES: usize = 10;

/// The attribute holding the original message attributes (a JSON object) when they and the
/// error context do not fit SQS's ten together. The redrive unpacks it.
pub const ORIGINAL_ATTRIBUTES: &str = "original_attributes";

/// A message to dead-letter, with its error context (DESIGN §4). The original body and message
/// attributes travel unchanged; the context is added as message attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The original body.
    pub body: String,
    /// The original message attributes (string values).
    pub attributes: HashMap<String, String>,
    /// `permanent`, `transient` or `poison`.
    pub error_class: ErrorClass,
    /// What went wrong.
    pub error_message: String,
    /// Where it failed, e.g. `customers-sync`.
    pub stage: String,
    /// When (RFC 3339).
    pub failed_at: String,
    /// Deliveries so far (SQS `ApproximateReceiveCount`).
    pub attempts: u32,
    /// The correlation id, if the message had one.
    pub correlation_id: Option<String>,
    /// The SQS message id it had.
    pub message_id: String,
}

impl DeadLetter {
    /// The dead letter of SQS message `m` (as Lambda passes it), failed at `stage` with
    /// `error_class` and `error_message`: its body and string attributes unchanged, its receive
    /// count as the attempts, the event's correlation id when the body is one, failed now.
    pub fn of_message(
        m: &aws_lambda_events::sqs::SqsMessage,
        error_class: ErrorClass,
        error_message: &str,
        stage: String,
    ) -> DeadLetter {
        let attributes: HashMap<String, String> = m
            .message_attributes
            .iter()
            .filter_map(|(k, v)| v.string_value.clone().map(|s| (k.clone(), s)))
            .collect();
        let correlation_id = m
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
            .and_then(|v| {
                v.get("correlation_id")
                    .and_then(|c| c.as_str())
                    .map(str::to_string)
            });
        DeadLetter {
            body: m.body.clone().unwrap_or_default(),
            attributes,
            error_class,
            error_message: error_message.to_string(),
            stage,
            failed_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            attempts: m
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1),
            correlation_id,
            message_id: m.message_id.clone().unwrap_or_default(),
        }
    }

    /// The error context as message attributes, as every DLQ message of the hub carries it.
    /// With the routing attributes of the original (four), this stays within SQS's limit of ten
    /// message attributes.
    pub fn context_attributes(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("error_class", self.error_class.as_str().to_string()),
            (
                "error_message",
                self.error_message.chars().take(1024).collect(),
            ),
            ("stage", self.stage.clone()),
            ("failed_at", self.failed_at.clone()),
            ("attempts", self.attempts.to_string()),
        ];
        if let Some(c) = &self.correlation_id {
            out.push(("correlation_id", c.clone()));
        }
        out
    }

    /// The message attributes of the DLQ message: the original attributes and the error
    /// context, or, when both would pass SQS's limit of ten, the original attributes packed as
    /// JSON in [`ORIGINAL_ATTRIBUTES`] beside the context. The context wins a name both have.
    pub fn message_attributes(&self) -> BTreeMap<String, String> {
        let context = self.context_attributes();
        let mut out = BTreeMap::new();
        if self.attributes.len() + context.len() <= SQS_MAX_ATTRIBUTES {
            out.extend(self.attributes.clone());
        } else {
            let sorted: BTreeMap<&String, &String> = self.attributes.iter().collect();
            out.insert(
                ORIGINAL_ATTRIBUTES.to_string(),
                serde_json::to_string(&sorted).expect("a map of strings serialises"),
            );
        }
        out.extend(context.into_iter().map(|(k, v)| (k.to_string(), v)));
        out
    }
}

/// The dead-letter port. A failure ([`PortError`]) means the DLQ did not take the message: the
/// caller must not report it handled.
pub trait DeadLetterSink: Send + Sync {
    /// Sends one message to the DLQ.
    fn send(&self, letter: DeadLetter) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Where claim-checked events are stored (S3 in the cloud).
pub trait PayloadStore: Send + Sync {
    /// The stored event JSON of a claim check.
    fn fetch(
        &self,
        claim: &hub_model::claim_check::ClaimCheck,
    ) -> impl Future<Output = Result<String, PortError>> + Send;
}

/// Claim-checked events in memory (tests, local runs).
#[derive(Debug, Default)]
pub struct MemoryPayloads {
    objects: Mutex<HashMap<String, String>>,
}

impl MemoryPayloads {
    /// Stores an event under `uri`.
    pub fn put(&self, uri: &str, body: &str) {
        self.objects
            .lock()
            .expect("not poisoned")
            .insert(uri.to_string(), body.to_string());
    }
}

impl PayloadStore for MemoryPayloads {
    async fn fetch(&self, claim: &hub_model::claim_check::ClaimCheck) -> Result<String, PortError> {
        self.objects
            .lock()
            .expect("not poisoned")
            .get(&claim.uri)
            .cloned()
            .ok_or_else(|| {
                PortError::permanent("s3:GetObject", format!("no object at {}", claim.uri))
            })
    }
}

/// No claim-check store configured: every claim check is a permanent error, so the message goes
/// to the DLQ with its pointer (and a redrive recovers it once a store is configured).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoPayloads;

impl PayloadStore for NoPayloads {
    async fn fetch(&self, claim: &hub_model::claim_check::ClaimCheck) -> Result<String, PortError> {
        Err(PortError::permanent(
            "s3:GetObject",
            format!("no claim-check store is configured for {}", claim.uri),
        ))
    }
}

/// Dead letters kept in memory (tests, local runs without a DLQ).
#[derive(Debug, Default)]
pub struct MemoryDeadLetters {
    letters: Mutex<Vec<DeadLetter>>,
}

impl MemoryDeadLetters {
    /// What was sent, in order.
    pub fn letters(&self) -> Vec<DeadLetter> {
        self.letters.lock().expect("not poisoned").clone()
    }

    /// What the DLQ holds, in order: each letter's body and message attributes as the SQS
    /// adapter sends them ([`DeadLetter::message_attributes`]).
    pub fn messages(&self) -> Vec<(String, BTreeMap<String, String>)> {
        self.letters
            .lock()
            .expect("not poisoned")
            .iter()
            .map(|l| (l.body.clone(), l.message_attributes()))
            .collect()
    }
}

impl DeadLetterSink for MemoryDeadLetters {
    async fn send(&self, letter: DeadLetter) -> Result<(), PortError> {
        self.letters.lock().expect("not poisoned").push(letter);
        Ok(())
    }
}
