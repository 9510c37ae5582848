//! Which offsets may be committed (at least once, DESIGN §4).
//!
//! Records of a partition are processed concurrently and finish in any order. The tracker keeps,
//! per assigned partition, the offsets in flight; the partition's commit point (the next offset
//! to consume, as Kafka commits it) is the lowest offset still in flight, or one past the highest
//! seen when none is. So no committed offset ever passes a record that is not yet published or
//! dead-lettered.
//!
//! Each assignment of a partition gets a new epoch: results of work started under an earlier
//! assignment (revoked since) are ignored rather than moving the new owner's offsets.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// A topic-partition.
pub type TopicPartition = (Arc<str>, i32);

/// Proof that a record was taken under one assignment of its partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Topic.
    pub topic: Arc<str>,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// The assignment's epoch.
    pub epoch: u64,
}

#[derive(Debug)]
struct Part {
    epoch: u64,
    in_flight: BTreeSet<i64>,
    next: Option<i64>,
    committed: Option<i64>,
}

impl Part {
    fn commit_point(&self) -> Option<i64> {
        self.in_flight.first().copied().or(self.next)
    }
}

/// Offsets in flight per partition.
#[derive(Debug, Default)]
pub struct OffsetTracker {
    parts: HashMap<TopicPartition, Part>,
    epochs: u64,
}

impl OffsetTracker {
    /// An empty tracker.
    pub fn new() -> OffsetTracker {
        OffsetTracker::default()
    }

    /// The partition was assigned to this consumer (again).
    pub fn assign(&mut self, topic: &Arc<str>, partition: i32) {
        self.epochs += 1;
        self.parts.insert(
            (topic.clone(), partition),
            Part {
                epoch: self.epochs,
                in_flight: BTreeSet::new(),
                next: None,
                committed: None,
            },
        );
    }

    /// The partition was revoked: returns its final commit point (none if no record of it was
    /// seen) and forgets it; work still in flight for it will be ignored.
    pub fn revoke(&mut self, topic: &Arc<str>, partition: i32) -> Option<i64> {
        self.parts
            .remove(&(topic.clone(), partition))?
            .commit_point()
    }

    /// Whether the partition is assigned.
    pub fn is_assigned(&self, topic: &Arc<str>, partition: i32) -> bool {
        self.parts.contains_key(&(topic.clone(), partition))
    }

    /// A record was received: it is in flight until [`done`](Self::done). A record of a
    /// partition not (or no longer) assigned gets `None`: skip it (the owner will read it).
    pub fn start(&mut self, topic: &Arc<str>, partition: i32, offset: i64) -> Option<Lease> {
        let tp = (topic.clone(), partition);
        if !self.parts.contains_key(&tp) {
            // librdkafka may deliver before the assignment callback was seen by us (eager
            // protocols deliver only after it); assign implicitly.
            self.assign(topic, partition);
        }
        let part = self.parts.get_mut(&tp)?;
        part.in_flight.insert(offset);
        part.next = Some(part.next.map_or(offset + 1, |n| n.max(offset + 1)));
        Some(Lease {
            topic: tp.0,
            partition,
            offset,
            epoch: part.epoch,
        })
    }

    /// The leased record is published or dead-lettered. Ignored when the partition was revoked
    /// (or re-assigned) since.
    pub fn done(&mut self, lease: &Lease) {
        if let Some(part) = self.parts.get_mut(&(lease.topic.clone(), lease.partition))
            && part.epoch == lease.epoch
        {
            part.in_flight.remove(&lease.offset);
        }
    }

    /// Partitions whose commit point moved since the last call, with the new point; they are
    /// marked committed.
    pub fn take_committable(&mut self) -> Vec<(Arc<str>, i32, i64)> {
        let mut out = Vec::new();
        for ((topic, partition), part) in &mut self.parts {
            if let Some(point) = part.commit_point()
                && Some(point) != part.committed
            {
                part.committed = Some(point);
                out.push((topic.clone(), *partition, point));
            }
        }
        out
    }

    /// Records in flight, all partitions.
    pub fn in_flight(&self) -> usize {
        self.parts.values().map(|p| p.in_flight.len()).sum()
    }

    /// Assigned partitions.
    pub fn partitions(&self) -> Vec<TopicPartition> {
        self.parts.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn commit_point_waits_for_the_lowest_in_flight() {
        // Scenario: 10, 11, 12 in flight; 11 and 12 finish first: nothing passes 10.
        let t: Arc<str> = "t".into();
        let mut o = OffsetTracker::new();
        o.assign(&t, 0);
        let l: Vec<Lease> = (10..13).map(|i| o.start(&t, 0, i).unwrap()).collect();
        assert_eq!(o.take_committable(), vec![(t.clone(), 0, 10)]);
        o.done(&l[1]);
        o.done(&l[2]);
        assert_eq!(o.take_committable(), vec![]);
        o.done(&l[0]);
        assert_eq!(o.take_committable(), vec![(t.clone(), 0, 13)]);
    }

    #[test]
    fn revoked_work_is_ignored_after_reassignment() {
        // Scenario: a lease of a revoked partition does not move the new assignment's offsets.
        let t: Arc<str> = "t".into();
        let mut o = OffsetTracker::new();
        o.assign(&t, 0);
        let old = o.start(&t, 0, 5).unwrap();
        assert_eq!(o.revoke(&t, 0), Some(5));
        o.assign(&t, 0);
        let new = o.start(&t, 0, 5).unwrap();
        o.done(&old);
        assert_eq!(o.in_flight(), 1);
        o.done(&new);
        assert_eq!(o.in_flight(), 0);
        assert_eq!(o.take_committable(), vec![(t, 0, 6)]);
    }

    proptest! {
        #[test]
        fn never_commits_past_an_unfinished_record(n in 1usize..60, order in proptest::collection::vec(any::<prop::sample::Index>(), 0..60)) {
            // Scenario: whatever order records finish in, every commit point is ≤ the lowest
            // unfinished offset, and once all finish it is one past the last.
            let t: Arc<str> = "t".into();
            let mut o = OffsetTracker::new();
            o.assign(&t, 3);
            let mut pending: Vec<Lease> = (0..n as i64).map(|i| o.start(&t, 3, 100 + i).unwrap()).collect();
            for idx in order {
                if pending.is_empty() { break; }
                let lease = pending.remove(idx.index(pending.len()));
                o.done(&lease);
                let lowest = pending.iter().map(|l| l.offset).min().unwrap_or(100 + n as i64);
                for (_, _, point) in o.take_committable() {
                    prop_assert!(point <= lowest);
                }
            }
            for l in pending.drain(..) { o.done(&l); }
            o.take_committable();
            prop_assert_eq!(o.revoke(&t, 3), Some(100 + n as i64));
        }
    }
}
