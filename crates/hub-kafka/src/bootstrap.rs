//! Where the Kafka broker is.

use crate::KafkaAdapterError;
use std::path::Path;

/// The variable that points every tool at a real broker.
pub const BOOTSTRAP_ENV: &str = "KAFKA_BOOTSTRAP_SERVERS";

/// The bootstrap servers: `KAFKA_BOOTSTRAP_SERVERS` when set and not empty, else the content of
/// `file` (written by the embedded broker), else [`KafkaAdapterError::NoBroker`].
pub fn resolve_bootstrap(file: &Path) -> Result<String, KafkaAdapterError> {
    if let Ok(v) = std::env::var(BOOTSTRAP_ENV)
        && !v.trim().is_empty()
    {
        return Ok(v.trim().to_string());
    }
    match std::fs::read_to_string(file) {
        Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        _ => Err(KafkaAdapterError::NoBroker(file.display().to_string())),
    }
}
