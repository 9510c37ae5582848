//! The Lambda handler: the console's JSON input in, the redrive report out.

use crate::Redriver;
use hub_redrive::{RedriveRequest, Report, RunLimits};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

/// The input was refused; nothing was read or moved.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct BadInput(#[from] hub_redrive::request::InvalidRequest);

impl From<BadInput> for Diagnostic {
    fn from(e: BadInput) -> Diagnostic {
        Diagnostic {
            error_type: "InvalidRedriveInput".into(),
            error_message: e.to_string(),
        }
    }
}

/// Runs one redrive with the invocation's input, stopping before its deadline.
pub async fn handle(event: LambdaEvent<Value>, redriver: &Redriver) -> Result<Report, BadInput> {
    let request = RedriveRequest::from_json(event.payload)?;
    let remaining = hub_core::deadline::remaining(event.context.deadline);
    let limits = RunLimits::within(remaining);
    Ok(redriver.run(&request, limits, |_| {}).await)
}
