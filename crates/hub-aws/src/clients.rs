//! SDK clients, built once per process.

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use std::time::Duration;

/// How long a connection may take to open (the SDK's own default).
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);
/// How long one attempt of an SNS, DynamoDB or S3 call may take, answer included. Without it a
/// connection that stays open with no answer (a half-dead load balancer, a partition) holds a
/// call, and the batch behind it, forever; with it the attempt fails as transient and is
/// retried, or counted by the breaker. Ten seconds is two orders of magnitude above these
/// calls' normal latency and a third of the functions' 30 s timeout.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The same for SQS, whose `ReceiveMessage` long-polls for up to 20 s.
pub const SQS_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(25);

/// The HTTPS client of every SDK client (and of `aws-config`'s credential providers): rustls on
/// the ring crypto provider with the system's trusted roots, as the bridge's own SNS client. The
/// SDK crates' `default-https-client` (rustls on aws-lc-rs) is off, so each binary links one TLS
/// stack and one crypto provider, the smaller one (`docs/bench.md` has what it saved).
fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls;
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

fn timeouts(attempt: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(attempt)
        .build()
}

/// The SDK clients the hub uses. Cheap to clone (each client is an `Arc` inside).
#[derive(Debug, Clone)]
pub struct AwsClients {
    /// SNS.
    pub sns: aws_sdk_sns::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// S3 (claim checks).
    pub s3: aws_sdk_s3::Client,
    /// The configuration they were built from.
    pub config: SdkConfig,
    /// The SNS endpoint override the SNS client was built with (`AWS_ENDPOINT_URL_SNS`,
    /// `AWS_ENDPOINT_URL`, or a stand-in's), for the bridge's own `PublishBatch` path.
    pub sns_endpoint_url: Option<String>,
    /// The DynamoDB endpoint of local stand-ins (DynamoDB Local serves the Streams API there
    /// too); `None` in AWS, where each service resolves its own.
    pub dynamodb_endpoint_url: Option<String>,
}

/// Explicit endpoints of local stand-ins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalEndpoints {
    /// SNS endpoint, e.g. `http://127.0.0.1:4566`.
    pub sns: String,
    /// SQS endpoint.
    pub sqs: String,
    /// DynamoDB endpoint, e.g. `http://127.0.0.1:8000`.
    pub dynamodb: String,
    /// S3 endpoint (claim checks); moto serves it on the SNS/SQS port.
    pub s3: String,
}

impl LocalEndpoints {
    /// The endpoints from `AWS_ENDPOINT_URL_SNS`, `_SQS`, `_DYNAMODB` and `_S3`, defaulting to
    /// the ports `infra/local/stack.sh` uses (S3 to the SNS endpoint: moto serves both).
    pub fn from_env() -> LocalEndpoints {
        let var = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_string())
        };
        let sns = var("AWS_ENDPOINT_URL_SNS", "http://127.0.0.1:4566");
        LocalEndpoints {
            s3: var("AWS_ENDPOINT_URL_S3", &sns),
            sns,
            sqs: var("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:4566"),
            dynamodb: var("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
        }
    }
}

impl AwsClients {
    /// Clients configured from the environment, as in Lambda: region, credentials and
    /// endpoint overrides (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`) are all read by
    /// `aws-config`.
    ///
    /// `AWS_S3_FORCE_PATH_STYLE=true` selects path-style S3 addressing, which S3 stand-ins (moto)
    /// need; AWS itself does not.
    pub async fn from_env() -> AwsClients {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https_client())
            .load()
            .await;
        let mut clients = AwsClients::from_config(config);
        let path_style = std::env::var("AWS_S3_FORCE_PATH_STYLE")
            .is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        if path_style {
            let s3 = aws_sdk_s3::config::Builder::from(&clients.config)
                .force_path_style(true)
                .timeout_config(timeouts(ATTEMPT_TIMEOUT))
                .build();
            clients.s3 = aws_sdk_s3::Client::from_conf(s3);
        }
        clients
    }

    /// Clients for local stand-ins: fixed test credentials, the region of `AWS_REGION`
    /// (default `us-east-1`) and explicit endpoints per service.
    pub async fn local(endpoints: &LocalEndpoints) -> AwsClients {
        let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_string());
        let config = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https_client())
            .region(Region::new(region))
            .credentials_provider(Credentials::from_keys("test", "test", None))
            .load()
            .await;
        let sns = aws_sdk_sns::config::Builder::from(&config)
            .endpoint_url(&endpoints.sns)
            .timeout_config(timeouts(ATTEMPT_TIMEOUT))
            .build();
        let sqs = aws_sdk_sqs::config::Builder::from(&config)
            .endpoint_url(&endpoints.sqs)
            .timeout_config(timeouts(SQS_ATTEMPT_TIMEOUT))
            .build();
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(&config)
            .endpoint_url(&endpoints.dynamodb)
            .timeout_config(timeouts(ATTEMPT_TIMEOUT))
            .build();
        // Path-style addressing, as local stand-ins need.
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .endpoint_url(&endpoints.s3)
            .force_path_style(true)
            .timeout_config(timeouts(ATTEMPT_TIMEOUT))
            .build();
        AwsClients {
            sns: aws_sdk_sns::Client::from_conf(sns),
            sqs: aws_sdk_sqs::Client::from_conf(sqs),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb),
            s3: aws_sdk_s3::Client::from_conf(s3),
            config,
            sns_endpoint_url: Some(endpoints.sns.clone()),
            dynamodb_endpoint_url: Some(endpoints.dynamodb.clone()),
        }
    }

    /// Clients from an existing configuration.
    pub fn from_config(config: SdkConfig) -> AwsClients {
        // As the SNS client's configuration reads it from `config`.
        let sns_endpoint_url = config
            .service_config()
            .and_then(|c| {
                c.load_config(
                    aws_types::service_config::ServiceConfigKey::builder()
                        .service_id("SNS")
                        .env("AWS_ENDPOINT_URL")
                        .profile("endpoint_url")
                        .build()
                        .ok()?,
                )
            })
            .or_else(|| config.endpoint_url().map(str::to_string));
        let sns = aws_sdk_sns::config::Builder::from(&config)
            .timeout_config(timeouts(ATTEMPT_TIMEOUT))
            .build();
        let sqs = aws_sdk_sqs::config::Builder::from(&config)
            .timeout_config(timeouts(SQS_ATTEMPT_TIMEOUT))
            .build();
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(&config)
            .timeout_config(timeouts(ATTEMPT_TIMEOUT))
            .build();
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .timeout_config(timeouts(ATTEMPT_TIMEOUT))
            .build();
        AwsClients {
            sns: aws_sdk_sns::Client::from_conf(sns),
            sqs: aws_sdk_sqs::Client::from_conf(sqs),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb),
            s3: aws_sdk_s3::Client::from_conf(s3),
            config,
            sns_endpoint_url,
            dynamodb_endpoint_url: None,
        }
    }

    /// The same clients with SNS calls going to `endpoint` (the SDK client's and the bridge's
    /// own `PublishBatch` path alike).
    pub fn with_sns_endpoint(mut self, endpoint: &str) -> AwsClients {
        let conf = aws_sdk_sns::config::Builder::from(&self.config)
            .endpoint_url(endpoint)
            .timeout_config(timeouts(ATTEMPT_TIMEOUT))
            .build();
        self.sns = aws_sdk_sns::Client::from_conf(conf);
        self.sns_endpoint_url = Some(endpoint.to_string());
        self
    }

    /// The configured region (`us-east-1` when none is).
    pub fn region(&self) -> String {
        self.config
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".to_string())
    }
}
