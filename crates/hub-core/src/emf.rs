//! CloudWatch Embedded Metric Format: a JSON object per line on stdout, which CloudWatch Logs
//! turns into metrics. Every hub component writes its lines through [`line`], so the envelope
//! (namespace, one dimension, the declared metric names and units) is the same everywhere.

use serde_json::{Map, Value, json};

/// The CloudWatch namespace of every hub metric.
pub const NAMESPACE: &str = "SapSyncHub";

/// An EMF line: `values` (metric name → value) declared as `metrics` (name, unit) under
/// [`NAMESPACE`] with the one dimension `(name, value)`.
///
/// ```
/// let l = hub_core::emf::line(("domain", "customers"), &[("n_total", "Count")],
///                             serde_json::json!({"n_total": 3}), 1);
/// assert_eq!(l["domain"], "customers");
/// assert_eq!(l["n_total"], 3);
/// assert_eq!(l["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], "n_total");
/// ```
pub fn line(
    dimension: (&str, &str),
    metrics: &[(&str, &str)],
    values: Value,
    timestamp_ms: i64,
) -> Value {
    let declared: Vec<Value> = metrics
        .iter()
        .map(|(name, unit)| json!({"Name": name, "Unit": unit}))
        .collect();
    let mut out = Map::new();
    out.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[dimension.0]],
                "Metrics": declared,
            }],
        }),
    );
    out.insert(dimension.0.into(), Value::String(dimension.1.into()));
    if let Value::Object(values) = values {
        out.extend(values);
    }
    Value::Object(out)
}
