//! `POST /accounts/validate` (credentials given, nothing stored) and
//! `POST /accounts/{account_id}/validate` (the stored credentials, read again).

use std::time::Duration;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::directory::{Directory, Freshness};
use shared::http::{deadline, json_body, json_response, respond};
use shared::telesign::validate::check;
use shared::telesign::{ApiHost, Credentials, TelesignClient};
use shared::ApiError;

/// The function's dependencies, built once per sandbox.
#[derive(Debug)]
pub struct App {
    directory: Directory,
    telesign: TelesignClient,
}

/// The body of `POST /accounts/validate`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsInput {
    /// TeleSign's customer id.
    pub customer_id: String,
    /// The API key.
    pub api_key: String,
    /// `standard` (default) or `enterprise`.
    #[serde(default)]
    pub api_host: Option<String>,
}

impl CredentialsInput {
    /// Checks the fields: a customer id, a key that is base64, a known host.
    pub fn parse(&self) -> Result<(Credentials, ApiHost), ApiError> {
        let host = match self.api_host.as_deref() {
            None => ApiHost::Standard,
            Some(h) => ApiHost::parse(h).ok_or_else(|| {
                ApiError::bad_request("invalid_api_host", "api_host is \"standard\" or \"enterprise\"")
            })?,
        };
        let id = self.customer_id.trim();
        if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(ApiError::bad_request(
                "invalid_customer_id",
                "customer_id is TeleSign's customer id (letters, digits and dashes)",
            ));
        }
        let creds = Credentials::new(id, &self.api_key)
            .map_err(|e| ApiError::bad_request("invalid_api_key", format!("api_key: {e}")))?;
        Ok((creds, host))
    }
}

impl App {
    /// Builds the function from its environment.
    pub async fn from_env() -> Result<Self, shared::config::ConfigError> {
        Self::from_clients(&shared::runtime::Clients::from_env().await?)
    }

    /// Builds the function from clients made once (the local gateway gives each function its own meter).
    pub fn from_clients(clients: &shared::runtime::Clients) -> Result<Self, shared::config::ConfigError> {
        Ok(Self::new(clients.directory()?, clients.telesign()?))
    }

    /// Builds the function from its parts.
    pub fn new(directory: Directory, telesign: TelesignClient) -> Self {
        Self { directory, telesign }
    }

    /// Answers one request.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let result = match shared::http::path_param(&req, "account_id") {
            Ok(id) => self.stored(&req, &id).await,
            Err(_) => self.given(&req).await,
        };
        respond(result)
    }

    async fn given(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let input: CredentialsInput = json_body(req)?;
        let (creds, host) = input.parse()?;
        let found = check(
            &self.telesign,
            &creds,
            host,
            deadline(req, Duration::from_secs(10), Duration::from_millis(500)),
        )
        .await?;
        tracing::info!(result = found.verdict.as_str(), telesign_code = ?found.telesign_code, "credentials validated");
        Ok(json_response(StatusCode::OK, &found.body(host)))
    }

    async fn stored(&self, req: &Request, account_id: &str) -> Result<Response<Body>, ApiError> {
        let missing = || ApiError::not_found("account_not_found", "no messaging account has this id");
        if !shared::ids::is_id(account_id) {
            return Err(missing());
        }
        let account = self
            .directory
            .account(account_id, Freshness::Fresh)
            .await?
            .ok_or_else(missing)?;
        let keys = self.directory.keys(&account, Freshness::Fresh).await?;
        let found = check(
            &self.telesign,
            &keys.current,
            account.api_host,
            deadline(req, Duration::from_secs(10), Duration::from_millis(500)),
        )
        .await?;
        tracing::info!(account_id, result = found.verdict.as_str(), telesign_code = ?found.telesign_code, "stored credentials validated");
        Ok(json_response(StatusCode::OK, &found.body(account.api_host)))
    }
}
