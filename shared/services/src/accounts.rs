//! The operators' setup: accounts created with validated credentials, keys rotated with a grace
//! period, support numbers added and removed. Keys go to the key store and nowhere else.

use std::time::{Duration, Instant};

use crate::directory::{AccountDirectory, CachedDirectory, DirectoryError, Freshness};
use crate::ports::{AccountChange, AccountStore, Claim, KeyStore, KeyStoreError, SmsGateway, StoreError};
use channel_domain::account::{Account, AccountError, AccountSecret, NewSupportNumber, NumberChange, SupportNumber};
use channel_domain::audit::{Actor, AuditAction, AuditEntry};
use channel_domain::ids::{AccountId, Timestamp};
use channel_domain::phone::PhoneNumber;
use channel_domain::telesign::validate::{Validation, Verdict};
use channel_domain::telesign::{ApiHost, ApiKey, Credentials};

/// The longest grace period a rotation may ask for.
pub const MAX_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);

/// How often an account's record is written when the outcome stays unknown.
const CREATE_ATTEMPTS: u32 = 3;

/// The waits between those writes.
const CREATE_BACKOFF: crate::backoff::Backoff =
    crate::backoff::Backoff::new(Duration::from_millis(200), Duration::from_secs(1));

/// Why an account change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountsError {
    /// No such account.
    #[error("no messaging account has this id")]
    NotFound,
    /// The account does not own the number.
    #[error("this account has no such support number")]
    NumberNotFound,
    /// The request breaks a rule of accounts.
    #[error(transparent)]
    Invalid(#[from] AccountError),
    /// TeleSign refused the credentials.
    #[error("{}", .validation.verdict.message(*.host))]
    InvalidCredentials {
        /// TeleSign's finding.
        validation: Validation,
        /// The host asked.
        host: ApiHost,
    },
    /// The number belongs to an account already.
    #[error("{0} already belongs to a messaging account")]
    NumberInUse(PhoneNumber),
    /// The TeleSign customer id belongs to an account already.
    #[error("TeleSign customer id {0} already belongs to a messaging account: TeleSign posts every callback of a customer id to one URL, so one account per customer id; add this team's numbers and members to that account")]
    CustomerIdInUse(String),
    /// TeleSign could not be asked: nothing is decided.
    #[error("TeleSign could not be reached to check the credentials; nothing is decided, try again shortly")]
    TelesignUnavailable,
    /// The key store failed a write: nothing was changed.
    #[error("the credential store is unavailable; nothing was changed, try again shortly")]
    KeysUnavailable,
    /// The account or its keys could not be read.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new account as an operator asked for it, checked.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Its name.
    pub name: String,
    /// TeleSign's credentials.
    pub credentials: Credentials,
    /// TeleSign's host.
    pub host: ApiHost,
    /// Its support numbers, validated.
    pub numbers: Vec<SupportNumber>,
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The account.
    pub account_id: AccountId,
    /// When.
    pub rotated_at: Timestamp,
    /// Until when the previous key verifies callbacks.
    pub previous_key_valid_until: Timestamp,
}

/// The accounts service.
#[derive(Debug)]
pub struct Accounts<S, K, G> {
    /// Accounts and keys, cached.
    pub directory: CachedDirectory<S, K>,
    /// TeleSign.
    pub gateway: G,
    /// The default grace period of a rotation.
    pub grace: Duration,
}

impl<S: AccountStore, K: KeyStore, G: SmsGateway> Accounts<S, K, G> {
    /// Asks TeleSign whether credentials work. Unreachable, rate limited or failing is
    /// undetermined, never "invalid".
    pub async fn validate(
        &self,
        creds: &Credentials,
        host: ApiHost,
        deadline: Instant,
    ) -> Result<Validation, AccountsError> {
        self.gateway.probe(creds, host, deadline).await.map_err(|e| {
            tracing::warn!(error = %e, "TeleSign could not be asked about the credentials");
            AccountsError::TelesignUnavailable
        })
    }

    /// The stored credentials of an account, asked again.
    pub async fn validate_stored(
        &self,
        id: &AccountId,
        deadline: Instant,
    ) -> Result<(Account, Validation), AccountsError> {
        let account = self.read(id).await?;
        let keys = self.directory.keys(&account, Freshness::Fresh).await?;
        let found = self.validate(&keys.current, account.api_host, deadline).await?;
        Ok((account, found))
    }

    async fn require_valid(&self, creds: &Credentials, host: ApiHost, deadline: Instant) -> Result<(), AccountsError> {
        let validation = self.validate(creds, host, deadline).await?;
        if validation.verdict == Verdict::Valid {
            return Ok(());
        }
        Err(AccountsError::InvalidCredentials { validation, host })
    }

    /// Creates an account: credentials validated, the key stored, then the record with its
    /// number claims (all or nothing). A write that fails may have committed (a timeout): it is
    /// tried again, and the account found then counts as created. Only a creation known not to
    /// have happened (a number in use) takes its secret with it, and then with a recovery window;
    /// when the outcome stays unknown the secret is kept, so an account that does exist works.
    pub async fn create(&self, actor: &Actor, new: NewAccount, deadline: Instant) -> Result<Account, AccountsError> {
        self.require_valid(&new.credentials, new.host, deadline).await?;
        let account_id = AccountId::new();
        let account = Account {
            secret_name: self.directory.keys.name_for(&account_id),
            account_id,
            name: new.name,
            customer_id: new.credentials.customer_id.clone(),
            api_host: new.host,
            numbers: new.numbers,
            created_at: Timestamp::now(),
            retention_days: None,
        };
        let secret = AccountSecret {
            customer_id: new.credentials.customer_id.clone(),
            api_key: new.credentials.api_key.expose_literal().to_owned(),
            previous_api_key: None,
            previous_valid_until: None,
            next_api_key: None,
            key_version: None,
        };
        self.directory
            .keys
            .create(&account.secret_name, &secret)
            .await
            .map_err(keys_error)?;
        let audit = AuditEntry::new(
            actor,
            AuditAction::AccountCreated,
            &account.account_id,
            account.account_id.as_str(),
        )
        .with("numbers", account.numbers.len());
        let stored = self.store_account(&account, &audit).await;
        if matches!(
            stored,
            Ok(Claim::NumberInUse(_) | Claim::CustomerIdInUse(_) | Claim::NoAccount)
        ) {
            // Known not created: the secret goes too (restorable for its recovery window).
            if let Err(e) = self.directory.keys.schedule_deletion(&account.secret_name).await {
                tracing::error!(account_id = %account.account_id, error = %e, "the secret of a failed creation could not be deleted");
            }
        }
        match stored? {
            Claim::Done => {
                tracing::info!(account_id = %account.account_id, numbers = account.numbers.len(), "account created");
                Ok(account)
            }
            Claim::NumberInUse(n) => Err(AccountsError::NumberInUse(n)),
            Claim::CustomerIdInUse(c) => Err(AccountsError::CustomerIdInUse(c)),
            Claim::NoAccount => Err(AccountsError::NotFound),
        }
    }

    /// Renames an account or changes its retention (each `None` keeps what it was).
    pub async fn change(
        &self,
        actor: &Actor,
        account: &Account,
        name: Option<String>,
        retention_days: Option<Option<u32>>,
    ) -> Result<Account, AccountsError> {
        let change = AccountChange {
            account_id: account.account_id.clone(),
            name: name.unwrap_or_else(|| account.name.clone()),
            retention_days: retention_days.unwrap_or(account.retention_days),
        };
        let audit = AuditEntry::new(
            actor,
            AuditAction::AccountChanged,
            &account.account_id,
            account.account_id.as_str(),
        )
        .with("retention_days", change.retention_days);
        if !self.directory.store.change_account(&change, &audit).await? {
            return Err(AccountsError::NotFound);
        }
        self.directory.forget(account);
        tracing::info!(account_id = %account.account_id, retention_days = ?change.retention_days, "account changed");
        Ok(Account {
            name: change.name,
            retention_days: change.retention_days,
            ..account.clone()
        })
    }

    /// Deletes an account: its key is scheduled for deletion first (restorable for Secrets
    /// Manager's recovery window), then its members, its record and its claims go with the entry.
    /// Its numbers and customer id are free for another account at once, and callbacks to it are
    /// refused as unknown. Its retired record stays while its customers' data does: their export
    /// and erasure go on through it, and its conversations expire by its retention (the
    /// account's, else [`channel_domain::account::DELETED_ACCOUNT_RETENTION_DAYS`]) unless `keep`.
    /// An interrupted deletion is finished by asking again (a key scheduled already counts as
    /// scheduled).
    pub async fn delete(&self, actor: &Actor, account: &Account, keep: bool) -> Result<(), AccountsError> {
        self.directory
            .keys
            .schedule_deletion(&account.secret_name)
            .await
            .map_err(keys_error)?;
        let audit = AuditEntry::new(
            actor,
            AuditAction::AccountDeleted,
            &account.account_id,
            account.account_id.as_str(),
        )
        .with("numbers", account.numbers.len());
        let retired = crate::ports::Retired::of(account, keep);
        let audit = audit.with("retention_days", retired.retention_days);
        if !self.directory.store.delete_account(account, &retired, &audit).await? {
            return Err(AccountsError::NotFound);
        }
        self.directory.forget(account);
        tracing::info!(account_id = %account.account_id, "account deleted");
        Ok(())
    }

    /// The account record with its claims, tried again while the outcome is unknown.
    async fn store_account(&self, account: &Account, audit: &AuditEntry) -> Result<Claim, StoreError> {
        let mut attempt = 1;
        loop {
            match self.directory.store.create_account(account, audit).await {
                Err(e) if attempt < CREATE_ATTEMPTS => {
                    tracing::warn!(account_id = %account.account_id, error = %e, attempt, "creating the account failed, maybe after committing; trying again");
                    CREATE_BACKOFF.sleep(attempt).await;
                    attempt += 1;
                }
                Err(e) => {
                    tracing::error!(account_id = %account.account_id, error = %e, "the account may or may not exist; its secret is kept");
                    return Err(e);
                }
                done => return done,
            }
        }
    }

    /// One account, read fresh.
    pub async fn read(&self, id: &AccountId) -> Result<Account, AccountsError> {
        let found = self.directory.account(id, Freshness::Fresh).await?;
        found.ok_or(AccountsError::NotFound)
    }

    /// Rotates the key of an account (read with [`Accounts::read`]): validated first; the previous key keeps verifying callbacks for `grace`
    /// (the configured default when `None`, at most [`MAX_GRACE`]).
    pub async fn rotate(
        &self,
        actor: &Actor,
        account: &Account,
        key: ApiKey,
        grace_seconds: Option<u64>,
        deadline: Instant,
    ) -> Result<Rotation, AccountsError> {
        let grace = match grace_seconds.map(Duration::from_secs) {
            None => self.grace,
            Some(g) if g <= MAX_GRACE => g,
            Some(_) => return Err(AccountError::InvalidGracePeriod.into()),
        };
        let creds = Credentials {
            customer_id: account.customer_id.clone(),
            api_key: key,
        };
        self.require_valid(&creds, account.api_host, deadline).await?;
        let now = Timestamp::now();
        let until = self.replace_key(account, &creds, now, grace).await?;
        let audit = AuditEntry::new(
            actor,
            AuditAction::KeyRotated,
            &account.account_id,
            account.account_id.as_str(),
        )
        .with("grace_seconds", grace.as_secs());
        if !self
            .directory
            .store
            .record_rotation(&account.account_id, &audit)
            .await?
        {
            return Err(AccountsError::NotFound);
        }
        tracing::info!(account_id = %account.account_id, grace_seconds = grace.as_secs(), "API key rotated");
        Ok(Rotation {
            account_id: account.account_id.clone(),
            rotated_at: now,
            previous_key_valid_until: until,
        })
    }

    /// Stages the key TeleSign will sign with next: it verifies callbacks at once, in every warm
    /// function, before a rotation makes it current (it is validated then).
    pub async fn stage_next(&self, actor: &Actor, account: &Account, key: ApiKey) -> Result<Timestamp, AccountsError> {
        let mut secret = self.directory.secret(account, Freshness::Fresh).await?;
        let now = Timestamp::now();
        secret.next_api_key = Some(key.expose_literal().to_owned());
        secret.key_version = Some(now.epoch_millis());
        self.replace_keys(account, &secret).await?;
        let audit = AuditEntry::new(
            actor,
            AuditAction::KeyStaged,
            &account.account_id,
            account.account_id.as_str(),
        );
        if !self
            .directory
            .store
            .record_rotation(&account.account_id, &audit)
            .await?
        {
            return Err(AccountsError::NotFound);
        }
        tracing::info!(account_id = %account.account_id, "next API key staged");
        Ok(now)
    }

    /// Writes new keys, then their stamp on the account record: a warm function that reads the
    /// record sees the stamp change and reads the keys again (a revocation takes effect at once).
    async fn replace_keys(&self, account: &Account, secret: &AccountSecret) -> Result<(), AccountsError> {
        self.directory
            .keys
            .replace(&account.secret_name, secret)
            .await
            .map_err(keys_error)?;
        self.directory.forget(account);
        if let Some(version) = secret.key_version {
            if let Err(e) = self.directory.store.stamp_keys(&account.account_id, version).await {
                // The keys are written; warm functions see them when their cache expires.
                tracing::error!(account_id = %account.account_id, error = %e, "the keys' stamp could not be written");
            }
        }
        Ok(())
    }

    /// Makes `creds` the account's current key, the current one its previous until `now + grace`
    /// (a staged next key goes); the time it stays valid. A retry of a rotation whose record
    /// failed finds the key current already: it keeps the previous key and its time (making the
    /// new key the "previous" one would end the old key's grace at once).
    async fn replace_key(
        &self,
        account: &Account,
        creds: &Credentials,
        now: Timestamp,
        grace: Duration,
    ) -> Result<Timestamp, AccountsError> {
        let current = self.directory.secret(account, Freshness::Fresh).await?;
        // Whole seconds, as the secret keeps it.
        let until = Timestamp::from_epoch_seconds(now.epoch_seconds() + grace.as_secs() as i64).unwrap_or(now);
        if current.api_key == creds.api_key.expose_literal() {
            let kept = current.previous_valid_until.and_then(Timestamp::from_epoch_seconds);
            return Ok(kept.unwrap_or(until));
        }
        let rotated = AccountSecret {
            customer_id: current.customer_id.clone(),
            api_key: creds.api_key.expose_literal().to_owned(),
            previous_api_key: Some(current.api_key.clone()),
            previous_valid_until: Some(until.epoch_seconds()),
            next_api_key: None,
            key_version: Some(now.epoch_millis()),
        };
        self.replace_keys(account, &rotated).await?;
        Ok(until)
    }

    /// Adds a support number to an account read with [`Accounts::read`].
    pub async fn add_number(
        &self,
        actor: &Actor,
        account: &Account,
        number: NewSupportNumber,
    ) -> Result<SupportNumber, AccountsError> {
        let number = number.validated()?;
        // The record keeps every number's settings, within DynamoDB's 400 KB only up to
        // MAX_NUMBERS of them (`account` as read now: two adds at the same moment may make 51).
        if account.numbers.len() >= channel_domain::account::MAX_NUMBERS {
            return Err(channel_domain::account::AccountError::TooManyNumbers.into());
        }
        let audit = AuditEntry::new(
            actor,
            AuditAction::NumberAdded,
            &account.account_id,
            number.number.as_str(),
        )
        .with("type", serde_json::to_value(number.kind).unwrap_or_default());
        match self
            .directory
            .store
            .add_number(&account.account_id, &number, &audit)
            .await?
        {
            Claim::Done => {
                self.directory.forget(account);
                tracing::info!(account_id = %account.account_id, number = %number.number, "support number added");
                Ok(number)
            }
            Claim::NumberInUse(n) => Err(AccountsError::NumberInUse(n)),
            Claim::CustomerIdInUse(c) => Err(AccountsError::CustomerIdInUse(c)),
            Claim::NoAccount => Err(AccountsError::NotFound),
        }
    }

    /// Changes a support number's description, language and automation settings in place (its
    /// claim untouched, so routing never stops). Settings changed by another request meanwhile
    /// are read again and the change applied to them. Answers the account as changed.
    pub async fn change_number(
        &self,
        actor: &Actor,
        account_id: &AccountId,
        number: &PhoneNumber,
        change: &NumberChange,
    ) -> Result<Account, AccountsError> {
        for _ in 0..CHANGE_ATTEMPTS {
            let mut account = self.read(account_id).await?;
            let before = account.number(number).ok_or(AccountsError::NumberNotFound)?;
            let after = before.patched(change)?;
            let audit = AuditEntry::new(actor, AuditAction::NumberChanged, account_id, number.as_str())
                .with("changed", changed_fields(change));
            if self
                .directory
                .store
                .change_number(account_id, before, &after, &audit)
                .await?
            {
                self.directory.forget(&account);
                tracing::info!(account_id = %account_id, number = %number, "support number changed");
                account.numbers.retain(|n| &n.number != number);
                account.numbers.push(after);
                return Ok(account);
            }
        }
        Err(StoreError::Unavailable("the number's settings kept changing".into()).into())
    }

    /// Removes a support number: its inbound stops at once.
    pub async fn remove_number(
        &self,
        actor: &Actor,
        account: &Account,
        number: &PhoneNumber,
    ) -> Result<(), AccountsError> {
        let audit = AuditEntry::new(actor, AuditAction::NumberRemoved, &account.account_id, number.as_str());
        if !self
            .directory
            .store
            .remove_number(&account.account_id, number, &audit)
            .await?
        {
            return Err(AccountsError::NumberNotFound);
        }
        self.directory.forget(account);
        tracing::info!(account_id = %account.account_id, number = %number, "support number removed");
        Ok(())
    }
}

/// How often a number change is read and tried again when its settings changed meanwhile.
const CHANGE_ATTEMPTS: u32 = 3;

/// The names of the settings a change touches (for the audit entry: never a text).
fn changed_fields(c: &NumberChange) -> Vec<String> {
    let mut out: Vec<String> = [
        ("description", c.description.is_some()),
        ("language", c.language.is_some()),
        ("timezone", c.timezone.is_some()),
        ("business_hours", c.business_hours.is_some()),
    ]
    .into_iter()
    .filter(|(_, set)| *set)
    .map(|(name, _)| name.to_owned())
    .collect();
    if let Some(a) = &c.auto_close {
        let timeouts = [
            ("open_after_seconds", a.open_after_seconds.is_some()),
            ("active_after_seconds", a.active_after_seconds.is_some()),
            ("waiting_after_seconds", a.waiting_after_seconds.is_some()),
        ];
        out.extend(
            timeouts
                .iter()
                .filter(|(_, s)| *s)
                .map(|(n, _)| format!("auto_close.{n}")),
        );
    }
    if let Some(m) = &c.messages {
        out.extend(m.keys().map(|k| format!("messages.{}", k.as_str())));
    }
    out
}

fn keys_error(e: KeyStoreError) -> AccountsError {
    tracing::error!(error = %e, "the key store refused a write");
    AccountsError::KeysUnavailable
}
