//! The TeleSign adapter: the HTTP client of TeleSign's messaging API (send an SMS, look up a
//! message, with typed failures and bounded retries) behind the service layer's `SmsGateway`.

use std::time::{Duration, Instant};

use serde::Deserialize;

use channel_domain::telesign::key::Credentials;
use channel_domain::telesign::sign::{
    encode_form, http_date_now, new_nonce, tsa_authorization, RequestToSign, FORM_CONTENT_TYPE,
};
use channel_domain::telesign::validate::{verdict_of, Validation};
use channel_domain::telesign::wire::{classify, ApiHost, Failure, FailureKind, MessageAnswer, SendSms, TelesignError};
use channel_services::ports::SmsGateway;

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first backoff; doubled every attempt, with full jitter.
    pub base_delay: Duration,
    /// The longest backoff.
    pub max_delay: Duration,
    /// The timeout of one attempt.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    status: Option<ErrorStatus>,
}

#[derive(Deserialize)]
struct ErrorStatus {
    code: Option<serde_json::Value>,
    #[serde(default)]
    description: Option<String>,
}

/// The TeleSign client: one connection pool for the life of the function.
#[derive(Debug, Clone)]
pub struct TelesignClient {
    http: reqwest::Client,
    base_url_override: Option<String>,
    retry: RetryPolicy,
}

impl TelesignClient {
    /// Builds the client. `base_url_override` (from `TELESIGN_BASE_URL`) replaces every account's
    /// host, for local runs and tests.
    pub fn new(base_url_override: Option<String>, retry: RetryPolicy) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            // The process's rustls configuration: compiled-in roots, nothing read from disk.
            .tls_backend_preconfigured((*crate::tls::client_config()).clone())
            // TeleSign drops idle connections after 499 s: let ours go well before.
            .pool_idle_timeout(Duration::from_secs(90))
            .connect_timeout(Duration::from_secs(3))
            .user_agent(concat!("sms-channel/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            base_url_override: base_url_override.map(|u| u.trim_end_matches('/').to_owned()),
            retry,
        })
    }

    /// The base URL used for an account on `host`.
    pub fn base_url(&self, host: ApiHost) -> &str {
        self.base_url_override.as_deref().unwrap_or(host.base_url())
    }

    /// Sends an SMS. Retries only what proves that TeleSign did nothing, while `deadline` allows:
    /// a 429, a connection that never opened, TeleSign's own refusal (a 5xx with its
    /// `status.code`). A request that left and got no answer, or a 5xx without TeleSign's body (a
    /// gateway in front of it may answer 502/504 after the message went out), is
    /// `OutcomeUnknown`, never resent.
    pub async fn send_sms(
        &self,
        creds: &Credentials,
        host: ApiHost,
        sms: &SendSms<'_>,
        deadline: Instant,
    ) -> Result<MessageAnswer, TelesignError> {
        let mut fields = vec![
            ("phone_number", sms.phone_number),
            ("message", sms.message),
            ("message_type", sms.message_type),
        ];
        if let Some(v) = sms.sender_id {
            fields.push(("sender_id", v));
        }
        if let Some(v) = sms.external_id {
            fields.push(("external_id", v));
        }
        if let Some(v) = sms.callback_url {
            fields.push(("callback_url", v));
        }
        let body = encode_form(&fields);
        self.call(creds, host, "POST", "/v1/messaging", Some(body), deadline)
            .await
    }

    /// Looks a message up by TeleSign's reference id. A GET is idempotent: timeouts are retried too.
    pub async fn message_status(
        &self,
        creds: &Credentials,
        host: ApiHost,
        reference_id: &str,
        deadline: Instant,
    ) -> Result<MessageAnswer, TelesignError> {
        let resource = format!("/v1/messaging/{reference_id}");
        self.call(creds, host, "GET", &resource, None, deadline).await
    }

    async fn call(
        &self,
        creds: &Credentials,
        host: ApiHost,
        method: &str,
        resource: &str,
        body: Option<String>,
        deadline: Instant,
    ) -> Result<MessageAnswer, TelesignError> {
        let url = format!("{}{}", self.base_url(host), resource);
        let idempotent = body.is_none();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let now = Instant::now();
            let left = deadline.saturating_duration_since(now);
            if left < Duration::from_millis(50) {
                return Err(TelesignError::Unreachable("no time left for a request".into()));
            }
            let outcome = self
                .attempt(
                    creds,
                    method,
                    resource,
                    &url,
                    body.as_deref(),
                    left.min(self.retry.attempt_timeout),
                )
                .await;
            let retry = match &outcome {
                Ok(_) => false,
                Err(TelesignError::Failure(f)) => f.retryable(),
                Err(TelesignError::Unreachable(_)) => true,
                Err(TelesignError::OutcomeUnknown(_)) => idempotent,
            };
            if !retry || attempt >= self.retry.max_attempts {
                return match outcome {
                    Err(TelesignError::OutcomeUnknown(r)) if idempotent => Err(TelesignError::Unreachable(r)),
                    other => other,
                };
            }
            let delay = self.backoff(attempt);
            if Instant::now() + delay + Duration::from_millis(100) >= deadline {
                return outcome;
            }
            tracing::info!(
                attempt,
                delay_ms = delay.as_millis() as u64,
                resource,
                "retrying TeleSign request"
            );
            tokio::time::sleep(delay).await;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        channel_services::backoff::Backoff::new(self.retry.base_delay, self.retry.max_delay).delay(attempt)
    }

    async fn attempt(
        &self,
        creds: &Credentials,
        method: &str,
        resource: &str,
        url: &str,
        body: Option<&str>,
        timeout: Duration,
    ) -> Result<MessageAnswer, TelesignError> {
        // A fresh date and nonce on every attempt: TeleSign refuses a reused nonce (10002).
        let date = http_date_now();
        let nonce = new_nonce();
        let content_type = if body.is_some() { FORM_CONTENT_TYPE } else { "" };
        let authorization = tsa_authorization(
            creds,
            &RequestToSign {
                method,
                resource,
                content_type,
                body: body.unwrap_or(""),
                date: &date,
                nonce: &nonce,
            },
        );
        let mut request = match method {
            "POST" => self.http.post(url),
            _ => self.http.get(url),
        }
        .timeout(timeout)
        .header("Authorization", authorization)
        .header("Date", date)
        .header("x-ts-auth-method", "HMAC-SHA256")
        .header("x-ts-nonce", nonce)
        .header("Accept", "application/json");
        if let Some(body) = body {
            // The signed string itself is the body: no re-encoding after signing.
            request = request.header("Content-Type", FORM_CONTENT_TYPE).body(body.to_owned());
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) if e.is_connect() => return Err(TelesignError::Unreachable(describe(&e))),
            Err(e) => return Err(TelesignError::OutcomeUnknown(describe(&e))),
        };
        let status = response.status().as_u16();
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return Err(TelesignError::OutcomeUnknown(describe(&e))),
        };
        if (200..300).contains(&status) {
            return serde_json::from_slice::<MessageAnswer>(&bytes)
                .map_err(|e| TelesignError::OutcomeUnknown(format!("TeleSign's answer could not be read: {e}")));
        }
        let failure = read_failure(status, &bytes);
        if method == "POST" && failure.kind == FailureKind::Unavailable && !failure.refused_by_telesign() {
            return Err(TelesignError::OutcomeUnknown(format!(
                "answered {status} without TeleSign's status: the message may have gone"
            )));
        }
        Err(TelesignError::Failure(failure))
    }
}

fn read_failure(http_status: u16, bytes: &[u8]) -> Failure {
    let parsed = serde_json::from_slice::<ErrorBody>(bytes).ok().and_then(|b| b.status);
    let code = parsed.as_ref().and_then(|s| match &s.code {
        Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    });
    let description = parsed
        .and_then(|s| s.description)
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| {
            http::StatusCode::from_u16(http_status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("error")
                .to_owned()
        });
    Failure {
        http_status,
        code,
        description,
        kind: classify(http_status, code),
    }
}

/// Describes a transport error without the URL's query or any header.
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "the connection failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        what.to_owned()
    } else {
        format!("{what} ({detail})")
    }
}

impl SmsGateway for TelesignClient {
    async fn send_sms(
        &self,
        creds: &Credentials,
        host: ApiHost,
        sms: &SendSms<'_>,
        deadline: Instant,
    ) -> Result<MessageAnswer, TelesignError> {
        TelesignClient::send_sms(self, creds, host, sms, deadline).await
    }

    /// Asks TeleSign about a message that cannot exist: what it answers says whether the
    /// credentials work (`validate::verdict_of`).
    async fn probe(&self, creds: &Credentials, host: ApiHost, deadline: Instant) -> Result<Validation, TelesignError> {
        let answer = self
            .message_status(
                creds,
                host,
                channel_domain::telesign::validate::PROBE_REFERENCE,
                deadline,
            )
            .await;
        verdict_of(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_keep_code_and_text() {
        let f = read_failure(
            400,
            br#"{"status":{"code":11000,"description":"Invalid value for parameter phone_number."}}"#,
        );
        assert_eq!(f.code, Some(11000));
        assert_eq!(f.kind, FailureKind::InvalidRequest);
        assert!(f.description.contains("phone_number"));
        let f = read_failure(503, b"<html>oops</html>");
        assert_eq!((f.code, f.kind), (None, FailureKind::Unavailable));
        assert_eq!(f.description, "Service Unavailable");
    }

    #[test]
    fn only_telesign_own_5xx_is_retried_a_gateway_error_is_not() {
        let telesign = read_failure(503, br#"{"status":{"code":10000,"description":"System unavailable"}}"#);
        assert!(telesign.retryable());
        let gateway = read_failure(502, b"<html>Bad Gateway</html>");
        assert!(
            !gateway.retryable(),
            "a 502 from a gateway may come after the message went out"
        );
    }
}
