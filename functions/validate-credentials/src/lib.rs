//! `POST /accounts/validate` (credentials given, nothing stored) and
//! `POST /accounts/{account_id}/validate` (the stored credentials, read again): the HTTP edge of
//! the accounts service's validation.

use std::time::Duration;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::access::{Action, Caller};
use shared::http::{caller, deadline, json_body, json_response, no_route, path_param, respond, route_key};
use shared::ids::AccountId;
use shared::secrets::Secrets;
use shared::service::access::{admit, admit_global};
use shared::service::accounts::{Accounts, AccountsError};
use shared::service::ports::{AccountStore, KeyStore, Members, SmsGateway};
use shared::store::Dynamo;
use shared::telesign::TelesignClient;
use shared::ApiError;

/// The accounts service (only its validation is used here; the in-memory adapters in the edge's
/// tests).
pub type Service<S = Dynamo, K = Secrets, G = TelesignClient> = Accounts<S, K, G>;

/// The function's dependencies, built once per sandbox.
#[derive(Debug)]
pub struct App<S = Dynamo, K = Secrets, G = TelesignClient> {
    service: Service<S, K, G>,
}

/// The body of `POST /accounts/validate`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsInput {
    customer_id: String,
    api_key: String,
    #[serde(default)]
    api_host: Option<String>,
}

impl App {
    /// Builds the function from its environment.
    pub async fn from_env() -> Result<Self, shared::config::ConfigError> {
        Self::from_clients(&shared::runtime::Clients::from_env().await?)
    }

    /// Builds the function from clients made once (the local gateway gives each function its own meter).
    pub fn from_clients(clients: &shared::runtime::Clients) -> Result<Self, shared::config::ConfigError> {
        Ok(Self::new(Accounts {
            directory: clients.directory()?,
            gateway: clients.telesign()?,
            grace: Duration::ZERO,
        }))
    }
}

impl<S, K, G> App<S, K, G>
where
    S: AccountStore + Members + 'static,
    K: KeyStore + 'static,
    G: SmsGateway + 'static,
{
    /// Builds the function from its service.
    pub fn new(service: Service<S, K, G>) -> Self {
        Self { service }
    }

    /// Answers one request.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        respond(self.route(&req).await)
    }

    /// The route of a verified caller (the request's span names them on every log line:
    /// `shared::observe`).
    async fn route(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let c = &caller(req)?;
        match route_key(req) {
            "POST /accounts/validate" => self.given(req, c).await,
            "POST /accounts/{account_id}/validate" => self.stored(req, c).await,
            _ => Err(no_route()),
        }
    }

    /// Validating credentials of no account yet is part of creating one: operators only.
    async fn given(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        admit_global(c, Action::CreateAccount).map_err(ApiError::refused_on_account)?;
        let input: CredentialsInput = json_body(req)?;
        let (creds, host) =
            shared::account::parse_credentials(&input.customer_id, &input.api_key, input.api_host.as_deref())?;
        let limit = deadline(req, Duration::from_secs(10), Duration::from_millis(500));
        let found = self.service.validate(&creds, host, limit).await?;
        tracing::info!(result = found.verdict.as_str(), telesign_code = ?found.telesign_code, "credentials validated");
        Ok(json_response(StatusCode::OK, &found.body(host)))
    }

    async fn stored(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let id = AccountId::parse(&path_param(req, "account_id")?).map_err(|_| AccountsError::NotFound)?;
        admit(&self.service.directory.store, c, &id, Action::ConfigureAccount)
            .await
            .map_err(ApiError::refused_on_account)?;
        let limit = deadline(req, Duration::from_secs(10), Duration::from_millis(500));
        let (account, found) = self.service.validate_stored(&id, limit).await?;
        tracing::info!(account_id = %id, result = found.verdict.as_str(), telesign_code = ?found.telesign_code, "stored credentials validated");
        Ok(json_response(StatusCode::OK, &found.body(account.api_host)))
    }
}

impl<S, K, G> shared::runtime::HttpFunction for App<S, K, G>
where
    S: AccountStore + Members + 'static,
    K: KeyStore + 'static,
    G: SmsGateway + 'static,
{
    fn answer(&self, request: Request) -> impl std::future::Future<Output = Response<Body>> + Send {
        self.handle(request)
    }
}
