//! Everything that can be wrong with a Kafka record from SAP, each with where it is wrong.
//!
//! Every error is one of two classes ([`hub_core::ErrorClass`]):
//! - **poison**: the bytes themselves are unusable (not XML or JSON, malformed, oversized, too
//!   deep, a key missing, a number or date that is not one). Re-sending them will never work;
//!   they go to the bridge DLQ with the raw record.
//! - **permanent**: well-formed input the hub does not handle (yet): an IDoc message type or a
//!   CloudEvent type without a mapping. A later release can redrive them from the DLQ.

use hub_core::{Classify, ErrorClass};
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
    #[error("{path}: {value:?} is not a number")]
    BadNumber {
        /// The field.
        path: String,
        /// Its value.
        value: String,
    },
    /// A field that must be a date or time is not one.
    #[error("{path}: {value:?} is not a valid date/time")]
    BadDate {
        /// The field.
        path: String,
        /// Its value.
        value: String,
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
