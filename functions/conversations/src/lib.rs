//! The agents' conversation routes: `GET /conversations`, `GET /conversations/{id}`, and the
//! moves `accept`, `close`, `end`.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shared::conversation::{Event, Status};
use shared::http::{body_bytes, caller_id, json_response, path_param, query_param, respond};
use shared::store::conversations::MoveOutcome;
use shared::store::Dynamo;
use shared::ApiError;

/// The default and largest page of the dashboard list.
const LIST_LIMIT: (i32, i32) = (25, 100);
/// The default and largest page of a transcript.
const MESSAGES_LIMIT: (i32, i32) = (200, 500);

/// The function's dependencies, built once per sandbox.
#[derive(Debug)]
pub struct App {
    dynamo: Dynamo,
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
        Ok(Self::new(clients.dynamo()))
    }

    /// Builds the function from its parts.
    pub fn new(dynamo: Dynamo) -> Self {
        Self { dynamo }
    }

    /// Answers one request.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let path = req.uri().path().to_owned();
        let result = match (req.method(), path.rsplit('/').next()) {
            (&Method::GET, _) if path == "/conversations" || path == "/conversations/" => self.list(&req).await,
            (&Method::GET, _) => self.read(&req).await,
            (&Method::POST, Some("accept")) => self.move_to(&req, Event::Accept).await,
            (&Method::POST, Some("close")) => self.move_to(&req, Event::Close).await,
            (&Method::POST, Some("end")) => self.move_to(&req, Event::End).await,
            _ => Err(ApiError::not_found("route_not_found", "no such route")),
        };
        respond(result)
    }

    async fn list(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let account_id = query_param(req, "account_id")
            .ok_or_else(|| ApiError::bad_request("missing_parameter", "account_id is required"))?;
        if !shared::ids::is_id(&account_id) {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                "account_id is not an account id",
            ));
        }
        let statuses = match query_param(req, "status") {
            None => vec![Status::Open, Status::Active, Status::Waiting],
            Some(list) => list
                .split(',')
                .map(|s| {
                    Status::parse(s.trim()).ok_or_else(|| {
                        ApiError::bad_request(
                            "invalid_parameter",
                            format!("status {s:?} is not open, active, waiting or closed"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        if statuses.is_empty() || (statuses.contains(&Status::Closed) && statuses.len() > 1) {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                "status lists open, active and waiting, or closed alone",
            ));
        }
        let limit = limit(req, LIST_LIMIT)?;
        let page = self
            .dynamo
            .list_conversations(&account_id, &statuses, limit, query_param(req, "cursor").as_deref())
            .await?
            .map_err(|e| ApiError::bad_request("invalid_cursor", e.to_string()))?;
        Ok(json_response(
            StatusCode::OK,
            &json!({"conversations": page.items, "next_cursor": page.next_cursor}),
        ))
    }

    async fn read(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let id = conversation_id(req)?;
        let limit = limit(req, MESSAGES_LIMIT)?;
        let found = self
            .dynamo
            .conversation_with_messages(&id, limit, query_param(req, "cursor").as_deref())
            .await?
            .map_err(|e| ApiError::bad_request("invalid_cursor", e.to_string()))?;
        let conversation = found.ok_or_else(not_found)?;
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
        match self.dynamo.move_conversation(&id, event, agent.as_deref()).await? {
            MoveOutcome::Moved(c) => {
                tracing::info!(conversation_id = %id, status = c.status.as_str(), event = event.as_str(), "conversation moved");
                Ok(json_response(StatusCode::OK, &c))
            }
            MoveOutcome::NotFound => Err(not_found()),
            MoveOutcome::Illegal(from) => Err(ApiError::Conflict {
                code: "invalid_transition",
                message: format!(
                    "a conversation that is {} cannot be asked to {}",
                    from.as_str(),
                    event.as_str()
                ),
            }),
        }
    }
}

fn conversation_id(req: &Request) -> Result<String, ApiError> {
    let id = path_param(req, "conversation_id")?;
    if shared::ids::is_id(&id) {
        Ok(id)
    } else {
        Err(not_found())
    }
}

fn not_found() -> ApiError {
    ApiError::not_found("conversation_not_found", "no conversation has this id")
}

fn limit(req: &Request, (default, max): (i32, i32)) -> Result<i32, ApiError> {
    match query_param(req, "limit") {
        None => Ok(default),
        Some(l) => l.parse::<i32>().ok().filter(|l| (1..=max).contains(l)).ok_or_else(|| {
            ApiError::bad_request("invalid_parameter", format!("limit is a whole number from 1 to {max}"))
        }),
    }
}
