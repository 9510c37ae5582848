//! The typed domain records. Each is what a domain consumer reads, whichever SAP format the
//! change came in: IDoc field names are given in brackets, S/4HANA API names after "S/4".
//!
//! Conventions for every record: keys are in canonical form ([`crate::key::normalize`]);
//! quantities and amounts are exact decimals (serialised as strings, trailing zeros removed);
//! dates are ISO dates; units of measure are ISO codes (`PCE`, `KGM`); languages ISO 639-1
//! (`EN`, `PT`). A field SAP left empty is absent (`null`), never an empty string.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A text field of a record: inline up to 24 bytes (nearly every SAP field: numbers, codes,
/// units, names), on the heap beyond. Reads as a `&str`; serialises as a JSON string. Most
/// fields of a record thus cost no allocation.
pub type Text = compact_str::CompactString;

/// Personal data that must not reach logs (bank account numbers, IBANs, account holders).
///
/// It serialises as the plain text, like any other field: the record is published and stored
/// whole (the table is encrypted at rest). Only its `Debug` form hides the value, so that a
/// record printed with `{:?}` (a test failure, a `debug!` of a record) shows no account number.
/// It has no `Display` and no `Deref`: reading the value takes [`Sensitive::expose`].
///
/// ```
/// use hub_model::records::Sensitive;
/// let account = Sensitive::from("0012345678");
/// assert_eq!(account.expose(), "0012345678");
/// assert_eq!(format!("{account:?}"), "<redacted>");
/// assert_eq!(serde_json::to_string(&account).unwrap(), "\"0012345678\"");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sensitive(Text);

impl Sensitive {
    /// The value, for code that must use it (mapping, storage, tests).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for Sensitive {
    fn from(v: &str) -> Sensitive {
        Sensitive(Text::from(v))
    }
}

impl From<Text> for Sensitive {
    fn from(v: Text) -> Sensitive {
        Sensitive(v)
    }
}

/// A customer (IDoc DEBMAS / E1KNA1M; S/4 BusinessPartner with a customer role).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Customer {
    /// Customer number [KUNNR]; S/4 `Customer`, else `BusinessPartner`.
    pub customer: Text,
    /// Account group [KTOKD].
    pub account_group: Option<Text>,
    /// Name [NAME1]; S/4 `BusinessPartnerFullName`.
    pub name: Option<Text>,
    /// Second name line [NAME2].
    pub name2: Option<Text>,
    /// Search term [SORTL]; S/4 `SearchTerm1`.
    pub search_term: Option<Text>,
    /// Street and house number [STRAS]; S/4 `StreetName` + `HouseNumber`.
    pub street: Option<Text>,
    /// City [ORT01]; S/4 `CityName`.
    pub city: Option<Text>,
    /// Postal code [PSTLZ]; S/4 `PostalCode`.
    pub postal_code: Option<Text>,
    /// Region (state) [REGIO]; S/4 `Region`.
    pub region: Option<Text>,
    /// Country, ISO 3166-1 alpha-2 [LAND1]; S/4 `Country`.
    pub country: Option<Text>,
    /// Telephone [TELF1].
    pub phone: Option<Text>,
    /// Language, ISO 639-1 [SPRAS_ISO, else SPRAS]; S/4 `CorrespondenceLanguage`.
    pub language: Option<Text>,
    /// Tax number 1 [STCD1]; S/4 first `to_BusinessPartnerTax.BPTaxNumber`.
    pub tax_number: Option<Text>,
    /// Marked for deletion [LOEVM = X]; S/4 `IsMarkedForArchiving`.
    pub deletion_flag: bool,
    /// Company code data [E1KNB1M].
    pub company_codes: Vec<CustomerCompanyCode>,
    /// Sales area data [E1KNVVM].
    pub sales_areas: Vec<CustomerSalesArea>,
    /// Fields of custom segments (`Z*`) and unknown fields of known segments, as
    /// `SEGMENT.FIELD` → value, so that extensions travel without code changes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<Text, Text>,
}

/// Company code data of a customer [E1KNB1M].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CustomerCompanyCode {
    /// Company code [BUKRS].
    pub company_code: Text,
    /// Reconciliation account [AKONT].
    pub reconciliation_account: Option<Text>,
    /// Terms of payment [ZTERM].
    pub payment_terms: Option<Text>,
    /// Payment methods [ZWELS].
    pub payment_methods: Option<Text>,
}

/// Sales area data of a customer [E1KNVVM].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CustomerSalesArea {
    /// Sales organisation [VKORG].
    pub sales_org: Text,
    /// Distribution channel [VTWEG].
    pub distribution_channel: Text,
    /// Division [SPART].
    pub division: Text,
    /// Customer group [KDGRP].
    pub customer_group: Option<Text>,
    /// Sales district [BZIRK].
    pub sales_district: Option<Text>,
    /// Currency, ISO 4217 [WAERS].
    pub currency: Option<Text>,
    /// Incoterms part 1 [INCO1].
    pub incoterms: Option<Text>,
    /// Incoterms part 2, the place [INCO2].
    pub incoterms_place: Option<Text>,
    /// Terms of payment [ZTERM].
    pub payment_terms: Option<Text>,
    /// Shipping conditions [VSBED].
    pub shipping_conditions: Option<Text>,
    /// Partner functions [E1KNVPM].
    pub partners: Vec<PartnerFunction>,
}

/// A partner function of a sales area [E1KNVPM].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PartnerFunction {
    /// Partner function [PARVW], e.g. `WE` ship-to, `RE` bill-to.
    pub function: Text,
    /// The partner's customer number [KUNN2].
    pub partner: Text,
}

/// A material (IDoc MATMAS / E1MARAM; S/4 Product).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Material {
    /// Material number [MATNR]; S/4 `Product`.
    pub material: Text,
    /// Material type [MTART]; S/4 `ProductType`.
    pub material_type: Option<Text>,
    /// Industry sector [MBRSH].
    pub industry_sector: Option<Text>,
    /// Material group [MATKL]; S/4 `ProductGroup`.
    pub material_group: Option<Text>,
    /// Base unit of measure, ISO [MEINS_ISO, else MEINS]; S/4 `BaseUnit`.
    pub base_unit: Option<Text>,
    /// Gross weight [BRGEW]; S/4 `GrossWeight`.
    pub gross_weight: Option<Decimal>,
    /// Net weight [NTGEW]; S/4 `NetWeight`.
    pub net_weight: Option<Decimal>,
    /// Weight unit, ISO [GEWEI_ISO, else GEWEI]; S/4 `WeightUnit`.
    pub weight_unit: Option<Text>,
    /// Volume [VOLUM].
    pub volume: Option<Decimal>,
    /// Volume unit, ISO [VOLEH_ISO, else VOLEH].
    pub volume_unit: Option<Text>,
    /// EAN/GTIN [EAN11].
    pub ean: Option<Text>,
    /// Created on [ERSDA].
    #[serde(serialize_with = "crate::time_text::serialize_opt_date")]
    pub created_on: Option<NaiveDate>,
    /// Last changed on [LAEDA].
    #[serde(serialize_with = "crate::time_text::serialize_opt_date")]
    pub changed_on: Option<NaiveDate>,
    /// Marked for deletion [LVORM = X]; S/4 `IsMarkedForDeletion`.
    pub deletion_flag: bool,
    /// Descriptions by language [E1MAKTM]; S/4 `to_Description`.
    pub descriptions: Vec<MaterialDescription>,
    /// Plant data [E1MARCM]; S/4 `to_Plant`.
    pub plants: Vec<MaterialPlant>,
    /// Valuation data [E1MBEWM].
    pub valuations: Vec<MaterialValuation>,
    /// Fields of custom segments and unknown fields, `SEGMENT.FIELD` → value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<Text, Text>,
}

/// A material description [E1MAKTM].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MaterialDescription {
    /// Language, ISO 639-1 [SPRAS_ISO, else SPRAS]; S/4 `Language`.
    pub language: Text,
    /// Text [MAKTX]; S/4 `ProductDescription`.
    pub text: Text,
}

/// Plant data of a material [E1MARCM].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MaterialPlant {
    /// Plant [WERKS]; S/4 `Plant`.
    pub plant: Text,
    /// MRP type [DISMM]; S/4 `MRPType`.
    pub mrp_type: Option<Text>,
    /// MRP controller [DISPO].
    pub mrp_controller: Option<Text>,
    /// Purchasing group [EKGRP].
    pub purchasing_group: Option<Text>,
    /// Planned delivery time in days [PLIFZ].
    pub planned_delivery_days: Option<Decimal>,
    /// Goods receipt processing time in days [WEBAZ].
    pub gr_processing_days: Option<Decimal>,
    /// Reorder point [MINBE].
    pub reorder_point: Option<Decimal>,
    /// Safety stock [EISBE]; S/4 `SafetyStockQuantity`.
    pub safety_stock: Option<Decimal>,
    /// Plant-specific maintenance status [PSTAT].
    pub maintenance_status: Option<Text>,
}

/// Valuation data of a material [E1MBEWM].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MaterialValuation {
    /// Valuation area [BWKEY].
    pub valuation_area: Text,
    /// Price control, `S` standard or `V` moving average [VPRSV].
    pub price_control: Option<Text>,
    /// Standard price [STPRS].
    pub standard_price: Option<Decimal>,
    /// Moving average price [VERPR].
    pub moving_average_price: Option<Decimal>,
    /// Price unit [PEINH].
    pub price_unit: Option<Decimal>,
    /// Valuation class [BKLAS].
    pub valuation_class: Option<Text>,
}

/// A sales order with its items (IDoc ORDERS; S/4 SalesOrder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SalesOrder {
    /// Sales order number [E1EDK01-BELNR]; S/4 `SalesOrder`.
    pub order: Text,
    /// Order type [E1EDK01-BSART, else E1EDK14 QUALF 012]; S/4 `SalesOrderType`.
    pub order_type: Option<Text>,
    /// Sales organisation [E1EDK14 QUALF 008]; S/4 `SalesOrganization`.
    pub sales_org: Option<Text>,
    /// Distribution channel [E1EDK14 QUALF 007]; S/4 `DistributionChannel`.
    pub distribution_channel: Option<Text>,
    /// Division [E1EDK14 QUALF 006]; S/4 `OrganizationDivision`.
    pub division: Option<Text>,
    /// Sold-to customer [E1EDKA1 PARVW AG, else E1EDK01-RECIPNT_NO]; S/4 `SoldToParty`.
    pub sold_to: Option<Text>,
    /// Ship-to customer [E1EDKA1 PARVW WE].
    pub ship_to: Option<Text>,
    /// Document currency [E1EDK01-CURCY]; S/4 `TransactionCurrency`.
    pub currency: Option<Text>,
    /// Terms of payment [E1EDK01-ZTERM].
    pub payment_terms: Option<Text>,
    /// Customer's purchase order number [E1EDK02 QUALF 001 BELNR]; S/4 `PurchaseOrderByCustomer`.
    pub customer_po: Option<Text>,
    /// Customer's purchase order date [E1EDK02 QUALF 001 DATUM].
    #[serde(serialize_with = "crate::time_text::serialize_opt_date")]
    pub customer_po_date: Option<NaiveDate>,
    /// Document date [E1EDK03 IDDAT 012]; S/4 `SalesOrderDate`.
    #[serde(serialize_with = "crate::time_text::serialize_opt_date")]
    pub document_date: Option<NaiveDate>,
    /// Requested delivery date [E1EDK03 IDDAT 002]; S/4 `RequestedDeliveryDate`.
    #[serde(serialize_with = "crate::time_text::serialize_opt_date")]
    pub requested_delivery_date: Option<NaiveDate>,
    /// Net value of the order [E1EDS01 SUMID 002]; S/4 `TotalNetAmount`.
    pub net_value: Option<Decimal>,
    /// Gross weight [E1EDK01-BRGEW].
    pub gross_weight: Option<Decimal>,
    /// Net weight [E1EDK01-NTGEW].
    pub net_weight: Option<Decimal>,
    /// Weight unit, ISO [E1EDK01-GEWEI].
    pub weight_unit: Option<Text>,
    /// Partners [E1EDKA1].
    pub partners: Vec<OrderPartner>,
    /// Items [E1EDP01]; S/4 `to_Item`.
    pub items: Vec<SalesOrderItem>,
    /// Fields of custom segments and unknown fields, `SEGMENT.FIELD` → value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<Text, Text>,
}

/// A partner of a sales order [E1EDKA1].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OrderPartner {
    /// Partner function [PARVW]: `AG` sold-to, `WE` ship-to, `RE` bill-to, `RG` payer.
    pub function: Text,
    /// Partner number [PARTN].
    pub partner: Option<Text>,
    /// Name [NAME1].
    pub name: Option<Text>,
    /// Street [STRAS].
    pub street: Option<Text>,
    /// City [ORT01].
    pub city: Option<Text>,
    /// Postal code [PSTLZ].
    pub postal_code: Option<Text>,
    /// Country [LAND1].
    pub country: Option<Text>,
}

/// An item of a sales order [E1EDP01].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SalesOrderItem {
    /// Item number [POSEX]; S/4 `SalesOrderItem`. Canonical form (`10`, not `000010`).
    pub item: Text,
    /// Material [E1EDP19 QUALF 002 IDTNR]; S/4 `Material`.
    pub material: Option<Text>,
    /// Short text [E1EDP19 KTEXT]; S/4 `SalesOrderItemText`.
    pub description: Option<Text>,
    /// Quantity [MENGE]; S/4 `RequestedQuantity`.
    pub quantity: Option<Decimal>,
    /// Unit, ISO [MENEE]; S/4 `RequestedQuantityUnit`.
    pub unit: Option<Text>,
    /// Net price [VPREI].
    pub net_price: Option<Decimal>,
    /// Price unit [PEINH].
    pub price_unit: Option<Decimal>,
    /// Net value [NETWR, else E1EDP26 QUALF 003]; S/4 `NetAmount`.
    pub net_value: Option<Decimal>,
    /// Plant [WERKS]; S/4 `ProductionPlant`.
    pub plant: Option<Text>,
    /// Material group [MATKL]; S/4 `MaterialGroup`.
    pub material_group: Option<Text>,
    /// Schedule lines [E1EDP20].
    pub schedule_lines: Vec<ScheduleLine>,
}

/// A schedule line of an item [E1EDP20].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ScheduleLine {
    /// Scheduled quantity [WMENG].
    pub quantity: Option<Decimal>,
    /// Delivery date [EDATU].
    #[serde(serialize_with = "crate::time_text::serialize_opt_date")]
    pub date: Option<NaiveDate>,
}

/// A supplier, the vendor master (IDoc CREMAS / E1LFA1M; S/4 Supplier, the fields of
/// API_BUSINESS_PARTNER's `A_Supplier`).
///
/// **Personal data**: [`Supplier::bank_details`] holds bank accounts (and a supplier may be a
/// natural person, whose name and address are personal data too). The account fields are
/// [`Sensitive`]: stored and published as they are, never shown by `Debug`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Supplier {
    /// Supplier number [LIFNR]; S/4 `Supplier`.
    pub supplier: Text,
    /// Account group [KTOKK]; S/4 `SupplierAccountGroup`.
    pub account_group: Option<Text>,
    /// Name [NAME1]; S/4 `SupplierName`, else `SupplierFullName`.
    pub name: Option<Text>,
    /// Second name line [NAME2].
    pub name2: Option<Text>,
    /// Search term [SORTL]; S/4 `SearchTerm1` (of the business partner).
    pub search_term: Option<Text>,
    /// Street and house number [STRAS]; S/4 `to_BusinessPartnerAddress` `StreetName` +
    /// `HouseNumber`.
    pub street: Option<Text>,
    /// City [ORT01]; S/4 `CityName`.
    pub city: Option<Text>,
    /// Postal code [PSTLZ]; S/4 `PostalCode`.
    pub postal_code: Option<Text>,
    /// Region (state) [REGIO]; S/4 `Region`.
    pub region: Option<Text>,
    /// Country, ISO 3166-1 alpha-2 [LAND1]; S/4 `Country`.
    pub country: Option<Text>,
    /// Telephone [TELF1].
    pub phone: Option<Text>,
    /// Language, ISO 639-1 [SPRAS_ISO, else SPRAS]; S/4 `CorrespondenceLanguage`.
    pub language: Option<Text>,
    /// Tax number 1 [STCD1]; S/4 `TaxNumber1`.
    pub tax_number: Option<Text>,
    /// VAT registration number [STCEG]; S/4 `VATRegistration`.
    pub vat_number: Option<Text>,
    /// The customer this supplier also is, canonical form [KUNNR]; S/4 `Customer`.
    pub customer: Option<Text>,
    /// Posting blocked for all company codes [SPERR = X]; S/4 `PostingIsBlocked`.
    pub posting_block: bool,
    /// Purchasing blocked for all purchasing organisations [SPERM = X]; S/4
    /// `PurchasingIsBlocked`.
    pub purchasing_block: bool,
    /// Marked for deletion [LOEVM = X]; S/4 `DeletionIndicator`.
    pub deletion_flag: bool,
    /// Company code data [E1LFB1M]; S/4 `to_SupplierCompany`.
    pub company_codes: Vec<SupplierCompanyCode>,
    /// Purchasing organisation data [E1LFM1M]; S/4 `to_SupplierPurchasingOrg`.
    pub purchasing_orgs: Vec<SupplierPurchasingOrg>,
    /// Bank details [E1LFBKM]; S/4 `to_BusinessPartnerBank`. **Personal data.**
    pub bank_details: Vec<SupplierBankDetail>,
    /// Fields of custom segments (`Z*`) and unknown fields of known segments, as
    /// `SEGMENT.FIELD` → value, so that extensions travel without code changes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<Text, Text>,
}

/// Company code data of a supplier [E1LFB1M]; S/4 `A_SupplierCompany`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SupplierCompanyCode {
    /// Company code [BUKRS]; S/4 `CompanyCode`.
    pub company_code: Text,
    /// Reconciliation account [AKONT]; S/4 `ReconciliationAccount`.
    pub reconciliation_account: Option<Text>,
    /// Terms of payment [ZTERM]; S/4 `PaymentTerms`.
    pub payment_terms: Option<Text>,
    /// Payment methods [ZWELS]; S/4 `PaymentMethodsList`.
    pub payment_methods: Option<Text>,
    /// Posting blocked in this company code [SPERR = X].
    pub posting_block: bool,
    /// Marked for deletion in this company code [LOEVM = X]; S/4 `DeletionIndicator`.
    pub deletion_flag: bool,
}

/// Purchasing organisation data of a supplier [E1LFM1M]; S/4 `A_SupplierPurchasingOrg`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SupplierPurchasingOrg {
    /// Purchasing organisation [EKORG]; S/4 `PurchasingOrganization`.
    pub purchasing_org: Text,
    /// Order currency, ISO 4217 [WAERS]; S/4 `PurchaseOrderCurrency`.
    pub currency: Option<Text>,
    /// Terms of payment [ZTERM]; S/4 `PaymentTerms`.
    pub payment_terms: Option<Text>,
    /// Incoterms part 1 [INCO1]; S/4 `IncotermsClassification`.
    pub incoterms: Option<Text>,
    /// Incoterms part 2, the place [INCO2]; S/4 `IncotermsLocation1`.
    pub incoterms_place: Option<Text>,
    /// Minimum order value [MINBW]; S/4 `MinimumOrderAmount`.
    pub minimum_order_value: Option<Decimal>,
    /// Purchasing group [EKGRP]; S/4 `PurchasingGroup`.
    pub purchasing_group: Option<Text>,
    /// Planned delivery time in days [PLIFZ]; S/4 `MaterialPlannedDeliveryDurn`.
    pub planned_delivery_days: Option<Decimal>,
    /// Goods-receipt-based invoice verification [WEBRE = X]; S/4
    /// `InvoiceIsGoodsReceiptBased`.
    pub gr_based_invoice_verification: bool,
    /// Purchasing blocked in this organisation [SPERM = X]; S/4
    /// `PurchasingIsBlockedForSupplier`.
    pub purchasing_block: bool,
    /// Marked for deletion in this organisation [LOEVM = X]; S/4 `DeletionIndicator`.
    pub deletion_flag: bool,
}

/// A bank account of a supplier [E1LFBKM]; S/4 `A_BusinessPartnerBank` (the supplier's
/// business partner). **Personal data**: account, IBAN, holder and reference are
/// [`Sensitive`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SupplierBankDetail {
    /// Bank country, ISO 3166-1 alpha-2 [BANKS]; S/4 `BankCountryKey`.
    pub country: Text,
    /// Bank key (bank number, sort code) [BANKL]; S/4 `BankNumber`.
    pub bank_key: Option<Text>,
    /// Account number [BANKN]; S/4 `BankAccount`. Sensitive.
    pub account: Option<Sensitive>,
    /// IBAN [IBAN, when the IDoc carries it]; S/4 `IBAN`. Sensitive.
    pub iban: Option<Sensitive>,
    /// Bank control key [BKONT]; S/4 `BankControlKey`.
    pub control_key: Option<Text>,
    /// Partner bank type, which names the account in payments [BVTYP]; S/4
    /// `BankIdentification`.
    pub partner_bank_type: Option<Text>,
    /// Account holder, when not the supplier [KOINH]; S/4 `BankAccountHolderName`. Sensitive.
    pub account_holder: Option<Sensitive>,
    /// Reference details [BKREF]; S/4 `BankAccountReferenceText`. Sensitive.
    pub reference: Option<Sensitive>,
    /// Name of the bank [BANKA]; S/4 `BankName`.
    pub bank_name: Option<Text>,
    /// SWIFT/BIC [SWIFT]; S/4 `SWIFTCode`.
    pub swift: Option<Text>,
}

/// One of the records, as carried by a [`crate::ChangeEvent`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Record {
    /// A customer.
    Customer(Customer),
    /// A material.
    Material(Material),
    /// A sales order.
    SalesOrder(SalesOrder),
    /// A supplier.
    Supplier(Supplier),
}

impl Record {
    /// The record of `entity` in `value` (its fields as JSON), as an event's `data` is read.
    ///
    /// ```
    /// use hub_model::{Customer, Entity, Record};
    /// let c = Customer { customer: "0000100123".into(), ..Customer::default() };
    /// let r = Record::from_value(Entity::Customer, serde_json::to_value(&c).unwrap()).unwrap();
    /// assert_eq!(r.key(), "0000100123");
    /// assert!(Record::from_value(Entity::Customer, serde_json::json!({"customer": 7})).is_err());
    /// ```
    pub fn from_value(
        entity: crate::Entity,
        value: serde_json::Value,
    ) -> Result<Record, serde_json::Error> {
        Ok(match entity {
            crate::Entity::Customer => Record::Customer(serde_json::from_value(value)?),
            crate::Entity::Material => Record::Material(serde_json::from_value(value)?),
            crate::Entity::SalesOrder => Record::SalesOrder(serde_json::from_value(value)?),
            crate::Entity::Supplier => Record::Supplier(serde_json::from_value(value)?),
        })
    }

    /// The entity this record is of.
    pub fn entity(&self) -> crate::Entity {
        match self {
            Record::Customer(_) => crate::Entity::Customer,
            Record::Material(_) => crate::Entity::Material,
            Record::SalesOrder(_) => crate::Entity::SalesOrder,
            Record::Supplier(_) => crate::Entity::Supplier,
        }
    }

    /// The record's business key (canonical form).
    pub fn key(&self) -> &str {
        match self {
            Record::Customer(c) => &c.customer,
            Record::Material(m) => &m.material,
            Record::SalesOrder(o) => &o.order,
            Record::Supplier(s) => &s.supplier,
        }
    }
}
