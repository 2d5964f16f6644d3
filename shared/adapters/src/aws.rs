//! The AWS configuration, loaded once per function from the environment.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;

/// Loads the SDK configuration (region, credentials, and endpoints such as
/// `AWS_ENDPOINT_URL_DYNAMODB` for the local stack, with no code change), with timeouts that let
/// a callback answer 503 inside TeleSign's 5 seconds when a store does not answer. Every client
/// made from it shares the process's one HTTPS pool and its compiled-in roots (`crate::tls`).
pub async fn load_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(crate::tls::http_client())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(crate::tls::CONNECT_TIMEOUT)
                .operation_attempt_timeout(Duration::from_millis(2_000))
                .operation_timeout(Duration::from_millis(4_000))
                .build(),
        )
        .load()
        .await
}
