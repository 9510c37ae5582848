//! SAP's conventions for character fields, handled once, here.
//!
//! - Numbers are character fields; a negative number carries a trailing minus (`12.500-`).
//! - Dates are `YYYYMMDD`, `00000000` (or blank) meaning none; times are `HHMMSS`.
//! - Flags are `X` for true and blank for false.
//! - Languages are one-letter SAP keys (`E`, `D`, `P`…) unless an `_ISO` field gives ISO 639-1.
//! - Units are SAP internal units (`ST`, `KG`) unless an `_ISO` field gives the ISO code.

use crate::error::{ParseError, Shape};
use chrono::{NaiveDate, NaiveTime};
use hub_model::records::Text;
use rust_decimal::Decimal;
use std::str::FromStr;

/// A decimal from an SAP character field: blanks trimmed, a trailing (or leading) minus
/// honoured, trailing zeros removed so that `12.500` and `12.5` are the same value.
pub fn decimal(value: &str, path: impl Fn() -> String) -> Result<Decimal, ParseError> {
    let t = value.trim();
    let bad = || ParseError::BadNumber {
        path: path(),
        shape: Shape::of(value),
    };
    let (negative, digits) = match t.strip_suffix('-') {
        Some(d) => (true, d.trim_end()),
        None => (false, t),
    };
    // Character fields hold plain decimals: digits, one point, a sign; no exponent.
    let unsigned = digits.strip_prefix(['-', '+']).unwrap_or(digits);
    if unsigned.is_empty()
        || unsigned.len() > 40
        || !unsigned.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        || unsigned.bytes().filter(|b| *b == b'.').count() > 1
        || unsigned == "."
    {
        return Err(bad());
    }
    let d = Decimal::from_str(digits).map_err(|_| bad())?;
    if negative && d.is_sign_negative() {
        return Err(bad());
    }
    Ok(if negative { -d } else { d }.normalize())
}

/// An optional decimal: `None` for a blank field.
pub fn opt_decimal(
    value: Option<&str>,
    path: impl Fn() -> String,
) -> Result<Option<Decimal>, ParseError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => decimal(v, path).map(Some),
    }
}

/// A date from `YYYYMMDD`; `None` for blank or `00000000`.
pub fn date(
    value: Option<&str>,
    path: impl Fn() -> String,
) -> Result<Option<NaiveDate>, ParseError> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.bytes().all(|b| b == b'0') {
        return Ok(None);
    }
    // SAP's "infinite" date 99991231 is a real date and stays one.
    if v.len() != 8 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadDate {
            path: path(),
            shape: Shape::of(v),
        });
    }
    // The digits are checked: read them directly (a format string is parsed again per call).
    NaiveDate::from_ymd_opt(digits(v, 0..4) as i32, digits(v, 4..6), digits(v, 6..8))
        .map(Some)
        .ok_or_else(|| ParseError::BadDate {
            path: path(),
            shape: Shape::of(v),
        })
}

/// The number written by the ASCII digits `v[range]` (checked by the caller).
fn digits(v: &str, range: std::ops::Range<usize>) -> u32 {
    v.as_bytes()[range]
        .iter()
        .fold(0, |n, b| n * 10 + u32::from(b - b'0'))
}

/// A time from `HHMMSS`; `None` for blank. (`240000` is midnight at the day's end.)
pub fn time(
    value: Option<&str>,
    path: impl Fn() -> String,
) -> Result<Option<NaiveTime>, ParseError> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v == "240000" {
        return Ok(NaiveTime::from_hms_opt(23, 59, 59));
    }
    if v.len() != 6 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadDate {
            path: path(),
            shape: Shape::of(v),
        });
    }
    let (h, m, sec) = (digits(v, 0..2), digits(v, 2..4), digits(v, 4..6));
    // Second 60 is a leap second, as chrono's parser reads it.
    match sec {
        60 => NaiveTime::from_hms_milli_opt(h, m, 59, 1_000),
        _ => NaiveTime::from_hms_opt(h, m, sec),
    }
    .map(Some)
    .ok_or_else(|| ParseError::BadDate {
        path: path(),
        shape: Shape::of(v),
    })
}

/// An SAP flag: `X` is true, anything blank is false.
pub fn flag(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.trim().eq_ignore_ascii_case("x"))
}

/// ISO 639-1 language from an SAP one-letter key (or an ISO code, passed through upper-cased).
pub fn language(value: &str) -> Text {
    let v = value.trim();
    let iso = match v {
        "E" => "EN",
        "D" => "DE",
        "P" => "PT",
        "S" => "ES",
        "F" => "FR",
        "I" => "IT",
        "N" => "NL",
        "1" => "ZH",
        "J" => "JA",
        "3" => "KO",
        "R" => "RU",
        "L" => "PL",
        "C" => "CS",
        "T" => "TR",
        "K" => "DA",
        "V" => "SV",
        "O" => "NO",
        "U" => "FI",
        "H" => "HU",
        "A" => "AR",
        "B" => "HE",
        "G" => "EL",
        "Q" => "SK",
        "4" => "RO",
        "5" => "SL",
        "6" => "HR",
        "M" => "ZF",
        other => return Text::from_str_to_uppercase(other),
    };
    Text::from(iso)
}

/// ISO unit of measure (UN/ECE Recommendation 20) from an SAP internal or commercial unit; an
/// unknown unit passes through upper-cased.
pub fn unit(value: &str) -> Text {
    let v = Text::from_str_to_uppercase(value.trim());
    let iso = match v.as_str() {
        "ST" | "PC" | "EA" | "PCE" => "PCE",
        "KG" | "KGM" => "KGM",
        "G" | "GRM" => "GRM",
        "TO" | "TNE" => "TNE",
        "L" | "LTR" => "LTR",
        "ML" | "MLT" => "MLT",
        "M" | "MTR" => "MTR",
        "CM" | "CMT" => "CMT",
        "MM" | "MMT" => "MMT",
        "M2" | "MTK" => "MTK",
        "M3" | "MTQ" => "MTQ",
        "H" | "HUR" => "HUR",
        "MIN" => "MIN",
        "KAR" | "CT" => "CT",
        "PAL" | "PF" => "PF",
        "PAA" | "PR" => "PR",
        _ => return v,
    };
    Text::from(iso)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_with_trailing_minus() {
        // Scenario: SAP's trailing minus, blanks and trailing zeros.
        assert_eq!(
            decimal("12.500-", || "F".into()).unwrap().to_string(),
            "-12.5"
        );
        assert_eq!(
            decimal(" 845.90 ", || "F".into()).unwrap().to_string(),
            "845.9"
        );
        assert_eq!(decimal("-3", || "F".into()).unwrap().to_string(), "-3");
        assert_eq!(decimal("0.000", || "F".into()).unwrap().to_string(), "0");
        for bad in ["", "-", "1,5", "abc", "--1", "-1-", "1e5"] {
            let e = decimal(bad, || "E1MARAM.BRGEW".into()).unwrap_err();
            assert_eq!(e.path(), Some("E1MARAM.BRGEW"), "{bad}");
        }
        assert_eq!(opt_decimal(Some("  "), || "F".into()).unwrap(), None);
    }

    #[test]
    fn dates_and_times() {
        // Scenario: YYYYMMDD with 00000000 as none; HHMMSS; impossible dates are errors.
        assert_eq!(
            date(Some("20261120"), || "D".into()).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 20)
        );
        assert_eq!(date(Some("00000000"), || "D".into()).unwrap(), None);
        assert_eq!(date(None, || "D".into()).unwrap(), None);
        assert!(date(Some("20261332"), || "D".into()).is_err());
        assert!(date(Some("2026-11-20"), || "D".into()).is_err());
        assert_eq!(
            time(Some("101502"), || "T".into()).unwrap(),
            NaiveTime::from_hms_opt(10, 15, 2)
        );
        assert!(time(Some("256000"), || "T".into()).is_err());
    }

    proptest::proptest! {
        #[test]
        fn dates_and_times_read_as_chrono_reads_them(d in "[0-9]{8}", t in "[0-9]{6}") {
            // Scenario: the digit reader gives what chrono's format parser gives, for any digits.
            let chrono_date = NaiveDate::parse_from_str(&d, "%Y%m%d").ok();
            let ours = date(Some(&d), || "D".into());
            if d.bytes().all(|b| b == b'0') {
                proptest::prop_assert_eq!(ours.unwrap(), None);
            } else {
                proptest::prop_assert_eq!(ours.ok().flatten(), chrono_date);
            }
            let chrono_time = NaiveTime::parse_from_str(&t, "%H%M%S").ok();
            if t != "240000" {
                proptest::prop_assert_eq!(time(Some(&t), || "T".into()).ok().flatten(), chrono_time);
            }
        }
    }

    #[test]
    fn flags_languages_units() {
        // Scenario: X flags, one-letter languages and internal units map to ISO.
        assert!(flag(Some("X")) && !flag(Some("")) && !flag(None));
        assert_eq!(language("E"), "EN");
        assert_eq!(language("pt"), "PT");
        assert_eq!(unit("ST"), "PCE");
        assert_eq!(unit("PC"), "PCE");
        assert_eq!(unit("KG"), "KGM");
        assert_eq!(unit("xyz"), "XYZ");
    }
}
