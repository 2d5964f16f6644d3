//! The console's WebSocket API: `$connect` lists the connection of a verified caller for the
//! accounts whose events they may see, `$disconnect` forgets it (`shared::service::events::Live`);
//! [`authorizer`] is the API's Lambda authorizer, which verifies the token of the `token` query
//! parameter exactly as the HTTP API's JWT authorizer does and hands its claims to `$connect`.

pub mod authorizer;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use shared::service::events::Live;
use shared::store::Dynamo;

/// The connections service over DynamoDB.
pub type Service = Live<Dynamo>;

/// The function's dependencies, built once per sandbox.
#[derive(Debug)]
pub struct App {
    service: Service,
}

impl App {
    /// Builds the function from its environment (`TABLE_NAME`).
    pub async fn from_env() -> Result<Self, shared::config::ConfigError> {
        Self::from_clients(&shared::runtime::Clients::from_env().await?)
    }

    /// Builds the function from clients made once (the local gateway gives each function its own meter).
    pub fn from_clients(clients: &shared::runtime::Clients) -> Result<Self, shared::config::ConfigError> {
        Ok(Self {
            service: Live {
                store: clients.dynamo(),
            },
        })
    }

    /// Answers `$connect` (200 lists the connection; anything else refuses it) and `$disconnect`.
    pub async fn handle(&self, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
        let ctx = &event.request_context;
        let connection_id = ctx.connection_id.clone().unwrap_or_default();
        let status = match ctx.route_key.as_deref() {
            Some("$connect") => self.connect(&event, &connection_id).await,
            Some("$disconnect") => match self.service.disconnect(&connection_id).await {
                Ok(()) => 200,
                Err(e) => {
                    tracing::warn!(connection_id = %connection_id, error = %e, "a connection could not be forgotten (its TTL will)");
                    500
                }
            },
            _ => 400,
        };
        let mut response = ApiGatewayProxyResponse::default();
        response.status_code = status;
        response
    }

    async fn connect(&self, event: &ApiGatewayWebsocketProxyRequest, connection_id: &str) -> i64 {
        let claims = authorizer::claims_of_context(&event.request_context.authorizer.fields);
        let Some(caller) = shared::http::caller_of_claims(&claims) else {
            return 401;
        };
        let expires_at = claims.get("exp").and_then(|e| e.parse().ok()).unwrap_or(i64::MAX);
        match self.service.connect(&caller, connection_id, expires_at).await {
            Ok(_) => {
                tracing::info!(actor = %caller.user_id, connection_id, "connected");
                200
            }
            Err(e) => {
                tracing::warn!(connection_id, error = %e, "a connection could not be listed");
                500
            }
        }
    }
}
