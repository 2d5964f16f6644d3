//! API keys in Secrets Manager: one secret per messaging account, under a fixed name prefix.

use aws_sdk_secretsmanager::Client;

use channel_domain::account::AccountSecret;
use channel_domain::ids::AccountId;
use channel_services::ports::{KeyStore, KeyStoreError};

/// The default prefix of account secrets' names (IAM policies are scoped to it).
pub const DEFAULT_PREFIX: &str = "sms-channel/accounts/";

/// The default name of the secret holding the key of opt-out tags (`OPT_OUT_KEY_SECRET`; the
/// template names it `<stack>/opt-out-key` and generates it).
pub const DEFAULT_OPT_OUT_KEY_SECRET: &str = "sms-channel/opt-out-key";

/// The account secrets in Secrets Manager.
#[derive(Debug, Clone)]
pub struct Secrets {
    client: Client,
    prefix: String,
    opt_out_key: String,
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
            opt_out_key: DEFAULT_OPT_OUT_KEY_SECRET.into(),
        }
    }

    /// The same secrets, the key of opt-out tags read from the secret `name`.
    pub fn with_opt_out_key(self, name: String) -> Self {
        Self {
            opt_out_key: name,
            ..self
        }
    }

    /// Creates the secret of opt-out tags with `text` unless it exists (the local stack; the
    /// template generates it deployed). Whether it created it.
    pub async fn ensure_opt_out_key(&self, text: &str) -> Result<bool, KeyStoreError> {
        let created = self
            .client
            .create_secret()
            .name(&self.opt_out_key)
            .description("Key of the SMS channel's opt-out tags (HMAC-SHA256 of erased customers' numbers)")
            .secret_string(text)
            .send()
            .await;
        match created {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_exists_exception()) => Ok(false),
            Err(e) => Err(KeyStoreError::Unavailable(e.to_string())),
        }
    }
}

impl KeyStore for Secrets {
    fn name_for(&self, account_id: &AccountId) -> String {
        format!("{}{}", self.prefix, account_id)
    }

    async fn read(&self, name: &str) -> Result<AccountSecret, KeyStoreError> {
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
                    KeyStoreError::NotFound
                } else {
                    KeyStoreError::Unavailable(e.to_string())
                }
            })?;
        let text = out.secret_string().ok_or(KeyStoreError::Malformed)?;
        serde_json::from_str(text).map_err(|_| KeyStoreError::Malformed)
    }

    async fn create(&self, name: &str, secret: &AccountSecret) -> Result<(), KeyStoreError> {
        let text = serde_json::to_string(secret).map_err(|_| KeyStoreError::Malformed)?;
        self.client
            .create_secret()
            .name(name)
            .description("TeleSign credentials of an SMS channel messaging account")
            .secret_string(text)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error().is_some_and(|s| s.is_resource_exists_exception()) {
                    KeyStoreError::AlreadyExists
                } else {
                    KeyStoreError::Unavailable(e.to_string())
                }
            })?;
        Ok(())
    }

    async fn replace(&self, name: &str, secret: &AccountSecret) -> Result<(), KeyStoreError> {
        let text = serde_json::to_string(secret).map_err(|_| KeyStoreError::Malformed)?;
        self.client
            .put_secret_value()
            .secret_id(name)
            .secret_string(text)
            .send()
            .await
            .map_err(|e| KeyStoreError::Unavailable(e.to_string()))?;
        Ok(())
    }

    async fn opt_out_key(&self) -> Result<channel_domain::privacy::OptOutKey, KeyStoreError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.opt_out_key)
            .send()
            .await
            .map_err(|e| KeyStoreError::Unavailable(e.to_string()))?;
        let text = out.secret_string().ok_or(KeyStoreError::Malformed)?;
        channel_domain::privacy::OptOutKey::new(text).map_err(|_| KeyStoreError::Malformed)
    }

    /// With Secrets Manager's shortest recovery window, 7 days (a secret can be restored until then).
    /// A secret scheduled already (Secrets Manager refuses a second deletion as an invalid
    /// request) or gone counts as scheduled, so a repeated deletion finishes.
    async fn schedule_deletion(&self, name: &str) -> Result<(), KeyStoreError> {
        let deleted = self
            .client
            .delete_secret()
            .secret_id(name)
            .recovery_window_in_days(7)
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_invalid_request_exception() || s.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(KeyStoreError::Unavailable(e.to_string())),
        }
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
            next_api_key: None,
            key_version: None,
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
            next_api_key: None,
            key_version: None,
        };
        let shown = format!("{secret:?}");
        assert!(!shown.contains("AAECA") && !shown.contains("EXAMPLE"), "{shown}");
        assert!(
            shown.contains("customer_id: \"C\"") && shown.contains("<redacted>"),
            "{shown}"
        );
    }
}
