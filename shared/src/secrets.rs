//! API keys in Secrets Manager: one secret per messaging account, under a fixed name prefix.

use std::fmt;

use aws_sdk_secretsmanager::Client;
use serde::{Deserialize, Serialize};

use crate::telesign::{ApiKey, Credentials, KeyError};

/// The default prefix of account secrets' names (IAM policies are scoped to it).
pub const DEFAULT_PREFIX: &str = "sms-channel/accounts/";

/// What an account's secret holds: its TeleSign credentials, and during a key rotation the
/// previous key with the time it stops verifying callbacks.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct AccountSecret {
    /// TeleSign's customer id.
    pub customer_id: String,
    /// The current API key.
    pub api_key: String,
    /// The key before the last rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_api_key: Option<String>,
    /// Epoch seconds until which the previous key still verifies callbacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_valid_until: Option<i64>,
}

impl fmt::Debug for AccountSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountSecret")
            .field("customer_id", &self.customer_id)
            .field("api_key", &"<redacted>")
            .field(
                "previous_api_key",
                &self.previous_api_key.as_ref().map(|_| "<redacted>"),
            )
            .field("previous_valid_until", &self.previous_valid_until)
            .finish()
    }
}

/// An account's keys, decoded and ready to sign and verify.
#[derive(Clone, Debug)]
pub struct AccountKeys {
    /// The current credentials.
    pub current: Credentials,
    /// The previous key, while its grace period lasts.
    pub previous: Option<ApiKey>,
}

impl AccountSecret {
    /// Decodes the keys; the previous key is dropped once its grace period is over at `now`.
    pub fn keys(&self, now_epoch: i64) -> Result<AccountKeys, KeyError> {
        let current = Credentials::new(&self.customer_id, &self.api_key)?;
        let previous = match (&self.previous_api_key, self.previous_valid_until) {
            (Some(key), Some(until)) if until > now_epoch => ApiKey::parse(key).ok(),
            _ => None,
        };
        Ok(AccountKeys { current, previous })
    }
}

/// Why a secret could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// No secret of that name.
    #[error("the secret does not exist")]
    NotFound,
    /// A secret of that name exists already.
    #[error("the secret exists already")]
    AlreadyExists,
    /// The secret is not the JSON this module writes.
    #[error("the secret is malformed")]
    Malformed,
    /// Secrets Manager failed or could not be reached.
    #[error("Secrets Manager is unavailable: {0}")]
    Unavailable(String),
}

/// The account secrets in Secrets Manager.
#[derive(Debug, Clone)]
pub struct Secrets {
    client: Client,
    prefix: String,
}

impl Secrets {
    /// Connects with the shared AWS configuration (endpoint from
    /// `AWS_ENDPOINT_URL_SECRETS_MANAGER` when set); names start with `prefix`; every request
    /// is counted into `meter`.
    pub fn new(config: &aws_config::SdkConfig, prefix: String, meter: &crate::meter::Meter) -> Self {
        let conf = aws_sdk_secretsmanager::config::Builder::from(config)
            .interceptor(meter.interceptor("secretsmanager"))
            .build();
        Self {
            client: Client::from_conf(conf),
            prefix,
        }
    }

    /// The secret name of an account.
    pub fn name_for(&self, account_id: &str) -> String {
        format!("{}{}", self.prefix, account_id)
    }

    /// Reads an account's secret by name.
    pub async fn read(&self, name: &str) -> Result<AccountSecret, SecretsError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception())
                {
                    SecretsError::NotFound
                } else {
                    SecretsError::Unavailable(e.to_string())
                }
            })?;
        let text = out.secret_string().ok_or(SecretsError::Malformed)?;
        serde_json::from_str(text).map_err(|_| SecretsError::Malformed)
    }

    /// Creates an account's secret; fails if the name is taken.
    pub async fn create(&self, name: &str, secret: &AccountSecret) -> Result<(), SecretsError> {
        let text = serde_json::to_string(secret).map_err(|_| SecretsError::Malformed)?;
        self.client
            .create_secret()
            .name(name)
            .description("TeleSign credentials of an SMS channel messaging account")
            .secret_string(text)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error().is_some_and(|s| s.is_resource_exists_exception()) {
                    SecretsError::AlreadyExists
                } else {
                    SecretsError::Unavailable(e.to_string())
                }
            })?;
        Ok(())
    }

    /// Replaces an account's secret with a new version.
    pub async fn replace(&self, name: &str, secret: &AccountSecret) -> Result<(), SecretsError> {
        let text = serde_json::to_string(secret).map_err(|_| SecretsError::Malformed)?;
        self.client
            .put_secret_value()
            .secret_id(name)
            .secret_string(text)
            .send()
            .await
            .map_err(|e| SecretsError::Unavailable(e.to_string()))?;
        Ok(())
    }

    /// Deletes a secret at once (undoing a creation that could not be completed).
    pub async fn delete_now(&self, name: &str) -> Result<(), SecretsError> {
        self.client
            .delete_secret()
            .secret_id(name)
            .force_delete_without_recovery(true)
            .send()
            .await
            .map_err(|e| SecretsError::Unavailable(e.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn previous_key_verifies_only_inside_its_grace_period() {
        let secret = AccountSecret {
            customer_id: "C".into(),
            api_key: KEY.into(),
            previous_api_key: Some("EXAMPLEAAAA=".into()),
            previous_valid_until: Some(1_000),
        };
        assert!(secret.keys(999).unwrap().previous.is_some());
        assert!(secret.keys(1_000).unwrap().previous.is_none());
    }

    #[test]
    fn debug_of_a_secret_shows_no_key() {
        let secret = AccountSecret {
            customer_id: "C".into(),
            api_key: KEY.into(),
            previous_api_key: Some("EXAMPLEAAAA=".into()),
            previous_valid_until: None,
        };
        let shown = format!("{secret:?}");
        assert!(!shown.contains("AAECA") && !shown.contains("EXAMPLE"), "{shown}");
    }
}
