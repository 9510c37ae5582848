//! Generators of change events for property tests (feature `testing`), shared by this crate's
//! tests and the integration tests against DynamoDB Local.

use chrono::{DateTime, TimeZone, Utc};
use hub_model::event::{Format, Source};
use hub_model::records::{
    Customer, SalesOrder, SalesOrderItem, Supplier, SupplierBankDetail, SupplierCompanyCode,
};
use hub_model::{ChangeEvent, Entity, Op, Record, Version};
use proptest::prelude::*;

/// The fixed "now" of property tests (so that `updated_at` is comparable).
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
}

/// A change of `key` with sequence number `seq`; `variant` varies the data.
pub fn event(entity: Entity, key: &str, seq: u64, op: Op, variant: u8) -> ChangeEvent {
    let at = Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap()
        + chrono::Duration::seconds((seq / 3) as i64);
    let data = match (op, entity) {
        (Op::Delete, _) => None,
        (_, Entity::Customer) => Some(Record::Customer(Customer {
            customer: key.into(),
            name: Some(format!("name-{variant}").into()),
            ..Customer::default()
        })),
        (_, Entity::Supplier) => Some(Record::Supplier(Supplier {
            supplier: key.into(),
            name: Some(format!("name-{variant}").into()),
            company_codes: vec![SupplierCompanyCode {
                company_code: "1000".into(),
                payment_terms: Some(format!("NT{}", variant % 4 * 30).into()),
                ..SupplierCompanyCode::default()
            }],
            bank_details: (0..variant % 2 + 1)
                .map(|i| SupplierBankDetail {
                    country: "PT".into(),
                    bank_key: Some("00350001".into()),
                    account: Some(
                        format!("{:011}", u32::from(variant) * 10 + u32::from(i))
                            .as_str()
                            .into(),
                    ),
                    ..SupplierBankDetail::default()
                })
                .collect(),
            ..Supplier::default()
        })),
        (_, _) => Some(Record::SalesOrder(SalesOrder {
            order: key.into(),
            sold_to: Some(format!("{}", variant % 2).into()),
            items: (0..(variant % 3 + 1))
                .map(|i| SalesOrderItem {
                    item: format!("{}", (i + 1) * 10).into(),
                    material: Some(format!("M{}", (variant as u32 + i as u32) % 4).into()),
                    ..SalesOrderItem::default()
                })
                .collect(),
            ..SalesOrder::default()
        })),
    };
    ChangeEvent {
        event_id: format!("e:{key}:{seq}"),
        entity,
        key: key.to_string(),
        op,
        version: Version::new(at, seq),
        occurred_at: at,
        published_at: None,
        source: Source {
            system: "S".into(),
            client: None,
            format: Format::IdocXml,
            message_type: "T".into(),
            document_type: None,
            document: seq.to_string(),
            topic: None,
            partition: None,
            offset: None,
        },
        correlation_id: "c".into(),
        schema: entity.schema().into(),
        data,
    }
}

/// The entities whose records [`event`] generates (for a material it gives an order's record,
/// which a plan refuses).
pub const ENTITIES: [Entity; 3] = [Entity::Customer, Entity::SalesOrder, Entity::Supplier];

/// Strategy: up to `max` distinct changes over three keys of customers, orders and suppliers.
pub fn events(prefix: &str, max: usize) -> impl Strategy<Value = Vec<ChangeEvent>> {
    // Distinct changes over 3 keys (`<prefix>0`…`<prefix>2`) of 3 entities; a change's version
    // is unique per key (its sequence number).
    let prefix = prefix.to_string();
    prop::collection::vec(
        (
            prop::sample::select(&ENTITIES[..]),
            0usize..3,
            prop::bool::weighted(0.25),
            any::<u8>(),
        ),
        1..max,
    )
    .prop_map(move |specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(seq, (entity, key, delete, variant))| {
                let op = if delete { Op::Delete } else { Op::Upsert };
                event(entity, &format!("{prefix}{key}"), seq as u64, op, variant)
            })
            .collect()
    })
}

/// Shuffles in place with a small deterministic generator (xorshift), seeded.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut s = seed | 1;
    for i in (1..items.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let j = (s % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// A store that throttles: writes of the listed keys fail with a transient error `times` times
/// (`u32::MAX`: always) before reaching the inner store. Counts every `apply` call.
#[derive(Debug)]
pub struct Throttling<S> {
    inner: S,
    keys: std::collections::HashSet<String>,
    remaining: std::sync::Mutex<std::collections::HashMap<String, u32>>,
    times: u32,
    /// `apply` calls received, throttled or not.
    pub calls: std::sync::atomic::AtomicU64,
}

impl<S> Throttling<S> {
    /// Wraps `inner`; writes whose business key is in `keys` fail `times` times.
    pub fn new(inner: S, keys: &[&str], times: u32) -> Throttling<S> {
        Throttling {
            inner,
            keys: keys.iter().map(|k| k.to_string()).collect(),
            remaining: Default::default(),
            times,
            calls: Default::default(),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: crate::EntityStore> crate::EntityStore for Throttling<S> {
    async fn apply(&self, plan: &crate::WritePlan) -> Result<crate::Applied, hub_core::PortError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let key = plan
            .main
            .attrs
            .get("key")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string();
        if self.keys.contains(&key) {
            let mut remaining = self.remaining.lock().expect("not poisoned");
            let left = remaining.entry(key).or_insert(self.times);
            if *left > 0 {
                *left = left.saturating_sub(if self.times == u32::MAX { 0 } else { 1 });
                return Err(hub_core::PortError::transient(
                    "dynamodb:PutItem",
                    "ProvisionedThroughputExceededException (injected)",
                ));
            }
        }
        self.inner.apply(plan).await
    }

    async fn get(&self, key: &crate::Key) -> Result<Option<crate::Item>, hub_core::PortError> {
        self.inner.get(key).await
    }

    async fn query(&self, pk: &str) -> Result<Vec<crate::Item>, hub_core::PortError> {
        self.inner.query(pk).await
    }

    async fn query_gsi1(
        &self,
        gsi1pk: &str,
        prefix: &str,
        descending: bool,
    ) -> Result<Vec<crate::Item>, hub_core::PortError> {
        self.inner.query_gsi1(gsi1pk, prefix, descending).await
    }
}

/// Items as two tables are compared for convergence (DESIGN §3): an order's material index
/// rows without their `version`, which is the change that last changed the order's set of
/// materials and so depends on the order changes arrived in (their keys, what readers use,
/// must converge).
pub fn comparable(items: Vec<crate::Item>) -> Vec<crate::Item> {
    items
        .into_iter()
        .map(|mut i| {
            if i.key.pk.starts_with(crate::keys::ORDER)
                && i.key.sk.starts_with(crate::keys::MATERIAL)
            {
                i.attrs.remove("version");
            }
            i
        })
        .collect()
}
