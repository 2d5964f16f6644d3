//! Whether a customer id and API key work: TeleSign has no endpoint for it, so the channel
//! looks up a message that cannot exist and reads how TeleSign refuses.

use serde::Serialize;

use super::wire::{ApiHost, FailureKind, MessageAnswer, TelesignError};

/// The reference id probed: 32 zeros, never a real message.
pub const PROBE_REFERENCE: &str = "00000000000000000000000000000000";

/// What the probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Verdict {
    /// TeleSign authenticated the request.
    Valid,
    /// The customer id or key is wrong.
    InvalidCredentials,
    /// The account is suspended.
    AccountSuspended,
    /// The credentials belong to the other host (standard / enterprise).
    WrongHost,
    /// SMS is not enabled for the account.
    ProductNotEnabled,
    /// Our clock or nonce is off: not the credentials.
    ClockSkew,
}

impl Verdict {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// A sentence an operator can act on.
    pub fn message(self, host: ApiHost) -> String {
        match self {
            Self::Valid => "TeleSign accepted the customer id and API key.".into(),
            Self::InvalidCredentials => {
                "TeleSign refused the customer id or API key: check both in the TeleSign portal.".into()
            }
            Self::AccountSuspended => "TeleSign reports this account as suspended: contact TeleSign support.".into(),
            Self::WrongHost => format!(
                "The credentials are valid for another TeleSign host: try api_host {}.",
                match host {
                    ApiHost::Standard => "\"enterprise\" (or \"legacy\")",
                    ApiHost::Enterprise => "\"standard\" (or \"legacy\")",
                    ApiHost::Legacy => "\"enterprise\" (or \"standard\")",
                }
            ),
            Self::ProductNotEnabled => {
                "SMS is not enabled for this TeleSign account: ask TeleSign to enable it.".into()
            }
            Self::ClockSkew => "TeleSign refused the request's date or nonce: check this system's clock.".into(),
        }
    }
}

/// The probe's finding with TeleSign's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// What it means.
    pub verdict: Verdict,
    /// TeleSign's status code, when it gave one.
    pub telesign_code: Option<u32>,
}

/// What TeleSign's answer to the probe (a lookup of [`PROBE_REFERENCE`]) says of the credentials.
/// `Err` means undetermined (unreachable, rate limited, failing): never "invalid".
pub fn verdict_of(answer: Result<MessageAnswer, TelesignError>) -> Result<Validation, TelesignError> {
    match answer {
        Ok(answer) => Ok(Validation {
            verdict: Verdict::Valid,
            telesign_code: Some(answer.status.code),
        }),
        Err(TelesignError::Failure(f)) => {
            let verdict = match f.kind {
                // Authentication passed; only the (impossible) reference was refused.
                FailureKind::NotFound | FailureKind::InvalidRequest => Verdict::Valid,
                FailureKind::InvalidCredentials => Verdict::InvalidCredentials,
                FailureKind::AccountSuspended => Verdict::AccountSuspended,
                FailureKind::WrongHost => Verdict::WrongHost,
                FailureKind::ProductNotEnabled => Verdict::ProductNotEnabled,
                FailureKind::ClockSkew => Verdict::ClockSkew,
                FailureKind::RateLimited | FailureKind::Unavailable => return Err(TelesignError::Failure(f)),
            };
            Ok(Validation {
                verdict,
                telesign_code: f.code,
            })
        }
        Err(other) => Err(other),
    }
}

impl Validation {
    /// The contract's answer of `POST /accounts/validate`.
    pub fn body(&self, host: ApiHost) -> serde_json::Value {
        serde_json::json!({
            "valid": self.verdict == Verdict::Valid,
            "result": self.verdict.as_str(),
            "telesign_code": self.telesign_code.filter(|_| self.verdict != Verdict::Valid),
            "message": self.verdict.message(host),
        })
    }
}
