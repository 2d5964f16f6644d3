//! A customer's data with an account, exported or erased (the GDPR's rights of access and
//! erasure): every conversation with its messages and raw bodies, the references, pointers,
//! holds and idempotency records they name, the consent partition with its ledger. An erasure
//! keeps an opt-out as a keyed hash ([`channel_domain::privacy::OptOutKey`]) so the number is still never
//! texted; it is idempotent and resumable (asking again finishes an interrupted one, or one that
//! reached its deadline). Entries name the customer by that hash, never by number. Both read the
//! customer's own partitions only, so their cost follows the customer's data, not the account's;
//! a deleted account's customers are served through the record its deletion left.

use std::time::Instant;

use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::ports::{ConversationFile, CustomerRecords, Erased, ExportError, ExportStore, Retired, StoreError};
use channel_domain::account::Account;
use channel_domain::audit::{Actor, AuditAction, AuditEntry};
use channel_domain::ids::AccountId;
use channel_domain::ids::Timestamp;
use channel_domain::phone::PhoneNumber;
use channel_domain::privacy::OptOutKey;

/// Why an export or an erasure failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivacyError {
    /// The store failed; what was done stays done, asking again finishes it.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The export bucket failed (an export too large to answer); asking again makes it again.
    #[error(transparent)]
    Bucket(#[from] ExportError),
}

/// An export: everything the account holds of one customer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerExport {
    /// The customer.
    pub customer_number: PhoneNumber,
    /// When it was made.
    pub exported_at: Timestamp,
    /// Their conversations with every message.
    pub conversations: Vec<channel_domain::conversation::Conversation>,
    /// The raw callback bodies of their inbound messages still kept.
    pub raw_payloads: Vec<RawPayload>,
    /// Their consent state and its ledger of changes.
    pub consent: Vec<serde_json::Value>,
    /// The account's audit entries about their conversations or them.
    pub audit: Vec<AuditEntry>,
    /// Whether an opt-out of theirs is kept as a keyed hash (an erasure kept it, no START since).
    pub opted_out_by_hash: bool,
}

/// One raw callback body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RawPayload {
    /// The conversation.
    pub conversation_id: channel_domain::ids::ConversationId,
    /// The message.
    pub message_id: channel_domain::ids::MessageId,
    /// The body TeleSign posted.
    pub body: String,
}

/// What an erasure deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Erasure {
    /// The counts.
    #[serde(flatten)]
    pub erased: Erased,
    /// Whether an opt-out is kept as a keyed hash.
    pub opt_out_kept: bool,
    /// Whether everything is erased: `false` when the deadline came first (what is counted is
    /// gone; asking again goes on and finishes).
    pub complete: bool,
}

/// Whose customer: the account that holds their data, live or deleted (through the record its
/// deletion left), with its support numbers (the pointers of the customer's live threads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controller {
    /// The account.
    pub account_id: AccountId,
    /// Its support numbers (when it was deleted, for a deleted one).
    pub numbers: Vec<PhoneNumber>,
}

impl From<&Account> for Controller {
    fn from(a: &Account) -> Self {
        Self {
            account_id: a.account_id.clone(),
            numbers: a.numbers.iter().map(|n| n.number.clone()).collect(),
        }
    }
}

impl From<&Retired> for Controller {
    fn from(r: &Retired) -> Self {
        Self {
            account_id: r.account_id.clone(),
            numbers: r.numbers.clone(),
        }
    }
}

/// How many conversations an export reads, or an erasure deletes, at once.
const AT_ONCE: usize = 4;

/// The export and erasure service.
#[derive(Debug)]
pub struct Privacy<S> {
    /// The table.
    pub store: S,
}

impl<S: CustomerRecords> Privacy<S> {
    /// Everything the account holds of `customer`, and a `customer.exported` entry: read through
    /// the customer's own partitions, their conversations a few at once.
    pub async fn export(
        &self,
        actor: &Actor,
        who: &Controller,
        customer: &PhoneNumber,
        opt_outs: &OptOutKey,
    ) -> Result<CustomerExport, PrivacyError> {
        let account_id = &who.account_id;
        let tag = opt_outs.tag(account_id, customer);
        let ids = self.store.conversations_of(account_id, &who.numbers, customer).await?;
        let mut export = CustomerExport {
            customer_number: customer.clone(),
            exported_at: Timestamp::now(),
            conversations: Vec::new(),
            raw_payloads: Vec::new(),
            consent: self.store.consent_records(account_id, customer).await?,
            audit: Vec::new(),
            opted_out_by_hash: false,
        };
        let store = &self.store;
        let files: Vec<Option<ConversationFile>> = futures_util::stream::iter(ids.clone())
            .map(|id| async move { store.conversation_file(&id).await })
            .buffered(AT_ONCE)
            .try_collect()
            .await?;
        for file in files.into_iter().flatten() {
            add_file(&mut export, file);
        }
        let mut targets: Vec<String> = ids.iter().map(ToString::to_string).collect();
        targets.push(tag.clone());
        export.audit = self.store.entries_about(account_id, &targets).await?;
        export.opted_out_by_hash = self.store.opt_out_kept(account_id, &tag).await?;
        let entry = AuditEntry::new(actor, AuditAction::CustomerExported, account_id, tag)
            .with("conversations", export.conversations.len());
        self.store.record(&entry).await?;
        tracing::info!(account_id = %account_id, conversations = export.conversations.len(), "customer exported");
        Ok(export)
    }

    /// Erases everything the account holds of `customer`, a few conversations at once, then
    /// their consent (an opt-out kept as its tag), then writes a `customer.erased` entry with
    /// the counts. At `deadline` it stops before the next conversation and answers what it did
    /// (`complete: false`); asking again goes on, finishes, and counts only what it deleted.
    pub async fn erase(
        &self,
        actor: &Actor,
        who: &Controller,
        customer: &PhoneNumber,
        opt_outs: &OptOutKey,
        deadline: Instant,
    ) -> Result<Erasure, PrivacyError> {
        let account_id = &who.account_id;
        let tag = opt_outs.tag(account_id, customer);
        let ids = self.store.conversations_of(account_id, &who.numbers, customer).await?;
        let store = &self.store;
        let done: Vec<Option<Erased>> = futures_util::stream::iter(ids)
            .map(|id| async move {
                if Instant::now() >= deadline {
                    return Ok(None);
                }
                store.erase_conversation(account_id, customer, &id).await.map(Some)
            })
            .buffer_unordered(AT_ONCE)
            .try_collect()
            .await?;
        let mut erased = Erased::default();
        let complete = done.iter().all(Option::is_some);
        for e in done.into_iter().flatten() {
            erased += e;
        }
        if !complete {
            tracing::info!(account_id = %account_id, conversations = erased.conversations, messages = erased.messages,
                "customer erasure stopped at its deadline; asking again goes on");
            return Ok(Erasure {
                erased,
                opt_out_kept: self.store.opt_out_kept(account_id, &tag).await?,
                complete,
            });
        }
        let (consent_records, opt_out_kept) = self.store.erase_consent(account_id, customer, &tag).await?;
        erased.consent_records = consent_records;
        let erasure = Erasure {
            erased,
            opt_out_kept,
            complete,
        };
        let mut entry = AuditEntry::new(actor, AuditAction::CustomerErased, account_id, tag);
        if let Ok(serde_json::Value::Object(counts)) = serde_json::to_value(erasure) {
            entry.detail = counts;
        }
        self.store.record(&entry).await?;
        tracing::info!(account_id = %account_id, conversations = erased.conversations, messages = erased.messages, opt_out_kept, "customer erased");
        Ok(erasure)
    }
}

/// The most bytes of an export answered in the response itself. Lambda answers 6 MB at most
/// (the body escaped inside its proxy response, where a quote takes two bytes), so a larger
/// export goes to the export bucket and the answer is a link to it.
pub const INLINE_EXPORT_BYTES: usize = 3 * 1024 * 1024;

/// How long an export's link works: 15 minutes.
pub const EXPORT_LINK_SECONDS: u64 = 900;

/// How an export reaches the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// In the answer: the export's JSON.
    Inline(Vec<u8>),
    /// Too large for the answer: in the export bucket, fetched by `export_url` until `expires_at`.
    Link(ExportLink),
}

/// A link to an export in the export bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportLink {
    /// The presigned link (no other credential needed, none accepted).
    pub export_url: String,
    /// When the link stops working.
    pub expires_at: Timestamp,
    /// The export's size.
    pub size_bytes: usize,
    /// How many conversations it holds.
    pub conversations: usize,
}

/// Delivers an export of `account_id`: in the answer up to `inline_limit` bytes, else written to
/// the export bucket under `exports/<account>/<time>-<id>.json` (no number in the name) and
/// answered by a link valid [`EXPORT_LINK_SECONDS`].
pub async fn deliver<E: ExportStore>(
    bucket: &E,
    account_id: &AccountId,
    export: &CustomerExport,
    inline_limit: usize,
) -> Result<Delivery, PrivacyError> {
    let body = serde_json::to_vec(export).map_err(|e| PrivacyError::Bucket(ExportError(e.to_string())))?;
    if body.len() <= inline_limit {
        return Ok(Delivery::Inline(body));
    }
    let key = format!(
        "exports/{account_id}/{}-{}.json",
        export.exported_at.epoch_seconds(),
        channel_domain::ids::new_id()
    );
    let size_bytes = body.len();
    let valid_for = std::time::Duration::from_secs(EXPORT_LINK_SECONDS);
    let export_url = bucket.publish(&key, body, valid_for).await?;
    tracing::info!(account_id = %account_id, size_bytes, "export too large to answer: written to the export bucket");
    Ok(Delivery::Link(ExportLink {
        export_url,
        expires_at: Timestamp::now().plus_seconds(EXPORT_LINK_SECONDS as i64),
        size_bytes,
        conversations: export.conversations.len(),
    }))
}

fn add_file(export: &mut CustomerExport, file: ConversationFile) {
    let conversation_id = file.conversation.conversation_id.clone();
    export
        .raw_payloads
        .extend(file.raw_payloads.into_iter().map(|(message_id, body)| RawPayload {
            conversation_id: conversation_id.clone(),
            message_id,
            body,
        }));
    export.conversations.push(file.conversation);
}
