//! The operators' account routes: `POST /accounts`, `GET /accounts`, `GET /accounts/{id}`,
//! `PUT /accounts/{id}/api-key`, `POST /accounts/{id}/numbers`,
//! `DELETE /accounts/{id}/numbers/{number}`. API keys go to Secrets Manager and nowhere else.

use std::time::Duration;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use shared::account::{Account, SupportNumber};
use shared::directory::{Directory, Freshness};
use shared::http::{deadline, json_body, json_response, path_param, public_base_url, respond};
use shared::secrets::{AccountSecret, SecretsError};
use shared::store::accounts::ClaimOutcome;
use shared::telesign::validate::{check, Validation, Verdict};
use shared::telesign::{ApiKey, Credentials, TelesignClient};
use shared::{phone, ApiError};
use validate_credentials::CredentialsInput;

/// The function's dependencies, built once per sandbox.
#[derive(Debug)]
pub struct App {
    directory: Directory,
    telesign: TelesignClient,
    public_base_url: Option<String>,
    grace: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAccount {
    name: String,
    customer_id: String,
    api_key: String,
    #[serde(default)]
    api_host: Option<String>,
    #[serde(default)]
    numbers: Vec<SupportNumber>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    api_key: String,
    /// How long the previous key keeps verifying callbacks (default: the configured grace).
    #[serde(default)]
    grace_period_seconds: Option<u64>,
}

/// The longest grace period a rotation may ask for.
const MAX_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);

impl App {
    /// Builds the function from its environment (`KEY_ROTATION_GRACE_HOURS`, default 24).
    pub async fn from_env() -> Result<Self, shared::config::ConfigError> {
        Self::from_clients(&shared::runtime::Clients::from_env().await?)
    }

    /// Builds the function from clients made once (the local gateway gives each function its own meter).
    pub fn from_clients(clients: &shared::runtime::Clients) -> Result<Self, shared::config::ConfigError> {
        let hours: u64 = shared::config::parsed("KEY_ROTATION_GRACE_HOURS", 24)?;
        Ok(Self::new(
            clients.directory()?,
            clients.telesign()?,
            shared::config::url("PUBLIC_BASE_URL")?,
            Duration::from_secs(hours * 3600),
        ))
    }

    /// Builds the function from its parts.
    pub fn new(
        directory: Directory,
        telesign: TelesignClient,
        public_base_url: Option<String>,
        grace: Duration,
    ) -> Self {
        Self {
            directory,
            telesign,
            public_base_url,
            grace,
        }
    }

    /// Answers one request.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let segments: Vec<String> = req
            .uri()
            .path()
            .trim_matches('/')
            .split('/')
            .map(str::to_owned)
            .collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let result = match (req.method(), segments.as_slice()) {
            (&Method::POST, ["accounts"]) => self.create(&req).await,
            (&Method::GET, ["accounts"]) => self.list(&req).await,
            (&Method::GET, ["accounts", _]) => self.read(&req).await,
            (&Method::PUT, ["accounts", _, "api-key"]) => self.rotate(&req).await,
            (&Method::POST, ["accounts", _, "numbers"]) => self.add_number(&req).await,
            (&Method::DELETE, ["accounts", _, "numbers", _]) => self.remove_number(&req).await,
            _ => Err(ApiError::not_found("route_not_found", "no such route")),
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

    async fn validate(
        &self,
        req: &Request,
        creds: &Credentials,
        host: shared::telesign::ApiHost,
    ) -> Result<(), ApiError> {
        let found: Validation = check(
            &self.telesign,
            creds,
            host,
            deadline(req, Duration::from_secs(10), Duration::from_millis(2000)),
        )
        .await?;
        if found.verdict == Verdict::Valid {
            return Ok(());
        }
        Err(ApiError::Unprocessable {
            code: "invalid_credentials",
            message: found.verdict.message(host),
            details: Map::from_iter([
                ("result".to_owned(), json!(found.verdict.as_str())),
                ("telesign_code".to_owned(), json!(found.telesign_code)),
            ]),
        })
    }

    async fn create(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let input: NewAccount = json_body(req)?;
        let name = input.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ApiError::bad_request("invalid_name", "name is 1 to 100 characters"));
        }
        let (creds, host) = CredentialsInput {
            customer_id: input.customer_id,
            api_key: input.api_key,
            api_host: input.api_host,
        }
        .parse()?;
        let mut numbers = Vec::new();
        for n in input.numbers {
            let n = n.validated()?;
            if numbers.iter().any(|m: &SupportNumber| m.number == n.number) {
                return Err(ApiError::bad_request(
                    "duplicate_number",
                    format!("{} is listed twice", n.number),
                ));
            }
            numbers.push(n);
        }
        if numbers.len() > 50 {
            return Err(ApiError::bad_request(
                "too_many_numbers",
                "an account has at most 50 support numbers",
            ));
        }
        self.validate(req, &creds, host).await?;

        let account_id = shared::ids::new_id();
        let account = Account {
            secret_name: self.directory.secrets.name_for(&account_id),
            account_id,
            name,
            customer_id: creds.customer_id.clone(),
            api_host: host,
            numbers,
            created_at: shared::ids::now(),
        };
        let secret = AccountSecret {
            customer_id: creds.customer_id.clone(),
            api_key: creds.api_key.expose_literal().to_owned(),
            previous_api_key: None,
            previous_valid_until: None,
        };
        self.directory
            .secrets
            .create(&account.secret_name, &secret)
            .await
            .map_err(secrets_error)?;
        let stored = self.directory.dynamo.create_account(&account).await;
        match stored {
            Ok(ClaimOutcome::Done) => {
                tracing::info!(account_id = %account.account_id, numbers = account.numbers.len(), "account created");
                Ok(json_response(StatusCode::CREATED, &self.view(req, &account)))
            }
            other => {
                // Neither half is left behind.
                if let Err(e) = self.directory.secrets.delete_now(&account.secret_name).await {
                    tracing::error!(account_id = %account.account_id, error = %e, "the secret of a failed creation could not be deleted");
                }
                match other {
                    Ok(ClaimOutcome::NumberInUse(n)) => Err(number_in_use(&n)),
                    Ok(_) => Err(ApiError::Internal("unexpected claim outcome".into())),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    async fn list(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let accounts = self.directory.dynamo.accounts().await?;
        let views: Vec<Value> = accounts.iter().map(|a| self.view(req, a)).collect();
        Ok(json_response(StatusCode::OK, &json!({ "accounts": views })))
    }

    async fn account(&self, req: &Request) -> Result<Account, ApiError> {
        let id = path_param(req, "account_id")?;
        let missing = || ApiError::not_found("account_not_found", "no messaging account has this id");
        if !shared::ids::is_id(&id) {
            return Err(missing());
        }
        self.directory.account(&id, Freshness::Fresh).await?.ok_or_else(missing)
    }

    async fn read(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let account = self.account(req).await?;
        Ok(json_response(StatusCode::OK, &self.view(req, &account)))
    }

    async fn rotate(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let account = self.account(req).await?;
        let input: NewKey = json_body(req)?;
        let key = ApiKey::parse(input.api_key.trim())
            .map_err(|e| ApiError::bad_request("invalid_api_key", format!("api_key: {e}")))?;
        let grace = match input.grace_period_seconds {
            None => self.grace,
            Some(s) if Duration::from_secs(s) <= MAX_GRACE => Duration::from_secs(s),
            Some(_) => {
                return Err(ApiError::bad_request(
                    "invalid_grace_period",
                    "grace_period_seconds is at most 604800 (7 days)",
                ))
            }
        };
        let creds = Credentials {
            customer_id: account.customer_id.clone(),
            api_key: key,
        };
        self.validate(req, &creds, account.api_host).await?;
        let current = self.directory.secret(&account, Freshness::Fresh).await?;
        let until = shared::ids::epoch_seconds() + grace.as_secs() as i64;
        let rotated = AccountSecret {
            customer_id: current.customer_id.clone(),
            api_key: creds.api_key.expose_literal().to_owned(),
            previous_api_key: Some(current.api_key.clone()),
            previous_valid_until: Some(until),
        };
        self.directory
            .secrets
            .replace(&account.secret_name, &rotated)
            .await
            .map_err(secrets_error)?;
        self.directory.forget(&account);
        let until_text = time::OffsetDateTime::from_unix_timestamp(until)
            .map(shared::ids::format_time)
            .unwrap_or_default();
        tracing::info!(account_id = %account.account_id, grace_seconds = grace.as_secs(), "API key rotated");
        Ok(json_response(
            StatusCode::OK,
            &json!({"account_id": account.account_id, "rotated_at": shared::ids::now(), "previous_key_valid_until": until_text}),
        ))
    }

    async fn add_number(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let account = self.account(req).await?;
        let number: SupportNumber = json_body::<SupportNumber>(req)?.validated()?;
        match self.directory.dynamo.add_number(&account.account_id, &number).await? {
            ClaimOutcome::Done => {
                self.directory.forget(&account);
                tracing::info!(account_id = %account.account_id, number = %number.number, "support number added");
                Ok(json_response(StatusCode::CREATED, &number))
            }
            ClaimOutcome::NumberInUse(n) => Err(number_in_use(&n)),
            ClaimOutcome::NoAccount => Err(ApiError::not_found(
                "account_not_found",
                "no messaging account has this id",
            )),
        }
    }

    async fn remove_number(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let account = self.account(req).await?;
        let raw = path_param(req, "number")?;
        let number =
            phone::normalise_any(&raw).map_err(|e| ApiError::bad_request("invalid_phone_number", e.to_string()))?;
        if !self
            .directory
            .dynamo
            .remove_number(&account.account_id, &number)
            .await?
        {
            return Err(ApiError::not_found(
                "number_not_found",
                "this account has no such support number",
            ));
        }
        self.directory.forget(&account);
        tracing::info!(account_id = %account.account_id, number = %number, "support number removed");
        Ok(json_response(StatusCode::OK, &json!({"removed": number})))
    }
}

fn number_in_use(n: &str) -> ApiError {
    ApiError::conflict("number_in_use", format!("{n} already belongs to a messaging account"))
}

fn secrets_error(e: SecretsError) -> ApiError {
    tracing::error!(error = %e, "Secrets Manager write failed");
    ApiError::unavailable(
        "secrets_unavailable",
        "the credential store is unavailable; nothing was changed, try again shortly",
    )
}
