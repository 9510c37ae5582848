//! The enricher as a local function of the template (feature `local`): configured from the
//! environment the template gives the deployed function, its secret read from the local
//! Secrets Manager (moto), its event source mapping the local one, turned off and on through
//! that mapping's switch.

use crate::config::Config;
use crate::handler::{State, handle};
use crate::s4_http::HttpS4;
use hub_aws::AwsClients;
use hub_aws::sns_publisher::SnsPublisher;
use hub_aws::sqs_dlq::SqsDeadLetters;
use hub_core::PortError;
use hub_core::config::Env;
use hub_enrich::MappingSwitch;
use hub_local::{EsmSwitch, LocalFunction, handler_fn};
use hub_template::Context;
use std::collections::HashMap;
use std::sync::Arc;

/// The enricher's logical id in the template.
pub const FUNCTION: &str = "S4Enricher";

/// The local mapping's switch as the enricher's [`MappingSwitch`].
#[derive(Debug, Clone)]
pub struct LocalSwitch(pub EsmSwitch);

impl MappingSwitch for LocalSwitch {
    async fn enabled(&self) -> Result<bool, PortError> {
        Ok(self.0.is_on())
    }

    async fn set_enabled(&self, on: bool) -> Result<(), PortError> {
        self.0.set(on);
        Ok(())
    }
}

/// The local function's state.
pub type LocalState =
    State<HttpS4, SnsPublisher, SqsDeadLetters, LocalSwitch, crate::retry::SqsRetryLater>;

/// The enricher of the template as a local function, and its state (for the probe and the
/// counters), with `switch` as its mapping; `None` when the template has no such function.
pub async fn function_of(
    ctx: &Context<'_>,
    clients: &AwsClients,
    switch: EsmSwitch,
) -> anyhow::Result<Option<(Arc<dyn LocalFunction>, Arc<LocalState>)>> {
    if ctx.template().resource(FUNCTION).is_none() || !ctx.is_active(FUNCTION)? {
        return Ok(None);
    }
    let env: HashMap<String, String> = ctx.function_environment(FUNCTION)?.into_iter().collect();
    let mut pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let base = env.get("S4_API_BASE_URL").cloned().unwrap_or_default();
    let loopback = base.starts_with("http://127.0.0.1") || base.starts_with("http://localhost");
    if loopback {
        pairs.push(("S4_ALLOW_HTTP", "true"));
    }
    let config = Config::from_env(&Env::from_pairs(&pairs))?;
    // The local Secrets Manager is moto, where SNS and SQS are.
    let mut sm = clients.config.to_builder();
    if let Some(endpoint) = &clients.sns_endpoint_url {
        sm.set_endpoint_url(Some(endpoint.clone()));
    }
    let secret = hub_aws::secrets::secret_string(&sm.build(), &config.s4_secret_arn).await?;
    let secret = crate::credentials::S4Secret::parse(&secret).map_err(anyhow::Error::msg)?;
    let api = HttpS4::new(
        &config.s4_base_url,
        secret,
        config.s4_timeout,
        config.allow_http,
    )?;
    let state = Arc::new(State {
        enricher: hub_enrich::Enricher::new(api, config.settings.clone()),
        publisher: SnsPublisher::new(clients, &config.topic_arn),
        dlq: SqsDeadLetters::new(clients.sqs.clone(), &config.dlq_url),
        mapping: LocalSwitch(switch),
        retry: crate::retry::SqsRetryLater::new(clients.sqs.clone(), &config.queue_url),
        retry_delay: config.retry_delay,
        fifo: config.fifo,
        probe_path: config.probe_path.clone(),
        emit_metrics: false,
    });
    let s = state.clone();
    let function = handler_fn(move |event| {
        let state = s.clone();
        async move { handle(event, &state).await }
    });
    Ok(Some((function, state)))
}
