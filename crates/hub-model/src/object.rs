//! The SAP objects the hub syncs, declared once: everything about an object that is data, not
//! code. The routing value, the schema, the table key, the domain (queue, DLQ, metric
//! dimension), the sync function, and where SAP sends it (IDoc message types and their Kafka
//! topic, S/4 business event objects) are read from [`OBJECTS`] by every crate, so no crate
//! keeps a list or a match of its own.
//!
//! What stays code is matched once, in the crate that owns it: the record type of each entity
//! ([`crate::Record`]), and the SAP mappings (`hub_sap`). The template's per-object resources
//! come from `infra/template/objects.yaml`; a test checks that it declares the same objects.
//!
//! ```
//! use hub_model::Entity;
//! let supplier = Entity::Supplier.object();
//! assert_eq!((supplier.name, supplier.domain, supplier.function), ("supplier", "suppliers", "supplier-sync"));
//! assert_eq!(Entity::for_idoc("CREMAS"), Some(Entity::Supplier));
//! assert_eq!(Entity::from_name("sales_order"), Some(Entity::SalesOrder));
//! ```

use crate::event::Entity;

/// An SAP object, as the hub routes, stores and receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Object {
    /// The entity.
    pub entity: Entity,
    /// `customer`: the `entity` routing attribute's value and the event's `entity` field.
    pub name: &'static str,
    /// The schema of its record, e.g. `customer.v1`.
    pub schema: &'static str,
    /// The single table's partition key prefix of its items, e.g. `CUSTOMER#`.
    pub pk_prefix: &'static str,
    /// The sort key of its versioned item (the one a change writes and guards), e.g. `PROFILE`.
    pub item_sk: &'static str,
    /// Whether its record is an aggregate written over several items of its partition (an
    /// order's header, material index rows and item chunks): read as a whole partition, and
    /// written under its header's version.
    pub aggregate: bool,
    /// Its domain: the queue, the DLQ, the redrive function and the `domain` metric dimension.
    pub domain: &'static str,
    /// Its domain sync function and binary.
    pub function: &'static str,
    /// The IDoc message types mapped to it (any basic-type version).
    pub idoc_message_types: &'static [&'static str],
    /// The Kafka topic its IDocs arrive on by default, and the template parameter naming it.
    pub idoc_topic: Topic,
    /// The S/4 business event objects mapped to it (`sap.s4.beh.<object>.v1…`), each with the
    /// field of the event's data that holds the key.
    pub s4_objects: &'static [(&'static str, &'static str)],
}

/// A Kafka topic SAP publishes to, and the template parameter that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topic {
    /// The default topic name.
    pub name: &'static str,
    /// The template parameter (`DebmasTopic`).
    pub parameter: &'static str,
}

/// The topic of S/4HANA's business events, shared by every object.
pub const S4_EVENTS_TOPIC: Topic = Topic {
    name: "sap.s4.events",
    parameter: "S4EventsTopic",
};

/// Every object, in [`Entity`] declaration order.
pub const OBJECTS: [Object; 4] = [
    Object {
        entity: Entity::Customer,
        name: "customer",
        schema: "customer.v1",
        pk_prefix: "CUSTOMER#",
        item_sk: "PROFILE",
        aggregate: false,
        domain: "customers",
        function: "customer-sync",
        idoc_message_types: &["DEBMAS"],
        idoc_topic: Topic {
            name: "sap.idoc.debmas",
            parameter: "DebmasTopic",
        },
        s4_objects: &[
            ("businesspartner", "BusinessPartner"),
            ("customer", "Customer"),
        ],
    },
    Object {
        entity: Entity::Material,
        name: "material",
        schema: "material.v1",
        pk_prefix: "MATERIAL#",
        item_sk: "MATERIAL",
        aggregate: false,
        domain: "materials",
        function: "material-sync",
        idoc_message_types: &["MATMAS"],
        idoc_topic: Topic {
            name: "sap.idoc.matmas",
            parameter: "MatmasTopic",
        },
        s4_objects: &[("product", "Product")],
    },
    Object {
        entity: Entity::SalesOrder,
        name: "sales_order",
        schema: "sales_order.v1",
        pk_prefix: "ORDER#",
        item_sk: "ORDER",
        aggregate: true,
        domain: "sales-orders",
        function: "sales-order-sync",
        idoc_message_types: &["ORDERS", "ORDCHG"],
        idoc_topic: Topic {
            name: "sap.idoc.orders",
            parameter: "OrdersTopic",
        },
        s4_objects: &[("salesorder", "SalesOrder")],
    },
    Object {
        entity: Entity::Supplier,
        name: "supplier",
        schema: "supplier.v1",
        pk_prefix: "SUPPLIER#",
        item_sk: "PROFILE",
        aggregate: false,
        domain: "suppliers",
        function: "supplier-sync",
        idoc_message_types: &["CREMAS"],
        idoc_topic: Topic {
            name: "sap.idoc.cremas",
            parameter: "CremasTopic",
        },
        s4_objects: &[("supplier", "Supplier")],
    },
];

/// Every SAP topic the bridge reads: each object's IDoc topic, then S/4's events.
pub fn sap_topics() -> impl Iterator<Item = Topic> {
    OBJECTS
        .iter()
        .map(|o| o.idoc_topic)
        .chain(std::iter::once(S4_EVENTS_TOPIC))
}

impl Entity {
    /// This entity's object.
    pub const fn object(self) -> &'static Object {
        &OBJECTS[self as usize]
    }

    /// The entity of a routing value (`customer`, `sales_order`…).
    pub fn from_name(name: &str) -> Option<Entity> {
        OBJECTS.iter().find(|o| o.name == name).map(|o| o.entity)
    }

    /// The entity of an IDoc message type (`DEBMAS`…).
    pub fn for_idoc(message_type: &str) -> Option<Entity> {
        OBJECTS
            .iter()
            .find(|o| o.idoc_message_types.contains(&message_type))
            .map(|o| o.entity)
    }

    /// The entity of an S/4 business event object (`businesspartner`…) and the field of the
    /// event's data that holds its key.
    pub fn for_s4_object(object: &str) -> Option<(Entity, &'static str)> {
        OBJECTS.iter().find_map(|o| {
            o.s4_objects
                .iter()
                .find(|(name, _)| *name == object)
                .map(|(_, key_field)| (o.entity, *key_field))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_in_entity_order_and_unique() {
        // Scenario: object() indexes OBJECTS by the entity, and no two objects share a name,
        // a domain, a function, a key prefix, a topic, an IDoc type or an S/4 object.
        for (i, o) in OBJECTS.iter().enumerate() {
            assert_eq!(o.entity as usize, i, "{}", o.name);
            assert_eq!(Entity::ALL[i], o.entity);
            assert_eq!(o.entity.object(), o);
        }
        let unique = |what: &str, values: Vec<&str>| {
            let mut sorted = values.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), values.len(), "{what}: {values:?}");
        };
        unique("name", OBJECTS.iter().map(|o| o.name).collect());
        unique("domain", OBJECTS.iter().map(|o| o.domain).collect());
        unique("function", OBJECTS.iter().map(|o| o.function).collect());
        unique("pk prefix", OBJECTS.iter().map(|o| o.pk_prefix).collect());
        unique("topic", sap_topics().map(|t| t.name).collect());
        unique(
            "topic parameter",
            sap_topics().map(|t| t.parameter).collect(),
        );
        unique(
            "IDoc type",
            OBJECTS
                .iter()
                .flat_map(|o| o.idoc_message_types.to_vec())
                .collect(),
        );
        unique(
            "S/4 object",
            OBJECTS
                .iter()
                .flat_map(|o| o.s4_objects.iter().map(|s| s.0))
                .collect(),
        );
    }

    #[test]
    fn names_round_trip_and_match_serde() {
        // Scenario: the routing value is the serialised entity, and from_name reads it back.
        for e in Entity::ALL {
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(json, format!("\"{}\"", e.object().name));
            assert_eq!(Entity::from_name(e.object().name), Some(e));
            assert!(e.object().schema.starts_with(e.object().name));
        }
        assert_eq!(Entity::from_name("vendor"), None);
    }

    #[test]
    fn sap_names_find_their_entity() {
        // Scenario: IDoc message types and S/4 objects map as the parsers need.
        assert_eq!(Entity::for_idoc("ORDCHG"), Some(Entity::SalesOrder));
        assert_eq!(Entity::for_idoc("CLFMAS"), None);
        assert_eq!(
            Entity::for_s4_object("businesspartner"),
            Some((Entity::Customer, "BusinessPartner"))
        );
        assert_eq!(Entity::for_s4_object("purchaseorder"), None);
        assert_eq!(sap_topics().last(), Some(S4_EVENTS_TOPIC));
    }
}
