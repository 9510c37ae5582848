//! Configuration from the environment, validated at start; each error names the variable.

use hub_core::config::{ConfigError, Env};
use hub_model::Entity;
use hub_sync::SyncConfig;
use std::time::Duration;

/// What a domain function needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the single table.
    pub table_name: String,
    /// `DLQ_URL`: the domain DLQ, for permanent errors.
    pub dlq_url: String,
    /// Batch processing settings (`TOMBSTONE_TTL_DAYS`, default 30, at most ten years).
    pub sync: SyncConfig,
}

impl Config {
    /// Reads and validates the configuration of `entity`'s function from `env`.
    pub fn from_env(entity: Entity, domain: &str, env: &Env) -> Result<Config, ConfigError> {
        let mut sync = SyncConfig::new(entity, domain);
        let default_days = sync.tombstone_ttl.as_secs() / 86_400;
        let days: u64 = env.number("TOMBSTONE_TTL_DAYS", default_days, 1..=3650)?;
        sync.tombstone_ttl = Duration::from_secs(days * 86_400);
        Ok(Config {
            table_name: env.required("TABLE_NAME")?,
            dlq_url: env.required("DLQ_URL")?,
            sync,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_validated_by_name() {
        // Scenario: missing and invalid variables are named; valid ones are read.
        let read = |pairs: &[(&str, &str)]| {
            Config::from_env(Entity::Customer, "customers", &Env::from_pairs(pairs))
        };
        assert_eq!(
            read(&[("DLQ_URL", "u")]).unwrap_err().variable,
            "TABLE_NAME"
        );
        let e = read(&[
            ("TABLE_NAME", "t"),
            ("DLQ_URL", "u"),
            ("TOMBSTONE_TTL_DAYS", "x"),
        ]);
        assert_eq!(e.unwrap_err().variable, "TOMBSTONE_TTL_DAYS");
        let e = read(&[
            ("TABLE_NAME", "t"),
            ("DLQ_URL", "u"),
            ("TOMBSTONE_TTL_DAYS", "0"),
        ]);
        assert_eq!(e.unwrap_err().variable, "TOMBSTONE_TTL_DAYS");
        let c = read(&[
            ("TABLE_NAME", "t"),
            ("DLQ_URL", "u"),
            ("TOMBSTONE_TTL_DAYS", "2"),
        ])
        .unwrap();
        assert_eq!(c.sync.tombstone_ttl, Duration::from_secs(2 * 86400));
    }
}
