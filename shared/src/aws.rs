//! The AWS configuration, loaded once per function from the environment.

/// Loads the SDK configuration (region, credentials, and endpoints such as
/// `AWS_ENDPOINT_URL_DYNAMODB` for the local stack, with no code change).
pub async fn load_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
