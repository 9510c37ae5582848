//! DynamoDB: `AWS::DynamoDB::Table` (keys, attribute definitions, GSIs, LSIs, billing, stream)
//! and its time to live. DynamoDB Local lacks point-in-time recovery, encryption settings and
//! tags; those are noted and applied only by `sam deploy`.

use super::props::{check_properties, name_or_default, scalar};
use super::{Drift, ProvisionError, ResourceKind, unsupported};
use aws_sdk_dynamodb::types as ddb;
use hub_aws::AwsError;
use hub_template::{Context, Physical};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// Table properties the local stack implements.
const PROPERTIES: &[&str] = &[
    "TableName",
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "ProvisionedThroughput",
    "StreamSpecification",
    "TimeToLiveSpecification",
];

/// `AWS::DynamoDB::Table`.
pub(super) struct Table<'a>(pub &'a aws_sdk_dynamodb::Client);

/// A table as the template states it.
pub(super) struct TableDesired {
    name: String,
    spec: TableSpec,
}

/// A table as DynamoDB has it: its description and the attribute its time to live is on.
pub(super) struct LiveTable {
    description: ddb::TableDescription,
    ttl: Option<String>,
}

impl ResourceKind for Table<'_> {
    type Desired = TableDesired;
    type Live = LiveTable;

    const CLOUD_ONLY_PROPERTIES: &'static [&'static str] = &[
        "PointInTimeRecoverySpecification",
        "SSESpecification",
        "Tags",
        "DeletionProtectionEnabled",
        "ContributorInsightsSpecification",
        "TableClass",
    ];

    fn desired(
        &self,
        ctx: &Context<'_>,
        id: &str,
        props: &Map<String, Value>,
    ) -> Result<TableDesired, ProvisionError> {
        check_properties(id, props, &[PROPERTIES, Self::CLOUD_ONLY_PROPERTIES])?;
        Ok(TableDesired {
            name: name_or_default(ctx, id, props, "TableName", ""),
            spec: TableSpec::from_properties(id, props)?,
        })
    }

    fn physical(&self, _id: &str, d: &TableDesired, live: Option<&LiveTable>) -> Physical {
        let mut attributes = BTreeMap::new();
        if let Some(t) = live.map(|l| &l.description) {
            attributes.insert(
                "Arn".to_string(),
                Value::String(t.table_arn().unwrap_or_default().to_string()),
            );
            if let Some(s) = t.latest_stream_arn() {
                attributes.insert("StreamArn".to_string(), Value::String(s.to_string()));
            }
        }
        Physical {
            reference: d.name.clone(),
            attributes,
        }
    }

    async fn read(&self, _id: &str, d: &TableDesired) -> Result<Option<LiveTable>, ProvisionError> {
        let Some(description) = self.describe(&d.name).await? else {
            return Ok(None);
        };
        let ttl = self.ttl(&d.name).await?;
        Ok(Some(LiveTable { description, ttl }))
    }

    async fn create(&self, id: &str, d: &TableDesired) -> Result<(), ProvisionError> {
        match d.spec.create(self.0, &d.name).await {
            Ok(()) => {}
            // Another process provisioning the same stack (a bridge and a domains process
            // started together) created it since it was read: the same table, wait for it.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) => {}
            Err(e) => return Err(AwsError::sdk("dynamodb:CreateTable", e).into()),
        }
        self.wait_active(&d.name).await?;
        let ttl = self.ttl(&d.name).await?;
        self.set_ttl(id, d, ttl.as_deref()).await?;
        Ok(())
    }

    async fn update(
        &self,
        id: &str,
        d: &TableDesired,
        live: &LiveTable,
    ) -> Result<bool, ProvisionError> {
        self.set_ttl(id, d, live.ttl.as_deref()).await
    }

    fn diff(&self, id: &str, d: &TableDesired, live: &LiveTable) -> Vec<Drift> {
        d.spec.drift(id, &live.description, live.ttl.clone())
    }
}

impl Table<'_> {
    async fn describe(&self, name: &str) -> Result<Option<ddb::TableDescription>, ProvisionError> {
        match self.0.describe_table().table_name(name).send().await {
            Ok(out) => Ok(out.table().cloned()),
            Err(e) if super::props::is_code(&e, &["ResourceNotFoundException"]) => Ok(None),
            Err(e) => Err(AwsError::sdk("dynamodb:DescribeTable", e).into()),
        }
    }

    /// Polls until the table is ACTIVE (DynamoDB Local: at once; AWS: seconds).
    async fn wait_active(&self, name: &str) -> Result<(), ProvisionError> {
        for _ in 0..600 {
            let t = self.describe(name).await?;
            if t.as_ref().and_then(|t| t.table_status()) == Some(&ddb::TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// The attribute the table's time to live is on, if it is enabled.
    async fn ttl(&self, name: &str) -> Result<Option<String>, ProvisionError> {
        let out = self
            .0
            .describe_time_to_live()
            .table_name(name)
            .send()
            .await
            .map_err(|e| AwsError::sdk("dynamodb:DescribeTimeToLive", e))?;
        Ok(out.time_to_live_description().and_then(|d| {
            matches!(
                d.time_to_live_status(),
                Some(ddb::TimeToLiveStatus::Enabled | ddb::TimeToLiveStatus::Enabling)
            )
            .then(|| d.attribute_name().unwrap_or_default().to_string())
        }))
    }

    /// Sets the time to live the template states, if `live` differs; whether it did.
    async fn set_ttl(
        &self,
        id: &str,
        d: &TableDesired,
        live: Option<&str>,
    ) -> Result<bool, ProvisionError> {
        let Some((attr, enabled)) = &d.spec.ttl else {
            return Ok(false);
        };
        if live == enabled.then_some(attr.as_str()) {
            return Ok(false);
        }
        let spec = ddb::TimeToLiveSpecification::builder()
            .attribute_name(attr)
            .enabled(*enabled)
            .build()
            .map_err(|e| unsupported(format!("{id}.TimeToLiveSpecification"), e.to_string()))?;
        self.0
            .update_time_to_live()
            .table_name(&d.name)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| AwsError::sdk("dynamodb:UpdateTimeToLive", e))?;
        Ok(true)
    }
}

/// The table's schema as the template states it.
#[derive(Debug, Clone, PartialEq)]
struct TableSpec {
    attributes: BTreeMap<String, String>,
    keys: Vec<(String, String)>,
    gsis: BTreeMap<String, IndexSpec>,
    lsis: BTreeMap<String, IndexSpec>,
    billing: String,
    throughput: Option<(i64, i64)>,
    stream: Option<String>,
    ttl: Option<(String, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
struct IndexSpec {
    keys: Vec<(String, String)>,
    projection: String,
    non_key: Vec<String>,
    throughput: Option<(i64, i64)>,
}

impl TableSpec {
    fn from_properties(id: &str, props: &Map<String, Value>) -> Result<TableSpec, ProvisionError> {
        let bad = |what: &str| unsupported(format!("{id}.{what}"), "is malformed");
        let pairs = |v: Option<&Value>,
                     a: &str,
                     b: &str,
                     what: &str|
         -> Result<Vec<(String, String)>, ProvisionError> {
            v.and_then(Value::as_array)
                .ok_or_else(|| bad(what))?
                .iter()
                .map(|e| {
                    Ok((
                        e.get(a).and_then(scalar).ok_or_else(|| bad(what))?,
                        e.get(b).and_then(scalar).ok_or_else(|| bad(what))?,
                    ))
                })
                .collect()
        };
        let throughput = |v: Option<&Value>| -> Option<(i64, i64)> {
            let v = v?;
            Some((
                v.get("ReadCapacityUnits").and_then(scalar)?.parse().ok()?,
                v.get("WriteCapacityUnits").and_then(scalar)?.parse().ok()?,
            ))
        };
        let indexes = |key: &str| -> Result<BTreeMap<String, IndexSpec>, ProvisionError> {
            let Some(list) = props.get(key) else {
                return Ok(BTreeMap::new());
            };
            list.as_array()
                .ok_or_else(|| bad(key))?
                .iter()
                .map(|ix| {
                    let name = ix
                        .get("IndexName")
                        .and_then(scalar)
                        .ok_or_else(|| bad(key))?;
                    let p = ix.get("Projection");
                    Ok((
                        name,
                        IndexSpec {
                            keys: pairs(ix.get("KeySchema"), "AttributeName", "KeyType", key)?,
                            projection: p
                                .and_then(|p| p.get("ProjectionType"))
                                .and_then(scalar)
                                .unwrap_or_else(|| "ALL".into()),
                            non_key: p
                                .and_then(|p| p.get("NonKeyAttributes"))
                                .and_then(Value::as_array)
                                .map(|a| a.iter().filter_map(scalar).collect())
                                .unwrap_or_default(),
                            throughput: throughput(ix.get("ProvisionedThroughput")),
                        },
                    ))
                })
                .collect()
        };
        let stream = props
            .get("StreamSpecification")
            .and_then(|s| s.get("StreamViewType"))
            .and_then(scalar);
        let ttl = props.get("TimeToLiveSpecification").map(|t| {
            (
                t.get("AttributeName").and_then(scalar).unwrap_or_default(),
                t.get("Enabled").and_then(scalar).as_deref() == Some("true"),
            )
        });
        Ok(TableSpec {
            attributes: pairs(
                props.get("AttributeDefinitions"),
                "AttributeName",
                "AttributeType",
                "AttributeDefinitions",
            )?
            .into_iter()
            .collect(),
            keys: pairs(
                props.get("KeySchema"),
                "AttributeName",
                "KeyType",
                "KeySchema",
            )?,
            gsis: indexes("GlobalSecondaryIndexes")?,
            lsis: indexes("LocalSecondaryIndexes")?,
            billing: props
                .get("BillingMode")
                .and_then(scalar)
                .unwrap_or_else(|| "PROVISIONED".into()),
            throughput: throughput(props.get("ProvisionedThroughput")),
            stream,
            ttl,
        })
    }

    async fn create(
        &self,
        db: &aws_sdk_dynamodb::Client,
        name: &str,
    ) -> Result<
        (),
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::create_table::CreateTableError,
        >,
    > {
        // Builders only fail on missing required fields, which from_properties guarantees.
        let keys = |k: &[(String, String)]| -> Vec<ddb::KeySchemaElement> {
            k.iter()
                .filter_map(|(n, t)| {
                    ddb::KeySchemaElement::builder()
                        .attribute_name(n)
                        .key_type(ddb::KeyType::from(t.as_str()))
                        .build()
                        .ok()
                })
                .collect()
        };
        let throughput = |t: &Option<(i64, i64)>| {
            t.and_then(|(r, w)| {
                ddb::ProvisionedThroughput::builder()
                    .read_capacity_units(r)
                    .write_capacity_units(w)
                    .build()
                    .ok()
            })
        };
        let projection = |ix: &IndexSpec| {
            ddb::Projection::builder()
                .projection_type(ddb::ProjectionType::from(ix.projection.as_str()))
                .set_non_key_attributes((!ix.non_key.is_empty()).then(|| ix.non_key.clone()))
                .build()
        };
        let gsis: Vec<_> = self
            .gsis
            .iter()
            .filter_map(|(n, ix)| {
                ddb::GlobalSecondaryIndex::builder()
                    .index_name(n)
                    .set_key_schema(Some(keys(&ix.keys)))
                    .projection(projection(ix))
                    .set_provisioned_throughput(throughput(&ix.throughput))
                    .build()
                    .ok()
            })
            .collect();
        let lsis: Vec<_> = self
            .lsis
            .iter()
            .filter_map(|(n, ix)| {
                ddb::LocalSecondaryIndex::builder()
                    .index_name(n)
                    .set_key_schema(Some(keys(&ix.keys)))
                    .projection(projection(ix))
                    .build()
                    .ok()
            })
            .collect();
        db.create_table()
            .table_name(name)
            .set_attribute_definitions(Some(
                self.attributes
                    .iter()
                    .filter_map(|(n, t)| {
                        ddb::AttributeDefinition::builder()
                            .attribute_name(n)
                            .attribute_type(ddb::ScalarAttributeType::from(t.as_str()))
                            .build()
                            .ok()
                    })
                    .collect(),
            ))
            .set_key_schema(Some(keys(&self.keys)))
            .billing_mode(ddb::BillingMode::from(self.billing.as_str()))
            .set_provisioned_throughput(throughput(&self.throughput))
            .set_global_secondary_indexes((!gsis.is_empty()).then_some(gsis))
            .set_local_secondary_indexes((!lsis.is_empty()).then_some(lsis))
            .set_stream_specification(self.stream.as_ref().and_then(|v| {
                ddb::StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(ddb::StreamViewType::from(v.as_str()))
                    .build()
                    .ok()
            }))
            .send()
            .await?;
        Ok(())
    }

    fn drift(&self, id: &str, t: &ddb::TableDescription, ttl: Option<String>) -> Vec<Drift> {
        let mut out = Vec::new();
        let mut check = |property: &str, expected: String, actual: String| {
            if expected != actual {
                out.push(Drift {
                    logical_id: id.to_string(),
                    property: property.to_string(),
                    expected,
                    actual,
                });
            }
        };
        let keys_str = |k: &[(String, String)]| {
            k.iter()
                .map(|(n, t)| format!("{n} {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let live_keys = |k: &[ddb::KeySchemaElement]| {
            k.iter()
                .map(|e| format!("{} {}", e.attribute_name(), e.key_type().as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        check("KeySchema", keys_str(&self.keys), live_keys(t.key_schema()));
        let live_attrs: BTreeMap<String, String> = t
            .attribute_definitions()
            .iter()
            .map(|a| {
                (
                    a.attribute_name().to_string(),
                    a.attribute_type().as_str().to_string(),
                )
            })
            .collect();
        check(
            "AttributeDefinitions",
            format!("{:?}", self.attributes),
            format!("{live_attrs:?}"),
        );
        let index_str = |ix: &IndexSpec| {
            let mut nk = ix.non_key.clone();
            nk.sort();
            format!(
                "{} ({}{})",
                keys_str(&ix.keys),
                ix.projection,
                if nk.is_empty() {
                    String::new()
                } else {
                    format!(": {}", nk.join(","))
                }
            )
        };
        let live_projection = |p: Option<&ddb::Projection>| {
            let mut nk: Vec<String> = p
                .map(|p| p.non_key_attributes().to_vec())
                .unwrap_or_default();
            nk.sort();
            format!(
                "{}{}",
                p.and_then(|p| p.projection_type())
                    .map(|p| p.as_str())
                    .unwrap_or("ALL"),
                if nk.is_empty() {
                    String::new()
                } else {
                    format!(": {}", nk.join(","))
                }
            )
        };
        let expected_indexes = |ixs: &BTreeMap<String, IndexSpec>| {
            let m: BTreeMap<_, _> = ixs
                .iter()
                .map(|(n, ix)| (n.clone(), index_str(ix)))
                .collect();
            format!("{m:?}")
        };
        let live_indexes = |ixs: Vec<(
            Option<&str>,
            &[ddb::KeySchemaElement],
            Option<&ddb::Projection>,
        )>| {
            let m: BTreeMap<_, _> = ixs
                .into_iter()
                .map(|(name, keys, projection)| {
                    let shape = format!("{} ({})", live_keys(keys), live_projection(projection));
                    (name.unwrap_or_default().to_string(), shape)
                })
                .collect();
            format!("{m:?}")
        };
        let gsis = t
            .global_secondary_indexes()
            .iter()
            .map(|g| (g.index_name(), g.key_schema(), g.projection()))
            .collect();
        check(
            "GlobalSecondaryIndexes",
            expected_indexes(&self.gsis),
            live_indexes(gsis),
        );
        let lsis = t
            .local_secondary_indexes()
            .iter()
            .map(|g| (g.index_name(), g.key_schema(), g.projection()))
            .collect();
        check(
            "LocalSecondaryIndexes",
            expected_indexes(&self.lsis),
            live_indexes(lsis),
        );
        if let Some(b) = t.billing_mode_summary().and_then(|b| b.billing_mode()) {
            check("BillingMode", self.billing.clone(), b.as_str().to_string());
        }
        let live_stream = t
            .stream_specification()
            .filter(|s| s.stream_enabled())
            .and_then(|s| s.stream_view_type())
            .map(|v| v.as_str().to_string());
        check(
            "StreamSpecification.StreamViewType",
            format!("{:?}", self.stream),
            format!("{live_stream:?}"),
        );
        if let Some((attr, enabled)) = &self.ttl {
            check(
                "TimeToLiveSpecification",
                format!("{:?}", enabled.then(|| attr.clone())),
                format!("{ttl:?}"),
            );
        }
        out
    }
}
