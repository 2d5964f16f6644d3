//! Messaging accounts and their support numbers: the operator's setup of the channel.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::phone;
use crate::telesign::ApiHost;

/// The kind of a support number bought from TeleSign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberType {
    /// A regular number (10DLC in the US).
    LongCode,
    /// A 3 to 8 digit short code.
    ShortCode,
    /// A toll-free number.
    TollFree,
}

/// A support number and the settings this channel honours for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportNumber {
    /// Digits only.
    pub number: String,
    /// Long code, short code or toll free.
    #[serde(rename = "type")]
    pub kind: NumberType,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// The default language of conversations on it (BCP 47, e.g. `en-US`).
    #[serde(default = "default_language")]
    pub language: String,
    /// Whether customers may send attachments (SMS carries none: must be false).
    #[serde(default)]
    pub customers_can_send_attachments: bool,
    /// Whether agents may send attachments (SMS carries none: must be false).
    #[serde(default)]
    pub agents_can_send_attachments: bool,
}

fn default_language() -> String {
    "en-US".into()
}

impl SupportNumber {
    /// Normalises and checks a number as an operator typed it.
    pub fn validated(mut self) -> Result<Self, ApiError> {
        self.number = match self.kind {
            NumberType::ShortCode => phone::normalise_short_code(&self.number),
            NumberType::LongCode | NumberType::TollFree => phone::parse_typed(&self.number, None),
        }
        .map_err(|e| ApiError::bad_request("invalid_phone_number", format!("support number {:?}: {e}", self.number)))?;
        if self.customers_can_send_attachments || self.agents_can_send_attachments {
            return Err(ApiError::bad_request(
                "attachments_not_supported",
                format!(
                    "support number {}: attachments cannot be enabled, TeleSign SMS carries text only",
                    self.number
                ),
            ));
        }
        if self.description.chars().count() > 200 {
            return Err(ApiError::bad_request(
                "invalid_number",
                "a number's description is at most 200 characters",
            ));
        }
        let lang_ok = !self.language.is_empty()
            && self.language.len() <= 35
            && self.language.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !lang_ok {
            return Err(ApiError::bad_request(
                "invalid_language",
                format!("{:?} is not a language tag such as en-US", self.language),
            ));
        }
        Ok(self)
    }
}

/// A messaging account as stored (never with its API key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// The channel's id of the account.
    pub account_id: String,
    /// The operator's name for it.
    pub name: String,
    /// TeleSign's customer id.
    pub customer_id: String,
    /// Which TeleSign host serves it.
    pub api_host: ApiHost,
    /// The Secrets Manager secret holding the key.
    pub secret_name: String,
    /// Its support numbers.
    pub numbers: Vec<SupportNumber>,
    /// When it was created.
    pub created_at: String,
}

impl Account {
    /// The support number, if the account owns it.
    pub fn number(&self, digits: &str) -> Option<&SupportNumber> {
        self.numbers.iter().find(|n| n.number == digits)
    }

    /// The URL TeleSign posts this account's callbacks to.
    pub fn callback_url(&self, public_base_url: &str) -> String {
        callback_url(public_base_url, &self.account_id)
    }
}

/// The callback URL of an account under the stack's public base URL.
pub fn callback_url(public_base_url: &str, account_id: &str) -> String {
    format!(
        "{}/telesign/{}/callback",
        public_base_url.trim_end_matches('/'),
        account_id
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(n: &str, kind: NumberType) -> SupportNumber {
        SupportNumber {
            number: n.into(),
            kind,
            description: String::new(),
            language: "en-US".into(),
            customers_can_send_attachments: false,
            agents_can_send_attachments: false,
        }
    }

    #[test]
    fn numbers_are_normalised_by_type() {
        assert_eq!(
            number("+1 425-230-6549", NumberType::LongCode)
                .validated()
                .unwrap()
                .number,
            "14252306549"
        );
        assert_eq!(
            number("22395", NumberType::ShortCode).validated().unwrap().number,
            "22395"
        );
        assert!(number("22395", NumberType::TollFree).validated().is_err());
        assert!(number("1425CALL", NumberType::LongCode).validated().is_err());
    }

    #[test]
    fn attachments_are_refused_until_mms_exists() {
        let mut n = number("14252306549", NumberType::LongCode);
        n.agents_can_send_attachments = true;
        assert_eq!(n.validated().unwrap_err().code(), "attachments_not_supported");
    }
}
