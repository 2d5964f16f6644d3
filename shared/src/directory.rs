//! The accounts as the warm functions see them: records from DynamoDB and keys from Secrets
//! Manager, each cached for a few minutes.

use std::time::Duration;

use crate::account::Account;
use crate::cache::TtlCache;
use crate::error::ApiError;
use crate::secrets::{AccountKeys, AccountSecret, Secrets, SecretsError};
use crate::store::Dynamo;

/// How long a warm function trusts what it read.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// Cached access to accounts and their keys.
#[derive(Debug)]
pub struct Directory {
    /// The table.
    pub dynamo: Dynamo,
    /// The secrets.
    pub secrets: Secrets,
    /// Accounts, and the absence of one (ids are random: an id unknown now is not created later,
    /// so a stream of callbacks to a wrong URL costs one read per sandbox and TTL).
    accounts: TtlCache<String, Option<Account>>,
    keys: TtlCache<String, AccountSecret>,
}

/// Whether a read may come from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// From the cache when it holds it.
    Cached,
    /// From the source, refreshing the cache.
    Fresh,
}

impl Directory {
    /// A directory whose reads live `ttl`.
    pub fn new(dynamo: Dynamo, secrets: Secrets, ttl: Duration) -> Self {
        Self {
            dynamo,
            secrets,
            accounts: TtlCache::new(ttl),
            keys: TtlCache::new(ttl),
        }
    }

    /// An account, or `None` when it does not exist.
    pub async fn account(&self, account_id: &str, freshness: Freshness) -> Result<Option<Account>, ApiError> {
        if freshness == Freshness::Cached {
            if let Some(known) = self.accounts.get(&account_id.to_owned()) {
                return Ok(known);
            }
        }
        let found = self.dynamo.account(account_id).await?;
        self.accounts.put(account_id.to_owned(), found.clone());
        Ok(found)
    }

    /// The secret of an account.
    pub async fn secret(&self, account: &Account, freshness: Freshness) -> Result<AccountSecret, ApiError> {
        if freshness == Freshness::Cached {
            if let Some(s) = self.keys.get(&account.secret_name) {
                return Ok(s);
            }
        }
        match self.secrets.read(&account.secret_name).await {
            Ok(s) => {
                self.keys.put(account.secret_name.clone(), s.clone());
                Ok(s)
            }
            Err(SecretsError::Unavailable(detail)) => {
                tracing::error!(account_id = %account.account_id, detail = %detail, "Secrets Manager unavailable");
                Err(ApiError::unavailable(
                    "secrets_unavailable",
                    "the credential store is unavailable; try again shortly",
                ))
            }
            Err(e) => {
                tracing::error!(account_id = %account.account_id, error = %e, "the account's secret cannot be used");
                Err(ApiError::Internal(format!(
                    "secret of account {}: {e}",
                    account.account_id
                )))
            }
        }
    }

    /// The decoded keys of an account.
    pub async fn keys(&self, account: &Account, freshness: Freshness) -> Result<AccountKeys, ApiError> {
        let secret = self.secret(account, freshness).await?;
        secret.keys(crate::ids::epoch_seconds()).map_err(|e| {
            ApiError::Internal(format!(
                "the stored API key of account {} does not decode: {e}",
                account.account_id
            ))
        })
    }

    /// Forgets what is cached of an account (after it changed).
    pub fn forget(&self, account: &Account) {
        self.accounts.forget(&account.account_id);
        self.keys.forget(&account.secret_name);
    }
}
