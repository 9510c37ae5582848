//! Configuration from the environment, read once at start and validated: a missing or bad value
//! is a [`ConfigError`] that names the variable, so a process stops with a message an operator
//! can act on (exit status 2 in the binaries).
//!
//! Every Lambda and binary of the hub reads its settings through [`Env`]: a snapshot of the
//! process environment in production, pairs in tests.
//!
//! ```
//! use hub_core::config::Env;
//! let env = Env::from_pairs(&[("BATCH", "25"), ("FIFO", "yes")]);
//! assert_eq!(env.number("BATCH", 10u32, 1..=100).unwrap(), 25);
//! assert!(env.flag("FIFO", false).unwrap());
//! let err = env.required("TABLE_NAME").unwrap_err();
//! assert_eq!(err.to_string(), "TABLE_NAME: required but not set");
//! ```

use std::str::FromStr;
use std::time::Duration;

/// A configuration variable is missing or wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: String,
    /// What is wrong with it.
    pub message: String,
}

/// The variables a process was configured with (a snapshot of the environment, or pairs in
/// tests).
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: std::collections::BTreeMap<String, String>,
}

impl Env {
    /// The process environment.
    pub fn process() -> Env {
        Env {
            vars: std::env::vars().collect(),
        }
    }

    /// Variables from a list of pairs.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Env {
        Env {
            vars: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// Every set variable whose name starts with `prefix`: (rest of the name, value).
    pub fn with_prefix(&self, prefix: &str) -> Vec<(String, String)> {
        self.vars
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k[prefix.len()..].to_string(), v.clone()))
            .collect()
    }

    /// A variable's value, blank taken as unset.
    pub fn get(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// A required variable.
    pub fn required(&self, name: &str) -> Result<String, ConfigError> {
        self.get(name).ok_or_else(|| ConfigError {
            variable: name.into(),
            message: "required but not set".into(),
        })
    }

    /// A parsed variable, or `default`.
    pub fn parse<T: FromStr>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e| ConfigError {
                variable: name.into(),
                message: format!("{v:?} is not valid: {e}"),
            }),
        }
    }

    /// A number within `range`, or `default`.
    pub fn number<T>(
        &self,
        name: &str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + std::fmt::Display + Copy,
        T::Err: std::fmt::Display,
    {
        let v = self.parse(name, default)?;
        if range.contains(&v) {
            Ok(v)
        } else {
            Err(ConfigError {
                variable: name.into(),
                message: format!("{v} is out of range {}..={}", range.start(), range.end()),
            })
        }
    }

    /// A duration in milliseconds within `range`, or `default`.
    pub fn millis(
        &self,
        name: &str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        self.number(name, default, range).map(Duration::from_millis)
    }

    /// A boolean (`true`/`false`, `1`/`0`, `yes`/`no`), or `default`.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if ["true", "1", "yes"].contains(&v.as_str()) => Ok(true),
            Some(v) if ["false", "0", "no"].contains(&v.as_str()) => Ok(false),
            Some(v) => Err(ConfigError {
                variable: name.into(),
                message: format!("{v:?} is not a boolean (true/false)"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_unset_and_errors_name_the_variable() {
        // Scenario: a blank value counts as unset; every error names the variable at fault.
        let env = Env::from_pairs(&[("A", "  "), ("N", "500"), ("B", "maybe"), ("X", "x")]);
        assert_eq!(env.get("A"), None);
        assert_eq!(env.parse("A", 7u32).unwrap(), 7);
        let e = env.number("N", 1u32, 1..=100).unwrap_err();
        assert_eq!(e.variable, "N");
        assert_eq!(e.message, "500 is out of range 1..=100");
        assert_eq!(env.flag("B", false).unwrap_err().variable, "B");
        assert_eq!(env.parse::<u32>("X", 1).unwrap_err().variable, "X");
        assert_eq!(
            env.millis("N", 1, 0..=1000).unwrap(),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn prefixed_variables_are_listed_without_the_prefix() {
        // Scenario: BRIDGE_* tuning is passed on as (rest of the name, value).
        let env = Env::from_pairs(&[("BRIDGE_A", "1"), ("BRIDGEX", "2"), ("OTHER", "3")]);
        assert_eq!(env.with_prefix("BRIDGE_"), vec![("A".into(), "1".into())]);
    }
}
