//! TeleSign's messaging API as the channel speaks it: which host serves an account, what a
//! request to send carries, what TeleSign answers, and what a failure means (by its
//! `status.code` first). The HTTP client that speaks it is an adapter (`channel_adapters::gateway`).

use serde::Deserialize;

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
    pub fn refused_by_telesign(&self) -> bool {
        self.code.is_some() || self.http_status == 429
    }

    /// Whether the same request may be sent again: a rate limit (not a daily cap) or an
    /// unavailability TeleSign itself answered.
    pub fn retryable(&self) -> bool {
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
}
