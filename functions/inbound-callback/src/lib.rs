//! `POST /telesign/{account_id}/callback`: TeleSign's inbound SMS and delivery reports, verified
//! against the account's key before anything is read, stored exactly once.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::conversation::consent_of;
use shared::directory::{Directory, Freshness};
use shared::http::{body_bytes, header_str, json_response, path_param, respond, MAX_BODY_BYTES};
use shared::store::inbound::{InboundOutcome, NewInbound};
use shared::store::reports::ReportOutcome;
use shared::store::Dynamo;
use shared::telesign::{verify_callback, Callback, DeliveryReport, InboundSms, SignatureError};
use shared::{phone, sms, ApiError};

/// The function's dependencies, built once per sandbox.
#[derive(Debug)]
pub struct App {
    directory: Directory,
    dynamo: Dynamo,
}

impl App {
    /// Builds the function from its environment (`TABLE_NAME`, `SECRET_PREFIX`).
    pub async fn from_env() -> Result<Self, shared::config::ConfigError> {
        Self::from_clients(&shared::runtime::Clients::from_env().await?)
    }

    /// Builds the function from clients made once (the local gateway gives each function its own meter).
    pub fn from_clients(clients: &shared::runtime::Clients) -> Result<Self, shared::config::ConfigError> {
        Ok(Self::new(clients.directory()?, clients.dynamo()))
    }

    /// Builds the function from its parts.
    pub fn new(directory: Directory, dynamo: Dynamo) -> Self {
        Self { directory, dynamo }
    }

    /// Answers one callback.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        respond(self.callback(&req).await)
    }

    async fn callback(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let account_id = path_param(req, "account_id")?;
        let unknown = || ApiError::not_found("unknown_account", "no messaging account has this callback URL");
        if !shared::ids::is_id(&account_id) {
            return Err(unknown());
        }
        let body = body_bytes(req);
        if body.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
        }
        let account = self
            .directory
            .account(&account_id, Freshness::Cached)
            .await?
            .ok_or_else(|| {
                tracing::warn!(account_id = %account_id, "callback for an account that does not exist");
                unknown()
            })?;

        // The signature first: nothing of an unsigned body is read.
        let authorization = header_str(req, "authorization").or_else(|| header_str(req, "x-ts-authorization"));
        let keys = self.directory.keys(&account, Freshness::Cached).await?;
        let mut verified = verify_callback(
            authorization,
            body,
            &keys.current.customer_id,
            &keys.current.api_key,
            keys.previous.as_ref(),
        );
        if verified == Err(SignatureError::Mismatch) {
            // The key may have been rotated since it was cached: read it again, once.
            let keys = self.directory.keys(&account, Freshness::Fresh).await?;
            verified = verify_callback(
                authorization,
                body,
                &keys.current.customer_id,
                &keys.current.api_key,
                keys.previous.as_ref(),
            );
        }
        if let Err(e) = verified {
            tracing::warn!(account_id = %account_id, reason = %e, "callback refused");
            return Err(ApiError::InvalidSignature);
        }

        let callback = Callback::parse(body).map_err(|e| {
            tracing::warn!(account_id = %account_id, error = %e, "signed callback unreadable");
            ApiError::bad_request("malformed_payload", format!("the callback could not be read: {e}"))
        })?;
        let result = match callback {
            Callback::Inbound(sms) => self.inbound(&account, &sms, body).await?,
            Callback::Delivery(report) => self.delivery(&account.account_id, &report).await?,
        };
        Ok(json_response(StatusCode::OK, &json!({ "result": result })))
    }

    async fn inbound(
        &self,
        account: &shared::account::Account,
        sms: &InboundSms,
        body: &[u8],
    ) -> Result<&'static str, ApiError> {
        let bad = |what: &str, e: phone::PhoneError| ApiError::bad_request("malformed_payload", format!("{what}: {e}"));
        let customer = phone::normalise_any(&sms.customer_number).map_err(|e| bad("user_response.phone_number", e))?;
        let support = phone::normalise_any(&sms.support_number).map_err(|e| bad("user_response.sender_id", e))?;
        let mut account = account.clone();
        if account.number(&support).is_none() {
            // A number added since the account was cached is routed at once.
            account = self
                .directory
                .account(&account.account_id, Freshness::Fresh)
                .await?
                .unwrap_or(account);
        }
        if account.number(&support).is_none() {
            tracing::warn!(account_id = %account.account_id, support_number = %support, reference_id = %sms.reference_id, "inbound SMS to a number the account does not own");
            return Err(ApiError::not_found(
                "unknown_number",
                "this account has no such support number",
            ));
        }
        let info = sms::analyse(&sms.text);
        let raw = String::from_utf8_lossy(body);
        let outcome = self
            .dynamo
            .record_inbound(&NewInbound {
                account_id: &account.account_id,
                support_number: &support,
                customer_number: &customer,
                reference_id: &sms.reference_id,
                text: &sms.text,
                info: &info,
                consent: consent_of(&sms.text, sms.action.as_deref()),
                raw: &raw,
            })
            .await?;
        match outcome {
            InboundOutcome::Stored {
                conversation_id,
                message_id,
                new_conversation,
            } => {
                tracing::info!(account_id = %account.account_id, conversation_id = %conversation_id, message_id = %message_id,
                    reference_id = %sms.reference_id, new_conversation, too_long = info.characters > sms::MAX_MESSAGE_CHARS, "inbound SMS stored");
                Ok("stored")
            }
            InboundOutcome::Duplicate => {
                tracing::info!(account_id = %account.account_id, reference_id = %sms.reference_id, "inbound SMS already stored");
                Ok("duplicate")
            }
            InboundOutcome::UnknownNumber => {
                self.directory.forget(&account);
                tracing::warn!(account_id = %account.account_id, support_number = %support, "support number removed from the account");
                Err(ApiError::not_found(
                    "unknown_number",
                    "this account has no such support number",
                ))
            }
        }
    }

    async fn delivery(&self, account_id: &str, report: &DeliveryReport) -> Result<&'static str, ApiError> {
        let outcome = self.dynamo.apply_report(account_id, report).await?;
        let result = match &outcome {
            ReportOutcome::Updated { .. } => "updated",
            ReportOutcome::Duplicate => "duplicate",
            ReportOutcome::Stale | ReportOutcome::Unknown => "ignored",
        };
        tracing::info!(account_id, reference_id = %report.reference_id, status_code = report.status.code, outcome = ?outcome, "delivery report");
        Ok(result)
    }
}
