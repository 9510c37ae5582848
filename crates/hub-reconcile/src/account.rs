//! The accounting: each expected change against the table (one read per distinct key, in
//! batches, several batches in flight) and the queues' contents; the report per entity.

use crate::expected::{Change, Coordinates, Expected};
use crate::found::{Found, Place};
use futures::StreamExt;
use hub_core::PortError;
use hub_model::{Entity, Op, Version};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::future::Future;

/// The versioned item of a key, as the table holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its version.
    pub version: Version,
    /// Whether it is a delete's tombstone.
    pub deleted: bool,
}

/// The table, read only: the versioned item of each key.
pub trait TableVersions: Send + Sync {
    /// The stored version of each key, in the order asked (`None`: no item). At most
    /// [`Options::batch`] keys at a time.
    fn read(
        &self,
        keys: &[(Entity, String)],
    ) -> impl Future<Output = Result<Vec<Option<Stored>>, PortError>> + Send;
}

/// What became of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The table holds this version or a newer one (or, for a delete, no item at all: its
    /// tombstone may have expired).
    Applied,
    /// In a DLQ.
    DeadLettered,
    /// Still waiting in a domain queue.
    InFlight,
    /// The table holds an older version, and it is in no queue.
    Stale,
    /// The table has no item, and it is in no queue.
    Missing,
}

impl Status {
    /// Its name in `--list` and the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Applied => "applied",
            Status::DeadLettered => "dead_lettered",
            Status::InFlight => "in_flight",
            Status::Stale => "stale",
            Status::Missing => "missing",
        }
    }

    /// A status by name (`dead-lettered` and `dead_lettered` alike).
    pub fn parse(s: &str) -> Option<Status> {
        let s = s.trim().replace('-', "_");
        [
            Status::Applied,
            Status::DeadLettered,
            Status::InFlight,
            Status::Stale,
            Status::Missing,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// Counts of one entity (or of the records that gave no change).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Changes accounted for.
    pub changes: u64,
    /// Applied.
    pub applied: u64,
    /// Stale.
    pub stale: u64,
    /// Missing.
    pub missing: u64,
    /// Dead-lettered.
    pub dead_lettered: u64,
    /// In flight.
    pub in_flight: u64,
}

impl Counts {
    fn count(&mut self, s: Status) {
        self.changes += 1;
        match s {
            Status::Applied => self.applied += 1,
            Status::Stale => self.stale += 1,
            Status::Missing => self.missing += 1,
            Status::DeadLettered => self.dead_lettered += 1,
            Status::InFlight => self.in_flight += 1,
        }
    }

    fn add(&mut self, o: &Counts) {
        self.changes += o.changes;
        self.applied += o.applied;
        self.stale += o.stale;
        self.missing += o.missing;
        self.dead_lettered += o.dead_lettered;
        self.in_flight += o.in_flight;
    }
}

/// A change listed by `--list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    /// Its status.
    pub status: Status,
    /// The entity (`unparsed` for a record that gave no change).
    pub entity: String,
    /// The key (empty for a record that gave no change).
    pub key: String,
    /// The version SAP sent.
    pub version: String,
    /// The version the table holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_version: Option<String>,
    /// The Kafka record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<Coordinates>,
    /// Where it was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
}

/// The row of records that gave no change.
pub const UNPARSED: &str = "unparsed";

/// The accounting.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Per entity name (and [`UNPARSED`]).
    pub entities: BTreeMap<String, Counts>,
    /// Dead-lettered changes per DLQ and error class.
    pub dead_lettered: BTreeMap<String, BTreeMap<String, u64>>,
    /// In-flight changes per queue.
    pub in_flight: BTreeMap<String, u64>,
    /// The changes of the statuses asked for, in input order.
    pub listed: Vec<Listed>,
    /// Distinct keys read from the table.
    pub keys_read: u64,
    /// Table requests made (batches).
    pub table_requests: u64,
}

impl Report {
    /// Every row summed.
    pub fn total(&self) -> Counts {
        let mut t = Counts::default();
        for c in self.entities.values() {
            t.add(c);
        }
        t
    }

    /// Nothing missing and nothing stale.
    pub fn clean(&self) -> bool {
        let t = self.total();
        t.missing == 0 && t.stale == 0
    }

    /// The report as a text table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let header = [
            "entity",
            "changes",
            "applied",
            "stale",
            "missing",
            "dead-lettered",
            "in flight",
        ];
        let _ = writeln!(
            out,
            "{:<14} {:>9} {:>9} {:>7} {:>8} {:>14} {:>10}",
            header[0], header[1], header[2], header[3], header[4], header[5], header[6]
        );
        let row = |out: &mut String, name: &str, c: &Counts| {
            let _ = writeln!(
                out,
                "{:<14} {:>9} {:>9} {:>7} {:>8} {:>14} {:>10}",
                name, c.changes, c.applied, c.stale, c.missing, c.dead_lettered, c.in_flight
            );
        };
        for (name, c) in &self.entities {
            row(&mut out, name, c);
        }
        row(&mut out, "total", &self.total());
        for (queue, classes) in &self.dead_lettered {
            let classes: Vec<String> = classes.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let _ = writeln!(out, "dead-lettered in {queue}: {}", classes.join(", "));
        }
        for (queue, n) in &self.in_flight {
            let _ = writeln!(out, "in flight in {queue}: {n}");
        }
        out
    }
}

/// How to account.
#[derive(Debug, Clone)]
pub struct Options {
    /// Keys per table request (DynamoDB's `BatchGetItem` takes 100).
    pub batch: usize,
    /// Table requests in flight.
    pub concurrency: usize,
    /// The statuses whose changes are listed.
    pub list: BTreeSet<Status>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            batch: 100,
            concurrency: 8,
            list: BTreeSet::new(),
        }
    }
}

/// The status of one change, given what the table holds for its key and where else it is.
pub fn status_of(c: &Change, stored: Option<&Stored>, found: &Found) -> (Status, Option<Place>) {
    let reached = stored.is_some_and(|s| c.version.reached_by(&s.version));
    if reached || (stored.is_none() && c.op == Some(Op::Delete)) {
        return (Status::Applied, None);
    }
    match found.locate(c) {
        Some(p @ Place::DeadLettered { .. }) => (Status::DeadLettered, Some(p.clone())),
        Some(p @ Place::InFlight { .. }) => (Status::InFlight, Some(p.clone())),
        None if stored.is_some() => (Status::Stale, None),
        None => (Status::Missing, None),
    }
}

/// Accounts for every expected change. `progress` is told how many changes are accounted for
/// so far, as the table's answers come in.
pub async fn account<T: TableVersions>(
    expected: &[Expected],
    found: &Found,
    table: &T,
    options: &Options,
    progress: impl Fn(u64),
) -> Result<Report, PortError> {
    // One read per distinct key, in order of first appearance.
    let mut index: HashMap<(Entity, &str), usize> = HashMap::new();
    let mut keys: Vec<(Entity, String)> = Vec::new();
    for e in expected {
        if let Expected::Change(c) = e
            && !index.contains_key(&(c.entity, c.key.as_str()))
        {
            index.insert((c.entity, c.key.as_str()), keys.len());
            keys.push((c.entity, c.key.clone()));
        }
    }
    let batch = options.batch.max(1);
    let mut stored: Vec<Option<Stored>> = vec![None; keys.len()];
    let mut requests = 0u64;
    let mut done_keys = 0usize;
    let mut answers = futures::stream::iter(keys.chunks(batch).enumerate())
        .map(|(n, chunk)| async move { (n, table.read(chunk).await) })
        .buffer_unordered(options.concurrency.max(1));
    let per_key = expected.len() as f64 / keys.len().max(1) as f64;
    while let Some((n, answer)) = answers.next().await {
        let answer = answer?;
        requests += 1;
        let start = n * batch;
        let len = answer.len().min(stored.len().saturating_sub(start));
        done_keys += len;
        for (slot, s) in stored[start..start + len].iter_mut().zip(answer) {
            *slot = s;
        }
        progress((done_keys as f64 * per_key) as u64);
    }
    drop(answers);

    let mut report = Report {
        keys_read: keys.len() as u64,
        table_requests: requests,
        ..Report::default()
    };
    for e in expected {
        let (entity, status, listed) = match e {
            Expected::Change(c) => {
                let s = stored[index[&(c.entity, c.key.as_str())]].as_ref();
                let (status, place) = status_of(c, s, found);
                let listed = options.list.contains(&status).then(|| Listed {
                    status,
                    entity: c.entity.object().name.to_string(),
                    key: c.key.clone(),
                    version: c.version.to_string(),
                    table_version: s.map(|s| s.version.to_string()),
                    record: c.record.clone(),
                    place: place.clone(),
                });
                count_place(&mut report, place.as_ref());
                (c.entity.object().name, status, listed)
            }
            Expected::Unparsed(u) => {
                let place = found.locate_record(&u.record).cloned();
                let status = match &place {
                    Some(Place::DeadLettered { .. }) => Status::DeadLettered,
                    Some(Place::InFlight { .. }) => Status::InFlight,
                    None => Status::Missing,
                };
                let listed = options.list.contains(&status).then(|| Listed {
                    status,
                    entity: UNPARSED.to_string(),
                    key: String::new(),
                    version: u.kind.to_string(),
                    table_version: None,
                    record: Some(u.record.clone()),
                    place: place.clone(),
                });
                count_place(&mut report, place.as_ref());
                (UNPARSED, status, listed)
            }
        };
        report
            .entities
            .entry(entity.to_string())
            .or_default()
            .count(status);
        if let Some(l) = listed {
            report.listed.push(l);
        }
    }
    progress(expected.len() as u64);
    Ok(report)
}

fn count_place(report: &mut Report, place: Option<&Place>) {
    match place {
        Some(Place::DeadLettered { queue, class }) => {
            *report
                .dead_lettered
                .entry(queue.clone())
                .or_default()
                .entry(class.clone())
                .or_default() += 1;
        }
        Some(Place::InFlight { queue }) => *report.in_flight.entry(queue.clone()).or_default() += 1,
        None => {}
    }
}
