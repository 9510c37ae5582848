//! S/4HANA business events as CloudEvents 1.0, in structured mode (the JSON event is the Kafka
//! value) or Kafka binary mode (attributes in `ce_*` headers, the data is the value).
//!
//! Types handled: `sap.s4.beh.<object>.v<n>.<Object>.<Created|Changed|Deleted>.v<n>` for
//! `businesspartner` and `customer` (→ [`Customer`]), `product` (→ [`Material`]),
//! `salesorder` (→ [`SalesOrder`]) and `supplier` (→ [`Supplier`]). With event-carried data (the
//! fields of the S/4 OData API), the record is mapped to the same typed record an IDoc gives. A
//! *thin* event (SAP's default: the key only) becomes [`Outcome::NeedsEnrichment`]; a thin
//! `Deleted` event is complete (a delete needs only the key).
//!
//! A supplier's data is API_BUSINESS_PARTNER's `A_Supplier` with its navigation properties
//! `to_SupplierCompany` and `to_SupplierPurchasingOrg`; its address and bank accounts are those
//! of the business partner of the same number, as that API has them: `to_BusinessPartnerAddress`
//! and `to_BusinessPartnerBank` (`A_BusinessPartnerBank`), carried in the same object. (SAP's
//! supplier event itself carries only the key; an enricher reading the API gives this shape.)

use crate::conv;
use crate::error::{ParseError, Shape, identifier};
use crate::json::{self, Json, Object};
use crate::record::{Envelope, NeedsEnrichment, Outcome};
use chrono::{DateTime, NaiveDate, Utc};
use compact_str::format_compact;
use hub_model::event::Format;
use hub_model::key::{normalize, normalize_text};
use hub_model::records::*;
use hub_model::{ChangeEvent, Entity, Op, Record, Source, Version};
use rust_decimal::Decimal;
use std::fmt::Display;

/// The attributes and data of a CloudEvent.
#[derive(Debug, Clone, PartialEq)]
struct CloudEvent<'a> {
    ty: String,
    source: String,
    id: String,
    time: Option<String>,
    sequence: Option<String>,
    correlation: Option<String>,
    data: Option<Json<'a>>,
}

/// Whether the record is a CloudEvent in Kafka binary mode.
pub fn is_binary(env: &Envelope<'_>) -> bool {
    env.header("ce_specversion").is_some()
}

/// Parses a binary-mode CloudEvent (attributes in `ce_*` headers).
pub fn parse_binary(env: &Envelope<'_>, max_depth: usize) -> Result<Vec<Outcome>, ParseError> {
    let spec = env.header("ce_specversion").unwrap_or_default();
    if spec != "1.0" {
        return Err(ParseError::UnsupportedSpecVersion(identifier(spec, 16)));
    }
    let attr = |n: &str| {
        env.prefixed_header("ce_", n)
            .map(str::to_string)
            .ok_or_else(|| ParseError::MissingAttribute(n.to_string()))
    };
    let data = if env.value.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(json::parse(env.value, max_depth)?)
    };
    let ce = CloudEvent {
        ty: attr("type")?,
        source: attr("source")?,
        id: attr("id")?,
        time: env.header("ce_time").map(str::to_string),
        sequence: env.header("ce_sequence").map(str::to_string),
        correlation: env
            .header("ce_correlationid")
            .map(str::to_string)
            .or_else(|| env.header("ce_sappassport").map(passport_correlation)),
        data,
    };
    to_outcome(ce, env)
}

/// Parses a structured-mode CloudEvent (the value is the JSON event).
pub fn parse_structured(env: &Envelope<'_>, max_depth: usize) -> Result<Vec<Outcome>, ParseError> {
    let v = json::parse(env.value, max_depth)?;
    let Json::Object(mut m) = v else {
        return Err(ParseError::Json {
            path: "$".into(),
            reason: "a CloudEvent is a JSON object".into(),
        });
    };
    let spec = attribute(&m, "specversion")
        .ok_or_else(|| ParseError::MissingAttribute("specversion".into()))?;
    if spec != "1.0" {
        return Err(ParseError::UnsupportedSpecVersion(identifier(&spec, 16)));
    }
    let attr = |m: &Object<'_>, n: &str| {
        attribute(m, n).ok_or_else(|| ParseError::MissingAttribute(n.to_string()))
    };
    // Data given as a JSON string is read from this copy of it.
    let data_text;
    let data = match m.remove("data") {
        Some(Json::Null) | None => None,
        Some(Json::String(text)) => {
            data_text = text;
            Some(json::parse(data_text.as_bytes(), max_depth)?)
        }
        Some(d) => Some(d),
    };
    let ce = CloudEvent {
        ty: attr(&m, "type")?,
        source: attr(&m, "source")?,
        id: attr(&m, "id")?,
        time: attribute(&m, "time"),
        sequence: attribute(&m, "sequence"),
        correlation: attribute(&m, "correlationid")
            .or_else(|| attribute(&m, "sappassport").map(|p| passport_correlation(&p))),
        data,
    };
    to_outcome(ce, env)
}

/// The correlation id made of an SAP passport: `passport:` and the first 16 hex digits of the
/// SHA-256 of the passport (its hex text, trimmed and upper-cased, so that the same passport
/// always gives the same id).
///
/// The passport (the `sappassport` attribute, SAP's `SAP-PASSPORT` header) is an opaque, hex-
/// encoded SAP structure that can carry the user, the system and the action that caused the
/// change; it is logged at every hop and stored on the item, so it is never used verbatim. Its
/// byte layout is SAP-internal and versioned (SAP documents its components, such as the
/// transaction id and the root context id, but not where they sit), so the hub does not cut the
/// transaction id out of it: a digest is as stable, correlates the same way, and cannot reveal
/// what the passport holds.
///
/// ```
/// let id = hub_sap::cloudevent::passport_correlation("2a54482a0300e6");
/// assert_eq!(id, hub_sap::cloudevent::passport_correlation(" 2A54482A0300E6 "));
/// assert!(id.starts_with("passport:") && id.len() == "passport:".len() + 16);
/// ```
pub fn passport_correlation(passport: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(passport.trim().to_ascii_uppercase().as_bytes());
    let mut id = String::with_capacity(9 + 16);
    id.push_str("passport:");
    for b in &digest[..8] {
        id.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        id.push(char::from(b"0123456789abcdef"[usize::from(b & 0xf)]));
    }
    id
}

/// `sap.s4.beh.<object>.v<n>.<Object>.<Action>.v<n>` → (entity, op).
fn event_type(ty: &str) -> Result<(Entity, &'static str, Op), ParseError> {
    let unsupported = || ParseError::UnsupportedEventType(identifier(ty, 200));
    let parts: Vec<&str> = ty.split('.').collect();
    let [sap, s4, beh, object, v1, _object, action, v2] = parts.as_slice() else {
        return Err(unsupported());
    };
    let is_version =
        |v: &str| v.len() > 1 && v.starts_with('v') && v[1..].bytes().all(|b| b.is_ascii_digit());
    if (*sap, *s4, *beh) != ("sap", "s4", "beh") || !is_version(v1) || !is_version(v2) {
        return Err(unsupported());
    }
    let Some((entity, key_field)) = Entity::for_s4_object(object) else {
        return Err(unsupported());
    };
    let op = match *action {
        "Created" | "Changed" => Op::Upsert,
        "Deleted" => Op::Delete,
        _ => return Err(unsupported()),
    };
    Ok((entity, key_field, op))
}

/// The last path segment of the source (`/default/sap.s4.beh/S4PCLNT100` → `S4PCLNT100`), and
/// the client when the system id ends in `CLNT<nnn>`.
fn system_and_client(source: &str) -> (String, Option<String>) {
    let system = source
        .rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or(source)
        .to_string();
    let client = system
        .rfind("CLNT")
        .map(|i| &system[i + 4..])
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string);
    (system, client)
}

fn to_outcome(ce: CloudEvent<'_>, env: &Envelope<'_>) -> Result<Vec<Outcome>, ParseError> {
    let (entity, key_field, op) = event_type(&ce.ty)?;
    let time = ce
        .time
        .as_deref()
        .ok_or_else(|| ParseError::MissingAttribute("time".into()))?;
    let at = DateTime::parse_from_rfc3339(time)
        .map_err(|_| ParseError::BadDate {
            path: "time".into(),
            shape: Shape::of(time),
        })?
        .with_timezone(&Utc);
    // One allocation of the exact length (`format!` grew the string three or four times).
    let event_id = ["ce:", &ce.source, ":", &ce.id].concat();
    let seq = ce
        .sequence
        .as_deref()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| crate::fnv1a(event_id.as_bytes()));
    let version = Version::new(at, seq);
    let (system, client) = system_and_client(&ce.source);
    let correlation_id = env
        .correlation_id()
        .or(ce.correlation.clone())
        .unwrap_or_else(|| event_id.clone());
    let source = Source {
        system,
        client,
        format: Format::CloudEvent,
        message_type: ce.ty.clone(),
        document_type: None,
        document: ce.id.clone(),
        topic: env.topic.map(str::to_string),
        partition: env.partition,
        offset: env.offset,
    };
    let data = match ce.data {
        None => Object::default(),
        Some(Json::Object(m)) => m,
        Some(_) => {
            return Err(ParseError::Json {
                path: "data".into(),
                reason: "event data must be a JSON object".into(),
            });
        }
    };
    // The key: for business partners the customer number when the event carries one.
    let key_raw = match entity {
        Entity::Customer => s(&data, "Customer").or_else(|| s(&data, key_field)),
        _ => s(&data, key_field),
    }
    .or_else(|| {
        env.key
            .and_then(|k| std::str::from_utf8(k).ok())
            .map(Text::from)
    })
    .ok_or_else(|| ParseError::MissingField {
        path: format!("data.{key_field}"),
    })?;
    let key = normalize(&key_raw);
    if key.is_empty() {
        return Err(ParseError::MissingField {
            path: format!("data.{key_field}"),
        });
    }
    let thin = data
        .keys()
        .all(|k| k == key_field || k == "Customer" || k.starts_with('@'));
    if thin && op == Op::Upsert {
        return Ok(vec![Outcome::NeedsEnrichment(Box::new(NeedsEnrichment {
            event_id,
            entity,
            key,
            op,
            version,
            source,
            correlation_id,
        }))]);
    }
    let record = if thin {
        None
    } else {
        Some(match entity {
            Entity::Customer => Record::Customer(customer(&data, &key)?),
            Entity::Material => Record::Material(material(&data, &key)?),
            Entity::SalesOrder => Record::SalesOrder(sales_order(&data, &key)?),
            Entity::Supplier => Record::Supplier(supplier(&data, &key)?),
        })
    };
    let flagged = record.as_ref().is_some_and(flagged_for_deletion);
    Ok(vec![Outcome::Change(Box::new(ChangeEvent {
        event_id,
        entity,
        key,
        op: if flagged { Op::Delete } else { op },
        version,
        occurred_at: version.at,
        published_at: None,
        source,
        correlation_id,
        schema: entity.schema().to_string(),
        data: record,
    }))])
}

/// Whether a record is flagged for deletion (it is published as a delete).
pub(crate) fn flagged_for_deletion(record: &Record) -> bool {
    match record {
        Record::Customer(c) => c.deletion_flag,
        Record::Material(m) => m.deletion_flag,
        Record::Supplier(s) => s.deletion_flag,
        Record::SalesOrder(_) => false,
    }
}

// ------------------------------------------------------------------------------ field access

/// A string field (numbers stringified; blank is absent).
pub(crate) fn s(m: &Object<'_>, k: &str) -> Option<Text> {
    match m.get(k) {
        Some(Json::String(v)) if !v.trim().is_empty() => Some(Text::from(v.trim())),
        Some(Json::Number(n)) => Some(Text::from(n.to_string())),
        _ => None,
    }
}

/// [`s`] as a `String`: a CloudEvent attribute of a structured event.
fn attribute(m: &Object<'_>, k: &str) -> Option<String> {
    s(m, k).map(Text::into_string)
}

fn b(m: &Object<'_>, k: &str) -> bool {
    match m.get(k) {
        Some(Json::Bool(v)) => *v,
        Some(Json::String(v)) => v == "true" || conv::flag(Some(v)),
        _ => false,
    }
}

/// Where an item of a list is (`data.to_Plant[1]`), written only when an error names it.
struct Item<'a>(&'a str, &'a str, usize);

impl std::fmt::Display for Item<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}[{}]", self.0, self.1, self.2)
    }
}

fn d(m: &Object<'_>, k: &str, path: &dyn Display) -> Result<Option<Decimal>, ParseError> {
    conv::opt_decimal(s(m, k).as_deref(), || format!("{path}.{k}"))
}

/// An ISO date (`2026-12-04`, or a date-time) or an OData V2 date (`/Date(1764806400000)/`).
fn date(m: &Object<'_>, k: &str, path: &dyn Display) -> Result<Option<NaiveDate>, ParseError> {
    let Some(v) = s(m, k) else { return Ok(None) };
    let bad = || ParseError::BadDate {
        path: format!("{path}.{k}"),
        shape: Shape::of(&v),
    };
    if let Some(ms) = v.strip_prefix("/Date(").and_then(|r| r.strip_suffix(")/")) {
        let ms: i64 = ms
            .split(['+', '-'])
            .next()
            .unwrap_or(ms)
            .parse()
            .map_err(|_| bad())?;
        return DateTime::<Utc>::from_timestamp_millis(ms)
            .map(|t| Some(t.date_naive()))
            .ok_or_else(bad);
    }
    let day = v.get(..10).ok_or_else(bad)?;
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| bad())
}

/// An OData navigation property: a JSON array, or OData V2's `{"results": [...]}`.
pub(crate) fn list<'a, 'j>(m: &'a Object<'j>, k: &str) -> Vec<&'a Object<'j>> {
    let v = match m.get(k) {
        Some(Json::Object(o)) => o.get("results"),
        other => other,
    };
    match v {
        Some(Json::Array(a)) => a
            .iter()
            .filter_map(|v| match v {
                Json::Object(o) => Some(o),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A to-one navigation property: an object (OData V2 expands it as the object itself).
fn one<'a, 'j>(m: &'a Object<'j>, k: &str) -> Option<&'a Object<'j>> {
    match m.get(k) {
        Some(Json::Object(o)) if o.get("results").is_none() => Some(o),
        _ => None,
    }
}

pub(crate) fn customer(m: &Object<'_>, key: &str) -> Result<Customer, ParseError> {
    let name = s(m, "BusinessPartnerFullName")
        .or_else(|| s(m, "OrganizationBPName1"))
        .or_else(|| s(m, "CustomerName"))
        .or_else(|| {
            let first = s(m, "FirstName").unwrap_or_default();
            let last = s(m, "LastName").unwrap_or_default();
            let full = Text::from(format_compact!("{first} {last}").trim());
            (!full.is_empty()).then_some(full)
        });
    // The customer role, when read with API_BUSINESS_PARTNER's `to_Customer` (A_Customer).
    let role = one(m, "to_Customer");
    let mut c = Customer {
        customer: Text::from(key),
        account_group: s(m, "CustomerAccountGroup")
            .or_else(|| role.and_then(|r| s(r, "CustomerAccountGroup"))),
        name,
        search_term: s(m, "SearchTerm1"),
        language: s(m, "CorrespondenceLanguage")
            .or_else(|| s(m, "Language"))
            .map(|l| conv::language(&l)),
        deletion_flag: b(m, "IsMarkedForArchiving") || b(m, "DeletionIndicator"),
        ..Customer::default()
    };
    if let Some(a) = first_address(m) {
        c.country = a.country;
        c.region = a.region;
        c.city = a.city;
        c.postal_code = a.postal_code;
        c.street = a.street;
    }
    c.tax_number = list(m, "to_BusinessPartnerTax")
        .first()
        .and_then(|t| s(t, "BPTaxNumber"));
    if let Some(r) = role {
        c.sales_areas = sales_areas(r)?;
    }
    Ok(c)
}

/// A_Customer's `to_CustomerSalesArea` (A_CustomerSalesArea) with each area's
/// `to_PartnerFunction` (A_CustSalesPartnerFunc).
fn sales_areas(role: &Object<'_>) -> Result<Vec<CustomerSalesArea>, ParseError> {
    let mut areas = Vec::new();
    for (i, a) in list(role, "to_CustomerSalesArea").into_iter().enumerate() {
        let ap = Item("data.to_Customer", "to_CustomerSalesArea", i);
        let mut partners = Vec::new();
        for (j, f) in list(a, "to_PartnerFunction").into_iter().enumerate() {
            let fp = format!("{ap}.to_PartnerFunction[{j}]");
            partners.push(PartnerFunction {
                function: field(f, "PartnerFunction", &fp)?,
                partner: field(f, "BPCustomerNumber", &fp).map(|p| normalize_text(&p))?,
            });
        }
        areas.push(CustomerSalesArea {
            sales_org: field(a, "SalesOrganization", &ap)?,
            distribution_channel: field(a, "DistributionChannel", &ap)?,
            division: field(a, "Division", &ap)?,
            customer_group: s(a, "CustomerGroup"),
            sales_district: s(a, "SalesDistrict"),
            currency: s(a, "Currency"),
            incoterms: s(a, "IncotermsClassification"),
            incoterms_place: s(a, "IncotermsLocation1"),
            payment_terms: s(a, "CustomerPaymentTerms"),
            shipping_conditions: s(a, "ShippingCondition"),
            partners,
        });
    }
    Ok(areas)
}

/// The first address of a business partner (`to_BusinessPartnerAddress`): country, region,
/// city, postal code, street (`StreetName` + `HouseNumber`).
struct Address {
    country: Option<Text>,
    region: Option<Text>,
    city: Option<Text>,
    postal_code: Option<Text>,
    street: Option<Text>,
}

fn first_address(m: &Object<'_>) -> Option<Address> {
    let a = *list(m, "to_BusinessPartnerAddress").first()?;
    Some(Address {
        country: s(a, "Country"),
        region: s(a, "Region"),
        city: s(a, "CityName"),
        postal_code: s(a, "PostalCode"),
        street: match (s(a, "StreetName"), s(a, "HouseNumber")) {
            (Some(st), Some(no)) => Some(format_compact!("{st} {no}")),
            (st, _) => st,
        },
    })
}

/// A missing required field of a list item (`data.to_SupplierCompany[0].CompanyCode`).
fn field(m: &Object<'_>, k: &str, path: &dyn Display) -> Result<Text, ParseError> {
    s(m, k).ok_or_else(|| ParseError::MissingField {
        path: format!("{path}.{k}"),
    })
}

pub(crate) fn supplier(m: &Object<'_>, key: &str) -> Result<Supplier, ParseError> {
    let p = "data";
    let mut sup = Supplier {
        supplier: Text::from(key),
        account_group: s(m, "SupplierAccountGroup"),
        name: s(m, "SupplierName").or_else(|| s(m, "SupplierFullName")),
        search_term: s(m, "SearchTerm1"),
        language: s(m, "CorrespondenceLanguage")
            .or_else(|| s(m, "Language"))
            .map(|l| conv::language(&l)),
        tax_number: s(m, "TaxNumber1"),
        vat_number: s(m, "VATRegistration"),
        customer: s(m, "Customer").map(|c| normalize_text(&c)),
        posting_block: b(m, "PostingIsBlocked"),
        purchasing_block: b(m, "PurchasingIsBlocked"),
        deletion_flag: b(m, "DeletionIndicator"),
        ..Supplier::default()
    };
    if let Some(a) = first_address(m) {
        sup.country = a.country;
        sup.region = a.region;
        sup.city = a.city;
        sup.postal_code = a.postal_code;
        sup.street = a.street;
    }
    for (i, c) in list(m, "to_SupplierCompany").into_iter().enumerate() {
        let cp = Item(p, "to_SupplierCompany", i);
        sup.company_codes.push(SupplierCompanyCode {
            company_code: field(c, "CompanyCode", &cp)?,
            reconciliation_account: s(c, "ReconciliationAccount"),
            payment_terms: s(c, "PaymentTerms"),
            payment_methods: s(c, "PaymentMethodsList"),
            posting_block: false,
            deletion_flag: b(c, "DeletionIndicator"),
        });
    }
    for (i, o) in list(m, "to_SupplierPurchasingOrg").into_iter().enumerate() {
        let op = Item(p, "to_SupplierPurchasingOrg", i);
        sup.purchasing_orgs.push(SupplierPurchasingOrg {
            purchasing_org: field(o, "PurchasingOrganization", &op)?,
            currency: s(o, "PurchaseOrderCurrency"),
            payment_terms: s(o, "PaymentTerms"),
            incoterms: s(o, "IncotermsClassification"),
            incoterms_place: s(o, "IncotermsLocation1"),
            minimum_order_value: d(o, "MinimumOrderAmount", &op)?,
            purchasing_group: s(o, "PurchasingGroup"),
            planned_delivery_days: d(o, "MaterialPlannedDeliveryDurn", &op)?,
            gr_based_invoice_verification: b(o, "InvoiceIsGoodsReceiptBased"),
            purchasing_block: b(o, "PurchasingIsBlockedForSupplier"),
            deletion_flag: b(o, "DeletionIndicator"),
        });
    }
    for (i, k) in list(m, "to_BusinessPartnerBank").into_iter().enumerate() {
        let kp = Item(p, "to_BusinessPartnerBank", i);
        let sensitive = |f: &str| s(k, f).map(Sensitive::from);
        sup.bank_details.push(SupplierBankDetail {
            country: field(k, "BankCountryKey", &kp)?,
            bank_key: s(k, "BankNumber"),
            account: sensitive("BankAccount"),
            iban: sensitive("IBAN"),
            control_key: s(k, "BankControlKey"),
            partner_bank_type: s(k, "BankIdentification"),
            account_holder: sensitive("BankAccountHolderName"),
            reference: sensitive("BankAccountReferenceText"),
            bank_name: s(k, "BankName"),
            swift: s(k, "SWIFTCode"),
        });
    }
    Ok(sup)
}

pub(crate) fn material(m: &Object<'_>, key: &str) -> Result<Material, ParseError> {
    let p = "data";
    let mut mat = Material {
        material: Text::from(key),
        material_type: s(m, "ProductType"),
        industry_sector: s(m, "IndustrySector"),
        material_group: s(m, "ProductGroup"),
        base_unit: s(m, "BaseUnit").map(|u| conv::unit(&u)),
        gross_weight: d(m, "GrossWeight", &p)?,
        net_weight: d(m, "NetWeight", &p)?,
        weight_unit: s(m, "WeightUnit").map(|u| conv::unit(&u)),
        volume: d(m, "MaterialVolume", &p)?,
        volume_unit: s(m, "VolumeUnit").map(|u| conv::unit(&u)),
        ean: s(m, "ProductStandardID"),
        created_on: date(m, "CreationDate", &p)?,
        changed_on: date(m, "LastChangeDate", &p)?,
        deletion_flag: b(m, "IsMarkedForDeletion"),
        ..Material::default()
    };
    for (i, t) in list(m, "to_Description").into_iter().enumerate() {
        let tp = Item(p, "to_Description", i);
        mat.descriptions.push(MaterialDescription {
            language: s(t, "Language")
                .map(|l| conv::language(&l))
                .ok_or_else(|| ParseError::MissingField {
                    path: format!("{tp}.Language"),
                })?,
            text: s(t, "ProductDescription").ok_or_else(|| ParseError::MissingField {
                path: format!("{tp}.ProductDescription"),
            })?,
        });
    }
    for (i, pl) in list(m, "to_Plant").into_iter().enumerate() {
        let pp = Item(p, "to_Plant", i);
        mat.plants.push(MaterialPlant {
            plant: s(pl, "Plant").ok_or_else(|| ParseError::MissingField {
                path: format!("{pp}.Plant"),
            })?,
            mrp_type: s(pl, "MRPType"),
            mrp_controller: s(pl, "MRPResponsible"),
            purchasing_group: s(pl, "PurchasingGroup"),
            planned_delivery_days: d(pl, "PlannedDeliveryDurationInDays", &pp)?,
            gr_processing_days: d(pl, "GoodsReceiptDuration", &pp)?,
            reorder_point: d(pl, "ReorderThresholdQuantity", &pp)?,
            safety_stock: d(pl, "SafetyStockQuantity", &pp)?,
            maintenance_status: s(pl, "ProfileCode"),
        });
    }
    Ok(mat)
}

pub(crate) fn sales_order(m: &Object<'_>, key: &str) -> Result<SalesOrder, ParseError> {
    let p = "data";
    let mut o = SalesOrder {
        order: Text::from(key),
        order_type: s(m, "SalesOrderType"),
        sales_org: s(m, "SalesOrganization"),
        distribution_channel: s(m, "DistributionChannel"),
        division: s(m, "OrganizationDivision"),
        sold_to: s(m, "SoldToParty").map(|v| normalize_text(&v)),
        currency: s(m, "TransactionCurrency"),
        payment_terms: s(m, "CustomerPaymentTerms"),
        customer_po: s(m, "PurchaseOrderByCustomer"),
        customer_po_date: date(m, "CustomerPurchaseOrderDate", &p)?,
        document_date: date(m, "SalesOrderDate", &p)?,
        requested_delivery_date: date(m, "RequestedDeliveryDate", &p)?,
        net_value: d(m, "TotalNetAmount", &p)?,
        ..SalesOrder::default()
    };
    for (i, it) in list(m, "to_Item").into_iter().enumerate() {
        let ip = Item(p, "to_Item", i);
        o.items.push(SalesOrderItem {
            item: s(it, "SalesOrderItem")
                .map(|v| normalize_text(&v))
                .ok_or_else(|| ParseError::MissingField {
                    path: format!("{ip}.SalesOrderItem"),
                })?,
            material: s(it, "Material").map(|v| normalize_text(&v)),
            description: s(it, "SalesOrderItemText"),
            quantity: d(it, "RequestedQuantity", &ip)?,
            unit: s(it, "RequestedQuantityUnit").map(|u| conv::unit(&u)),
            net_price: None,
            price_unit: None,
            net_value: d(it, "NetAmount", &ip)?,
            plant: s(it, "ProductionPlant"),
            material_group: s(it, "MaterialGroup"),
            schedule_lines: Vec::new(),
        });
    }
    // API_SALES_ORDER_SRV's `to_Partner` (A_SalesOrderHeaderPartner): function and customer.
    for (i, pa) in list(m, "to_Partner").into_iter().enumerate() {
        let pp = Item(p, "to_Partner", i);
        let partner = OrderPartner {
            function: field(pa, "PartnerFunction", &pp)?,
            partner: s(pa, "Customer")
                .or_else(|| s(pa, "Supplier"))
                .map(|v| normalize_text(&v)),
            ..OrderPartner::default()
        };
        if matches!(partner.function.as_str(), "WE" | "SH") && o.ship_to.is_none() {
            o.ship_to = partner.partner.clone();
        }
        o.partners.push(partner);
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types() {
        // Scenario: SAP's type names map to entity and op; others are unsupported.
        assert!(matches!(
            event_type("sap.s4.beh.product.v1.Product.Changed.v1"),
            Ok((Entity::Material, "Product", Op::Upsert))
        ));
        assert!(matches!(
            event_type("sap.s4.beh.salesorder.v1.SalesOrder.Deleted.v1"),
            Ok((Entity::SalesOrder, _, Op::Delete))
        ));
        assert!(matches!(
            event_type("sap.s4.beh.supplier.v1.Supplier.Changed.v1"),
            Ok((Entity::Supplier, "Supplier", Op::Upsert))
        ));
        for bad in [
            "sap.s4.beh.purchaseorder.v1.PurchaseOrder.Changed.v1",
            "sap.s4.beh.product.v1.Product.Blocked.v1",
            "com.example.thing",
            "",
        ] {
            assert!(
                matches!(event_type(bad), Err(ParseError::UnsupportedEventType(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn system_and_client_from_source() {
        // Scenario: the source's last segment is the system; CLNT<nnn> gives the client.
        assert_eq!(
            system_and_client("/default/sap.s4.beh/S4PCLNT100"),
            ("S4PCLNT100".to_string(), Some("100".to_string()))
        );
        assert_eq!(system_and_client("/x/ERP"), ("ERP".to_string(), None));
    }
}
