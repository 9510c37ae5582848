//! Configuration from the environment, validated at start; each error names the variable.

use hub_model::Entity;
use hub_sync::SyncConfig;
use std::time::Duration;
use thiserror::Error;

/// A variable that is missing or wrong.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    /// A variable has a value that cannot be used.
    #[error("environment variable {name}={value:?}: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// Why it is wrong.
        reason: &'static str,
    },
}

/// What a domain function needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the single table.
    pub table_name: String,
    /// `DLQ_URL`: the domain DLQ, for permanent errors.
    pub dlq_url: String,
    /// Batch processing settings (`TOMBSTONE_TTL_DAYS`, default 30).
    pub sync: SyncConfig,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env(entity: Entity, domain: &str) -> Result<Config, ConfigError> {
        Config::from_lookup(entity, domain, |k| std::env::var(k).ok())
    }

    /// Reads variables through `get` (testable without touching the process environment).
    pub fn from_lookup(
        entity: Entity,
        domain: &str,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let required = |name: &'static str| {
            get(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        let mut sync = SyncConfig::new(entity, domain);
        if let Some(v) = get("TOMBSTONE_TTL_DAYS") {
            let days: u64 = v.trim().parse().map_err(|_| ConfigError::Invalid {
                name: "TOMBSTONE_TTL_DAYS",
                value: v.clone(),
                reason: "not a whole number of days",
            })?;
            if days == 0 {
                return Err(ConfigError::Invalid {
                    name: "TOMBSTONE_TTL_DAYS",
                    value: v,
                    reason: "must be at least 1",
                });
            }
            sync.tombstone_ttl = Duration::from_secs(days * 24 * 3600);
        }
        Ok(Config {
            table_name: required("TABLE_NAME")?,
            dlq_url: required("DLQ_URL")?,
            sync,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn variables_are_validated_by_name() {
        // Scenario: missing and invalid variables are named; valid ones are read.
        let env = |pairs: &[(&str, &str)]| {
            let m: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            move |k: &str| m.get(k).cloned()
        };
        let e = Config::from_lookup(Entity::Customer, "customers", env(&[("DLQ_URL", "u")]));
        assert_eq!(e.unwrap_err(), ConfigError::Missing("TABLE_NAME"));
        let e = Config::from_lookup(
            Entity::Customer,
            "customers",
            env(&[
                ("TABLE_NAME", "t"),
                ("DLQ_URL", "u"),
                ("TOMBSTONE_TTL_DAYS", "x"),
            ]),
        );
        assert!(e.unwrap_err().to_string().contains("TOMBSTONE_TTL_DAYS"));
        let c = Config::from_lookup(
            Entity::Customer,
            "customers",
            env(&[
                ("TABLE_NAME", "t"),
                ("DLQ_URL", "u"),
                ("TOMBSTONE_TTL_DAYS", "2"),
            ]),
        )
        .unwrap();
        assert_eq!(c.sync.tombstone_ttl, Duration::from_secs(2 * 86400));
    }
}
