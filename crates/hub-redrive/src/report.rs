//! The redrive's result: what moved, what was skipped and why, where it stopped.

use serde::Serialize;
use std::collections::BTreeMap;

/// Counts of one group (`error_class/entity`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Selected in a dry run: would be moved.
    pub would_move: u64,
    /// Sent back and deleted from the DLQ.
    pub moved: u64,
    /// Tried again, failed again; replaced in the DLQ by a dead letter with the new error.
    pub still_failing: u64,
    /// Not selected by the filters; left in the DLQ.
    pub skipped_by_filter: u64,
    /// Redriven `max_redrives` times already; left in the DLQ.
    pub held_by_loop_guard: u64,
    /// Could not be sent back; left in the DLQ.
    pub failed: u64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.would_move += other.would_move;
        self.moved += other.moved;
        self.still_failing += other.still_failing;
        self.skipped_by_filter += other.skipped_by_filter;
        self.held_by_loop_guard += other.held_by_loop_guard;
        self.failed += other.failed;
    }
}

/// Why the run ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Every visible message of the DLQ was examined.
    #[default]
    Drained,
    /// `max_messages` were moved (or selected, in a dry run).
    MaxMessages,
    /// The Lambda's deadline came near; invoke again to continue.
    Deadline,
    /// The destination kept failing; fix it and invoke again.
    DestinationUnavailable,
    /// The DLQ itself could not be read.
    DlqUnavailable,
}

/// One message that could not be sent back (the first few are listed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Its SQS message id.
    pub message_id: String,
    /// Its group (`error_class/entity`).
    pub group: String,
    /// What went wrong.
    pub error: String,
}

/// Failures listed in the report at most (the counts hold all of them).
pub const MAX_LISTED_FAILURES: usize = 20;

/// The redrive report, returned by the Lambda and printed by `hubctl redrive`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Whether this was a dry run (nothing sent or deleted).
    pub dry_run: bool,
    /// The DLQ.
    pub source: String,
    /// Where messages went (or would go).
    pub destination: String,
    /// Messages looked at.
    pub examined: u64,
    /// Totals over all groups.
    pub totals: Counts,
    /// Counts per `error_class/entity`.
    pub groups: BTreeMap<String, Counts>,
    /// The first failures, with their errors.
    pub failures: Vec<Failure>,
    /// Why the run ended.
    pub stopped: StopReason,
    /// Details of the stop (the error, or where to continue).
    pub detail: String,
    /// Messages visible in the DLQ after the run (SQS's approximate count).
    pub remaining_in_dlq: Option<u64>,
    /// Duration of the run.
    pub elapsed_ms: u64,
}

impl Report {
    /// Counts one outcome in its group and in the totals.
    pub fn count(&mut self, group: &str, f: impl Fn(&mut Counts)) {
        let mut one = Counts::default();
        f(&mut one);
        self.totals.add(&one);
        self.groups.entry(group.to_string()).or_default().add(&one);
    }

    /// Messages moved, or selected in a dry run: what `max_messages` limits.
    pub fn selected(&self) -> u64 {
        self.totals.moved + self.totals.would_move + self.totals.still_failing
    }

    /// A short summary line for logs and progress bars.
    pub fn summary(&self) -> String {
        let t = &self.totals;
        if self.dry_run {
            format!(
                "examined {}, would move {}, skipped {}, held {}",
                self.examined, t.would_move, t.skipped_by_filter, t.held_by_loop_guard
            )
        } else {
            format!(
                "examined {}, moved {}, still failing {}, skipped {}, held {}, failed {}",
                self.examined,
                t.moved,
                t.still_failing,
                t.skipped_by_filter,
                t.held_by_loop_guard,
                t.failed
            )
        }
    }
}
