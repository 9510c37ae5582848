//! One SNS message: the canonical event JSON with its routing attributes (DESIGN §2), and, in
//! FIFO mode, its group and deduplication ids.

use chrono::{DateTime, Utc};
use hub_model::ChangeEvent;
use hub_model::claim_check::{self, ClaimCheck};

/// Largest message (body and attributes) published inline. SNS's limit is 256 KiB for the
/// body and attributes together; a margin of 1 KiB covers the attribute encoding overhead.
pub const INLINE_LIMIT: usize = claim_check::SNS_MAX_BYTES - 1024;

/// SNS's limit on `MessageGroupId` and `MessageDeduplicationId` (128 characters).
const FIFO_ID_MAX: usize = 128;

/// One entry of a `PublishBatch` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The event id (for logs, counting and the FIFO deduplication id).
    pub event_id: String,
    /// The correlation id, logged at every hop.
    pub correlation_id: String,
    /// The body: the event JSON, or a claim-check pointer.
    pub body: String,
    /// Message attributes, all of SNS data type `String`.
    pub attributes: Vec<(&'static str, String)>,
    /// FIFO topics: the message group (entity and key: changes of one entity stay in order).
    pub group_id: Option<String>,
    /// FIFO topics: the deduplication id (the event id).
    pub dedup_id: Option<String>,
    /// SAP's time of the change (for the SAP-to-publish latency).
    pub occurred_at: DateTime<Utc>,
    /// The entity, for the claim-check object key.
    pub entity: &'static str,
}

impl Message {
    /// The message of `event`, published at `now`.
    pub fn from_event(mut event: ChangeEvent, fifo: bool, now: DateTime<Utc>) -> Message {
        event.published_at = Some(now);
        // Room for the attribute a thin event or a claim check adds.
        let mut attributes = Vec::with_capacity(5);
        attributes.extend(event.routing().into_pairs());
        let (group_id, dedup_id) = if fifo {
            (
                Some(fifo_id(&format!("{}:{}", event.entity.as_str(), event.key))),
                Some(fifo_id(&event.event_id)),
            )
        } else {
            (None, None)
        };
        Message {
            body: body_of(&event),
            event_id: event.event_id,
            correlation_id: event.correlation_id,
            attributes,
            group_id,
            dedup_id,
            occurred_at: event.occurred_at,
            entity: event.entity.as_str(),
        }
    }

    /// Bytes SNS counts for this message: body, attribute names, types and values.
    pub fn size(&self) -> usize {
        self.body.len()
            + self
                .attributes
                .iter()
                .map(|(k, v)| k.len() + "String".len() + v.len())
                .sum::<usize>()
    }

    /// Whether the message must travel as a claim check.
    pub fn too_large(&self) -> bool {
        self.size() > INLINE_LIMIT
    }

    /// The object key of this message's claim check: one per event, so a retry overwrites the
    /// same object (idempotent) rather than leaving copies.
    pub fn claim_key(&self, prefix: &str) -> String {
        let id: String = self
            .event_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!(
            "{prefix}events/{}/{}/{id}.json",
            self.entity,
            self.occurred_at.format("%Y-%m-%d")
        )
    }

    /// This message with its body replaced by a pointer to `uri` (where the body now is), and
    /// the `claim_check` attribute added so consumers (and filter policies) can tell.
    pub fn into_claim_check(mut self, uri: String) -> Message {
        let pointer = ClaimCheck {
            uri,
            bytes: self.body.len() as u64,
        };
        self.body = pointer.to_body();
        self.attributes
            .push((claim_check::ATTRIBUTE, "s3".to_string()));
        self
    }
}

/// The event's JSON, the body of its message, written into a buffer sized for a typical event
/// (`to_string` starts at 128 bytes and grows four or five times).
pub fn body_of(event: &ChangeEvent) -> String {
    let mut body = Vec::with_capacity(2048);
    serde_json::to_writer(&mut body, event).expect("a change event serialises");
    String::from_utf8(body).expect("serde_json writes UTF-8")
}

/// A FIFO id within SNS's 128 characters and allowed set (alphanumerics and punctuation): a
/// longer or odd id is replaced by a prefix and a stable hash of the whole.
fn fifo_id(s: &str) -> String {
    let clean = s.len() <= FIFO_ID_MAX && s.bytes().all(|b| b.is_ascii_graphic());
    if clean {
        return s.to_string();
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let prefix: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(FIFO_ID_MAX - 17)
        .collect();
    format!("{prefix}#{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_ids_are_kept_or_hashed_within_limits() {
        // Scenario: short ids pass through; long or non-graphic ones become a bounded stable id.
        assert_eq!(fifo_id("customer:4711"), "customer:4711");
        let long = "x".repeat(300);
        let id = fifo_id(&long);
        assert!(id.len() <= FIFO_ID_MAX);
        assert_eq!(id, fifo_id(&long));
        assert_ne!(fifo_id("a b"), "a b");
        assert!(fifo_id("a b").bytes().all(|b| b.is_ascii_graphic()));
    }
}
