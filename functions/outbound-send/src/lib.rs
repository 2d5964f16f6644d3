//! `POST /conversations/{conversation_id}/messages` and `POST /messages`: an SMS from the
//! business, recorded before it is sent, sent once through TeleSign, settled with its answer.

use std::time::Duration;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use shared::account::Account;
use shared::conversation::{next, Conversation, Event, Message, Status};
use shared::directory::{Directory, Freshness};
use shared::http::{caller_id, deadline, header_str, json_body, json_response, path_param, respond};
use shared::store::outbound::{BeginOutcome, Idempotency, NewOutbound, SendResult};
use shared::store::reports::external_id;
use shared::store::Dynamo;
use shared::telesign::status::state_of_code;
use shared::telesign::{FailureKind, MessageState, SendSms, TelesignClient, TelesignError};
use shared::{phone, sms, ApiError};

/// The function's dependencies, built once per sandbox.
#[derive(Debug)]
pub struct App {
    directory: Directory,
    dynamo: Dynamo,
    telesign: TelesignClient,
    public_base_url: Option<String>,
}

/// What an agent sends, checked.
struct Draft<'a> {
    text: &'a str,
    info: sms::TextInfo,
    agent: Option<String>,
    idempotency: Option<String>,
    fingerprint: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    text: String,
    #[serde(default)]
    agent_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Outreach {
    account_id: String,
    from: String,
    to: String,
    text: String,
    #[serde(default)]
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
        Ok(Self::new(
            clients.directory()?,
            clients.dynamo(),
            clients.telesign()?,
            shared::config::url("PUBLIC_BASE_URL")?,
        ))
    }

    /// Builds the function from its parts.
    pub fn new(
        directory: Directory,
        dynamo: Dynamo,
        telesign: TelesignClient,
        public_base_url: Option<String>,
    ) -> Self {
        Self {
            directory,
            dynamo,
            telesign,
            public_base_url,
        }
    }

    /// Answers one request.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let result = if req.uri().path().starts_with("/conversations/") {
            self.reply(&req).await
        } else {
            self.outreach(&req).await
        };
        respond(result)
    }

    async fn reply(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let conversation_id = path_param(req, "conversation_id")?;
        if !shared::ids::is_id(&conversation_id) {
            return Err(not_found());
        }
        let input: Reply = json_body(req)?;
        let draft = Draft {
            text: &input.text,
            info: check_text(&input.text)?,
            agent: agent_of(req, input.agent_id.clone())?,
            idempotency: idempotency_key(req)?,
            fingerprint: fingerprint(&["reply", &conversation_id, &input.text]),
        };
        for _ in 0..4 {
            let conversation = self
                .dynamo
                .conversation(&conversation_id)
                .await?
                .ok_or_else(not_found)?;
            let account = self.account(&conversation.account_id).await?;
            if let Some(response) = self.send(req, &account, &conversation, true, &draft).await? {
                return Ok(response);
            }
        }
        Err(busy())
    }

    async fn outreach(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let input: Outreach = json_body(req)?;
        let from = phone::parse_support(&input.from)
            .map_err(|e| ApiError::bad_request("invalid_phone_number", format!("from: {e}")))?;
        let to = phone::parse_typed(&input.to, Some(&from))
            .map_err(|e| ApiError::bad_request("invalid_phone_number", format!("to: {e}")))?;
        let draft = Draft {
            text: &input.text,
            info: check_text(&input.text)?,
            agent: agent_of(req, input.agent_id.clone())?,
            idempotency: idempotency_key(req)?,
            fingerprint: fingerprint(&["outreach", &input.account_id, &from, &to, &input.text]),
        };
        if !shared::ids::is_id(&input.account_id) {
            return Err(ApiError::not_found(
                "account_not_found",
                "no messaging account has this id",
            ));
        }
        let account = self.account(&input.account_id).await?;
        if account.number(&from).is_none() {
            return Err(ApiError::bad_request(
                "unknown_number",
                format!("{from} is not a support number of this account"),
            ));
        }
        for _ in 0..4 {
            let (existing, opted_out) = self.dynamo.live_conversation(&account.account_id, &from, &to).await?;
            if opted_out {
                return Err(opted_out_error());
            }
            let exists = existing.is_some();
            let conversation = existing.unwrap_or_else(|| Conversation::first_contact(&account.account_id, &from, &to));
            if let Some(response) = self.send(req, &account, &conversation, exists, &draft).await? {
                return Ok(response);
            }
        }
        Err(busy())
    }

    async fn account(&self, account_id: &str) -> Result<Account, ApiError> {
        self.directory
            .account(account_id, Freshness::Cached)
            .await?
            .ok_or_else(|| ApiError::not_found("account_not_found", "no messaging account has this id"))
    }

    /// Records, sends and settles one message. `None`: the conversation changed under us, read it again.
    async fn send(
        &self,
        req: &Request,
        account: &Account,
        conversation: &Conversation,
        exists: bool,
        draft: &Draft<'_>,
    ) -> Result<Option<Response<Body>>, ApiError> {
        let (text, info, fingerprint) = (draft.text, &draft.info, draft.fingerprint.as_str());
        let (agent, idempotency) = (draft.agent.as_deref(), draft.idempotency.as_deref());
        let scope = &account.account_id;
        if let Some(key) = idempotency {
            if let Some(done) = self.replay(scope, key, fingerprint, false).await? {
                return Ok(Some(done));
            }
        }
        if conversation.status == Status::Closed {
            return Err(ApiError::conflict(
                "conversation_closed",
                "the conversation is closed; start a new one with POST /messages",
            ));
        }
        if conversation.opted_out {
            return Err(opted_out_error());
        }
        // Keys before anything is recorded: without them nothing can be sent.
        let keys = self.directory.keys(account, Freshness::Cached).await?;
        let to_status = if exists {
            next(conversation.status, Event::AgentReply).unwrap_or(conversation.status)
        } else if agent.is_some() {
            Status::Active
        } else {
            Status::Open
        };
        let message_id = shared::ids::new_message_id();
        let begun = self
            .dynamo
            .begin_outbound(
                &NewOutbound {
                    conversation,
                    exists,
                    to_status,
                    text,
                    info,
                    agent_id: agent,
                    idempotency: idempotency.map(|k| (scope.as_str(), k)),
                    request_fingerprint: fingerprint,
                },
                &message_id,
            )
            .await?;
        let mut message = match begun {
            BeginOutcome::Begun(m) => m,
            BeginOutcome::OptedOut => return Err(opted_out_error()),
            BeginOutcome::Changed => return Ok(None),
            BeginOutcome::Replay => {
                let key = idempotency.unwrap_or_default();
                return self.replay(scope, key, fingerprint, true).await;
            }
        };
        let conversation_id = &conversation.conversation_id;
        let callback_url =
            shared::http::public_base_url(req, self.public_base_url.as_deref()).map(|b| account.callback_url(&b));
        let external = external_id(conversation_id, &message_id);
        let sent = self
            .telesign
            .send_sms(
                &keys.current,
                account.api_host,
                &SendSms {
                    phone_number: &conversation.customer_number,
                    message: text,
                    message_type: "ARN",
                    sender_id: Some(&conversation.support_number),
                    external_id: Some(&external),
                    callback_url: callback_url.as_deref(),
                },
                deadline(req, Duration::from_secs(20), Duration::from_millis(1500)),
            )
            .await;

        let (result_state, reference, code, description, answer): (
            MessageState,
            Option<String>,
            Option<u32>,
            String,
            Result<StatusCode, ApiError>,
        ) = match sent {
            Ok(answer) => (
                state_of_code(answer.status.code),
                Some(answer.reference_id),
                Some(answer.status.code),
                answer.status.description,
                Ok(StatusCode::ACCEPTED),
            ),
            Err(TelesignError::Failure(f)) if matches!(f.kind, FailureKind::RateLimited | FailureKind::Unavailable) => {
                let why = format!("TeleSign unavailable: {}", f.description);
                (
                    MessageState::Failed,
                    None,
                    f.code,
                    why.clone(),
                    Err(ApiError::unavailable("telesign_unavailable", why)),
                )
            }
            Err(TelesignError::Failure(f)) => (
                MessageState::Failed,
                None,
                f.code,
                f.description.clone(),
                Err(ApiError::TelesignRejected {
                    telesign_code: f.code,
                    description: f.description,
                }),
            ),
            Err(TelesignError::Unreachable(why)) => {
                let why = format!("TeleSign unreachable: {why}");
                (
                    MessageState::Failed,
                    None,
                    None,
                    why.clone(),
                    Err(ApiError::unavailable("telesign_unavailable", why)),
                )
            }
            Err(TelesignError::OutcomeUnknown(why)) => (
                MessageState::Unknown,
                None,
                None,
                format!("outcome unknown, awaiting TeleSign's delivery report: {why}"),
                Ok(StatusCode::ACCEPTED),
            ),
        };
        message.status = result_state;
        message.telesign_reference_id = reference.clone();
        message.status_code = code;
        message.status_description = Some(description.clone());
        let (status, body) = match &answer {
            Ok(status) => (*status, message_body(&message, conversation_id)),
            Err(e) => {
                let mut body = e.body();
                body["message"] = message_body(&message, conversation_id);
                (e.status(), body)
            }
        };
        // A 503 forgets the idempotency key, so the caller may try again; any other answer is kept.
        let kept = (status != StatusCode::SERVICE_UNAVAILABLE).then(|| body.to_string());
        self.dynamo
            .finish_outbound(
                conversation_id,
                &message_id,
                &SendResult {
                    state: result_state,
                    reference_id: reference.as_deref(),
                    code,
                    description: &description,
                },
                idempotency.map(|k| (scope.as_str(), k)),
                kept.as_deref().map(|b| (status.as_u16(), b)),
            )
            .await?;
        tracing::info!(account_id = %account.account_id, conversation_id = %conversation_id, message_id = %message_id,
            reference_id = reference.as_deref().unwrap_or(""), status = result_state.as_str(), http_status = status.as_u16(), "outbound SMS");
        Ok(Some(json_response(status, &body)))
    }

    /// The first answer of an idempotency key. With `wait`, waits while the first request runs.
    async fn replay(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        wait: bool,
    ) -> Result<Option<Response<Body>>, ApiError> {
        for _ in 0..if wait { 100 } else { 1 } {
            match self.dynamo.idempotency(scope, key).await? {
                None if wait => {
                    return Err(ApiError::conflict(
                        "request_in_progress",
                        "the first request with this Idempotency-Key failed; send again",
                    ))
                }
                None => return Ok(None),
                Some(Idempotency::Pending { fingerprint: f } | Idempotency::Done { fingerprint: f, .. })
                    if f != fingerprint =>
                {
                    return Err(ApiError::Unprocessable {
                        code: "idempotency_key_reused",
                        message: "this Idempotency-Key was used for another request".into(),
                        details: Map::new(),
                    })
                }
                Some(Idempotency::Done { http_status, body, .. }) => {
                    let value: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                    let status = StatusCode::from_u16(http_status).unwrap_or(StatusCode::OK);
                    return Ok(Some(json_response(status, &value)));
                }
                Some(Idempotency::Pending { .. }) if wait => tokio::time::sleep(Duration::from_millis(100)).await,
                Some(Idempotency::Pending { .. }) => return Ok(None),
            }
        }
        Err(ApiError::conflict(
            "request_in_progress",
            "a request with this Idempotency-Key is still being sent; retry shortly",
        ))
    }
}

fn busy() -> ApiError {
    ApiError::conflict("conversation_busy", "the conversation kept changing; send again")
}

fn not_found() -> ApiError {
    ApiError::not_found("conversation_not_found", "no conversation has this id")
}

fn opted_out_error() -> ApiError {
    ApiError::Unprocessable {
        code: "recipient_opted_out",
        message: "the customer has opted out (STOP); nothing can be sent until they text START".into(),
        details: Map::new(),
    }
}

fn agent_of(req: &Request, from_body: Option<String>) -> Result<Option<String>, ApiError> {
    let agent = caller_id(req).or(from_body.filter(|a| !a.trim().is_empty()));
    if agent.as_ref().is_some_and(|a| a.chars().count() > 128) {
        return Err(ApiError::bad_request(
            "invalid_agent_id",
            "agent_id is at most 128 characters",
        ));
    }
    Ok(agent)
}

/// The contract's text rules: not empty, at most 1600 characters.
pub fn check_text(text: &str) -> Result<sms::TextInfo, ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::bad_request("empty_message", "the message has no text"));
    }
    let info = sms::analyse(text);
    if info.characters > sms::MAX_MESSAGE_CHARS {
        return Err(ApiError::Unprocessable {
            code: "message_too_long",
            message: format!(
                "the message has {} characters; the limit is {}",
                info.characters,
                sms::MAX_MESSAGE_CHARS
            ),
            details: Map::from_iter([
                ("count".to_owned(), json!(info.characters)),
                ("limit".to_owned(), json!(sms::MAX_MESSAGE_CHARS)),
            ]),
        });
    }
    Ok(info)
}

fn idempotency_key(req: &Request) -> Result<Option<String>, ApiError> {
    match header_str(req, "idempotency-key") {
        None => Ok(None),
        Some(k) if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()) => Ok(Some(k.to_owned())),
        Some(_) => Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )),
    }
}

fn fingerprint(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for p in parts {
        hash.update(p.as_bytes());
        hash.update([0]);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn message_body(m: &Message, conversation_id: &str) -> Value {
    let mut v = serde_json::to_value(m).unwrap_or(Value::Null);
    v["conversation_id"] = json!(conversation_id);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules_give_the_count() {
        assert_eq!(check_text("  ").unwrap_err().code(), "empty_message");
        let e = check_text(&"a".repeat(1601)).unwrap_err();
        assert_eq!(e.code(), "message_too_long");
        assert_eq!(e.body()["error"]["count"], 1601);
        assert_eq!(check_text(&"😀".repeat(1600)).unwrap().characters, 1600);
    }

    #[test]
    fn fingerprints_separate_their_parts() {
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
    }
}
