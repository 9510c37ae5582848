//! What a record becomes: messages to publish, dead letters, or both (a document with several
//! IDocs, one of which needs enrichment).

use crate::dead_letter::{BridgeDeadLetter, DeadLetterClass, ErrorContext};
use crate::message::Message;
use crate::record::KafkaRecord;
use crate::settings::Settings;
use chrono::{DateTime, Utc};
use hub_core::Classify;
use hub_model::ChangeEvent;
use hub_sap::{NeedsEnrichment, Outcome};

/// What the bridge does with a thin S/4HANA event (key only, no data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EnrichmentPolicy {
    /// To the bridge DLQ with class `needs_enrichment` (the default): enrichment will redrive
    /// them.
    #[default]
    DeadLetter,
    /// Published as a change event without `data` and with the attribute
    /// `enrichment = required` (`BRIDGE_THIN_EVENTS=publish`); consumers filter on it.
    PublishThin,
}

/// The attribute marking a thin event published under [`EnrichmentPolicy::PublishThin`].
pub const ENRICHMENT_ATTRIBUTE: &str = "enrichment";

/// A record's fate.
#[derive(Debug, Default)]
pub struct Routed {
    /// Messages to publish.
    pub messages: Vec<Message>,
    /// Dead letters to send.
    pub dead_letters: Vec<BridgeDeadLetter>,
}

/// Parses `record` and routes what it becomes.
pub fn route(record: &KafkaRecord, settings: &Settings, now: DateTime<Utc>) -> Routed {
    let mut out = Routed::default();
    match hub_sap::parse_record(&record.envelope(), &settings.limits) {
        Err(e) => {
            let context = ErrorContext {
                class: DeadLetterClass::of(e.class()),
                kind: e.kind().to_string(),
                message: e.to_string(),
                path: e.path().map(str::to_string),
            };
            out.dead_letters
                .push(BridgeDeadLetter::new(record, context, now));
        }
        Ok(outcomes) => {
            for outcome in outcomes {
                match outcome {
                    Outcome::Change(event) => {
                        out.messages
                            .push(Message::from_event(*event, settings.fifo, now));
                    }
                    Outcome::NeedsEnrichment(thin) => match settings.enrichment {
                        EnrichmentPolicy::DeadLetter => {
                            out.dead_letters.push(thin_dead_letter(record, &thin, now));
                        }
                        EnrichmentPolicy::PublishThin => {
                            let mut m = Message::from_event(thin_event(*thin), settings.fifo, now);
                            m.attributes
                                .push((ENRICHMENT_ATTRIBUTE, "required".to_string()));
                            out.messages.push(m);
                        }
                    },
                }
            }
        }
    }
    out
}

fn thin_dead_letter(
    record: &KafkaRecord,
    thin: &NeedsEnrichment,
    now: DateTime<Utc>,
) -> BridgeDeadLetter {
    let mut d = BridgeDeadLetter::new(
        record,
        ErrorContext {
            class: DeadLetterClass::NeedsEnrichment,
            kind: "needs_enrichment".into(),
            message: format!(
                "thin {} event for {}: the record must be read from S/4HANA",
                thin.entity, thin.key
            ),
            path: None,
        },
        now,
    );
    d.entity = Some(thin.entity.as_str().to_string());
    d.key = Some(thin.key.clone());
    d.event_id = Some(thin.event_id.clone());
    d.correlation_id = Some(thin.correlation_id.clone());
    d
}

fn thin_event(thin: NeedsEnrichment) -> ChangeEvent {
    ChangeEvent {
        event_id: thin.event_id,
        entity: thin.entity,
        key: thin.key,
        op: thin.op,
        occurred_at: thin.version.at,
        version: thin.version,
        published_at: None,
        source: thin.source,
        correlation_id: thin.correlation_id,
        schema: thin.entity.schema().to_string(),
        data: None,
    }
}
