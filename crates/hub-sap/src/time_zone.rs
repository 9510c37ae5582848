//! The time zone each sending system writes an IDoc's CREDAT/CRETIM in.
//!
//! CREDAT and CRETIM are the creation date and time of the IDoc in the *sending system's* time
//! zone, without an offset. [`SenderTimeZones`] maps a sender (the control record's `SNDPRN`,
//! the system of the event id) to an IANA time zone; any other sender is taken as UTC. The
//! version of the change is then the UTC instant of that local time.
//!
//! Local times that a daylight-saving change makes ambiguous or impossible are resolved one
//! defined way (see [`SenderTimeZones::to_utc`]):
//! - **repeated** (autumn: `02:30` twice in Europe/Berlin): the **earlier** instant, the first
//!   pass, still in summer time;
//! - **skipped** (spring: no `02:30` in Europe/Berlin): **shifted forward** by the gap, read with
//!   the offset in force before it (`02:30` → `01:30Z`, which is `03:30` summer time).
//!
//! Within the repeated hour, two IDocs of the same key are therefore ordered by their local time,
//! not by when they were really created; a system that sends UTC avoids it.

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;

/// Sending system (`SNDPRN`) → the IANA time zone of its CREDAT/CRETIM; UTC for any other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SenderTimeZones {
    zones: BTreeMap<String, Tz>,
}

/// A list of sender time zones that cannot be read (the message names the entry, never more).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadTimeZones(pub String);

impl SenderTimeZones {
    /// No sender configured: every IDoc time is UTC.
    pub fn utc() -> SenderTimeZones {
        SenderTimeZones::default()
    }

    /// Reads `SNDPRN=Zone` pairs separated by commas (`S4HCLNT100=Europe/Berlin,
    /// ECCCLNT800=America/New_York`); blanks around entries are ignored, senders compare
    /// without regard to case, and each zone must be an IANA name (`Europe/Berlin`, `UTC`).
    ///
    /// ```
    /// use hub_sap::time_zone::SenderTimeZones;
    /// let zones = SenderTimeZones::parse("S4HCLNT100=Europe/Berlin, ECCCLNT800=America/New_York")
    ///     .unwrap();
    /// assert_eq!(zones.zone("S4HCLNT100").name(), "Europe/Berlin");
    /// assert_eq!(zones.zone("OTHER").name(), "UTC");
    /// assert!(SenderTimeZones::parse("S4HCLNT100=Europe/Atlantis").is_err());
    /// ```
    pub fn parse(list: &str) -> Result<SenderTimeZones, BadTimeZones> {
        let mut zones = BTreeMap::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((sender, zone)) = entry.split_once('=') else {
                return Err(BadTimeZones(format!(
                    "{entry:?} is not SNDPRN=Zone (e.g. S4HCLNT100=Europe/Berlin)"
                )));
            };
            let (sender, zone) = (sender.trim(), zone.trim());
            if sender.is_empty() {
                return Err(BadTimeZones(format!("{entry:?} names no sender")));
            }
            let tz: Tz = zone.parse().map_err(|_| {
                BadTimeZones(format!(
                    "{zone:?} (for {sender}) is not an IANA time zone name"
                ))
            })?;
            if zones.insert(sender.to_ascii_uppercase(), tz).is_some() {
                return Err(BadTimeZones(format!("{sender} is listed twice")));
            }
        }
        Ok(SenderTimeZones { zones })
    }

    /// Adds (or replaces) the zone of one sender.
    pub fn with(mut self, sender: &str, zone: Tz) -> SenderTimeZones {
        self.zones.insert(sender.trim().to_ascii_uppercase(), zone);
        self
    }

    /// Whether no sender is configured.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// The zone of `sender`, UTC when it is not listed.
    pub fn zone(&self, sender: &str) -> Tz {
        if self.zones.is_empty() {
            return Tz::UTC;
        }
        let sender = sender.trim();
        self.zones
            .get(sender)
            .or_else(|| self.zones.get(&sender.to_ascii_uppercase()))
            .copied()
            .unwrap_or(Tz::UTC)
    }

    /// The UTC instant of `local`, a CREDAT/CRETIM of `sender`. A repeated local time (autumn)
    /// is its earlier instant; a skipped one (spring) is shifted forward by the gap.
    pub fn to_utc(&self, sender: &str, local: NaiveDateTime) -> DateTime<Utc> {
        let tz = self.zone(sender);
        if tz == Tz::UTC {
            return local.and_utc();
        }
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
            LocalResult::None => {
                // In the gap: read it with the offset in force before the change (a day
                // earlier; no zone changes its offset twice within a day).
                let before = tz
                    .offset_from_utc_datetime(&(local - TimeDelta::days(1)))
                    .fix();
                (local - TimeDelta::seconds(i64::from(before.local_minus_utc()))).and_utc()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(d: &str, t: &str) -> NaiveDateTime {
        NaiveDateTime::new(
            NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap(),
            chrono::NaiveTime::parse_from_str(t, "%H:%M:%S").unwrap(),
        )
    }

    fn utc(zones: &SenderTimeZones, sender: &str, d: &str, t: &str) -> String {
        zones
            .to_utc(sender, at(d, t))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    fn berlin() -> SenderTimeZones {
        SenderTimeZones::parse("S4HCLNT100=Europe/Berlin,ECCCLNT800=America/New_York").unwrap()
    }

    #[test]
    fn local_times_become_utc_by_sender() {
        // Scenario: winter and summer times of Berlin and New York; an unlisted sender is UTC.
        let z = berlin();
        assert_eq!(
            utc(&z, "S4HCLNT100", "2026-01-15", "10:00:00"),
            "2026-01-15T09:00:00Z"
        );
        assert_eq!(
            utc(&z, "S4HCLNT100", "2026-07-15", "10:00:00"),
            "2026-07-15T08:00:00Z"
        );
        assert_eq!(
            utc(&z, "ECCCLNT800", "2026-07-15", "10:00:00"),
            "2026-07-15T14:00:00Z"
        );
        assert_eq!(
            utc(&z, "s4hclnt100", "2026-01-15", "10:00:00"),
            "2026-01-15T09:00:00Z"
        );
        assert_eq!(
            utc(&z, "S4PCLNT100", "2026-01-15", "10:00:00"),
            "2026-01-15T10:00:00Z"
        );
        let none = SenderTimeZones::utc();
        assert_eq!(
            utc(&none, "S4HCLNT100", "2026-01-15", "10:00:00"),
            "2026-01-15T10:00:00Z"
        );
    }

    #[test]
    fn spring_forward_gap_is_shifted_forward() {
        // Scenario: Europe/Berlin, 2026-03-29: 02:00–03:00 does not exist. Around it times keep
        // their order; a time in the gap is read with winter time (+01:00), i.e. shifted forward.
        let z = berlin();
        let s = "S4HCLNT100";
        assert_eq!(utc(&z, s, "2026-03-29", "01:59:59"), "2026-03-29T00:59:59Z");
        assert_eq!(utc(&z, s, "2026-03-29", "02:00:00"), "2026-03-29T01:00:00Z");
        assert_eq!(utc(&z, s, "2026-03-29", "02:30:00"), "2026-03-29T01:30:00Z");
        assert_eq!(utc(&z, s, "2026-03-29", "03:00:00"), "2026-03-29T01:00:00Z");
        assert_eq!(utc(&z, s, "2026-03-29", "03:30:00"), "2026-03-29T01:30:00Z");
        // New York, 2026-03-08: 02:00–03:00 does not exist either (-05:00 before).
        assert_eq!(
            utc(&z, "ECCCLNT800", "2026-03-08", "02:15:00"),
            "2026-03-08T07:15:00Z"
        );
    }

    #[test]
    fn autumn_repeated_hour_takes_the_earlier_instant() {
        // Scenario: Europe/Berlin, 2026-10-25: 02:00–03:00 happens twice; the first pass
        // (summer time, +02:00) is taken. Before and after it the offsets are plain.
        let z = berlin();
        let s = "S4HCLNT100";
        assert_eq!(utc(&z, s, "2026-10-25", "01:59:59"), "2026-10-24T23:59:59Z");
        assert_eq!(utc(&z, s, "2026-10-25", "02:00:00"), "2026-10-25T00:00:00Z");
        assert_eq!(utc(&z, s, "2026-10-25", "02:30:00"), "2026-10-25T00:30:00Z");
        assert_eq!(utc(&z, s, "2026-10-25", "03:00:00"), "2026-10-25T02:00:00Z");
        // New York, 2026-11-01: 01:00–02:00 twice; the first pass is EDT (-04:00).
        assert_eq!(
            utc(&z, "ECCCLNT800", "2026-11-01", "01:30:00"),
            "2026-11-01T05:30:00Z"
        );
    }

    #[test]
    fn bad_lists_are_refused_with_the_entry() {
        // Scenario: an unknown zone, an entry without `=`, a blank sender and a sender listed
        // twice are errors; blanks and an empty list are fine.
        for bad in [
            "S4HCLNT100=Europe/Atlantis",
            "S4HCLNT100",
            "=Europe/Berlin",
            "A=UTC,a=Europe/Berlin",
        ] {
            assert!(SenderTimeZones::parse(bad).is_err(), "{bad}");
        }
        assert!(SenderTimeZones::parse(" , ").unwrap().is_empty());
        assert_eq!(
            SenderTimeZones::parse(" A = Europe/Lisbon ,").unwrap(),
            SenderTimeZones::utc().with("a", chrono_tz::Europe::Lisbon)
        );
    }
}
