//! Times and dates written as chrono's serde writes them, digit by digit into a buffer.
//!
//! Every event the bridge publishes carries two times and a version, and its record several
//! dates; chrono's writers go through `core::fmt` a piece at a time, which was a quarter of the
//! cost of serialising an event. The text is the same (proptests against chrono); years outside
//! 0–9999 and leap seconds go to chrono's own writer.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use serde::{Serialize, Serializer};

/// Writes `n` as `width` decimal digits ending at `out[end]` (higher digits dropped).
pub(crate) fn put_digits(out: &mut [u8], end: usize, width: usize, mut n: u64) {
    for i in (end - width..end).rev() {
        out[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// `YYYY-MM-DD` into `out[..10]`, or `false` for a year outside 0–9999.
fn put_date(out: &mut [u8], date: NaiveDate) -> bool {
    if !(0..=9999).contains(&date.year()) {
        return false;
    }
    out[4] = b'-';
    out[7] = b'-';
    put_digits(out, 4, 4, date.year() as u64);
    put_digits(out, 7, 2, date.month().into());
    put_digits(out, 10, 2, date.day().into());
    true
}

pub(crate) fn ascii(bytes: &[u8]) -> &str {
    // Only digits and ASCII punctuation are ever written.
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// `YYYY-MM-DDTHH:MM:SS` of `at` into `out[..19]`, or `false` for a leap second or a year outside
/// 0–9999 (chrono's writers handle those).
pub(crate) fn put_date_time(out: &mut [u8], at: &DateTime<Utc>) -> bool {
    let time = at.time();
    if time.nanosecond() >= 1_000_000_000 || !put_date(out, at.date_naive()) {
        return false;
    }
    out[10] = b'T';
    out[13] = b':';
    out[16] = b':';
    put_digits(out, 13, 2, time.hour().into());
    put_digits(out, 16, 2, time.minute().into());
    put_digits(out, 19, 2, time.second().into());
    true
}

/// `2026-11-20T10:15:02Z`, with `.mmm`, `.uuuuuu` or `.nnnnnnnnn` when the time has a fraction
/// (chrono's `SecondsFormat::AutoSi` with `Z`, its serde form).
pub fn serialize_time<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    let nanos = at.time().nanosecond();
    let mut out = [0u8; 30];
    if !put_date_time(&mut out, at) {
        return at.serialize(s);
    }
    let mut end = 19;
    let (value, width) = match nanos {
        0 => (0, 0),
        n if n % 1_000_000 == 0 => (n / 1_000_000, 3),
        n if n % 1_000 == 0 => (n / 1_000, 6),
        n => (n, 9),
    };
    if width > 0 {
        out[end] = b'.';
        put_digits(&mut out, end + 1 + width, width, value.into());
        end += 1 + width;
    }
    out[end] = b'Z';
    s.serialize_str(ascii(&out[..=end]))
}

/// [`serialize_time`] of an optional time (`null` when absent).
pub fn serialize_opt_time<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serialize_time(at, s),
        None => s.serialize_none(),
    }
}

/// `2026-11-20` of an optional date (`null` when absent), as chrono's serde writes it.
pub fn serialize_opt_date<S: Serializer>(
    date: &Option<NaiveDate>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let Some(date) = date else {
        return s.serialize_none();
    };
    let mut out = [0u8; 10];
    if !put_date(&mut out, *date) {
        return date.serialize(s);
    }
    s.serialize_str(ascii(&out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    #[derive(Serialize)]
    struct Ours {
        #[serde(serialize_with = "serialize_opt_time")]
        at: Option<DateTime<Utc>>,
        #[serde(serialize_with = "serialize_opt_date")]
        date: Option<NaiveDate>,
    }

    #[derive(Serialize)]
    struct Chronos {
        at: Option<DateTime<Utc>>,
        date: Option<NaiveDate>,
    }

    fn both(at: Option<DateTime<Utc>>, date: Option<NaiveDate>) -> (String, String) {
        (
            serde_json::to_string(&Ours { at, date }).unwrap(),
            serde_json::to_string(&Chronos { at, date }).unwrap(),
        )
    }

    proptest! {
        #[test]
        fn the_same_text_as_chronos_serde(
            secs in -62_167_219_200i64..=253_402_300_799,
            fraction in prop_oneof![Just(0u32), (0u32..1000).prop_map(|m| m * 1_000_000),
                                    (0u32..1_000_000).prop_map(|u| u * 1_000), 0u32..1_000_000_000],
            days in -800_000i64..3_000_000,
        ) {
            // Scenario: any time of years 0–9999, with no fraction, milliseconds, microseconds
            // or nanoseconds, and any date (years past 9999 and before 0 included), write as
            // chrono's serde writes them.
            let at = Utc.timestamp_opt(secs, fraction).unwrap();
            let date = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(days);
            let (ours, chronos) = both(Some(at), Some(date));
            prop_assert_eq!(ours, chronos);
        }
    }

    #[test]
    fn absent_leap_second_and_far_years_fall_back_to_chrono() {
        // Scenario: none is null; a leap second and a five-digit year are chrono's text.
        assert_eq!(both(None, None).0, both(None, None).1);
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
            .unwrap()
            .and_utc();
        let far = NaiveDate::from_ymd_opt(12345, 1, 2).unwrap();
        let (ours, chronos) = both(Some(leap), Some(far));
        assert_eq!(ours, chronos);
        assert!(
            ours.contains(":60.5") && ours.contains("+12345-01-02"),
            "{ours}"
        );
    }
}
