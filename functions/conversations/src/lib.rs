//! The agents' conversation routes, the HTTP edge of the desk service: `GET /conversations`,
//! `GET /conversations/{id}`, and the moves `accept`, `close`, `end`.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shared::conversation::{Event, Status};
use shared::error::ErrorCode;
use shared::http::{body_bytes, caller_id, json_response, no_route, path_param, query_param, respond, route_key};
use shared::ids::{AccountId, ConversationId};
use shared::service::desk::{Desk, DeskError};
use shared::store::Dynamo;
use shared::ApiError;

/// The default and largest page of the dashboard list.
const LIST_LIMIT: (u32, u32) = (25, 100);
/// The default and largest page of a transcript.
const MESSAGES_LIMIT: (u32, u32) = (200, 500);

/// The desk service over DynamoDB.
pub type Service = Desk<Dynamo>;

/// The function's dependencies, built once per sandbox.
#[derive(Debug)]
pub struct App {
    service: Service,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MoveBody {
    #[serde(default)]
    agent_id: Option<String>,
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

    /// Builds the function from its service.
    pub fn new(service: Service) -> Self {
        Self { service }
    }

    /// Answers one request.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let result = match route_key(&req) {
            "GET /conversations" => self.list(&req).await,
            "GET /conversations/{conversation_id}" => self.read(&req).await,
            "POST /conversations/{conversation_id}/accept" => self.move_to(&req, Event::Accept).await,
            "POST /conversations/{conversation_id}/close" => self.move_to(&req, Event::Close).await,
            "POST /conversations/{conversation_id}/end" => self.move_to(&req, Event::End).await,
            _ => Err(no_route()),
        };
        respond(result)
    }

    async fn list(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let account_id = query_param(req, "account_id")
            .ok_or_else(|| ApiError::bad_request(ErrorCode::MissingParameter, "account_id is required"))?;
        let account_id = AccountId::parse(&account_id)
            .map_err(|_| ApiError::bad_request(ErrorCode::InvalidParameter, "account_id is not an account id"))?;
        let statuses = statuses(query_param(req, "status").as_deref())?;
        let limit = limit(req, LIST_LIMIT)?;
        let cursor = query_param(req, "cursor");
        let page = self
            .service
            .list(&account_id, &statuses, limit, cursor.as_deref())
            .await?;
        Ok(json_response(
            StatusCode::OK,
            &json!({"conversations": page.items, "next_cursor": page.next_cursor}),
        ))
    }

    async fn read(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let id = conversation_id(req)?;
        let limit = limit(req, MESSAGES_LIMIT)?;
        let cursor = query_param(req, "cursor");
        let conversation = self.service.transcript(&id, limit, cursor.as_deref()).await?;
        Ok(json_response(StatusCode::OK, &conversation))
    }

    async fn move_to(&self, req: &Request, event: Event) -> Result<Response<Body>, ApiError> {
        let id = conversation_id(req)?;
        let body: MoveBody = if body_bytes(req).iter().all(u8::is_ascii_whitespace) {
            MoveBody::default()
        } else {
            shared::http::json_body(req)?
        };
        let agent = caller_id(req).or(body.agent_id.filter(|a| !a.trim().is_empty()));
        let moved = self.service.apply(&id, event, agent.as_deref()).await?;
        Ok(json_response(StatusCode::OK, &moved))
    }
}

/// The `status` filter: a comma-separated list, every live status when absent.
fn statuses(list: Option<&str>) -> Result<Vec<Status>, ApiError> {
    let Some(list) = list else {
        return Ok(Status::LIVE.to_vec());
    };
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

fn conversation_id(req: &Request) -> Result<ConversationId, ApiError> {
    ConversationId::parse(&path_param(req, "conversation_id")?).map_err(|_| DeskError::NotFound.into())
}

fn limit(req: &Request, (default, max): (u32, u32)) -> Result<u32, ApiError> {
    match query_param(req, "limit") {
        None => Ok(default),
        Some(l) => l.parse::<u32>().ok().filter(|l| (1..=max).contains(l)).ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::InvalidParameter,
                format!("limit is a whole number from 1 to {max}"),
            )
        }),
    }
}
