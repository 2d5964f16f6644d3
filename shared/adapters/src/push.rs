//! The WebSocket API's management API (`POST` and `DELETE /@connections/{id}`), through which
//! the events function posts to the console's connections and closes those whose token expired. Deployed, its endpoint is the stage's HTTPS URL
//! (`CONNECTIONS_ENDPOINT`, from the template); the SDK's `AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI`
//! replaces it when set (the local stack's gateway serves the same API).

use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_sdk_apigatewaymanagement::Client;

use channel_services::ports::{PostError, Sockets};

/// The management API of one WebSocket stage.
#[derive(Debug, Clone)]
pub struct Connections {
    client: Client,
}

impl Connections {
    /// A client of the stage at `endpoint`, counting every request into `meter`.
    pub fn new(config: &aws_config::SdkConfig, endpoint: Option<String>, meter: &crate::meter::Meter) -> Self {
        let mut conf =
            aws_sdk_apigatewaymanagement::config::Builder::from(config).interceptor(meter.interceptor("execute-api"));
        // The SDK's own variable wins, as it does for every other service.
        if std::env::var_os("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI").is_none() {
            conf.set_endpoint_url(endpoint);
        }
        Self {
            client: Client::from_conf(conf.build()),
        }
    }
}

impl Sockets for Connections {
    /// 1 PostToConnection.
    async fn post(&self, connection_id: &str, payload: &[u8]) -> Result<(), PostError> {
        let sent = self
            .client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(payload))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_gone_exception()) => Err(PostError::Gone),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 410) => Err(PostError::Gone),
            Err(e) => Err(PostError::Failed(format!("{e:?}").chars().take(300).collect())),
        }
    }

    /// 1 DeleteConnection (a gone connection is closed already).
    async fn disconnect(&self, connection_id: &str) -> Result<(), PostError> {
        match self
            .client
            .delete_connection()
            .connection_id(connection_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_gone_exception()) => Ok(()),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 410) => Ok(()),
            Err(e) => Err(PostError::Failed(format!("{e:?}").chars().take(300).collect())),
        }
    }
}
