//! The operators' account routes, the HTTP edge of the accounts service: `POST /accounts`,
//! `GET /accounts`, `GET /accounts/{id}`, `PUT /accounts/{id}/api-key`,
//! `POST /accounts/{id}/numbers`, `DELETE /accounts/{id}/numbers/{number}`. API keys go to
//! Secrets Manager and nowhere else.

use std::time::Duration;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use shared::account::{parse_credentials, parse_name, validated_numbers, Account, NewSupportNumber};
use shared::error::ErrorCode;
use shared::http::{deadline, json_body, json_response, no_route, path_param, public_base_url, respond, route_key};
use shared::ids::AccountId;
use shared::phone::PhoneNumber;
use shared::secrets::Secrets;
use shared::service::accounts::{Accounts, AccountsError, NewAccount};
use shared::store::Dynamo;
use shared::telesign::{ApiKey, TelesignClient};
use shared::ApiError;

/// The accounts service over DynamoDB, Secrets Manager and TeleSign.
pub type Service = Accounts<Dynamo, Secrets, TelesignClient>;

/// The function's dependencies, built once per sandbox.
#[derive(Debug)]
pub struct App {
    service: Service,
    public_base_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAccountBody {
    name: String,
    customer_id: String,
    api_key: String,
    #[serde(default)]
    api_host: Option<String>,
    #[serde(default)]
    numbers: Vec<NewSupportNumber>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    api_key: String,
    /// How long the previous key keeps verifying callbacks (default: the configured grace).
    #[serde(default)]
    grace_period_seconds: Option<u64>,
    /// `current` (default): the key becomes current; `next`: it only verifies callbacks until a
    /// rotation makes it current (TeleSign may sign with it before the operator rotates).
    #[serde(default)]
    stage: Option<String>,
}

impl App {
    /// Builds the function from its environment (`KEY_ROTATION_GRACE_HOURS`, default 24).
    pub async fn from_env() -> Result<Self, shared::config::ConfigError> {
        Self::from_clients(&shared::runtime::Clients::from_env().await?)
    }

    /// Builds the function from clients made once (the local gateway gives each function its own meter).
    pub fn from_clients(clients: &shared::runtime::Clients) -> Result<Self, shared::config::ConfigError> {
        let hours: u64 = shared::config::parsed("KEY_ROTATION_GRACE_HOURS", 24)?;
        let service = Accounts {
            directory: clients.directory()?,
            gateway: clients.telesign()?,
            grace: Duration::from_secs(hours * 3600),
        };
        Ok(Self::new(service, shared::config::url("PUBLIC_BASE_URL")?))
    }

    /// Builds the function from its service.
    pub fn new(service: Service, public_base_url: Option<String>) -> Self {
        Self {
            service,
            public_base_url,
        }
    }

    /// Answers one request.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let result = match route_key(&req) {
            "POST /accounts" => self.create(&req).await,
            "GET /accounts" => self.list(&req).await,
            "GET /accounts/{account_id}" => self.read(&req).await,
            "PUT /accounts/{account_id}/api-key" => self.rotate(&req).await,
            "POST /accounts/{account_id}/numbers" => self.add_number(&req).await,
            "DELETE /accounts/{account_id}/numbers/{number}" => self.remove_number(&req).await,
            _ => Err(no_route()),
        };
        respond(result)
    }

    fn view(&self, req: &Request, a: &Account) -> Value {
        json!({
            "account_id": a.account_id, "name": a.name, "customer_id": a.customer_id,
            "api_host": a.api_host, "numbers": a.numbers,
            "callback_url": public_base_url(req, self.public_base_url.as_deref()).map(|b| a.callback_url(&b)),
            "created_at": a.created_at,
        })
    }

    async fn create(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let input: NewAccountBody = json_body(req)?;
        let name = parse_name(&input.name)?;
        let (credentials, host) = parse_credentials(&input.customer_id, &input.api_key, input.api_host.as_deref())?;
        let new = NewAccount {
            name,
            credentials,
            host,
            numbers: validated_numbers(input.numbers)?,
        };
        let account = self.service.create(new, validation_deadline(req)).await?;
        Ok(json_response(StatusCode::CREATED, &self.view(req, &account)))
    }

    async fn list(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let accounts = self.service.list().await?;
        let views: Vec<Value> = accounts.iter().map(|a| self.view(req, a)).collect();
        Ok(json_response(StatusCode::OK, &json!({ "accounts": views })))
    }

    async fn read(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let account = self.service.read(&account_id(req)?).await?;
        Ok(json_response(StatusCode::OK, &self.view(req, &account)))
    }

    async fn rotate(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let account = self.service.read(&account_id(req)?).await?;
        let input: NewKey = json_body(req)?;
        let key = ApiKey::parse(input.api_key.trim())
            .map_err(|e| ApiError::bad_request(ErrorCode::InvalidApiKey, format!("api_key: {e}")))?;
        match input.stage.as_deref() {
            None | Some("current") => {}
            Some("next") => {
                let staged_at = self.service.stage_next(&account, key).await?;
                let answer = json!({"account_id": account.account_id, "next_key_staged_at": staged_at});
                return Ok(json_response(StatusCode::OK, &answer));
            }
            Some(other) => {
                let message = format!("stage: {other:?} is neither \"current\" nor \"next\"");
                return Err(ApiError::bad_request(ErrorCode::InvalidParameter, message));
            }
        }
        let rotation = self
            .service
            .rotate(&account, key, input.grace_period_seconds, validation_deadline(req))
            .await?;
        Ok(json_response(
            StatusCode::OK,
            &json!({"account_id": rotation.account_id, "rotated_at": rotation.rotated_at,
                    "previous_key_valid_until": rotation.previous_key_valid_until}),
        ))
    }

    async fn add_number(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let account = self.service.read(&account_id(req)?).await?;
        let number: NewSupportNumber = json_body(req)?;
        let added = self.service.add_number(&account, number).await?;
        Ok(json_response(StatusCode::CREATED, &added))
    }

    async fn remove_number(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let account = self.service.read(&account_id(req)?).await?;
        let number = PhoneNumber::parse_any(&path_param(req, "number")?)
            .map_err(|e| ApiError::bad_request(ErrorCode::InvalidPhoneNumber, e.to_string()))?;
        self.service.remove_number(&account, &number).await?;
        Ok(json_response(StatusCode::OK, &json!({"removed": number})))
    }
}

fn account_id(req: &Request) -> Result<AccountId, ApiError> {
    AccountId::parse(&path_param(req, "account_id")?).map_err(|_| AccountsError::NotFound.into())
}

fn validation_deadline(req: &Request) -> std::time::Instant {
    deadline(req, Duration::from_secs(10), Duration::from_millis(2000))
}
