//! Reading a resource's properties as CloudFormation states them, and comparing them with what
//! a service returns: the helpers every service module shares.

use super::{Drift, ProvisionError, unsupported};
use hub_template::Context;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Refuses any property that none of the `known` lists names: the provisioner never silently
/// drops what the template says.
pub(super) fn check_properties(
    id: &str,
    props: &Map<String, Value>,
    known: &[&[&str]],
) -> Result<(), ProvisionError> {
    for key in props.keys() {
        if !known.iter().any(|k| k.contains(&key.as_str())) {
            return Err(unsupported(
                format!("{id}.{key}"),
                "property is not supported by the local provisioner",
            ));
        }
    }
    Ok(())
}

/// The name property (`QueueName`, `TopicName`…) if the template sets one, else
/// `<stack>-<logical id><suffix>`: the local stand-in for CloudFormation's generated names.
pub(super) fn name_or_default(
    ctx: &Context<'_>,
    id: &str,
    props: &Map<String, Value>,
    property: &str,
    suffix: &str,
) -> String {
    props
        .get(property)
        .and_then(scalar)
        .unwrap_or_else(|| default_name(ctx, id, suffix))
}

/// `<stack>-<logical id><suffix>`.
pub(super) fn default_name(ctx: &Context<'_>, id: &str, suffix: &str) -> String {
    format!("{}-{id}{suffix}", ctx.stack().name)
}

/// The service attributes a resource's properties set: `scalars` stringified as CloudFormation
/// does, `documents` (policies) serialised as JSON.
pub(super) fn attributes(
    id: &str,
    props: &Map<String, Value>,
    scalars: &[&str],
    documents: &[&str],
) -> Result<BTreeMap<String, String>, ProvisionError> {
    let mut out = BTreeMap::new();
    for key in scalars {
        if let Some(v) = props.get(*key) {
            out.insert(key.to_string(), prop_string(id, key, v)?);
        }
    }
    for key in documents {
        if let Some(v) = props.get(*key) {
            out.insert(key.to_string(), document_string(v));
        }
    }
    Ok(out)
}

/// Whether a boolean property is `true`.
pub(super) fn is_true(props: &Map<String, Value>, key: &str) -> bool {
    props.get(key).and_then(scalar).as_deref() == Some("true")
}

pub(super) fn required<'a>(
    id: &str,
    props: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a Value, ProvisionError> {
    props
        .get(key)
        .ok_or_else(|| unsupported(format!("{id}.{key}"), "is required"))
}

/// A required scalar property.
pub(super) fn required_string(
    id: &str,
    props: &Map<String, Value>,
    key: &str,
) -> Result<String, ProvisionError> {
    prop_string(id, key, required(id, props, key)?)
}

pub(super) fn string_list(
    id: &str,
    props: &Map<String, Value>,
    key: &str,
) -> Result<Vec<String>, ProvisionError> {
    required(id, props, key)?
        .as_array()
        .map(|a| a.iter().filter_map(scalar).collect())
        .ok_or_else(|| unsupported(format!("{id}.{key}"), "must be a list"))
}

/// A scalar as CloudFormation stringifies it (`true`, `5`, `text`).
pub(super) fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(super) fn prop_string(id: &str, key: &str, v: &Value) -> Result<String, ProvisionError> {
    scalar(v)
        .ok_or_else(|| unsupported(format!("{id}.{key}"), "must be a string, number or boolean"))
}

/// A JSON document property (a policy, a redrive policy): mappings are serialised, strings kept.
pub(super) fn document_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The `Tags` property (`[{Key, Value}]`) as pairs.
pub(super) fn tags(props: &Map<String, Value>) -> Option<Vec<(String, String)>> {
    let tags = props.get("Tags")?.as_array()?;
    Some(
        tags.iter()
            .filter_map(|t| {
                Some((
                    t.get("Key").and_then(scalar)?,
                    t.get("Value").and_then(scalar)?,
                ))
            })
            .collect(),
    )
}

/// JSON with every scalar turned into its string form, for comparing documents that AWS
/// re-serialises (`"maxReceiveCount": "5"` vs `5`).
pub fn normalise(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, normalise(v))).collect()),
        Value::Array(a) => Value::Array(a.into_iter().map(normalise).collect()),
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        other => other,
    }
}

/// Whether the template's value and the live one mean the same: JSON documents are compared
/// parsed and normalised, booleans case-insensitively.
pub(super) fn same_value(expected: &str, actual: Option<&str>) -> bool {
    let Some(actual) = actual else {
        return false;
    };
    if expected == actual
        || expected.eq_ignore_ascii_case(actual)
            && matches!(expected, "true" | "false" | "True" | "False")
    {
        return true;
    }
    match (
        serde_json::from_str::<Value>(expected),
        serde_json::from_str::<Value>(actual),
    ) {
        (Ok(e @ (Value::Object(_) | Value::Array(_))), Ok(a)) => normalise(e) == normalise(a),
        _ => false,
    }
}

/// The expected attributes whose live value differs, except those in `immutable` (which can
/// only be set at creation).
pub(super) fn changed(
    expected: &BTreeMap<String, String>,
    live: &BTreeMap<String, String>,
    immutable: &[&str],
) -> BTreeMap<String, String> {
    expected
        .iter()
        .filter(|(k, v)| {
            !immutable.contains(&k.as_str()) && !same_value(v, live.get(*k).map(String::as_str))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Every expected attribute whose live value differs, as drift.
pub(super) fn compare(
    id: &str,
    expected: &BTreeMap<String, String>,
    live: &BTreeMap<String, String>,
) -> Vec<Drift> {
    expected
        .iter()
        .filter(|(k, v)| !same_value(v, live.get(*k).map(String::as_str)))
        .map(|(k, v)| drift_of(id, k, v, live.get(k)))
        .collect()
}

pub(super) fn drift_of(id: &str, property: &str, expected: &str, actual: Option<&String>) -> Drift {
    Drift {
        logical_id: id.to_string(),
        property: property.to_string(),
        expected: expected.to_string(),
        actual: actual.cloned().unwrap_or_else(|| "(not set)".to_string()),
    }
}

/// Whether an SDK error is a service error with one of these codes.
pub(super) fn is_code<E: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    err: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
    codes: &[&str],
) -> bool {
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|c| codes.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_compare_by_meaning() {
        // Scenario: a redrive policy written with a numeric string in the template equals the
        // one SQS returns with a number; key order does not matter.
        assert!(same_value(
            r#"{"deadLetterTargetArn":"arn:x","maxReceiveCount":"5"}"#,
            Some(r#"{"maxReceiveCount": 5, "deadLetterTargetArn": "arn:x"}"#)
        ));
        assert!(!same_value(
            r#"{"deadLetterTargetArn":"arn:x","maxReceiveCount":"5"}"#,
            Some(r#"{"maxReceiveCount": 6, "deadLetterTargetArn": "arn:x"}"#)
        ));
        assert!(same_value("true", Some("True")));
        assert!(!same_value("30", None));
        assert!(!same_value("30", Some("31")));
    }

    #[test]
    fn unknown_properties_are_refused() {
        // Scenario: a property the provisioner does not know fails, naming it, instead of being
        // silently dropped.
        let mut props = Map::new();
        props.insert("QueueName".into(), Value::String("q".into()));
        props.insert("Colour".into(), Value::String("blue".into()));
        let err = check_properties("Q", &props, &[&["QueueName"]]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Q.Colour: property is not supported by the local provisioner"
        );
    }

    #[test]
    fn only_differing_mutable_attributes_change() {
        // Scenario: an update sends only what differs, never an attribute fixed at creation.
        let expected = BTreeMap::from([
            ("VisibilityTimeout".to_string(), "30".to_string()),
            ("FifoQueue".to_string(), "true".to_string()),
            ("DelaySeconds".to_string(), "0".to_string()),
        ]);
        let live = BTreeMap::from([
            ("VisibilityTimeout".to_string(), "60".to_string()),
            ("DelaySeconds".to_string(), "0".to_string()),
        ]);
        let changed = changed(&expected, &live, &["FifoQueue"]);
        assert_eq!(
            changed,
            BTreeMap::from([("VisibilityTimeout".to_string(), "30".to_string())])
        );
        assert_eq!(compare("Q", &expected, &live).len(), 2);
    }
}
