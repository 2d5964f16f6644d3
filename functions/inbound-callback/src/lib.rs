//! `POST /telesign/{account_id}/callback`: the HTTP edge of TeleSign's callbacks. The body is
//! handed, raw and unread, to the callback service, which verifies it before anything else.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::http::{body_bytes, header_str, json_response, path_param, respond, too_large, MAX_BODY_BYTES};
use shared::queue::Queue;
use shared::secrets::Secrets;
use shared::service::callbacks::{CallbackError, CallbackOutcome, Callbacks, ReportOutcome};
use shared::service::directory::{AccountDirectory, CachedDirectory};
use shared::service::ports::{CallbackQueue, InboundLog, ReportLog};
use shared::store::Dynamo;
use shared::ApiError;

/// The callback service over DynamoDB, Secrets Manager and the parking queue (the in-memory
/// adapters in the edge's tests).
pub type Service<D = CachedDirectory<Dynamo, Secrets>, L = Dynamo, Q = Queue> = Callbacks<D, L, Q>;

/// The function's dependencies, built once per sandbox.
#[derive(Debug)]
pub struct App<D = CachedDirectory<Dynamo, Secrets>, L = Dynamo, Q = Queue> {
    service: Service<D, L, Q>,
}

impl App {
    /// Builds the function from its environment (`TABLE_NAME`, `SECRET_PREFIX`, `CALLBACK_QUEUE_URL`).
    pub async fn from_env() -> Result<Self, shared::config::ConfigError> {
        Self::from_clients(&shared::runtime::Clients::from_env().await?)
    }

    /// Builds the function from clients made once (the local gateway gives each function its own meter).
    pub fn from_clients(clients: &shared::runtime::Clients) -> Result<Self, shared::config::ConfigError> {
        Ok(Self::new(Callbacks {
            directory: clients.directory()?,
            log: clients.dynamo(),
            queue: clients.queue()?,
        }))
    }
}

impl<D, L, Q> App<D, L, Q>
where
    D: AccountDirectory + 'static,
    L: InboundLog + ReportLog + 'static,
    Q: CallbackQueue + 'static,
{
    /// Builds the function from its service.
    pub fn new(service: Service<D, L, Q>) -> Self {
        Self { service }
    }

    /// Answers one callback.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        respond(self.callback(&req).await)
    }

    async fn callback(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let account_id = path_param(req, "account_id")?;
        let body = body_bytes(req);
        if shared::ids::is_id(&account_id) && body.len() > MAX_BODY_BYTES {
            shared::metrics::emit(shared::observe::oversized_callback());
            return Err(too_large());
        }
        let outcome = self.receive(&account_id, req, body).await;
        shared::metrics::emit(shared::observe::callback(&account_id, &outcome));
        let outcome = outcome?;
        let result = match outcome {
            CallbackOutcome::Stored { .. } => "stored",
            CallbackOutcome::Duplicate | CallbackOutcome::Report(ReportOutcome::Duplicate) => "duplicate",
            CallbackOutcome::Report(ReportOutcome::Updated) => "updated",
            CallbackOutcome::Report(ReportOutcome::Stale | ReportOutcome::Unknown) | CallbackOutcome::Ignored => {
                "ignored"
            }
            CallbackOutcome::Parked => "parked",
        };
        Ok(json_response(StatusCode::OK, &json!({ "result": result })))
    }

    /// The callback verified and applied; a URL whose id is not an id names no account.
    async fn receive(&self, account_id: &str, req: &Request, body: &[u8]) -> Result<CallbackOutcome, CallbackError> {
        if !shared::ids::is_id(account_id) {
            return Err(CallbackError::UnknownAccount);
        }
        let authorization = header_str(req, "authorization").or_else(|| header_str(req, "x-ts-authorization"));
        self.service.receive(account_id, authorization, body).await
    }
}

impl<D, L, Q> shared::runtime::HttpFunction for App<D, L, Q>
where
    D: AccountDirectory + 'static,
    L: InboundLog + ReportLog + 'static,
    Q: CallbackQueue + 'static,
{
    fn answer(&self, request: Request) -> impl std::future::Future<Output = Response<Body>> + Send {
        self.handle(request)
    }
}
