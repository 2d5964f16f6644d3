//! Logging: JSON events through the Lambda runtime's tracing subscriber.

/// Installs the subscriber once at start. It follows `AWS_LAMBDA_LOG_FORMAT` (`JSON` in the
/// template) and `AWS_LAMBDA_LOG_LEVEL` / `RUST_LOG`.
pub fn init() {
    lambda_http::tracing::init_default_subscriber();
}
