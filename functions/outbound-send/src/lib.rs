//! `POST /conversations/{conversation_id}/messages` and `POST /messages`: the HTTP edge of the
//! send service (record, send once through TeleSign, settle), and the answer of its outcome.

use std::time::Duration;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use shared::access::Caller;
use shared::conversation::Thread;
use shared::error::ErrorCode;
use shared::http::{caller, deadline, header_str, json_body, json_response, no_route, path_param, respond, route_key};
use shared::ids::{AccountId, ConversationId, IdempotencyKey};
use shared::phone::PhoneNumber;
use shared::secrets::Secrets;
use shared::service::directory::{AccountDirectory, CachedDirectory};
use shared::service::ports::{ConversationMoves, IdempotencyLog, Members, OutboundLog, SmsGateway};
use shared::service::send::{Draft, SendError, Sender, SentMessage, Verdict};
use shared::store::Dynamo;
use shared::telesign::TelesignClient;
use shared::ApiError;

/// The send service over DynamoDB, Secrets Manager and TeleSign (the in-memory adapters in the
/// edge's tests).
pub type Service<D = CachedDirectory<Dynamo, Secrets>, O = Dynamo, G = TelesignClient> = Sender<D, O, G>;

/// What the send service needs of its log.
pub trait SendLog: OutboundLog + IdempotencyLog + ConversationMoves + Members + 'static {}
impl<T: OutboundLog + IdempotencyLog + ConversationMoves + Members + 'static> SendLog for T {}

/// The function's dependencies, built once per sandbox.
#[derive(Debug)]
pub struct App<D = CachedDirectory<Dynamo, Secrets>, O = Dynamo, G = TelesignClient> {
    service: Service<D, O, G>,
    public_base_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    text: String,
    /// Taken for older clients and ignored: the sender is the token's.
    #[serde(default)]
    #[allow(dead_code)]
    agent_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Outreach {
    account_id: String,
    from: String,
    to: String,
    text: String,
    /// Taken for older clients and ignored: the sender is the token's.
    #[serde(default)]
    #[allow(dead_code)]
    agent_id: Option<String>,
}

impl App {
    /// Builds the function from its environment (`TABLE_NAME`, `SECRET_PREFIX`,
    /// `TELESIGN_BASE_URL`, `PUBLIC_BASE_URL`).
    pub async fn from_env() -> Result<Self, shared::config::ConfigError> {
        Self::from_clients(&shared::runtime::Clients::from_env().await?)
    }

    /// Builds the function from clients made once (the local gateway gives each function its own meter).
    pub fn from_clients(clients: &shared::runtime::Clients) -> Result<Self, shared::config::ConfigError> {
        let service = Sender {
            directory: clients.directory()?,
            log: clients.dynamo(),
            gateway: clients.telesign()?,
        };
        Ok(Self::new(service, shared::config::url("PUBLIC_BASE_URL")?))
    }
}

impl<D: AccountDirectory + 'static, O: SendLog, G: SmsGateway + 'static> App<D, O, G> {
    /// Builds the function from its service.
    pub fn new(service: Service<D, O, G>, public_base_url: Option<String>) -> Self {
        Self {
            service,
            public_base_url,
        }
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
            "POST /conversations/{conversation_id}/messages" => self.reply(req, c).await,
            "POST /messages" => self.outreach(req, c).await,
            _ => Err(no_route()),
        }
    }

    async fn reply(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let id = ConversationId::parse(&path_param(req, "conversation_id")?)
            .map_err(|_| ApiError::from(SendError::ConversationNotFound))?;
        let input: Reply = json_body(req)?;
        let draft = self.draft(req, c, input.text)?;
        Ok(answer(self.service.reply(c, &id, &draft).await?))
    }

    async fn outreach(&self, req: &Request, c: &Caller) -> Result<Response<Body>, ApiError> {
        let input: Outreach = json_body(req)?;
        let invalid = |what: &str, e: shared::phone::PhoneError| {
            ApiError::bad_request(ErrorCode::InvalidPhoneNumber, format!("{what}: {e}"))
        };
        let support_number = PhoneNumber::parse_support(&input.from).map_err(|e| invalid("from", e))?;
        // A national number is the support number's country's (as a person types it).
        let customer_number =
            PhoneNumber::parse_typed(&input.to, Some(&support_number)).map_err(|e| invalid("to", e))?;
        let draft = self.draft(req, c, input.text)?;
        let account_id = AccountId::parse(&input.account_id).map_err(|_| ApiError::from(SendError::AccountNotFound))?;
        let thread = Thread {
            account_id,
            support_number,
            customer_number,
        };
        Ok(answer(self.service.outreach(c, &thread, &draft).await?))
    }

    /// The draft of a request: the text checked, the agent (the token's `sub`, never a body
    /// field), the key.
    fn draft(&self, req: &Request, c: &Caller, text: String) -> Result<Draft, ApiError> {
        let info = shared::sms::check_text(&text)?;
        let agent = Some(c.user_id.clone());
        let idempotency = header_str(req, "idempotency-key")
            .map(IdempotencyKey::parse)
            .transpose()
            .map_err(|e| ApiError::bad_request(ErrorCode::InvalidIdempotencyKey, e.to_string()))?;
        Ok(Draft {
            text,
            info,
            agent,
            agent_name: Some(shared::service::desk::own_name(c)),
            idempotency,
            callback_base: shared::http::public_base_url(req, self.public_base_url.as_deref()),
            deadline: deadline(req, Duration::from_secs(20), Duration::from_millis(1500)),
        })
    }
}

/// The answer of a send: 202 with the message when TeleSign took it (or may have), else
/// TeleSign's refusal or unavailability with the recorded message.
pub fn answer(sent: SentMessage) -> Response<Body> {
    let mut message = serde_json::to_value(&sent.message).unwrap_or(Value::Null);
    message["conversation_id"] = json!(sent.conversation_id);
    let error = match &sent.verdict {
        Verdict::Accepted | Verdict::OutcomeUnknown => return json_response(StatusCode::ACCEPTED, &message),
        Verdict::Rejected {
            telesign_code,
            description,
        } => ApiError::new(
            StatusCode::BAD_GATEWAY,
            ErrorCode::TelesignRejected,
            format!("TeleSign refused the message: {description}"),
        )
        .with("telesign_code", json!(telesign_code))
        .with("telesign_description", json!(description)),
        Verdict::Unavailable { description } => ApiError::unavailable(ErrorCode::TelesignUnavailable, description),
    };
    let mut body = error.body();
    body["message"] = message;
    json_response(error.status, &body)
}

impl<D: AccountDirectory + 'static, O: SendLog, G: SmsGateway + 'static> shared::runtime::HttpFunction
    for App<D, O, G>
{
    fn answer(&self, request: Request) -> impl std::future::Future<Output = Response<Body>> + Send {
        self.handle(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::conversation::Message;
    use shared::sms::analyse;

    fn sent(verdict: Verdict) -> SentMessage {
        SentMessage {
            conversation_id: ConversationId::new(),
            message: Message::outbound_pending("hi", &analyse("hi"), None),
            verdict,
        }
    }

    #[test]
    fn each_verdict_answers_its_status_with_the_message() {
        assert_eq!(answer(sent(Verdict::Accepted)).status(), StatusCode::ACCEPTED);
        assert_eq!(answer(sent(Verdict::OutcomeUnknown)).status(), StatusCode::ACCEPTED);
        let rejected = Verdict::Rejected {
            telesign_code: Some(11000),
            description: "invalid number".into(),
        };
        assert_eq!(answer(sent(rejected)).status(), StatusCode::BAD_GATEWAY);
        let down = Verdict::Unavailable {
            description: "TeleSign unavailable".into(),
        };
        let response = answer(sent(down));
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(body["error"]["code"], "telesign_unavailable");
        assert_eq!(body["message"]["text"], "hi");
    }
}
