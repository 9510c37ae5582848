//! The claim check: how an event too large for SNS (256 KiB) travels. The bridge stores the
//! event JSON in an object store and publishes a small pointer instead; consumers resolve it
//! transparently.
//!
//! The pointer is the message body `{"claim_check": {"uri": "s3://bucket/key", "bytes": n}}`,
//! published with the usual routing attributes plus `claim_check = "s3"`, so that filter policies
//! still route it.

use serde::{Deserialize, Serialize};

/// The message attribute that marks a claim-check pointer.
pub const ATTRIBUTE: &str = "claim_check";

/// SNS's message size limit (256 KiB), over which the bridge uses a claim check.
pub const SNS_MAX_BYTES: usize = 256 * 1024;

/// Where the full event is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimCheck {
    /// `s3://<bucket>/<key>`.
    pub uri: String,
    /// Size of the stored event JSON.
    pub bytes: u64,
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    claim_check: ClaimCheck,
}

impl ClaimCheck {
    /// The message body carrying this pointer.
    pub fn to_body(&self) -> String {
        serde_json::to_string(&Envelope {
            claim_check: self.clone(),
        })
        .expect("a claim check serialises")
    }

    /// The pointer in a message body, if the body is one.
    ///
    /// ```
    /// use hub_model::claim_check::ClaimCheck;
    /// let c = ClaimCheck { uri: "s3://b/k".into(), bytes: 1 };
    /// assert_eq!(ClaimCheck::from_body(&c.to_body()), Some(c));
    /// assert_eq!(ClaimCheck::from_body("{\"event_id\": \"x\"}"), None);
    /// ```
    pub fn from_body(body: &str) -> Option<ClaimCheck> {
        if !body.trim_start().starts_with("{\"claim_check\"") {
            return None;
        }
        serde_json::from_str::<Envelope>(body)
            .ok()
            .map(|e| e.claim_check)
    }

    /// The bucket and key of an `s3://` URI.
    pub fn s3_location(&self) -> Option<(&str, &str)> {
        s3_location(&self.uri)
    }
}

/// The bucket and key of an `s3://bucket/key` URI.
///
/// ```
/// assert_eq!(hub_model::claim_check::s3_location("s3://b/k/1"), Some(("b", "k/1")));
/// assert_eq!(hub_model::claim_check::s3_location("s3://b/"), None);
/// ```
pub fn s3_location(uri: &str) -> Option<(&str, &str)> {
    uri.strip_prefix("s3://")?
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
}
