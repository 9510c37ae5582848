//! Every key of the single table, in one place (DESIGN §5).
//!
//! The table has generic key attributes: `pk`/`sk`, and `gsi1pk`/`gsi1sk` for index `gsi1`.
//!
//! | access pattern | key condition |
//! |---|---|
//! | customer by id | `pk = CUSTOMER#<id>`, `sk = PROFILE` |
//! | supplier by id, with company codes, purchasing organisations and bank details | `pk = SUPPLIER#<id>`, `sk = PROFILE` |
//! | material by id, with descriptions and plants | `pk = MATERIAL#<id>` (one item, `sk = MATERIAL`) |
//! | order by id, with items | `pk = ORDER#<id>` (`sk = ORDER`, one `MATERIAL#<m>` index row per material, and `ITEMS#<n>` chunks when the items exceed one item's size) |
//! | a customer's orders, newest first | GSI1 `gsi1pk = CUSTOMER#<id>`, `gsi1sk begins_with ORDER#`, descending |
//! | orders containing a material | GSI1 `gsi1pk = MATERIAL#<id>`, `gsi1sk begins_with ORDER#` |
//!
//! Both GSI1 patterns share the index: an order item carries `gsi1pk = CUSTOMER#<sold-to>`, an
//! order's material index row carries `gsi1pk = MATERIAL#<material>`, so one GSI serves both.
//!
//! [`item`] gives the versioned item of any entity, the key every write plan is guarded on.

use hub_model::Entity;

/// Partition key prefix of customers (from the object registry, `hub_model::object`).
pub const CUSTOMER: &str = Entity::Customer.object().pk_prefix;
/// Partition key prefix of materials.
pub const MATERIAL: &str = Entity::Material.object().pk_prefix;
/// Partition key prefix of sales orders.
pub const ORDER: &str = Entity::SalesOrder.object().pk_prefix;
/// Partition key prefix of suppliers.
pub const SUPPLIER: &str = Entity::Supplier.object().pk_prefix;
/// Sort key prefix of an order's item chunks.
pub const ITEMS: &str = "ITEMS#";
/// Sort key of a customer's or a supplier's profile item.
pub const PROFILE: &str = Entity::Customer.object().item_sk;
/// Sort key of a material's item.
pub const MATERIAL_SK: &str = Entity::Material.object().item_sk;
/// Sort key of an order's header item (which holds its items).
pub const ORDER_SK: &str = Entity::SalesOrder.object().item_sk;

/// A primary key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// Partition key.
    pub pk: String,
    /// Sort key.
    pub sk: String,
}

/// A customer's profile.
///
/// ```
/// let k = hub_store::keys::customer("100123");
/// assert_eq!((k.pk.as_str(), k.sk.as_str()), ("CUSTOMER#100123", "PROFILE"));
/// ```
pub fn customer(id: &str) -> Key {
    Key {
        pk: format!("{CUSTOMER}{id}"),
        sk: PROFILE.to_string(),
    }
}

/// A supplier's profile: one item with its company codes, purchasing organisations and bank
/// details (the bank details are personal data: a `bank_details` list attribute of this item).
///
/// ```
/// let k = hub_store::keys::supplier("300123");
/// assert_eq!((k.pk.as_str(), k.sk.as_str()), ("SUPPLIER#300123", "PROFILE"));
/// ```
pub fn supplier(id: &str) -> Key {
    Key {
        pk: format!("{SUPPLIER}{id}"),
        sk: PROFILE.to_string(),
    }
}

/// The versioned item of an entity's record: the one a change writes (or tombstones) and
/// guards with its version.
///
/// ```
/// use hub_model::Entity;
/// use hub_store::keys;
/// assert_eq!(keys::item(Entity::Supplier, "300123"), keys::supplier("300123"));
/// assert_eq!(keys::item(Entity::SalesOrder, "45001"), keys::order("45001"));
/// ```
pub fn item(entity: Entity, id: &str) -> Key {
    let object = entity.object();
    Key {
        pk: [object.pk_prefix, id].concat(),
        sk: object.item_sk.to_string(),
    }
}

/// A material, with its descriptions and plants.
///
/// ```
/// let k = hub_store::keys::material("100234");
/// assert_eq!((k.pk.as_str(), k.sk.as_str()), ("MATERIAL#100234", "MATERIAL"));
/// ```
pub fn material(id: &str) -> Key {
    Key {
        pk: format!("{MATERIAL}{id}"),
        sk: MATERIAL_SK.to_string(),
    }
}

/// An order's header item, with its items.
///
/// ```
/// let k = hub_store::keys::order("45001");
/// assert_eq!((k.pk.as_str(), k.sk.as_str()), ("ORDER#45001", "ORDER"));
/// ```
pub fn order(id: &str) -> Key {
    Key {
        pk: format!("{ORDER}{id}"),
        sk: ORDER_SK.to_string(),
    }
}

/// The index row that lists an order under a material it contains.
///
/// ```
/// let k = hub_store::keys::order_material("45001", "100234");
/// assert_eq!((k.pk.as_str(), k.sk.as_str()), ("ORDER#45001", "MATERIAL#100234"));
/// ```
pub fn order_material(order: &str, material: &str) -> Key {
    Key {
        pk: format!("{ORDER}{order}"),
        sk: format!("{MATERIAL}{material}"),
    }
}

/// A chunk of an order's items, for orders too large for one item (DynamoDB's 400 KB limit).
///
/// ```
/// let k = hub_store::keys::order_items_chunk("45001", 2);
/// assert_eq!((k.pk.as_str(), k.sk.as_str()), ("ORDER#45001", "ITEMS#0002"));
/// ```
pub fn order_items_chunk(order: &str, chunk: usize) -> Key {
    Key {
        pk: format!("{ORDER}{order}"),
        sk: format!("{ITEMS}{chunk:04}"),
    }
}

/// GSI1 key of an order under its sold-to customer: newest first when queried descending.
/// The date is the order's document date (`YYYY-MM-DD`, or `0000-00-00` when unknown).
///
/// ```
/// let (pk, sk) = hub_store::keys::customer_order_gsi1("100123", "2026-11-20", "45001");
/// assert_eq!(pk, "CUSTOMER#100123");
/// assert_eq!(sk, "ORDER#2026-11-20#45001");
/// ```
pub fn customer_order_gsi1(customer: &str, date: &str, order: &str) -> (String, String) {
    (
        format!("{CUSTOMER}{customer}"),
        format!("{ORDER}{date}#{order}"),
    )
}

/// GSI1 key of an order's material index row: the orders containing a material.
///
/// ```
/// let (pk, sk) = hub_store::keys::material_order_gsi1("100234", "45001");
/// assert_eq!((pk.as_str(), sk.as_str()), ("MATERIAL#100234", "ORDER#45001"));
/// ```
pub fn material_order_gsi1(material: &str, order: &str) -> (String, String) {
    (format!("{MATERIAL}{material}"), format!("{ORDER}{order}"))
}
