//! IDoc XML: the generic tree ([`tree`]) and the typed mappings of MATMAS, DEBMAS, CREMAS and
//! ORDERS.
//!
//! Other basic-type versions of the same message type (MATMAS03, DEBMAS06, CREMAS06, ORDERS04…)
//! map the same way: fields are found by name, missing optional fields stay empty. Fields of
//! custom segments (`Z*`, `Y*`) and customer extension fields (`ZZ*`, `YY*`) of known segments
//! are kept in the record's `extensions`.

pub mod tree;

use crate::conv;
use crate::error::ParseError;
use crate::record::{Envelope, Outcome};
use crate::time_zone::SenderTimeZones;
use chrono::{NaiveDateTime, NaiveTime};
use compact_str::format_compact;
use hub_model::event::Format;
use hub_model::key::{normalize, normalize_text};
use hub_model::records::*;
use hub_model::{ChangeEvent, Entity, Op, Record, Source, Version};
use std::collections::BTreeMap;
use tree::{Document, Idoc, Segment};

/// Turns each IDoc of a document into a change event.
/// CREDAT/CRETIM are read in the zone `zones` gives the sender (`SNDPRN`).
pub fn to_outcomes(
    doc: &Document<'_>,
    env: &Envelope<'_>,
    zones: &SenderTimeZones,
) -> Result<Vec<Outcome>, ParseError> {
    doc.idocs()
        .enumerate()
        .map(|(i, idoc)| to_event(idoc, i, env, zones).map(|e| Outcome::Change(Box::new(e))))
        .collect()
}

/// Where in the document: built only when an error needs it (the happy path allocates no
/// path strings).
type At<'a> = &'a dyn Fn() -> String;

fn required<'a>(seg: Segment<'a>, field: &str, path: At<'_>) -> Result<&'a str, ParseError> {
    seg.field(field).ok_or_else(|| ParseError::MissingField {
        path: format!("{}.{field}", path()),
    })
}

fn dec(
    seg: Segment<'_>,
    field: &str,
    path: At<'_>,
) -> Result<Option<rust_decimal::Decimal>, ParseError> {
    conv::opt_decimal(seg.field(field), || format!("{}.{field}", path()))
}

fn date(
    seg: Segment<'_>,
    field: &str,
    path: At<'_>,
) -> Result<Option<chrono::NaiveDate>, ParseError> {
    conv::date(seg.field(field), || format!("{}.{field}", path()))
}

fn text(seg: Segment<'_>, field: &str) -> Option<Text> {
    seg.field(field).map(Text::from)
}

/// The ISO field if present, else the internal one converted.
fn iso_unit(seg: Segment<'_>, iso: &str, field: &str) -> Option<Text> {
    seg.field(iso).or_else(|| seg.field(field)).map(conv::unit)
}

fn iso_language(seg: Segment<'_>, iso: &str, field: &str) -> Option<Text> {
    seg.field(iso)
        .or_else(|| seg.field(field))
        .map(conv::language)
}

fn is_custom_segment(name: &str) -> bool {
    name.starts_with('Z') || name.starts_with('Y') || name.starts_with("/")
}

fn is_extension_field(name: &str) -> bool {
    name.starts_with("ZZ") || name.starts_with("YY")
}

/// Collects extension fields of `seg` and the fields of custom segments below it.
fn extensions(seg: Segment<'_>, out: &mut BTreeMap<Text, Text>) {
    for (name, value) in seg.fields() {
        if is_extension_field(name) {
            out.insert(format_compact!("{}.{name}", seg.name()), Text::from(value));
        }
    }
    below(seg.segments(), out);
}

/// Collects, from these sibling segments, the fields of the custom ones (and of their
/// children), and the extensions of the others; a repeated custom segment is numbered from its
/// second occurrence (`ZSEG`, `ZSEG[1]`…).
fn below<'t>(segments: impl Iterator<Item = Segment<'t>>, out: &mut BTreeMap<Text, Text>) {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for child in segments {
        if is_custom_segment(child.name()) {
            let n = seen.entry(child.name()).or_default();
            let prefix = if *n == 0 {
                Text::from(child.name())
            } else {
                format_compact!("{}[{n}]", child.name())
            };
            *n += 1;
            for (field, value) in child.fields() {
                out.insert(format_compact!("{prefix}.{field}"), Text::from(value));
            }
            custom_children(child, &prefix, out);
        } else {
            extensions(child, out);
        }
    }
}

fn custom_children(seg: Segment<'_>, prefix: &str, out: &mut BTreeMap<Text, Text>) {
    for child in seg.segments() {
        let p = format_compact!("{prefix}.{}", child.name());
        for (field, value) in child.fields() {
            out.insert(format_compact!("{p}.{field}"), Text::from(value));
        }
        custom_children(child, &p, out);
    }
}

fn to_event(
    idoc: Idoc<'_>,
    index: usize,
    env: &Envelope<'_>,
    zones: &SenderTimeZones,
) -> Result<ChangeEvent, ParseError> {
    let ctl = idoc.control();
    let cpath = || format!("IDOC[{index}].EDI_DC40");
    let idoc_type = ctl.field("IDOCTYP").unwrap_or_default();
    let message_type = ctl.field("MESTYP").map(str::to_string).unwrap_or_else(|| {
        idoc_type
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .to_string()
    });
    let docnum = required(ctl, "DOCNUM", &cpath)?;
    let system = ctl
        .field("SNDPRN")
        .or_else(|| ctl.field("SNDPOR"))
        .ok_or_else(|| ParseError::MissingField {
            path: format!("{}.SNDPRN", cpath()),
        })?;
    let client = ctl.field("MANDT").map(str::to_string);
    let credat = conv::date(Some(required(ctl, "CREDAT", &cpath)?), || {
        format!("{}.CREDAT", cpath())
    })?
    .ok_or_else(|| ParseError::MissingField {
        path: format!("{}.CREDAT", cpath()),
    })?;
    let cretim = conv::time(ctl.field("CRETIM"), || format!("{}.CRETIM", cpath()))?
        .unwrap_or(NaiveTime::MIN);
    // In the sender's time zone (UTC unless configured): the version is the UTC instant.
    let occurred_at = zones.to_utc(system, NaiveDateTime::new(credat, cretim));
    let docnum_key = normalize(docnum);
    let seq = docnum_key
        .parse::<u64>()
        .unwrap_or_else(|_| crate::fnv1a(docnum_key.as_bytes()));
    let version = Version::new(occurred_at, seq);
    // One allocation of the exact length (`format!` grew the string three or four times).
    let event_id = [
        "idoc:",
        system,
        ":",
        client.as_deref().unwrap_or("-"),
        ":",
        &docnum_key,
    ]
    .concat();
    let document_type = match ctl.field("CIMTYP") {
        Some(ext) if !idoc_type.is_empty() => Some(format!("{idoc_type}/{ext}")),
        _ => (!idoc_type.is_empty()).then(|| idoc_type.to_string()),
    };
    // Which object a message type is comes from the registry; its mapping is this crate's.
    let (entity, op, record) = match Entity::for_idoc(&message_type) {
        Some(Entity::Material) => material(idoc, index)?,
        Some(Entity::Customer) => customer(idoc, index)?,
        Some(Entity::Supplier) => supplier(idoc, index)?,
        Some(Entity::SalesOrder) => sales_order(idoc, index)?,
        None => {
            return Err(ParseError::UnsupportedIdocType {
                path: cpath(),
                message_type: crate::error::identifier(&message_type, 30),
                idoc_type: crate::error::identifier(idoc_type, 30),
            });
        }
    };
    Ok(ChangeEvent {
        correlation_id: env.correlation_id().unwrap_or_else(|| event_id.clone()),
        event_id,
        entity,
        key: record.key().to_string(),
        op,
        version,
        occurred_at: version.at,
        published_at: None,
        source: Source {
            system: system.to_string(),
            client,
            format: Format::IdocXml,
            message_type,
            document_type,
            document: docnum.to_string(),
            topic: env.topic.map(str::to_string),
            partition: env.partition,
            offset: env.offset,
        },
        schema: entity.schema().to_string(),
        data: Some(record),
    })
}

/// The message type's main segment (`E1MARAM`, `E1KNA1M`, `E1EDK01`), which the IDoc must have.
fn main_segment<'t>(idoc: Idoc<'t>, index: usize, name: &str) -> Result<Segment<'t>, ParseError> {
    idoc.segment(name)
        .ok_or_else(|| ParseError::MissingSegment {
            path: format!("IDOC[{index}]"),
            segment: name.into(),
        })
}

/// MSGFN `003` means delete.
fn msgfn_delete(seg: Segment<'_>) -> bool {
    seg.field("MSGFN") == Some("003")
}

fn material(idoc: Idoc<'_>, index: usize) -> Result<(Entity, Op, Record), ParseError> {
    let mara = main_segment(idoc, index, "E1MARAM")?;
    let p = || format!("IDOC[{index}].E1MARAM");
    let mut m = Material {
        material: normalize_text(required(mara, "MATNR", &p)?),
        material_type: text(mara, "MTART"),
        industry_sector: text(mara, "MBRSH"),
        material_group: text(mara, "MATKL"),
        base_unit: iso_unit(mara, "MEINS_ISO", "MEINS"),
        gross_weight: dec(mara, "BRGEW", &p)?,
        net_weight: dec(mara, "NTGEW", &p)?,
        weight_unit: iso_unit(mara, "GEWEI_ISO", "GEWEI"),
        volume: dec(mara, "VOLUM", &p)?,
        volume_unit: iso_unit(mara, "VOLEH_ISO", "VOLEH"),
        ean: text(mara, "EAN11"),
        created_on: date(mara, "ERSDA", &p)?,
        changed_on: date(mara, "LAEDA", &p)?,
        deletion_flag: conv::flag(mara.field("LVORM")),
        ..Material::default()
    };
    for (i, s) in mara.children("E1MAKTM").enumerate() {
        let sp = || format!("{}.E1MAKTM[{i}]", p());
        if msgfn_delete(s) {
            continue;
        }
        m.descriptions.push(MaterialDescription {
            language: iso_language(s, "SPRAS_ISO", "SPRAS").ok_or_else(|| {
                ParseError::MissingField {
                    path: format!("{}.SPRAS", sp()),
                }
            })?,
            text: Text::from(required(s, "MAKTX", &sp)?),
        });
    }
    for (i, s) in mara.children("E1MARCM").enumerate() {
        let sp = || format!("{}.E1MARCM[{i}]", p());
        if msgfn_delete(s) {
            continue;
        }
        m.plants.push(MaterialPlant {
            plant: Text::from(required(s, "WERKS", &sp)?),
            mrp_type: text(s, "DISMM"),
            mrp_controller: text(s, "DISPO"),
            purchasing_group: text(s, "EKGRP"),
            planned_delivery_days: dec(s, "PLIFZ", &sp)?,
            gr_processing_days: dec(s, "WEBAZ", &sp)?,
            reorder_point: dec(s, "MINBE", &sp)?,
            safety_stock: dec(s, "EISBE", &sp)?,
            maintenance_status: text(s, "PSTAT"),
        });
    }
    for (i, s) in mara.children("E1MBEWM").enumerate() {
        let sp = || format!("{}.E1MBEWM[{i}]", p());
        if msgfn_delete(s) {
            continue;
        }
        m.valuations.push(MaterialValuation {
            valuation_area: Text::from(required(s, "BWKEY", &sp)?),
            price_control: text(s, "VPRSV"),
            standard_price: dec(s, "STPRS", &sp)?,
            moving_average_price: dec(s, "VERPR", &sp)?,
            price_unit: dec(s, "PEINH", &sp)?,
            valuation_class: text(s, "BKLAS"),
        });
    }
    extensions(mara, &mut m.extensions);
    top_level_extensions(idoc, &mut m.extensions);
    let op = if msgfn_delete(mara) || m.deletion_flag {
        Op::Delete
    } else {
        Op::Upsert
    };
    Ok((Entity::Material, op, Record::Material(m)))
}

fn customer(idoc: Idoc<'_>, index: usize) -> Result<(Entity, Op, Record), ParseError> {
    let kna1 = main_segment(idoc, index, "E1KNA1M")?;
    let p = || format!("IDOC[{index}].E1KNA1M");
    let mut c = Customer {
        customer: normalize_text(required(kna1, "KUNNR", &p)?),
        account_group: text(kna1, "KTOKD"),
        name: text(kna1, "NAME1"),
        name2: text(kna1, "NAME2"),
        search_term: text(kna1, "SORTL"),
        street: text(kna1, "STRAS"),
        city: text(kna1, "ORT01"),
        postal_code: text(kna1, "PSTLZ"),
        region: text(kna1, "REGIO"),
        country: text(kna1, "LAND1"),
        phone: text(kna1, "TELF1"),
        language: iso_language(kna1, "SPRAS_ISO", "SPRAS"),
        tax_number: text(kna1, "STCD1"),
        deletion_flag: conv::flag(kna1.field("LOEVM")),
        ..Customer::default()
    };
    for (i, s) in kna1.children("E1KNB1M").enumerate() {
        let sp = || format!("{}.E1KNB1M[{i}]", p());
        if msgfn_delete(s) {
            continue;
        }
        c.company_codes.push(CustomerCompanyCode {
            company_code: Text::from(required(s, "BUKRS", &sp)?),
            reconciliation_account: text(s, "AKONT"),
            payment_terms: text(s, "ZTERM"),
            payment_methods: text(s, "ZWELS"),
        });
    }
    for (i, s) in kna1.children("E1KNVVM").enumerate() {
        let sp = || format!("{}.E1KNVVM[{i}]", p());
        if msgfn_delete(s) {
            continue;
        }
        let mut area = CustomerSalesArea {
            sales_org: Text::from(required(s, "VKORG", &sp)?),
            distribution_channel: Text::from(required(s, "VTWEG", &sp)?),
            division: Text::from(required(s, "SPART", &sp)?),
            customer_group: text(s, "KDGRP"),
            sales_district: text(s, "BZIRK"),
            currency: text(s, "WAERS"),
            incoterms: text(s, "INCO1"),
            incoterms_place: text(s, "INCO2"),
            payment_terms: text(s, "ZTERM"),
            shipping_conditions: text(s, "VSBED"),
            partners: Vec::new(),
        };
        for (j, vp) in s.children("E1KNVPM").enumerate() {
            let pp = || format!("{}.E1KNVPM[{j}]", sp());
            if msgfn_delete(vp) {
                continue;
            }
            area.partners.push(PartnerFunction {
                function: Text::from(required(vp, "PARVW", &pp)?),
                partner: normalize_text(required(vp, "KUNN2", &pp)?),
            });
        }
        c.sales_areas.push(area);
    }
    extensions(kna1, &mut c.extensions);
    top_level_extensions(idoc, &mut c.extensions);
    let op = if msgfn_delete(kna1) || c.deletion_flag {
        Op::Delete
    } else {
        Op::Upsert
    };
    Ok((Entity::Customer, op, Record::Customer(c)))
}

/// CREMAS: the vendor master. Bank details [E1LFBKM] are personal data: their account fields
/// become [`Sensitive`] and no error names their values.
fn supplier(idoc: Idoc<'_>, index: usize) -> Result<(Entity, Op, Record), ParseError> {
    let lfa1 = main_segment(idoc, index, "E1LFA1M")?;
    let p = || format!("IDOC[{index}].E1LFA1M");
    let mut s = Supplier {
        supplier: normalize_text(required(lfa1, "LIFNR", &p)?),
        account_group: text(lfa1, "KTOKK"),
        name: text(lfa1, "NAME1"),
        name2: text(lfa1, "NAME2"),
        search_term: text(lfa1, "SORTL"),
        street: text(lfa1, "STRAS"),
        city: text(lfa1, "ORT01"),
        postal_code: text(lfa1, "PSTLZ"),
        region: text(lfa1, "REGIO"),
        country: text(lfa1, "LAND1"),
        phone: text(lfa1, "TELF1"),
        language: iso_language(lfa1, "SPRAS_ISO", "SPRAS"),
        tax_number: text(lfa1, "STCD1"),
        vat_number: text(lfa1, "STCEG"),
        customer: lfa1.field("KUNNR").map(normalize_text),
        posting_block: conv::flag(lfa1.field("SPERR")),
        purchasing_block: conv::flag(lfa1.field("SPERM")),
        deletion_flag: conv::flag(lfa1.field("LOEVM")),
        ..Supplier::default()
    };
    for (i, b) in lfa1.children("E1LFB1M").enumerate() {
        let sp = || format!("{}.E1LFB1M[{i}]", p());
        if msgfn_delete(b) {
            continue;
        }
        s.company_codes.push(SupplierCompanyCode {
            company_code: Text::from(required(b, "BUKRS", &sp)?),
            reconciliation_account: text(b, "AKONT"),
            payment_terms: text(b, "ZTERM"),
            payment_methods: text(b, "ZWELS"),
            posting_block: conv::flag(b.field("SPERR")),
            deletion_flag: conv::flag(b.field("LOEVM")),
        });
    }
    for (i, m) in lfa1.children("E1LFM1M").enumerate() {
        let sp = || format!("{}.E1LFM1M[{i}]", p());
        if msgfn_delete(m) {
            continue;
        }
        s.purchasing_orgs.push(SupplierPurchasingOrg {
            purchasing_org: Text::from(required(m, "EKORG", &sp)?),
            currency: text(m, "WAERS"),
            payment_terms: text(m, "ZTERM"),
            incoterms: text(m, "INCO1"),
            incoterms_place: text(m, "INCO2"),
            minimum_order_value: dec(m, "MINBW", &sp)?,
            purchasing_group: text(m, "EKGRP"),
            planned_delivery_days: dec(m, "PLIFZ", &sp)?,
            gr_based_invoice_verification: conv::flag(m.field("WEBRE")),
            purchasing_block: conv::flag(m.field("SPERM")),
            deletion_flag: conv::flag(m.field("LOEVM")),
        });
    }
    for (i, k) in lfa1.children("E1LFBKM").enumerate() {
        let sp = || format!("{}.E1LFBKM[{i}]", p());
        if msgfn_delete(k) {
            continue;
        }
        let sensitive = |field: &str| k.field(field).map(Sensitive::from);
        s.bank_details.push(SupplierBankDetail {
            country: Text::from(required(k, "BANKS", &sp)?),
            bank_key: text(k, "BANKL"),
            account: sensitive("BANKN"),
            iban: sensitive("IBAN"),
            control_key: text(k, "BKONT"),
            partner_bank_type: text(k, "BVTYP"),
            account_holder: sensitive("KOINH"),
            reference: sensitive("BKREF"),
            bank_name: text(k, "BANKA"),
            swift: text(k, "SWIFT"),
        });
    }
    extensions(lfa1, &mut s.extensions);
    top_level_extensions(idoc, &mut s.extensions);
    let op = if msgfn_delete(lfa1) || s.deletion_flag {
        Op::Delete
    } else {
        Op::Upsert
    };
    Ok((Entity::Supplier, op, Record::Supplier(s)))
}

fn sales_order(idoc: Idoc<'_>, index: usize) -> Result<(Entity, Op, Record), ParseError> {
    let k01 = main_segment(idoc, index, "E1EDK01")?;
    let p = || format!("IDOC[{index}].E1EDK01");
    let mut o = SalesOrder {
        order: normalize_text(required(k01, "BELNR", &p)?),
        order_type: text(k01, "BSART"),
        currency: text(k01, "CURCY"),
        payment_terms: text(k01, "ZTERM"),
        gross_weight: dec(k01, "BRGEW", &p)?,
        net_weight: dec(k01, "NTGEW", &p)?,
        weight_unit: iso_unit(k01, "GEWEI_ISO", "GEWEI"),
        sold_to: k01.field("RECIPNT_NO").map(normalize_text),
        ..SalesOrder::default()
    };
    for s in idoc.segments("E1EDK14") {
        let v = text(s, "ORGID");
        match s.field("QUALF") {
            Some("008") => o.sales_org = v,
            Some("007") => o.distribution_channel = v,
            Some("006") => o.division = v,
            Some("012") if o.order_type.is_none() => o.order_type = v,
            _ => {}
        }
    }
    for (i, s) in idoc.segments("E1EDK03").enumerate() {
        let sp = || format!("IDOC[{index}].E1EDK03[{i}]");
        match s.field("IDDAT") {
            Some("012") => o.document_date = date(s, "DATUM", &sp)?,
            Some("002") => o.requested_delivery_date = date(s, "DATUM", &sp)?,
            _ => {}
        }
    }
    for (i, s) in idoc.segments("E1EDKA1").enumerate() {
        let sp = || format!("IDOC[{index}].E1EDKA1[{i}]");
        let partner = OrderPartner {
            function: Text::from(required(s, "PARVW", &sp)?),
            partner: s.field("PARTN").map(normalize_text),
            name: text(s, "NAME1"),
            street: text(s, "STRAS"),
            city: text(s, "ORT01"),
            postal_code: text(s, "PSTLZ"),
            country: text(s, "LAND1"),
        };
        match partner.function.as_str() {
            "AG" => o.sold_to = partner.partner.clone().or(o.sold_to.take()),
            "WE" => o.ship_to = partner.partner.clone(),
            _ => {}
        }
        o.partners.push(partner);
    }
    for (i, s) in idoc.segments("E1EDK02").enumerate() {
        if s.field("QUALF") == Some("001") {
            let sp = || format!("IDOC[{index}].E1EDK02[{i}]");
            o.customer_po = text(s, "BELNR");
            o.customer_po_date = date(s, "DATUM", &sp)?;
        }
    }
    for (i, s) in idoc.segments("E1EDP01").enumerate() {
        let sp = || format!("IDOC[{index}].E1EDP01[{i}]");
        let mut item = SalesOrderItem {
            item: normalize_text(required(s, "POSEX", &sp)?),
            quantity: dec(s, "MENGE", &sp)?,
            unit: s.field("MENEE").map(conv::unit),
            net_price: dec(s, "VPREI", &sp)?,
            price_unit: dec(s, "PEINH", &sp)?,
            net_value: dec(s, "NETWR", &sp)?,
            plant: text(s, "WERKS"),
            material_group: text(s, "MATKL"),
            ..SalesOrderItem::default()
        };
        for e19 in s.children("E1EDP19") {
            match e19.field("QUALF") {
                Some("002") => item.material = e19.field("IDTNR").map(normalize_text),
                _ if item.material.is_none() && e19.field("QUALF").is_none() => {
                    item.material = e19.field("IDTNR").map(normalize_text)
                }
                _ => {}
            }
            if item.description.is_none() {
                item.description = text(e19, "KTEXT");
            }
        }
        for (j, e20) in s.children("E1EDP20").enumerate() {
            let lp = || format!("{}.E1EDP20[{j}]", sp());
            item.schedule_lines.push(ScheduleLine {
                quantity: dec(e20, "WMENG", &lp)?,
                date: date(e20, "EDATU", &lp)?,
            });
        }
        if item.net_value.is_none() {
            for (j, e26) in s.children("E1EDP26").enumerate() {
                if e26.field("QUALF") == Some("003") {
                    item.net_value = dec(e26, "BETRG", &|| format!("{}.E1EDP26[{j}]", sp()))?;
                }
            }
        }
        extensions(s, &mut o.extensions);
        o.items.push(item);
    }
    for (i, s) in idoc.segments("E1EDS01").enumerate() {
        if s.field("SUMID") == Some("002") {
            o.net_value = dec(s, "SUMME", &|| format!("IDOC[{index}].E1EDS01[{i}]"))?;
        }
    }
    extensions(k01, &mut o.extensions);
    top_level_extensions(idoc, &mut o.extensions);
    let op = if k01.field("ACTION") == Some("003") {
        Op::Delete
    } else {
        Op::Upsert
    };
    Ok((Entity::SalesOrder, op, Record::SalesOrder(o)))
}

/// Custom segments at the top level of the IDoc.
fn top_level_extensions(idoc: Idoc<'_>, out: &mut BTreeMap<Text, Text>) {
    below(
        idoc.data_segments().filter(|s| is_custom_segment(s.name())),
        out,
    );
}
