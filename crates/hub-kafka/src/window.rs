//! A window of SAP's topics read again, without a consumer group: partitions are assigned, not
//! subscribed, and nothing is committed, so the bridge's group and its offsets are untouched.
//! For `hubctl reconcile`.
//!
//! The window is either a time range (record timestamps, `from` inclusive, `to` exclusive) or
//! offset ranges per partition. Every partition ends at the end offset it had when the reading
//! started (or the first offset at `to`, when the broker can look offsets up by time), so a
//! window is finite even while SAP keeps producing.

use crate::KafkaAdapterError;
use chrono::{DateTime, Utc};
use hub_bridge::KafkaRecord;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Offsets `from..to` of one partition (`to` exclusive; `None`: the end at the start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetRange {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// First offset.
    pub from: i64,
    /// One past the last offset.
    pub to: Option<i64>,
}

impl OffsetRange {
    /// `topic:partition:from-to` (or `from-` to the end).
    ///
    /// ```
    /// use hub_kafka::window::OffsetRange;
    /// let r = OffsetRange::parse("sap.idoc.debmas:2:100-250").unwrap();
    /// assert_eq!((r.topic.as_str(), r.partition, r.from, r.to), ("sap.idoc.debmas", 2, 100, Some(250)));
    /// assert_eq!(OffsetRange::parse("t:0:5-").unwrap().to, None);
    /// assert!(OffsetRange::parse("t:0:9-3").is_err());
    /// assert!(OffsetRange::parse("t:x:1-2").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<OffsetRange, String> {
        let bad =
            || format!("{s:?}: expected topic:partition:from-to, e.g. sap.idoc.debmas:0:100-250");
        let (rest, range) = s.rsplit_once(':').ok_or_else(bad)?;
        let (topic, partition) = rest.rsplit_once(':').ok_or_else(bad)?;
        let (from, to) = range.split_once('-').ok_or_else(bad)?;
        let partition: i32 = partition.parse().map_err(|_| bad())?;
        let from: i64 = from.parse().map_err(|_| bad())?;
        let to: Option<i64> = if to.is_empty() {
            None
        } else {
            Some(to.parse().map_err(|_| bad())?)
        };
        if topic.is_empty() || partition < 0 || from < 0 || to.is_some_and(|t| t < from) {
            return Err(bad());
        }
        Ok(OffsetRange {
            topic: topic.to_string(),
            partition,
            from,
            to,
        })
    }
}

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// Topics, every partition (ignored when `offsets` is given).
    pub topics: Vec<String>,
    /// Records with a timestamp at or after this.
    pub from: Option<DateTime<Utc>>,
    /// Records with a timestamp before this.
    pub to: Option<DateTime<Utc>>,
    /// Explicit offset ranges instead of whole topics.
    pub offsets: Vec<OffsetRange>,
}

/// What was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowStats {
    /// Records handed over.
    pub records: u64,
    /// Records read but outside the time range.
    pub outside: u64,
    /// Per partition, the offsets read (`from..to`).
    pub ranges: BTreeMap<(String, i32), (i64, i64)>,
    /// Per partition, offsets of the window no longer in Kafka (`from..to`): retention (or
    /// deletion) removed them before they could be read. Only known for offset windows and
    /// whole topics; a time window's lookup cannot tell.
    pub trimmed: BTreeMap<(String, i32), (i64, i64)>,
}

fn kafka(operation: &'static str) -> impl FnOnce(KafkaError) -> KafkaAdapterError {
    move |source| KafkaAdapterError::Kafka { operation, source }
}

/// The first offset at or after `at` on each partition of `tpl`, where the broker can tell
/// (`None` where it cannot: no such record, or a broker without the lookup).
fn offsets_at(
    consumer: &BaseConsumer,
    partitions: &[(String, i32)],
    at: DateTime<Utc>,
    timeout: Duration,
) -> BTreeMap<(String, i32), i64> {
    let mut tpl = TopicPartitionList::new();
    for (t, p) in partitions {
        let _ = tpl.add_partition_offset(t, *p, Offset::Offset(at.timestamp_millis()));
    }
    let Ok(found) = consumer.offsets_for_times(tpl, timeout) else {
        return BTreeMap::new();
    };
    found
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) if o >= 0 => Some(((e.topic().to_string(), e.partition()), o)),
            _ => None,
        })
        .collect()
}

/// Reads the window and hands every record in it to `each`, in partition order. `config` holds
/// the brokers and credentials; `stall` bounds the wait for the next record. Blocking: call it
/// from a blocking thread.
pub fn read_window(
    mut config: ClientConfig,
    window: &Window,
    stall: Duration,
    mut each: impl FnMut(KafkaRecord),
) -> Result<WindowStats, KafkaAdapterError> {
    config
        // Needed by librdkafka's consumer, never joined: partitions are assigned, nothing is
        // committed.
        .set("group.id", "sap-sync-hub-reconcile")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "true")
        .set("auto.offset.reset", "earliest");
    let consumer: BaseConsumer = config.create().map_err(kafka("creating the consumer"))?;
    let timeout = stall;
    // Partitions and their bounds.
    let mut partitions: Vec<(String, i32, Option<i64>, Option<i64>)> = Vec::new();
    if window.offsets.is_empty() {
        for topic in &window.topics {
            let md = consumer
                .fetch_metadata(Some(topic), timeout)
                .map_err(kafka("reading the topics' partitions"))?;
            let t = md.topics().iter().find(|t| t.name() == topic);
            let Some(t) = t.filter(|t| t.error().is_none() && !t.partitions().is_empty()) else {
                return Err(KafkaAdapterError::Kafka {
                    operation: "reading the topics' partitions",
                    source: KafkaError::MetadataFetch(RDKafkaErrorCode::UnknownTopicOrPartition),
                });
            };
            for p in t.partitions() {
                partitions.push((topic.clone(), p.id(), None, None));
            }
        }
    } else {
        for r in &window.offsets {
            partitions.push((r.topic.clone(), r.partition, Some(r.from), r.to));
        }
    }
    let names: Vec<(String, i32)> = partitions
        .iter()
        .map(|(t, p, _, _)| (t.clone(), *p))
        .collect();
    let starts = window
        .from
        .map(|at| offsets_at(&consumer, &names, at, timeout))
        .unwrap_or_default();
    let ends = window
        .to
        .map(|at| offsets_at(&consumer, &names, at, timeout))
        .unwrap_or_default();
    let mut stats = WindowStats::default();
    let mut tpl = TopicPartitionList::new();
    // Per partition: the next offset expected and the end.
    let mut open: BTreeMap<(String, i32), (i64, i64)> = BTreeMap::new();
    for (topic, partition, from, to) in partitions {
        let (low, high) = consumer
            .fetch_watermarks(&topic, partition, timeout)
            .map_err(kafka("reading the partitions' offsets"))?;
        let key = (topic.clone(), partition);
        // What the window asked for that Kafka no longer holds.
        let wanted = match (from, window.from) {
            (Some(f), _) => Some(f),
            (None, None) => Some(0),
            (None, Some(_)) => None,
        };
        if let Some(w) = wanted.filter(|w| *w < low) {
            stats.trimmed.insert(key.clone(), (w, low));
        }
        let start = from
            .or_else(|| starts.get(&key).copied())
            .unwrap_or(low)
            .max(low);
        let end = to
            .or_else(|| ends.get(&key).copied())
            .unwrap_or(high)
            .min(high);
        stats.ranges.insert(key.clone(), (start, end.max(start)));
        if start >= end {
            continue;
        }
        tpl.add_partition_offset(&topic, partition, Offset::Offset(start))
            .map_err(kafka("assigning the partitions"))?;
        open.insert(key, (start, end));
    }
    if open.is_empty() {
        return Ok(stats);
    }
    consumer
        .assign(&tpl)
        .map_err(kafka("assigning the partitions"))?;
    let from_ms = window.from.map(|t| t.timestamp_millis());
    let to_ms = window.to.map(|t| t.timestamp_millis());
    let mut topics: BTreeMap<String, Arc<str>> = BTreeMap::new();
    let mut last_progress = Instant::now();
    while !open.is_empty() {
        if last_progress.elapsed() > stall {
            let waiting: Vec<String> = open
                .iter()
                .map(|((t, p), (next, end))| format!("{t}/{p} at {next} of {end}"))
                .collect();
            tracing::error!(waiting = %waiting.join(", "), "no record for {stall:?}");
            return Err(KafkaAdapterError::Kafka {
                operation: "reading the window",
                source: KafkaError::MessageConsumption(RDKafkaErrorCode::OperationTimedOut),
            });
        }
        let Some(m) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let m = match m {
            Ok(m) => m,
            Err(KafkaError::PartitionEOF(p)) => {
                // Caught up with the partition's end as it is now. The event names only the
                // partition's number: every open partition of that number whose position
                // passed its end is done (a gap of compaction or transaction markers can
                // leave the last offsets without a record).
                if let Ok(positions) = consumer.position() {
                    open.retain(|(t, q), (_, end)| {
                        *q != p
                            || !matches!(
                                positions.find_partition(t, *q).map(|e| e.offset()),
                                Some(Offset::Offset(o)) if o >= *end
                            )
                    });
                }
                last_progress = Instant::now();
                continue;
            }
            Err(e) => return Err(kafka("reading the window")(e)),
        };
        last_progress = Instant::now();
        let key = (m.topic().to_string(), m.partition());
        let Some((next, end)) = open.get_mut(&key) else {
            continue;
        };
        if m.offset() >= *end {
            open.remove(&key);
            continue;
        }
        *next = m.offset() + 1;
        let done = *next >= *end;
        let ts = m.timestamp().to_millis();
        let inside =
            ts.is_none_or(|ts| from_ms.is_none_or(|f| ts >= f) && to_ms.is_none_or(|t| ts < t));
        if inside {
            let topic = topics
                .entry(key.0.clone())
                .or_insert_with(|| Arc::from(key.0.as_str()))
                .clone();
            each(crate::record_of(&m, topic));
            stats.records += 1;
        } else {
            stats.outside += 1;
        }
        if done {
            open.remove(&key);
        }
    }
    Ok(stats)
}
