//! The handler as a local function, for the local stream event source mapping: configured from
//! the same environment variables the deployed function gets from `template.yaml`.

use crate::config::Config;
use crate::handler::handle;
use hub_aws::AwsClients;
use hub_core::config::{ConfigError, Env};
use hub_local::{LocalFunction, handler_fn};
use hub_template::{Context, TemplateError};
use std::sync::Arc;
use thiserror::Error;

/// Why the function cannot run locally.
#[derive(Debug, Error)]
pub enum LocalError {
    /// Its environment does not resolve.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// Its environment is not a valid configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The local function of the template's function `logical_id`, when its SAM build binary is
/// `change-stream`; `None` otherwise.
pub fn function_of(
    ctx: &Context<'_>,
    logical_id: &str,
    clients: &AwsClients,
) -> Result<Option<Arc<dyn LocalFunction>>, LocalError> {
    let Some(resource) = ctx.template().resource(logical_id) else {
        return Ok(None);
    };
    let binary = resource
        .metadata
        .get("BuildProperties")
        .and_then(|b| b.get("Binary"))
        .and_then(|b| b.as_str());
    if binary != Some(crate::BINARY) {
        return Ok(None);
    }
    let env: Vec<(String, String)> = ctx.function_environment(logical_id)?.into_iter().collect();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let config = Config::from_env(&Env::from_pairs(&pairs))?;
    let state = Arc::new(crate::state(clients, &config, false));
    Ok(Some(handler_fn(move |event| {
        let state = state.clone();
        async move { handle(event, &state).await }
    })))
}
