//! Packing messages into `PublishBatch` calls: at most 10 entries and 256 KiB per call (SNS's
//! limits), in the order given.

use crate::message::Message;
use hub_model::claim_check::SNS_MAX_BYTES;

/// SNS's limit on entries per `PublishBatch` call.
pub const MAX_ENTRIES: usize = 10;

/// SNS's limit on the total size of one `PublishBatch` call (256 KiB).
pub const MAX_BATCH_BYTES: usize = SNS_MAX_BYTES;

/// Splits `messages` into batches within SNS's limits, keeping their order. Every message is
/// expected to fit alone (larger ones travel as claim checks); one that does not still gets a
/// batch of its own, and SNS's answer decides.
pub fn pack(messages: Vec<Message>) -> Vec<Vec<Message>> {
    pack_by(messages, Message::size)
}

/// [`pack`] for any item carrying a message; `size` gives its SNS size.
pub fn pack_by<T>(items: Vec<T>, size: impl Fn(&T) -> usize) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::with_capacity(items.len() / MAX_ENTRIES + 1);
    let mut current: Vec<T> = Vec::with_capacity(MAX_ENTRIES);
    let mut bytes = 0;
    for m in items {
        let size = size(&m);
        if !current.is_empty() && (current.len() == MAX_ENTRIES || bytes + size > MAX_BATCH_BYTES) {
            out.push(std::mem::replace(
                &mut current,
                Vec::with_capacity(MAX_ENTRIES),
            ));
            bytes = 0;
        }
        bytes += size;
        current.push(m);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn message(i: usize, body: usize) -> Message {
        Message {
            event_id: format!("e{i}"),
            correlation_id: String::new(),
            body: "b".repeat(body),
            attributes: vec![("entity", "customer".into())],
            group_id: None,
            dedup_id: None,
            occurred_at: chrono::Utc::now(),
            entity: "customer",
        }
    }

    proptest! {
        #[test]
        fn batches_respect_limits_and_order(sizes in proptest::collection::vec(0usize..120_000, 0..60)) {
            // Scenario: any mix of sizes packs into ≤ 10 entries and ≤ 256 KiB per batch, in order,
            // nothing lost or duplicated.
            let msgs: Vec<Message> = sizes.iter().enumerate().map(|(i, s)| message(i, *s)).collect();
            let batches = pack(msgs.clone());
            for b in &batches {
                prop_assert!(!b.is_empty() && b.len() <= MAX_ENTRIES);
                prop_assert!(b.iter().map(Message::size).sum::<usize>() <= MAX_BATCH_BYTES);
            }
            let flat: Vec<Message> = batches.into_iter().flatten().collect();
            prop_assert_eq!(flat, msgs);
        }
    }

    #[test]
    fn small_messages_fill_batches_of_ten() {
        // Scenario: 25 small messages make 10 + 10 + 5.
        let batches = pack((0..25).map(|i| message(i, 100)).collect());
        let lens: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(lens, vec![10, 10, 5]);
    }
}
