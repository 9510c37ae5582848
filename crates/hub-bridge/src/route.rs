//! What a record becomes: messages to publish, dead letters, or both (a document with several
//! IDocs, one of which needs enrichment).

use crate::dead_letter::{BridgeDeadLetter, DeadLetterClass, ErrorContext};
use crate::message::Message;
use crate::record::KafkaRecord;
use crate::settings::Settings;
use chrono::{DateTime, TimeDelta, Utc};
use hub_core::Classify;
use hub_model::event::Format;
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

/// The `error_kind` of a change whose SAP time is too far ahead of the bridge's clock.
pub const FUTURE_VERSION: &str = "future_version";

/// Parses `record` and routes what it becomes. A change (or a thin event) whose SAP time is more
/// than [`Settings::max_future_skew`] ahead of `now` is dead-lettered as poison
/// [`FUTURE_VERSION`]: published, its version would win over every real change of its key
/// until that time (a wrong clock, a mistyped CREDAT).
pub fn route(record: &KafkaRecord, settings: &Settings, now: DateTime<Utc>) -> Routed {
    let mut out = Routed::default();
    let latest = TimeDelta::from_std(settings.max_future_skew)
        .ok()
        .and_then(|skew| now.checked_add_signed(skew))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let parsed = hub_sap::parse_record_with(
        &record.envelope(),
        &settings.limits,
        &settings.sender_time_zones,
    );
    match parsed {
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
                if let Some(d) = from_the_future(record, &outcome, latest, settings, now) {
                    out.dead_letters.push(d);
                    continue;
                }
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
                            let mut m = Message::from_event(thin.into_event(), settings.fifo, now);
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

/// The dead letter of an outcome whose SAP time is after `latest`, if it is.
fn from_the_future(
    record: &KafkaRecord,
    outcome: &Outcome,
    latest: DateTime<Utc>,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Option<BridgeDeadLetter> {
    let (entity, key, event_id, correlation_id, version, source) = match outcome {
        Outcome::Change(e) => (
            e.entity,
            &e.key,
            &e.event_id,
            &e.correlation_id,
            e.version,
            &e.source,
        ),
        Outcome::NeedsEnrichment(t) => (
            t.entity,
            &t.key,
            &t.event_id,
            &t.correlation_id,
            t.version,
            &t.source,
        ),
    };
    if version.at <= latest {
        return None;
    }
    let ahead = (version.at - now).num_seconds();
    let mut d = BridgeDeadLetter::new(
        record,
        ErrorContext {
            class: DeadLetterClass::Poison,
            kind: FUTURE_VERSION.into(),
            // How far ahead, not the time itself: the time is SAP's, the distance the fault.
            message: format!(
                "the change's SAP time is {ahead} s ahead of the bridge's clock, more than the \
                 {} s allowed (BRIDGE_MAX_FUTURE_SKEW_SECONDS)",
                settings.max_future_skew.as_secs()
            ),
            path: Some(
                match source.format {
                    Format::IdocXml => "EDI_DC40.CREDAT",
                    Format::CloudEvent => "time",
                }
                .to_string(),
            ),
        },
        now,
    );
    d.entity = Some(entity.as_str().to_string());
    d.key = Some(key.clone());
    d.event_id = Some(event_id.clone());
    d.correlation_id = Some(correlation_id.clone());
    Some(d)
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
