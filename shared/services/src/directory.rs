//! The accounts as the warm functions see them: records and keys, each cached for a few minutes,
//! over any account store and key store.

use std::future::Future;
use std::time::Duration;

use crate::cache::TtlCache;
use crate::ports::{AccountStore, KeyStore, KeyStoreError, StoreError};
use channel_domain::account::{Account, AccountKeys, AccountSecret};
use channel_domain::ids::AccountId;
use channel_domain::privacy::OptOutKey;

/// How long a warm function trusts what it read.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// Whether a read may come from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// From the cache when it holds it.
    Cached,
    /// From the source, refreshing the cache.
    Fresh,
}

/// Why an account or its keys could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// The account store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The key store failed or could not be reached.
    #[error("the key store is unavailable: {0}")]
    KeysUnavailable(String),
    /// The stored secret cannot be used (missing, malformed, a key that does not decode).
    #[error("the secret of account {account_id} cannot be used: {reason}")]
    KeysUnusable {
        /// The account.
        account_id: AccountId,
        /// Why.
        reason: String,
    },
}

/// Accounts and their keys, as the services ask for them.
pub trait AccountDirectory: Send + Sync {
    /// An account, or `None` when it does not exist.
    fn account(
        &self,
        id: &AccountId,
        freshness: Freshness,
    ) -> impl Future<Output = Result<Option<Account>, DirectoryError>> + Send;
    /// The secret of an account.
    fn secret(
        &self,
        account: &Account,
        freshness: Freshness,
    ) -> impl Future<Output = Result<AccountSecret, DirectoryError>> + Send;
    /// The decoded keys of an account.
    fn keys(
        &self,
        account: &Account,
        freshness: Freshness,
    ) -> impl Future<Output = Result<AccountKeys, DirectoryError>> + Send {
        async move {
            let secret = self.secret(account, freshness).await?;
            secret
                .keys(channel_domain::ids::epoch_seconds())
                .map_err(|e| DirectoryError::KeysUnusable {
                    account_id: account.account_id.clone(),
                    reason: e.to_string(),
                })
        }
    }
    /// The secret of an account whose record cannot be read now, by the name its id gives it.
    fn secret_of(&self, id: &AccountId) -> impl Future<Output = Result<AccountSecret, DirectoryError>> + Send;
    /// The decoded keys of an account whose record cannot be read now.
    fn keys_of(&self, id: &AccountId) -> impl Future<Output = Result<AccountKeys, DirectoryError>> + Send {
        async move {
            let secret = self.secret_of(id).await?;
            secret
                .keys(channel_domain::ids::epoch_seconds())
                .map_err(|e| DirectoryError::KeysUnusable {
                    account_id: id.clone(),
                    reason: e.to_string(),
                })
        }
    }
    /// The deployment's key of opt-out tags, read once per sandbox.
    fn opt_out_key(&self) -> impl Future<Output = Result<OptOutKey, DirectoryError>> + Send;
    /// Forgets what is cached of an account (after it changed).
    fn forget(&self, account: &Account);
    /// Whether a signature that failed with cached keys may read them again now: once per
    /// account every [`REREAD_INTERVAL`], so forged callbacks naming a real account cost no more
    /// than that (a rotation is known at once through the record's stamp and the `next` key).
    fn reread_allowed(&self, id: &AccountId) -> bool;
}

/// How often a signature mismatch may read an account's keys again.
pub const REREAD_INTERVAL: Duration = Duration::from_secs(10);

/// The cached directory over an account store and a key store.
#[derive(Debug)]
pub struct CachedDirectory<S, K> {
    /// The account store.
    pub store: S,
    /// The key store.
    pub keys: K,
    /// Accounts, and the absence of one (ids are random: an id unknown now is not created later,
    /// so a stream of callbacks to a wrong URL costs one read per sandbox and TTL).
    accounts: TtlCache<AccountId, Option<Account>>,
    secrets: TtlCache<String, AccountSecret>,
    rereads: TtlCache<AccountId, ()>,
    opt_out: std::sync::OnceLock<OptOutKey>,
}

impl<S, K> CachedDirectory<S, K> {
    /// A directory whose reads live `ttl`.
    pub fn new(store: S, keys: K, ttl: Duration) -> Self {
        Self {
            store,
            keys,
            accounts: TtlCache::new(ttl),
            secrets: TtlCache::new(ttl),
            rereads: TtlCache::new(REREAD_INTERVAL),
            opt_out: std::sync::OnceLock::new(),
        }
    }
}

impl<S: AccountStore, K: KeyStore> CachedDirectory<S, K> {
    async fn named_secret(
        &self,
        id: &AccountId,
        name: &str,
        freshness: Freshness,
    ) -> Result<AccountSecret, DirectoryError> {
        if freshness == Freshness::Cached {
            if let Some(s) = self.secrets.get(&name.to_owned()) {
                return Ok(s);
            }
        }
        match self.keys.read(name).await {
            Ok(s) => {
                self.secrets.put(name.to_owned(), s.clone());
                Ok(s)
            }
            Err(KeyStoreError::Unavailable(detail)) => Err(DirectoryError::KeysUnavailable(detail)),
            Err(e) => Err(DirectoryError::KeysUnusable {
                account_id: id.clone(),
                reason: e.to_string(),
            }),
        }
    }
}

impl<S: AccountStore, K: KeyStore> AccountDirectory for CachedDirectory<S, K> {
    async fn account(&self, id: &AccountId, freshness: Freshness) -> Result<Option<Account>, DirectoryError> {
        if freshness == Freshness::Cached {
            if let Some(known) = self.accounts.get(id) {
                return Ok(known);
            }
        }
        let found = self.store.account(id).await?;
        self.accounts.put(id.clone(), found.clone());
        Ok(found)
    }

    async fn secret(&self, account: &Account, freshness: Freshness) -> Result<AccountSecret, DirectoryError> {
        self.named_secret(&account.account_id, &account.secret_name, freshness)
            .await
    }

    async fn secret_of(&self, id: &AccountId) -> Result<AccountSecret, DirectoryError> {
        self.named_secret(id, &self.keys.name_for(id), Freshness::Cached).await
    }

    async fn opt_out_key(&self) -> Result<OptOutKey, DirectoryError> {
        if let Some(key) = self.opt_out.get() {
            return Ok(key.clone());
        }
        let key = self.keys.opt_out_key().await.map_err(|e| match e {
            KeyStoreError::Unavailable(detail) => DirectoryError::KeysUnavailable(detail),
            other => DirectoryError::KeysUnavailable(format!("the opt-out key: {other}")),
        })?;
        Ok(self.opt_out.get_or_init(|| key).clone())
    }

    fn reread_allowed(&self, id: &AccountId) -> bool {
        if self.rereads.get(id).is_some() {
            return false;
        }
        self.rereads.put(id.clone(), ());
        true
    }

    fn forget(&self, account: &Account) {
        self.accounts.forget(&account.account_id);
        self.secrets.forget(&account.secret_name);
    }
}
