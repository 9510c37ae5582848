//! What the queues hold: the DLQs' dead letters and the domain queues' waiting messages, read
//! without consuming them, indexed so that each expected change can be looked up by its event
//! id, its Kafka record, or its entity, key and version.

use crate::expected::{Change, Coordinates};
use hub_model::claim_check::ClaimCheck;
use hub_model::{Entity, Version};
use hub_redrive::DlqMessage;
use hub_sap::{Limits, Outcome, SenderTimeZones};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Where a change was found, other than the table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "in", rename_all = "snake_case")]
pub enum Place {
    /// In a DLQ, with the class of its error.
    DeadLettered {
        /// The DLQ (its name).
        queue: String,
        /// `poison`, `permanent`, `transient` or `needs_enrichment`.
        class: String,
    },
    /// Waiting in a domain queue.
    InFlight {
        /// The queue (its name).
        queue: String,
    },
}

/// What a message says it carries.
#[derive(Debug, Deserialize)]
struct Carried {
    event_id: Option<String>,
    entity: Option<Entity>,
    key: Option<String>,
    version: Option<Version>,
}

/// The queues' contents, indexed.
#[derive(Debug, Default)]
pub struct Found {
    places: Vec<Place>,
    by_event: HashMap<String, usize>,
    by_record: HashMap<Coordinates, usize>,
    by_key: HashMap<(Entity, String), Vec<(Version, usize)>>,
    /// Messages read per queue.
    pub messages: BTreeMap<String, u64>,
    /// Messages per queue that name no change the index could read (a body that is neither a
    /// change event nor a dead letter, a claim check that could not be read).
    pub unreadable: BTreeMap<String, u64>,
}

/// A message of a domain queue or DLQ, with its claim-checked event when the body is a claim
/// check (the caller reads it: this crate makes no call).
#[derive(Debug, Clone)]
pub struct DomainMessage<'a> {
    /// The message.
    pub message: &'a DlqMessage,
    /// The event the claim check points to, when the body is one and it could be read.
    pub claim_checked: Option<&'a str>,
}

impl Found {
    /// An empty index.
    pub fn new() -> Found {
        Found::default()
    }

    fn place(&mut self, place: Place) -> usize {
        self.places.push(place);
        self.places.len() - 1
    }

    fn carried(
        &mut self,
        i: usize,
        event_id: Option<String>,
        entity: Entity,
        key: String,
        v: Version,
    ) {
        if let Some(id) = event_id {
            self.by_event.entry(id).or_insert(i);
        }
        self.by_key.entry((entity, key)).or_default().push((v, i));
    }

    /// A message of a domain queue (`dead_letter` false) or a domain DLQ: the canonical change
    /// event it carries (claim-checked or not).
    pub fn add_domain(&mut self, queue: &str, m: &DomainMessage<'_>, dead_letter: bool) {
        *self.messages.entry(queue.to_string()).or_default() += 1;
        let body = match (ClaimCheck::from_body(&m.message.body), m.claim_checked) {
            (Some(_), Some(event)) => event,
            (Some(_), None) => {
                *self.unreadable.entry(queue.to_string()).or_default() += 1;
                return;
            }
            (None, _) => m.message.body.as_str(),
        };
        let Ok(Carried {
            event_id,
            entity: Some(entity),
            key: Some(key),
            version: Some(version),
        }) = serde_json::from_str::<Carried>(body)
        else {
            *self.unreadable.entry(queue.to_string()).or_default() += 1;
            return;
        };
        let place = if dead_letter {
            Place::DeadLettered {
                queue: queue.to_string(),
                class: m.message.domain_facts().error_class,
            }
        } else {
            Place::InFlight {
                queue: queue.to_string(),
            }
        };
        let i = self.place(place);
        self.carried(i, event_id, entity, key, version);
    }

    /// A message of the bridge DLQ: its record's coordinates, and the changes its raw value
    /// gives when parsed again (`value`: the claim-checked raw value when the letter holds it
    /// behind a claim check and the caller could read it).
    pub fn add_bridge(
        &mut self,
        queue: &str,
        m: &DlqMessage,
        value: Option<Vec<u8>>,
        zones: &SenderTimeZones,
        limits: &Limits,
    ) {
        *self.messages.entry(queue.to_string()).or_default() += 1;
        let Ok(letter) = m.bridge_letter() else {
            *self.unreadable.entry(queue.to_string()).or_default() += 1;
            return;
        };
        let i = self.place(Place::DeadLettered {
            queue: queue.to_string(),
            class: letter.error.class.as_str().to_string(),
        });
        self.by_record
            .entry(Coordinates {
                topic: letter.kafka.topic.clone(),
                partition: letter.kafka.partition,
                offset: letter.kafka.offset,
            })
            .or_insert(i);
        if let Some(id) = &letter.event_id {
            self.by_event.entry(id.clone()).or_insert(i);
        }
        let inline = letter.value_b64.is_some();
        let Ok(record) = letter.to_record(if inline { None } else { value }) else {
            return;
        };
        if let Ok(outcomes) = hub_sap::parse_record_with(&record.envelope(), limits, zones) {
            for o in outcomes {
                let (id, entity, key, v) = match o {
                    Outcome::Change(e) => (e.event_id, e.entity, e.key, e.version),
                    Outcome::NeedsEnrichment(n) => (n.event_id, n.entity, n.key, n.version),
                };
                self.carried(i, Some(id), entity, key, v);
            }
        }
    }

    /// Where `c` is: by its event id, its Kafka record, else its entity, key and version.
    pub fn locate(&self, c: &Change) -> Option<&Place> {
        let i = c
            .event_id
            .as_ref()
            .and_then(|id| self.by_event.get(id))
            .or_else(|| c.record.as_ref().and_then(|r| self.by_record.get(r)))
            .copied()
            .or_else(|| {
                self.by_key
                    .get(&(c.entity, c.key.clone()))
                    .and_then(|vs| vs.iter().find(|(v, _)| c.version.matches(v)))
                    .map(|(_, i)| *i)
            })?;
        self.places.get(i)
    }

    /// Where the record at `r` is (the bridge DLQ, when it is anywhere).
    pub fn locate_record(&self, r: &Coordinates) -> Option<&Place> {
        self.by_record.get(r).and_then(|i| self.places.get(*i))
    }
}
