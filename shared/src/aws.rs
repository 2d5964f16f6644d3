//! The AWS configuration, loaded once per function from the environment.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;

/// Loads the SDK configuration (region, credentials, and endpoints such as
/// `AWS_ENDPOINT_URL_DYNAMODB` for the local stack, with no code change), with timeouts that let
/// a callback answer 503 inside TeleSign's 5 seconds when a store does not answer.
pub async fn load_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(1_000))
                .operation_attempt_timeout(Duration::from_millis(2_000))
                .operation_timeout(Duration::from_millis(4_000))
                .build(),
        )
        .load()
        .await
}
