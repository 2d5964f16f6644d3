//! The HTTP client of TeleSign's messaging API: send an SMS, look up a message, with typed
//! failures and bounded retries.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::key::Credentials;
use super::sign::{encode_form, http_date_now, new_nonce, tsa_authorization, RequestToSign, FORM_CONTENT_TYPE};

/// Which TeleSign host serves an account.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ApiHost {
    /// Self-service accounts: `https://rest-api.telesign.com`.
    Standard,
    /// Enterprise accounts: `https://rest-ww.telesign.com`.
    Enterprise,
    /// Older enterprise accounts still served by TeleSign's first host: `https://rest.telesign.com`.
    Legacy,
}

impl ApiHost {
    /// TeleSign's base URL for this host.
    pub fn base_url(self) -> &'static str {
        match self {
            Self::Standard => "https://rest-api.telesign.com",
            Self::Enterprise => "https://rest-ww.telesign.com",
            Self::Legacy => "https://rest.telesign.com",
        }
    }

    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses the contract's spelling.
    pub fn parse(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

/// What TeleSign's answer means, by `status.code` first and the HTTP status second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The request itself is wrong (11xxx, 12xxx, other 4xx): sending it again will not help.
    InvalidRequest,
    /// The customer id or API key is wrong.
    InvalidCredentials,
    /// The TeleSign account is suspended (10010).
    AccountSuspended,
    /// Valid credentials, but for the other host (10031, 10035).
    WrongHost,
    /// SMS is not enabled for the account (10011).
    ProductNotEnabled,
    /// Our clock or nonce is off (10002-10007): not the credentials' fault.
    ClockSkew,
    /// The reference id is not known or has expired (10017, 10036).
    NotFound,
    /// Too many requests (429; 10019, 10020).
    RateLimited,
    /// TeleSign is failing (5xx, 10000).
    Unavailable,
}

/// Classifies an answer of TeleSign by its HTTP status and `status.code`.
pub fn classify(http_status: u16, code: Option<u32>) -> FailureKind {
    match code {
        Some(10008 | 10009 | 10013 | 10015 | 10022 | 10028) => FailureKind::InvalidCredentials,
        Some(10010) => FailureKind::AccountSuspended,
        Some(10011) => FailureKind::ProductNotEnabled,
        Some(10031 | 10035) => FailureKind::WrongHost,
        Some(10002..=10007) => FailureKind::ClockSkew,
        Some(10017 | 10036) => FailureKind::NotFound,
        Some(10019 | 10020) => FailureKind::RateLimited,
        Some(10000) => FailureKind::Unavailable,
        _ => match http_status {
            429 => FailureKind::RateLimited,
            500..=599 => FailureKind::Unavailable,
            401 | 403 => FailureKind::InvalidCredentials,
            404 => FailureKind::NotFound,
            _ => FailureKind::InvalidRequest,
        },
    }
}

/// An error answer of TeleSign, with its code and text kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The HTTP status of the answer.
    pub http_status: u16,
    /// TeleSign's `status.code`, when the body had one.
    pub code: Option<u32>,
    /// TeleSign's `status.description` (or the HTTP reason when the body had none).
    pub description: String,
    /// What it means.
    pub kind: FailureKind,
}

impl Failure {
    /// Whether TeleSign itself refused the request (the answer carries its own `status.code`),
    /// so that it provably did nothing. A 429 is a refusal whatever its body.
    fn refused_by_telesign(&self) -> bool {
        self.code.is_some() || self.http_status == 429
    }

    fn retryable(&self) -> bool {
        match self.kind {
            FailureKind::RateLimited => self.code != Some(10020),
            FailureKind::Unavailable => self.refused_by_telesign(),
            _ => false,
        }
    }
}

/// Why a TeleSign call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelesignError {
    /// TeleSign answered with an error (after the retries, for the retryable ones).
    #[error("TeleSign answered {} {}: {}", .0.http_status, .0.code.map(|c| c.to_string()).unwrap_or_default(), .0.description)]
    Failure(Failure),
    /// TeleSign could not be reached; the request never left, or it was idempotent.
    #[error("TeleSign is unreachable: {0}")]
    Unreachable(String),
    /// The request left but no answer came back: it may or may not have been carried out.
    #[error("TeleSign's answer did not arrive: {0}")]
    OutcomeUnknown(String),
}

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

/// An SMS to send.
#[derive(Debug, Clone)]
pub struct SendSms<'a> {
    /// The customer's number: country code and digits.
    pub phone_number: &'a str,
    /// The text, at most 1600 characters.
    pub message: &'a str,
    /// `ARN` for conversational traffic.
    pub message_type: &'a str,
    /// The support number the customer sees.
    pub sender_id: Option<&'a str>,
    /// Our message id, echoed in delivery reports.
    pub external_id: Option<&'a str>,
    /// Where TeleSign posts this message's delivery reports.
    pub callback_url: Option<&'a str>,
}

/// TeleSign's `status` object in an answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AnswerStatus {
    /// The status code (290 for a send in progress).
    pub code: u32,
    /// TeleSign's words for it.
    #[serde(default)]
    pub description: String,
}

/// A successful answer of `POST /v1/messaging` or `GET /v1/messaging/{ref}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MessageAnswer {
    /// TeleSign's id of the message.
    pub reference_id: String,
    /// Where the message is.
    pub status: AnswerStatus,
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
        crate::backoff::Backoff::new(self.retry.base_delay, self.retry.max_delay).delay(attempt)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_host_has_its_url_and_spelling() {
        for (host, spelling, url) in [
            (ApiHost::Standard, "standard", "https://rest-api.telesign.com"),
            (ApiHost::Enterprise, "enterprise", "https://rest-ww.telesign.com"),
            (ApiHost::Legacy, "legacy", "https://rest.telesign.com"),
        ] {
            assert_eq!((host.as_str(), host.base_url()), (spelling, url));
            assert_eq!(ApiHost::parse(spelling), Some(host));
        }
        assert_eq!(ApiHost::parse("rest"), None);
        assert_eq!(ApiHost::parse("Legacy"), None);
    }

    #[test]
    fn failures_are_classified_by_code_before_http_status() {
        assert_eq!(classify(401, Some(10015)), FailureKind::InvalidCredentials);
        assert_eq!(classify(401, Some(10010)), FailureKind::AccountSuspended);
        assert_eq!(classify(401, Some(10035)), FailureKind::WrongHost);
        assert_eq!(classify(401, Some(10011)), FailureKind::ProductNotEnabled);
        assert_eq!(classify(401, Some(10004)), FailureKind::ClockSkew);
        assert_eq!(classify(404, Some(10017)), FailureKind::NotFound);
        assert_eq!(classify(400, Some(11000)), FailureKind::InvalidRequest);
        assert_eq!(classify(429, None), FailureKind::RateLimited);
        assert_eq!(classify(503, Some(10000)), FailureKind::Unavailable);
        assert_eq!(classify(502, None), FailureKind::Unavailable);
    }

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
    fn hard_cap_is_not_retried_but_rate_limit_is() {
        let f = |code| Failure {
            http_status: 429,
            code,
            description: String::new(),
            kind: classify(429, code),
        };
        assert!(f(Some(10019)).retryable());
        assert!(f(None).retryable());
        assert!(!f(Some(10020)).retryable());
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
