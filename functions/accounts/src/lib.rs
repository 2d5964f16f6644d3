//! The operators' account routes, the HTTP edge of the accounts service: `POST /accounts`,
//! `GET /accounts`, `GET /accounts/{id}`, `PUT /accounts/{id}/api-key`,
//! `POST /accounts/{id}/numbers`, `DELETE /accounts/{id}/numbers/{number}`,
//! `PATCH /accounts/{id}/numbers/{number}`, `PATCH /accounts/{id}`, `DELETE /accounts/{id}`, a
//! customer's export and erasure (`/accounts/{id}/customers/{number}`); and the team's:
//! `GET /me`, the members of an account, its canned responses, `GET /audit`. API keys go to Secrets Manager and
//! nowhere else. Every route asks the policy first (`shared::access`).

use std::time::Duration;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use shared::access::{Action, Caller, Role, UserId};
use shared::account::{
    parse_credentials, parse_name, parse_retention_days, validated_numbers, Account, NewSupportNumber, NumberChange,
};
use shared::audit::Actor;
use shared::error::ErrorCode;
use shared::http::{
    caller, deadline, json_body, json_bytes_response, json_response, limit, no_route, path_param, public_base_url,
    query_param, respond, route_key,
};
use shared::ids::{AccountId, CannedResponseId};
use shared::phone::PhoneNumber;
use shared::secrets::Secrets;
use shared::service::access::{admit, admit_global, admit_route, Refusal};
use shared::service::accounts::{Accounts, AccountsError, NewAccount};
use shared::service::directory::AccountDirectory;
use shared::service::ports::{
    AccountStore, AuditLog, CannedResponses, ConversationMoves, CustomerRecords, KeyStore, Members, SmsGateway,
};
use shared::service::ports::{Member, RetiredAccounts};
use shared::service::privacy::{deliver, Controller, Delivery, Privacy, INLINE_EXPORT_BYTES};
use shared::service::team::{Team, TeamError};
use shared::store::Dynamo;
use shared::telesign::{ApiKey, TelesignClient};
use shared::ApiError;

/// The accounts service over DynamoDB, Secrets Manager and TeleSign (the in-memory adapters in
/// the edge's tests).
pub type Service<S = Dynamo, K = Secrets, G = TelesignClient> = Accounts<S, K, G>;

/// What the accounts function needs of its store.
pub trait AccountsStore:
    AccountStore
    + Members
    + AuditLog
    + ConversationMoves
    + CannedResponses
    + CustomerRecords
    + RetiredAccounts
    + Clone
    + 'static
{
}
impl<T> AccountsStore for T where
    T: AccountStore
        + Members
        + AuditLog
        + ConversationMoves
        + CannedResponses
        + CustomerRecords
        + RetiredAccounts
        + Clone
        + 'static
{
}

/// The function's dependencies, built once per sandbox.
#[derive(Debug)]
pub struct App<S = Dynamo, K = Secrets, G = TelesignClient> {
    service: Service<S, K, G>,
    team: Team<S>,
    privacy: Privacy<S>,
    public_base_url: Option<String>,
    /// Where an export too large to answer goes, and how large an answer may be.
    exports: Option<(shared::exports::ExportBucket, usize)>,
}

/// `{"title", "text"}`: a canned response.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CannedBody {
    title: String,
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberBody {
    role: String,
    #[serde(default)]
    display_name: Option<String>,
}

/// The default and largest page of the audit trail.
const AUDIT_LIMIT: (u32, u32) = (50, 200);

/// A page of accounts: 100 by default and at most.
const ACCOUNTS_LIMIT: (u32, u32) = (100, 100);

/// A page of members: 100 by default and at most.
const MEMBERS_LIMIT: (u32, u32) = (
    shared::service::team::MAX_MEMBERS_PAGE,
    shared::service::team::MAX_MEMBERS_PAGE,
);

/// A page of canned responses: 100 by default and at most (the most an account keeps is 200).
const CANNED_LIMIT: (u32, u32) = (shared::canned::MAX_PAGE as u32, shared::canned::MAX_PAGE as u32);

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
struct AccountPatch {
    #[serde(default)]
    name: Option<String>,
    /// Absent: unchanged; `null`: closed conversations are kept; a number: days.
    #[serde(default, deserialize_with = "present")]
    retention_days: Option<Option<u32>>,
}

/// A field that is present, even as `null` (absent stays `None` through `default`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(d).map(Some)
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
        let team = Team {
            store: clients.dynamo(),
        };
        let inline: usize = shared::config::parsed("EXPORT_INLINE_BYTES", INLINE_EXPORT_BYTES)?;
        Ok(Self::new(service, team, shared::config::url("PUBLIC_BASE_URL")?)
            .with_exports(clients.export_bucket()?, inline.min(INLINE_EXPORT_BYTES)))
    }
}

impl<S: AccountsStore, K: KeyStore + 'static, G: SmsGateway + 'static> App<S, K, G> {
    /// Builds the function from its services.
    pub fn new(service: Service<S, K, G>, team: Team<S>, public_base_url: Option<String>) -> Self {
        let privacy = Privacy {
            store: team.store.clone(),
        };
        Self {
            service,
            team,
            privacy,
            public_base_url,
            exports: None,
        }
    }

    /// The export bucket, and the most bytes an export answers in its response.
    pub fn with_exports(mut self, bucket: shared::exports::ExportBucket, inline_bytes: usize) -> Self {
        self.exports = Some((bucket, inline_bytes));
        self
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
            "GET /me" => self.me(c).await,
            "GET /accounts/{account_id}/members" => self.members(req, c).await,
            "PUT /accounts/{account_id}/members/{user_id}" => self.put_member(req, c).await,
            "DELETE /accounts/{account_id}/members/{user_id}" => self.remove_member(req, c).await,
            "GET /audit" => self.audit(req, c).await,
            "GET /accounts/{account_id}/canned-responses" => self.canned_responses(req, c).await,
            "POST /accounts/{account_id}/canned-responses" => self.create_canned(req, c).await,
            "PUT /accounts/{account_id}/canned-responses/{canned_response_id}" => self.change_canned(req, c).await,
            "DELETE /accounts/{account_id}/canned-responses/{canned_response_id}" => self.delete_canned(req, c).await,
            _ => self.account_route(req, c).await,
        }
    }

    async fn account_route(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        match route_key(req) {
            "POST /accounts" => self.create(req, c).await,
            "GET /accounts" => self.list(req, c).await,
            "GET /accounts/{account_id}" => self.read(req, c).await,
            "PATCH /accounts/{account_id}" => self.change(req, c).await,
            "DELETE /accounts/{account_id}" => self.delete(req, c).await,
            "GET /accounts/{account_id}/customers/{number}/export" => self.export(req, c).await,
            "DELETE /accounts/{account_id}/customers/{number}" => self.erase(req, c).await,
            "PUT /accounts/{account_id}/api-key" => self.rotate(req, c).await,
            "POST /accounts/{account_id}/numbers" => self.add_number(req, c).await,
            "DELETE /accounts/{account_id}/numbers/{number}" => self.remove_number(req, c).await,
            "PATCH /accounts/{account_id}/numbers/{number}" => self.change_number(req, c).await,
            _ => Err(no_route()),
        }
    }

    /// The account of the path, once the policy allows `action` on it.
    async fn admitted(&self, req: &Request, c: &Caller, action: Action<'_>) -> Result<AccountId, ApiError> {
        let id = account_id(req)?;
        admit(&self.team.store, c, &id, action)
            .await
            .map_err(ApiError::refused_on_account)?;
        Ok(id)
    }

    async fn canned_responses(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let limit = limit(req, CANNED_LIMIT)? as usize;
        let cursor = query_param(req, "cursor");
        let page = self
            .team
            .canned_responses(c, &account_id(req)?, limit, cursor.as_deref())
            .await?;
        Ok(json_response(
            StatusCode::OK,
            &json!({"canned_responses": page.items, "next_cursor": page.next_cursor}),
        ))
    }

    async fn create_canned(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let id = account_id(req)?;
        let input: CannedBody = json_body(req)?;
        let written = self
            .team
            .create_canned_response(c, &id, &input.title, &input.text)
            .await?;
        Ok(json_response(StatusCode::CREATED, &written))
    }

    async fn change_canned(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let id = account_id(req)?;
        let canned = canned_response_id(req)?;
        let input: CannedBody = json_body(req)?;
        let changed = self
            .team
            .change_canned_response(c, &id, &canned, &input.title, &input.text)
            .await?;
        Ok(json_response(StatusCode::OK, &changed))
    }

    async fn delete_canned(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let id = account_id(req)?;
        let canned = canned_response_id(req)?;
        self.team.delete_canned_response(c, &id, &canned).await?;
        Ok(no_content())
    }

    async fn me(&self, c: &Caller) -> Result<Response<Body>, ApiError> {
        Ok(json_response(StatusCode::OK, &self.team.me(c).await?))
    }

    async fn members(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let limit = limit(req, MEMBERS_LIMIT)?;
        let cursor = query_param(req, "cursor");
        let page = self
            .team
            .members(c, &account_id(req)?, limit, cursor.as_deref())
            .await?;
        let views: Vec<Value> = page.items.iter().map(member_view).collect();
        Ok(json_response(
            StatusCode::OK,
            &json!({"members": views, "next_cursor": page.next_cursor}),
        ))
    }

    async fn put_member(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let id = self.admitted(req, c, Action::ConfigureAccount).await?;
        let user = user_id(req)?;
        let input: MemberBody = json_body(req)?;
        let role = Role::parse(&input.role)
            .ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidRole, "role is agent or supervisor"))?;
        let member = self.team.put_member(c, &id, user, role, input.display_name).await?;
        Ok(json_response(StatusCode::OK, &member_view(&member)))
    }

    async fn remove_member(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let id = self.admitted(req, c, Action::ConfigureAccount).await?;
        self.team.remove_member(c, &id, &user_id(req)?).await?;
        Ok(no_content())
    }

    async fn audit(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        // A role that may read no trail is told so before it is told what to ask.
        admit_route(c, Action::ReadAudit).map_err(ApiError::refused_on_account)?;
        let account = query_param(req, "account_id")
            .ok_or_else(|| ApiError::bad_request(ErrorCode::MissingParameter, "account_id is required"))?;
        let account = AccountId::parse(&account).map_err(|_| ApiError::refused_on_account(Refusal::Hidden))?;
        let limit = limit(req, AUDIT_LIMIT)?;
        let cursor = query_param(req, "cursor");
        let page = self.team.audit(c, &account, limit, cursor.as_deref()).await?;
        Ok(json_response(
            StatusCode::OK,
            &json!({"entries": page.items, "next_cursor": page.next_cursor}),
        ))
    }

    /// An account as the caller may see it: an operator every field; a supervisor or an agent
    /// what the desk needs (id, name, numbers), not the TeleSign customer id, host or callback.
    fn view(&self, req: &Request, c: &Caller, a: &Account) -> Value {
        if !c.is_operator() {
            return json!({"account_id": a.account_id, "name": a.name, "numbers": numbers_view(a), "created_at": a.created_at});
        }
        json!({
            "account_id": a.account_id, "name": a.name, "customer_id": a.customer_id,
            "api_host": a.api_host, "numbers": numbers_view(a), "retention_days": a.retention_days,
            "callback_url": public_base_url(req, self.public_base_url.as_deref()).map(|b| a.callback_url(&b)),
            "created_at": a.created_at,
        })
    }

    async fn create(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        admit_global(c, Action::CreateAccount).map_err(ApiError::refused_on_account)?;
        let input: NewAccountBody = json_body(req)?;
        let name = parse_name(&input.name)?;
        let (credentials, host) = parse_credentials(&input.customer_id, &input.api_key, input.api_host.as_deref())?;
        let new = NewAccount {
            name,
            credentials,
            host,
            numbers: validated_numbers(input.numbers)?,
        };
        let account = self
            .service
            .create(&Actor::of(c), new, validation_deadline(req))
            .await?;
        Ok(json_response(StatusCode::CREATED, &self.view(req, c, &account)))
    }

    /// Every account for an operator; the caller's accounts for anyone else.
    /// The caller's accounts a page at a time, by name: each with its numbers named, not their
    /// settings (`GET /accounts/{id}` has them), so a page stays small whatever the numbers say.
    async fn list(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let limit = limit(req, ACCOUNTS_LIMIT)? as usize;
        let cursor = query_param(req, "cursor");
        let mut seats = self.team.seats(c).await?;
        let key = |s: &shared::service::team::Seat| (s.account.name.to_lowercase(), s.account.account_id.to_string());
        seats.sort_by_key(key);
        let (page, next_cursor) = shared::paging::page_after(seats, key, limit, cursor.as_deref())
            .ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidCursor, "this cursor is none of this API's"))?;
        let views: Vec<Value> = page.iter().map(|s| self.summary(req, c, &s.account)).collect();
        Ok(json_response(
            StatusCode::OK,
            &json!({"accounts": views, "next_cursor": next_cursor}),
        ))
    }

    /// An account in a list: as [`Self::view`] shows it, its numbers without their settings.
    fn summary(&self, req: &Request, c: &Caller, a: &Account) -> Value {
        let mut view = self.view(req, c, a);
        let numbers: Vec<Value> = a
            .numbers
            .iter()
            .map(|n| json!({"number": n.number, "type": n.kind, "description": n.description, "language": n.language}))
            .collect();
        view["numbers"] = json!(numbers);
        view
    }

    async fn read(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let id = self.admitted(req, c, Action::ReadAccount).await?;
        let account = self.service.read(&id).await?;
        Ok(json_response(StatusCode::OK, &self.view(req, c, &account)))
    }

    async fn change(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let id = self.admitted(req, c, Action::ConfigureAccount).await?;
        let input: AccountPatch = json_body(req)?;
        let name = input.name.as_deref().map(parse_name).transpose()?;
        let retention = input.retention_days.map(parse_retention_days).transpose()?;
        let account = self.service.read(&id).await?;
        let changed = self.service.change(&Actor::of(c), &account, name, retention).await?;
        Ok(json_response(StatusCode::OK, &self.view(req, c, &changed)))
    }

    /// `?keep_conversations=true` keeps the account's conversations after it (none of its own
    /// retention, nor the default, expires them).
    async fn delete(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let id = self.admitted(req, c, Action::ConfigureAccount).await?;
        let keep = match query_param(req, "keep_conversations").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(ApiError::bad_request(
                    ErrorCode::InvalidParameter,
                    "keep_conversations is true or false",
                ))
            }
        };
        let account = self.service.read(&id).await?;
        self.service.delete(&Actor::of(c), &account, keep).await?;
        Ok(no_content())
    }

    /// Whose customer the path names, once the policy allows the operator's duty: the account,
    /// or a deleted one through the record its deletion left (1 GetItem more), as long as its
    /// customers' data is held.
    async fn customer_of(&self, req: &Request, c: &Caller) -> Result<(Controller, PhoneNumber), ApiError> {
        let id = self.admitted(req, c, Action::CustomerData).await?;
        let customer = PhoneNumber::parse_any(&path_param(req, "number")?)
            .map_err(|e| ApiError::bad_request(ErrorCode::InvalidPhoneNumber, e.to_string()))?;
        match self.service.read(&id).await {
            Ok(account) => Ok((Controller::from(&account), customer)),
            Err(AccountsError::NotFound) => {
                let retired = self.service.directory.store.retired_account(&id).await?;
                let retired = retired.ok_or(AccountsError::NotFound)?;
                Ok((Controller::from(&retired), customer))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The export in the answer; one too large for it (past `EXPORT_INLINE_BYTES`, at most
    /// [`INLINE_EXPORT_BYTES`]) in the export bucket, answered by its link.
    async fn export(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let (who, customer) = self.customer_of(req, c).await?;
        let key = self.service.directory.opt_out_key().await?;
        let export = self.privacy.export(&Actor::of(c), &who, &customer, &key).await?;
        let Some((bucket, inline)) = &self.exports else {
            return Ok(json_response(StatusCode::OK, &export));
        };
        match deliver(bucket, &who.account_id, &export, *inline).await? {
            Delivery::Inline(body) => Ok(json_bytes_response(StatusCode::OK, body)),
            Delivery::Link(link) => Ok(json_response(StatusCode::OK, &link)),
        }
    }

    /// 200 with the counts when everything is erased; 202 with what was when the function's
    /// time ran out first (asking again goes on).
    async fn erase(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let (who, customer) = self.customer_of(req, c).await?;
        let key = self.service.directory.opt_out_key().await?;
        let until = deadline(req, Duration::from_secs(15), Duration::from_secs(3));
        let erasure = self.privacy.erase(&Actor::of(c), &who, &customer, &key, until).await?;
        let status = if erasure.complete {
            StatusCode::OK
        } else {
            StatusCode::ACCEPTED
        };
        Ok(json_response(status, &erasure))
    }

    async fn rotate(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let id = self.admitted(req, c, Action::ConfigureAccount).await?;
        let account = self.service.read(&id).await?;
        let input: NewKey = json_body(req)?;
        let key = ApiKey::parse(input.api_key.trim())
            .map_err(|e| ApiError::bad_request(ErrorCode::InvalidApiKey, format!("api_key: {e}")))?;
        match input.stage.as_deref() {
            None | Some("current") => {}
            Some("next") => {
                let staged_at = self.service.stage_next(&Actor::of(c), &account, key).await?;
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
            .rotate(
                &Actor::of(c),
                &account,
                key,
                input.grace_period_seconds,
                validation_deadline(req),
            )
            .await?;
        Ok(json_response(
            StatusCode::OK,
            &json!({"account_id": rotation.account_id, "rotated_at": rotation.rotated_at,
                    "previous_key_valid_until": rotation.previous_key_valid_until}),
        ))
    }

    async fn add_number(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let id = self.admitted(req, c, Action::ConfigureAccount).await?;
        let account = self.service.read(&id).await?;
        let number: NewSupportNumber = json_body(req)?;
        let added = self.service.add_number(&Actor::of(c), &account, number).await?;
        Ok(json_response(StatusCode::CREATED, &added.view(&account.name)))
    }

    async fn change_number(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let id = self.admitted(req, c, Action::ConfigureAccount).await?;
        let number = PhoneNumber::parse_any(&path_param(req, "number")?)
            .map_err(|e| ApiError::bad_request(ErrorCode::InvalidPhoneNumber, e.to_string()))?;
        let change: NumberChange = json_body(req)?;
        let account = self.service.change_number(&Actor::of(c), &id, &number, &change).await?;
        let changed = account.number(&number).map(|n| n.view(&account.name));
        Ok(json_response(StatusCode::OK, &changed))
    }

    async fn remove_number(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let id = self.admitted(req, c, Action::ConfigureAccount).await?;
        let account = self.service.read(&id).await?;
        let number = PhoneNumber::parse_any(&path_param(req, "number")?)
            .map_err(|e| ApiError::bad_request(ErrorCode::InvalidPhoneNumber, e.to_string()))?;
        self.service.remove_number(&Actor::of(c), &account, &number).await?;
        Ok(json_response(StatusCode::OK, &json!({"removed": number})))
    }
}

fn numbers_view(a: &Account) -> Vec<Value> {
    a.numbers.iter().map(|n| n.view(&a.name)).collect()
}

fn member_view(m: &Member) -> Value {
    json!({"account_id": m.account_id, "user_id": m.user_id, "role": m.role,
           "display_name": m.display_name, "added_at": m.added_at})
}

fn user_id(req: &Request) -> Result<UserId, ApiError> {
    UserId::parse(&path_param(req, "user_id")?)
        .map_err(|e| ApiError::bad_request(ErrorCode::InvalidUserId, e.to_string()))
}

fn account_id(req: &Request) -> Result<AccountId, ApiError> {
    AccountId::parse(&path_param(req, "account_id")?).map_err(|_| AccountsError::NotFound.into())
}

fn validation_deadline(req: &Request) -> std::time::Instant {
    deadline(req, Duration::from_secs(10), Duration::from_millis(2000))
}

/// The path's canned response; an id that is none answers as one that does not exist.
fn canned_response_id(req: &Request) -> Result<CannedResponseId, ApiError> {
    CannedResponseId::parse(&path_param(req, "canned_response_id")?).map_err(|_| TeamError::CannedNotFound.into())
}

/// 204 with no body.
fn no_content() -> Response<Body> {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::Empty)
        .unwrap_or_default()
}

impl<S: AccountsStore, K: KeyStore + 'static, G: SmsGateway + 'static> shared::runtime::HttpFunction for App<S, K, G> {
    fn answer(&self, request: Request) -> impl std::future::Future<Output = Response<Body>> + Send {
        self.handle(request)
    }
}
