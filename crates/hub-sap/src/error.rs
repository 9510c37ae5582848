//! Everything that can be wrong with a Kafka record from SAP, each with where it is wrong.
//!
//! Every error is one of two classes ([`hub_core::ErrorClass`]):
//! - **poison**: the bytes themselves are unusable (not XML or JSON, malformed, oversized, too
//!   deep, a key missing, a number or date that is not one). Re-sending them will never work;
//!   they go to the bridge DLQ with the raw record.
//! - **permanent**: well-formed input the hub does not handle (yet): an IDoc message type or a
//!   CloudEvent type without a mapping. A later release can redrive them from the DLQ.
//!
//! **No field's value in a message.** An error is logged at WARN and its text goes into the
//! bridge DLQ's `error_message`: it names the kind and the path, and of a bad value only its
//! [`Shape`] (length and classes of characters), never the value, which can be personal data (a
//! name in a number field, an e-mail address in a date). The raw bytes stay in the dead letter's
//! body, where they belong. The few identifiers an error quotes (a message type, an event type, a
//! spec version, an encoding label) are quoted only when they look like one ([`identifier`]).

use hub_core::{Classify, ErrorClass};
use std::fmt;
use thiserror::Error;

/// Why a Kafka record could not become change events.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// The value is larger than the configured limit.
    #[error("record of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Bytes in the record value.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The value is empty.
    #[error("record value is empty")]
    Empty,
    /// Neither IDoc XML nor a CloudEvent (by headers or content).
    #[error("not a recognised SAP format: {0}")]
    Unrecognized(String),
    /// The XML is malformed.
    #[error("not well-formed XML at byte {position}: {reason}")]
    Xml {
        /// Byte offset where the parser gave up.
        position: u64,
        /// The parser's message.
        reason: String,
    },
    /// The text is not in the encoding it declares (or not UTF-8).
    #[error("bad text encoding ({encoding}): {reason}")]
    Encoding {
        /// The encoding.
        encoding: String,
        /// What is wrong.
        reason: String,
    },
    /// Nested deeper than the limit.
    #[error("{path}: nesting deeper than {limit} levels")]
    TooDeep {
        /// Where.
        path: String,
        /// The limit.
        limit: usize,
    },
    /// More segments than the limit.
    #[error("more than {limit} segments in one document")]
    TooManySegments {
        /// The limit.
        limit: usize,
    },
    /// The document holds no `IDOC` element.
    #[error("no IDOC element in the document")]
    NoIdoc,
    /// An IDOC without its control record.
    #[error("{path}: missing control record EDI_DC40")]
    MissingControlRecord {
        /// Which IDOC (`IDOC[0]`).
        path: String,
    },
    /// An IDoc message type the hub does not map.
    #[error("{path}: unsupported IDoc message type {message_type} (basic type {idoc_type})")]
    UnsupportedIdocType {
        /// Where.
        path: String,
        /// MESTYP.
        message_type: String,
        /// IDOCTYP.
        idoc_type: String,
    },
    /// A required segment is missing.
    #[error("{path}: missing segment {segment}")]
    MissingSegment {
        /// Where it should be.
        path: String,
        /// The segment.
        segment: String,
    },
    /// A required field (a key, a control-record field) is missing or empty.
    #[error("{path}: missing required field")]
    MissingField {
        /// The field, e.g. `IDOC[0].E1MARAM.MATNR`.
        path: String,
    },
    /// A field that must be a number is not one.
    #[error("{path}: not a number ({shape})")]
    BadNumber {
        /// The field.
        path: String,
        /// What its value looks like (never the value).
        shape: Shape,
    },
    /// A field that must be a date or time is not one.
    #[error("{path}: not a valid date/time ({shape})")]
    BadDate {
        /// The field.
        path: String,
        /// What its value looks like (never the value).
        shape: Shape,
    },
    /// The JSON is malformed, or not an object where one is needed.
    #[error("{path}: not valid JSON: {reason}")]
    Json {
        /// Where (`$` for the whole value, `header ce_type`…).
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A required CloudEvents attribute is missing.
    #[error("CloudEvent attribute {0} is missing")]
    MissingAttribute(String),
    /// A CloudEvents spec version other than 1.0.
    #[error("CloudEvents specversion {0} is not supported (only 1.0)")]
    UnsupportedSpecVersion(String),
    /// A CloudEvent type the hub does not map.
    #[error("unsupported CloudEvent type {0}")]
    UnsupportedEventType(String),
}

/// What a bad value looks like, without the value: its length and the classes of its
/// characters (`12 characters: letters, digits, spaces`). Enough to tell a misaligned field from
/// a wrong format; nothing personal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Characters in the value.
    pub chars: usize,
    digits: bool,
    letters: bool,
    spaces: bool,
    punctuation: bool,
    other: bool,
}

impl Shape {
    /// The shape of `value`.
    pub fn of(value: &str) -> Shape {
        let mut s = Shape {
            chars: 0,
            digits: false,
            letters: false,
            spaces: false,
            punctuation: false,
            other: false,
        };
        for c in value.chars() {
            s.chars += 1;
            match c {
                '0'..='9' => s.digits = true,
                c if c.is_alphabetic() => s.letters = true,
                c if c.is_whitespace() => s.spaces = true,
                c if c.is_ascii_punctuation() => s.punctuation = true,
                _ => s.other = true,
            }
        }
        s
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = if self.chars == 1 {
            "character"
        } else {
            "characters"
        };
        write!(f, "{} {unit}", self.chars)?;
        let classes = [
            (self.digits, "digits"),
            (self.letters, "letters"),
            (self.spaces, "spaces"),
            (self.punctuation, "punctuation"),
            (self.other, "other"),
        ];
        let mut first = true;
        for (_, name) in classes.iter().filter(|(present, _)| *present) {
            f.write_str(if first { ": " } else { ", " })?;
            f.write_str(name)?;
            first = false;
        }
        Ok(())
    }
}

/// An identifier from the input (a message type, an event type, a spec version, an encoding
/// label) as an error may quote it: itself when it is made only of `[A-Za-z0-9._/:-]` and at
/// most `max` characters long (as SAP's identifiers are), else only its [`Shape`] in angle
/// brackets, so that a personal value sent where an identifier belongs is never quoted.
pub fn identifier(value: &str, max: usize) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._/:-".contains(c);
    if !value.is_empty() && value.len() <= max && value.chars().all(plain) {
        value.to_string()
    } else {
        format!("<{}>", Shape::of(value))
    }
}

impl ParseError {
    /// A short, stable name of the kind of error, for DLQ attributes and metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            ParseError::TooLarge { .. } => "too_large",
            ParseError::Empty => "empty",
            ParseError::Unrecognized(_) => "unrecognized",
            ParseError::Xml { .. } => "bad_xml",
            ParseError::Encoding { .. } => "bad_encoding",
            ParseError::TooDeep { .. } => "too_deep",
            ParseError::TooManySegments { .. } => "too_many_segments",
            ParseError::NoIdoc => "no_idoc",
            ParseError::MissingControlRecord { .. } => "missing_control_record",
            ParseError::UnsupportedIdocType { .. } => "unsupported_idoc_type",
            ParseError::MissingSegment { .. } => "missing_segment",
            ParseError::MissingField { .. } => "missing_field",
            ParseError::BadNumber { .. } => "bad_number",
            ParseError::BadDate { .. } => "bad_date",
            ParseError::Json { .. } => "bad_json",
            ParseError::MissingAttribute(_) => "missing_attribute",
            ParseError::UnsupportedSpecVersion(_) => "unsupported_specversion",
            ParseError::UnsupportedEventType(_) => "unsupported_event_type",
        }
    }

    /// The field, segment or attribute at fault, if the error has one.
    pub fn path(&self) -> Option<&str> {
        match self {
            ParseError::TooDeep { path, .. }
            | ParseError::MissingControlRecord { path }
            | ParseError::UnsupportedIdocType { path, .. }
            | ParseError::MissingSegment { path, .. }
            | ParseError::MissingField { path }
            | ParseError::BadNumber { path, .. }
            | ParseError::BadDate { path, .. }
            | ParseError::Json { path, .. } => Some(path),
            ParseError::MissingAttribute(a) => Some(a),
            _ => None,
        }
    }
}

impl Classify for ParseError {
    fn class(&self) -> ErrorClass {
        match self {
            ParseError::UnsupportedIdocType { .. }
            | ParseError::UnsupportedEventType(_)
            | ParseError::UnsupportedSpecVersion(_) => ErrorClass::Permanent,
            _ => ErrorClass::Poison,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_value_is_described_never_quoted() {
        // Scenario: a name in a number field and an e-mail address in a date field give their
        // path, kind and shape; the values are nowhere in the messages.
        let e = ParseError::BadNumber {
            path: "IDOC[0].E1KNA1M.PSTLZ".into(),
            shape: Shape::of("Maria Souza"),
        };
        assert_eq!(
            e.to_string(),
            "IDOC[0].E1KNA1M.PSTLZ: not a number (11 characters: letters, spaces)"
        );
        let e = ParseError::BadDate {
            path: "data.BirthDate".into(),
            shape: Shape::of("maria.souza@example.com"),
        };
        assert_eq!(
            e.to_string(),
            "data.BirthDate: not a valid date/time (23 characters: letters, punctuation)"
        );
        assert_eq!(Shape::of("").to_string(), "0 characters");
        assert_eq!(Shape::of("7").to_string(), "1 character: digits");
        assert_eq!(
            Shape::of("Zoë €").to_string(),
            "5 characters: letters, spaces, other"
        );
    }

    #[test]
    fn identifiers_are_quoted_only_when_they_look_like_one() {
        // Scenario: a message type is quoted; a name or an e-mail address sent as one is not.
        assert_eq!(identifier("ZCREMAS", 30), "ZCREMAS");
        assert_eq!(
            identifier("sap.s4.beh.x.v1.X.Changed.v1", 200),
            "sap.s4.beh.x.v1.X.Changed.v1"
        );
        assert_eq!(
            identifier("Maria Souza", 30),
            "<11 characters: letters, spaces>"
        );
        assert_eq!(
            identifier("m@example.com", 30),
            "<13 characters: letters, punctuation>"
        );
        assert_eq!(identifier("ABCDEFGHIJ", 5), "<10 characters: letters>");
    }
}
