//! The enricher's event source mapping through the Lambda API: found by the function's name
//! and the queue's ARN (a function cannot be given its own mapping's UUID by the template: the
//! mapping depends on the function), turned off and on with `UpdateEventSourceMapping`.

use hub_aws::AwsError;
use hub_core::PortError;
use hub_enrich::MappingSwitch;
use tokio::sync::OnceCell;

/// The mapping of `function` on `queue_arn`.
#[derive(Debug)]
pub struct LambdaMappingSwitch {
    client: aws_sdk_lambda::Client,
    function: String,
    queue_arn: String,
    uuid: OnceCell<String>,
}

impl LambdaMappingSwitch {
    /// The switch of `function`'s mapping on `queue_arn`.
    pub fn new(
        client: aws_sdk_lambda::Client,
        function: impl Into<String>,
        queue_arn: impl Into<String>,
    ) -> LambdaMappingSwitch {
        LambdaMappingSwitch {
            client,
            function: function.into(),
            queue_arn: queue_arn.into(),
            uuid: OnceCell::new(),
        }
    }

    /// The mapping's UUID (looked up once).
    pub async fn uuid(&self) -> Result<&str, PortError> {
        self.uuid
            .get_or_try_init(|| async {
                let out = self
                    .client
                    .list_event_source_mappings()
                    .function_name(&self.function)
                    .event_source_arn(&self.queue_arn)
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("lambda:ListEventSourceMappings", e))?;
                out.event_source_mappings()
                    .iter()
                    .find_map(|m| m.uuid().map(str::to_string))
                    .ok_or_else(|| {
                        PortError::permanent(
                            "lambda:ListEventSourceMappings",
                            format!(
                                "{} has no event source mapping on {}",
                                self.function, self.queue_arn
                            ),
                        )
                    })
            })
            .await
            .map(String::as_str)
    }
}

impl MappingSwitch for LambdaMappingSwitch {
    async fn enabled(&self) -> Result<bool, PortError> {
        let uuid = self.uuid().await?;
        let out = self
            .client
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
            .map_err(|e| AwsError::sdk("lambda:GetEventSourceMapping", e))?;
        // Enabled, or on its way there; Disabling and Disabled are off.
        Ok(matches!(
            out.state(),
            Some("Enabled" | "Enabling" | "Creating" | "Updating")
        ))
    }

    async fn set_enabled(&self, on: bool) -> Result<(), PortError> {
        let uuid = self.uuid().await?;
        self.client
            .update_event_source_mapping()
            .uuid(uuid)
            .enabled(on)
            .send()
            .await
            .map_err(|e| AwsError::sdk("lambda:UpdateEventSourceMapping", e))?;
        Ok(())
    }
}
