//! Storage: the errors of the DynamoDB adapter, and the adapter's connection to the table.

use aws_sdk_dynamodb::Client;

/// A storage operation failed for a reason of the store, not of the request.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB throttled, timed out or could not be reached.
    #[error("DynamoDB is unavailable: {0}")]
    Unavailable(String),
    /// An item in the table does not have the shape the code writes.
    #[error("a stored item is malformed: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Wraps any SDK error as unavailability, keeping its text for the log.
    pub fn from_sdk<E: std::fmt::Display>(e: E) -> Self {
        Self::Unavailable(e.to_string())
    }
}

/// The channel's table in DynamoDB.
#[derive(Debug, Clone)]
pub struct Dynamo {
    /// The SDK client (endpoint from `AWS_ENDPOINT_URL_DYNAMODB` when set).
    pub client: Client,
    /// The table name.
    pub table: String,
}

impl Dynamo {
    /// Connects to the table named `table` with the shared AWS configuration.
    pub fn new(config: &aws_config::SdkConfig, table: String) -> Self {
        Self {
            client: Client::new(config),
            table,
        }
    }
}
