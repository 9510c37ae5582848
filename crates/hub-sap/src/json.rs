//! JSON read for the CloudEvent mapping: a value that borrows its strings from the input, with
//! the nesting bound checked while reading.
//!
//! `serde_json::Value` allocates every key and string and keeps an ordered map per object; the
//! mapping only looks fields up, so a borrowed value read in one pass is about twice as fast
//! (`cargo bench -p hub-sap --bench parse`).

use crate::error::ParseError;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// A JSON value; strings borrow from the input unless they had escapes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Object<'a>),
}

/// A JSON object's members in document order. A name given twice counts once, the last one,
/// as in `serde_json`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Object<'a>(Vec<(Cow<'a, str>, Json<'a>)>);

impl<'a> Object<'a> {
    /// The value of member `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Json<'a>> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Takes member `name` out.
    pub(crate) fn remove(&mut self, name: &str) -> Option<Json<'a>> {
        let last = self.0.iter().rposition(|(k, _)| k == name)?;
        let value = self.0.remove(last).1;
        self.0.retain(|(k, _)| k != name);
        Some(value)
    }

    /// Member names.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_ref())
    }
}

/// What the visitor reports when the nesting passes the bound (turned into
/// [`ParseError::TooDeep`]).
const TOO_DEEP: &str = "nesting deeper than the limit";

/// Reads `bytes` as one JSON value nested at most `max_depth` arrays and objects deep.
pub(crate) fn parse(bytes: &[u8], max_depth: usize) -> Result<Json<'_>, ParseError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Seed { depth: max_depth }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    value.map_err(|e| {
        let message = e.to_string();
        // serde_json's own bound (128) may come first when ours is higher.
        if message.starts_with(TOO_DEEP) || message.starts_with("recursion limit exceeded") {
            ParseError::TooDeep {
                path: "$".into(),
                limit: max_depth,
            }
        } else {
            ParseError::Json {
                path: "$".into(),
                reason: message,
            }
        }
    })
}

/// Reads one value with `depth` levels of nesting left.
#[derive(Clone, Copy)]
struct Seed {
    depth: usize,
}

impl Seed {
    fn deeper<E: de::Error>(self) -> Result<Seed, E> {
        match self.depth.checked_sub(1) {
            Some(depth) => Ok(Seed { depth }),
            None => Err(E::custom(TOO_DEEP)),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Json<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json<'de>, E> {
        // serde_json reads no NaN or infinity; `Null` would only stand for one.
        Ok(serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let inner = self.deeper()?;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element_seed(inner)? {
            items.push(v);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let inner = self.deeper()?;
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(k) = map.next_key_seed(Name)? {
            members.push((k, map.next_value_seed(inner)?));
        }
        Ok(Json::Object(Object(members)))
    }
}

/// Reads a member name, borrowed when it had no escapes.
struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The same value as `serde_json::Value`, for comparison.
    fn to_value(j: &Json<'_>) -> serde_json::Value {
        use serde_json::Value;
        match j {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::String(s) => Value::String(s.to_string()),
            Json::Array(a) => Value::Array(a.iter().map(to_value).collect()),
            Json::Object(o) => {
                let mut m = serde_json::Map::new();
                for (k, v) in &o.0 {
                    m.insert(k.to_string(), to_value(v));
                }
                Value::Object(m)
            }
        }
    }

    #[test]
    fn strings_borrow_unless_escaped_and_duplicates_keep_the_last() {
        // Scenario: plain strings and names borrow from the input, escaped ones are decoded; a
        // member given twice reads as its last value, as serde_json reads it.
        let text = br#"{"a": "plain", "b\u0041": "tab\tbed", "a": 2, "n": null}"#;
        let Json::Object(mut o) = parse(text, 8).unwrap() else {
            panic!("an object")
        };
        assert!(matches!(
            o.0[0],
            (Cow::Borrowed("a"), Json::String(Cow::Borrowed("plain")))
        ));
        assert!(
            matches!(&o.0[1], (Cow::Owned(k), Json::String(Cow::Owned(v))) if k == "bA" && v == "tab\tbed")
        );
        assert_eq!(o.get("a"), Some(&Json::Number(2.into())));
        assert_eq!(o.keys().collect::<Vec<_>>(), ["a", "bA", "a", "n"]);
        assert_eq!(o.remove("a"), Some(Json::Number(2.into())));
        assert_eq!(o.get("a"), None);
        assert_eq!(o.get("n"), Some(&Json::Null));
    }

    #[test]
    fn nesting_is_bounded_and_bad_json_is_a_typed_error() {
        // Scenario: nesting past the bound is TooDeep (ours, or serde_json's own at 128);
        // brackets inside strings do not count; malformed and trailing input are Json errors.
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        for limit in [4, 64, 500] {
            assert!(
                matches!(parse(deep.as_bytes(), limit), Err(ParseError::TooDeep { limit: l, .. }) if l == limit),
                "{limit}"
            );
        }
        assert!(parse(b"[[[[1]]]]", 4).is_ok());
        assert!(matches!(
            parse(b"[[[[[1]]]]]", 4),
            Err(ParseError::TooDeep { .. })
        ));
        assert!(parse(br#"{"a": "[[[[[[[[[[[[[[[[[[[["}"#, 4).is_ok());
        for bad in [&b"{"[..], b"{\"a\" 1}", b"[1,]", b"{} {}", b"", b"nul"] {
            assert!(
                matches!(parse(bad, 8), Err(ParseError::Json { .. })),
                "{bad:?}"
            );
        }
    }

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e12f64..1e12).prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("[a-zA-Z\"\\\\é]{0,6}", inner), 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn reads_what_serde_json_reads(v in arb_json()) {
            // Scenario: any JSON text reads to the same value as with serde_json::Value.
            let text = serde_json::to_vec(&v).unwrap();
            let ours = parse(&text, 16).unwrap();
            prop_assert_eq!(to_value(&ours), serde_json::from_slice::<serde_json::Value>(&text).unwrap());
        }
    }
}
