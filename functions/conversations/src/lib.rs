//! The agents' conversation routes, the HTTP edge of the desk service: `GET /conversations`
//! (by status, holder, customer), `GET /conversations/{id}`, the moves `accept`, `close`, `end`,
//! `assign`, notes, the desk's counts and a customer's history. The desk asks the
//! policy (`shared::access`) with the caller of the verified token.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shared::access::{Caller, UserId};
use shared::conversation::{Conversation, Event, Status};
use shared::error::ErrorCode;
use shared::http::{body_bytes, caller, json_response, limit, no_route, path_param, query_param, respond, route_key};
use shared::ids::{AccountId, ConversationId};
use shared::phone::PhoneNumber;
use shared::service::desk::{Assigned, Desk, DeskError, Filter};
use shared::service::ports::{
    AccountStore, ConversationMoves, ConversationNotes, ConversationReads, Members, Order, Page,
};
use shared::store::Dynamo;
use shared::ApiError;

/// The default and largest page of the dashboard list.
const LIST_LIMIT: (u32, u32) = (25, 100);
/// The default and largest page of a transcript.
const MESSAGES_LIMIT: (u32, u32) = (200, 500);

/// The desk service over DynamoDB (another store in the edge's tests).
pub type Service<S = Dynamo> = Desk<S>;

/// What the desk needs of its store.
pub trait DeskStore:
    ConversationMoves + ConversationReads + ConversationNotes + Members + AccountStore + 'static
{
}
impl<S: ConversationMoves + ConversationReads + ConversationNotes + Members + AccountStore + 'static> DeskStore for S {}

/// The function's dependencies, built once per sandbox.
#[derive(Debug)]
pub struct App<S = Dynamo> {
    service: Service<S>,
}

/// A move's body: `agent_id` is taken for older clients and ignored (the mover is the token's).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MoveBody {
    #[serde(default)]
    #[allow(dead_code)]
    agent_id: Option<String>,
}

/// `{"agent_id": "<member>" | null}`: the field is required (null lets go), so an empty body
/// never unassigns by accident.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    #[serde(deserialize_with = "present")]
    agent_id: Option<String>,
}

/// `{"text": "..."}`: a note.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    text: String,
}

/// A field that must be present, possibly null.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

impl App {
    /// Builds the function from its environment (`TABLE_NAME`).
    pub async fn from_env() -> Result<Self, shared::config::ConfigError> {
        Self::from_clients(&shared::runtime::Clients::from_env().await?)
    }

    /// Builds the function from clients made once (the local gateway gives each function its own meter).
    pub fn from_clients(clients: &shared::runtime::Clients) -> Result<Self, shared::config::ConfigError> {
        Ok(Self::new(Desk {
            store: clients.dynamo(),
        }))
    }
}

impl<S: DeskStore> App<S> {
    /// Builds the function from its service.
    pub fn new(service: Service<S>) -> Self {
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
            "GET /conversations" => self.list(req, c).await,
            "GET /conversations/{conversation_id}" => self.read(req, c).await,
            "POST /conversations/{conversation_id}/accept" => self.move_to(req, c, Event::Accept).await,
            "POST /conversations/{conversation_id}/close" => self.move_to(req, c, Event::Close).await,
            "POST /conversations/{conversation_id}/end" => self.move_to(req, c, Event::End).await,
            "POST /conversations/{conversation_id}/assign" => self.assign(req, c).await,
            "POST /conversations/{conversation_id}/notes" => self.note(req, c).await,
            "GET /accounts/{account_id}/conversations/counts" => self.counts(req, c).await,
            "GET /accounts/{account_id}/customers/{number}/conversations" => self.history(req, c).await,
            _ => Err(no_route()),
        }
    }

    async fn list(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let account_id = query_param(req, "account_id")
            .ok_or_else(|| ApiError::bad_request(ErrorCode::MissingParameter, "account_id is required"))?;
        let account_id = AccountId::parse(&account_id)
            .map_err(|_| ApiError::bad_request(ErrorCode::InvalidParameter, "account_id is not an account id"))?;
        let filter = Filter {
            statuses: query_param(req, "status").map(|s| statuses(&s)).transpose()?,
            assigned: query_param(req, "assigned")
                .map(|a| {
                    Assigned::parse(&a).ok_or_else(|| {
                        ApiError::bad_request(ErrorCode::InvalidParameter, "assigned is me, none or a user id")
                    })
                })
                .transpose()?,
            customer: query_param(req, "customer").map(|n| customer_number(&n)).transpose()?,
        };
        let limit = limit(req, LIST_LIMIT)?;
        let cursor = query_param(req, "cursor");
        let page = self
            .service
            .list(c, &account_id, &filter, limit, cursor.as_deref())
            .await?;
        Ok(page_response(page))
    }

    async fn counts(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let account_id = path_account(req)?;
        let counts = self.service.counts(c, &account_id).await?;
        Ok(json_response(StatusCode::OK, &counts))
    }

    async fn history(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let account_id = path_account(req)?;
        let customer = customer_number(&path_param(req, "number")?)?;
        let limit = limit(req, LIST_LIMIT)?;
        let cursor = query_param(req, "cursor");
        let page = self
            .service
            .history(c, &account_id, &customer, limit, cursor.as_deref())
            .await?;
        Ok(page_response(page))
    }

    async fn read(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let id = conversation_id(req)?;
        let limit = limit(req, MESSAGES_LIMIT)?;
        let order = match query_param(req, "order") {
            None => Order::Oldest,
            Some(o) => Order::parse(&o)
                .ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidParameter, "order is asc or desc"))?,
        };
        let cursor = query_param(req, "cursor");
        let conversation = self.service.transcript(c, &id, order, limit, cursor.as_deref()).await?;
        Ok(json_response(StatusCode::OK, &conversation))
    }

    async fn move_to(&self, req: &Request, c: &Caller, event: Event) -> Result<Response<Body>, ApiError> {
        let id = conversation_id(req)?;
        if !body_bytes(req).iter().all(u8::is_ascii_whitespace) {
            let _: MoveBody = shared::http::json_body(req)?;
        }
        let moved = self.service.apply(c, &id, event).await?;
        Ok(json_response(StatusCode::OK, &moved))
    }

    async fn assign(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let id = conversation_id(req)?;
        let body: AssignBody = shared::http::json_body(req)?;
        let to = body
            .agent_id
            .map(|a| UserId::parse(&a))
            .transpose()
            .map_err(|e| ApiError::bad_request(ErrorCode::InvalidAgentId, format!("agent_id: {e}")))?;
        let moved = self.service.assign(c, &id, to.as_ref()).await?;
        Ok(json_response(StatusCode::OK, &moved))
    }

    async fn note(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let id = conversation_id(req)?;
        let body: NoteBody = shared::http::json_body(req)?;
        let note = self.service.note(c, &id, &body.text).await?;
        Ok(json_response(StatusCode::CREATED, &note))
    }
}

/// A page of conversations: `{"conversations", "next_cursor"}`.
fn page_response(page: Page<Conversation>) -> Response<Body> {
    json_response(
        StatusCode::OK,
        &json!({"conversations": page.items, "next_cursor": page.next_cursor}),
    )
}

/// The `status` filter: a comma-separated list (every live status when absent).
fn statuses(list: &str) -> Result<Vec<Status>, ApiError> {
    list.split(',')
        .map(|s| {
            Status::parse(s.trim()).ok_or_else(|| {
                ApiError::bad_request(
                    ErrorCode::InvalidParameter,
                    format!("status {s:?} is not open, active, waiting or closed"),
                )
            })
        })
        .collect()
}

/// A customer's number as the path or `customer=` writes it (digits, `+`, spaces).
fn customer_number(text: &str) -> Result<PhoneNumber, ApiError> {
    PhoneNumber::parse_any(text).map_err(|e| ApiError::bad_request(ErrorCode::InvalidPhoneNumber, e.to_string()))
}

/// The path's account; an id that is none answers as an account that does not exist.
fn path_account(req: &Request) -> Result<AccountId, ApiError> {
    AccountId::parse(&path_param(req, "account_id")?).map_err(|_| DeskError::AccountNotFound.into())
}

fn conversation_id(req: &Request) -> Result<ConversationId, ApiError> {
    ConversationId::parse(&path_param(req, "conversation_id")?).map_err(|_| DeskError::NotFound.into())
}

impl<S: DeskStore> shared::runtime::HttpFunction for App<S> {
    fn answer(&self, request: Request) -> impl std::future::Future<Output = Response<Body>> + Send {
        self.handle(request)
    }
}
