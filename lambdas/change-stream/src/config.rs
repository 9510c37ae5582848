//! Configuration from the environment, validated at start; each error names the variable.

use hub_core::config::{ConfigError, Env};

/// What the change-stream function needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `TABLE_NAME`: the single table (an order's item chunks are read from it).
    pub table_name: String,
    /// `CONSOLIDATED_TOPIC_ARN`: where applied changes are published.
    pub topic_arn: String,
    /// `CONSOLIDATED_FIFO` (`true`/`false`, default false): a FIFO topic, with
    /// `MessageGroupId = entity:key`.
    pub fifo: bool,
    /// `CLAIM_CHECK_BUCKET`: where a message over 256 KiB is stored.
    pub bucket: String,
}

impl Config {
    /// Reads and validates the configuration from `env`.
    pub fn from_env(env: &Env) -> Result<Config, ConfigError> {
        let topic_arn = env.required("CONSOLIDATED_TOPIC_ARN")?;
        let fifo = env.flag("CONSOLIDATED_FIFO", false)?;
        if fifo != topic_arn.ends_with(".fifo") {
            return Err(ConfigError {
                variable: "CONSOLIDATED_FIFO".into(),
                message:
                    "must be true exactly when the topic is a FIFO topic (its name ends in .fifo)"
                        .into(),
            });
        }
        Ok(Config {
            table_name: env.required("TABLE_NAME")?,
            topic_arn,
            fifo,
            bucket: env.required("CLAIM_CHECK_BUCKET")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_validated_by_name() {
        // Scenario: missing variables are named; FIFO must match the topic's name.
        let read = |pairs: &[(&str, &str)]| Config::from_env(&Env::from_pairs(pairs));
        let base = [
            ("TABLE_NAME", "t"),
            (
                "CONSOLIDATED_TOPIC_ARN",
                "arn:aws:sns:eu-west-1:1:hub-consolidated",
            ),
            ("CLAIM_CHECK_BUCKET", "b"),
        ];
        assert_eq!(
            read(&base[..1]).unwrap_err().variable,
            "CONSOLIDATED_TOPIC_ARN"
        );
        assert!(!read(&base).unwrap().fifo);
        let mut fifo = base.to_vec();
        fifo.push(("CONSOLIDATED_FIFO", "true"));
        assert_eq!(read(&fifo).unwrap_err().variable, "CONSOLIDATED_FIFO");
        fifo[1].1 = "arn:aws:sns:eu-west-1:1:hub-consolidated.fifo";
        assert!(read(&fifo).unwrap().fifo);
    }
}
