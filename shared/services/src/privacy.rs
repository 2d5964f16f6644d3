//! A customer's data with an account, exported or erased (the GDPR's rights of access and
//! erasure): every conversation with its messages and raw bodies, the references, pointers,
//! holds and idempotency records they name, the consent partition with its ledger. An erasure
//! keeps an opt-out as a keyed hash ([`channel_domain::privacy::OptOutKey`]) so the number is still never
//! texted; it is idempotent and resumable (asking again finishes an interrupted one). Entries
//! name the customer by that hash, never by number.

use serde::Serialize;

use crate::ports::{ConversationFile, CustomerRecords, Erased, StoreError};
use channel_domain::account::Account;
use channel_domain::audit::{Actor, AuditAction, AuditEntry};
use channel_domain::ids::Timestamp;
use channel_domain::phone::PhoneNumber;
use channel_domain::privacy::OptOutKey;

/// Why an export or an erasure failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivacyError {
    /// The store failed; what was done stays done, asking again finishes it.
    #[error(transparent)]
    Store(#[from] StoreError),
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
}

/// The export and erasure service.
#[derive(Debug)]
pub struct Privacy<S> {
    /// The table.
    pub store: S,
}

impl<S: CustomerRecords> Privacy<S> {
    /// Everything the account holds of `customer`, and a `customer.exported` entry.
    pub async fn export(
        &self,
        actor: &Actor,
        account: &Account,
        customer: &PhoneNumber,
        opt_outs: &OptOutKey,
    ) -> Result<CustomerExport, PrivacyError> {
        let tag = opt_outs.tag(&account.account_id, customer);
        let ids = self.store.conversations_of(account, customer).await?;
        let mut export = CustomerExport {
            customer_number: customer.clone(),
            exported_at: Timestamp::now(),
            conversations: Vec::new(),
            raw_payloads: Vec::new(),
            consent: self.store.consent_records(&account.account_id, customer).await?,
            audit: Vec::new(),
            opted_out_by_hash: false,
        };
        for id in &ids {
            if let Some(file) = self.store.conversation_file(id).await? {
                add_file(&mut export, file);
            }
        }
        let mut targets: Vec<String> = ids.iter().map(ToString::to_string).collect();
        targets.push(tag.clone());
        export.audit = self.store.entries_about(&account.account_id, &targets).await?;
        export.opted_out_by_hash = self.store.opt_out_kept(&account.account_id, &tag).await?;
        let entry = AuditEntry::new(actor, AuditAction::CustomerExported, &account.account_id, tag)
            .with("conversations", export.conversations.len());
        self.store.record(&entry).await?;
        tracing::info!(account_id = %account.account_id, conversations = export.conversations.len(), "customer exported");
        Ok(export)
    }

    /// Erases everything the account holds of `customer`, conversation by conversation, then
    /// their consent (an opt-out kept as its tag), then writes a `customer.erased` entry with
    /// the counts. Asking again finishes an interrupted erasure and counts only what it deleted.
    pub async fn erase(
        &self,
        actor: &Actor,
        account: &Account,
        customer: &PhoneNumber,
        opt_outs: &OptOutKey,
    ) -> Result<Erasure, PrivacyError> {
        let tag = opt_outs.tag(&account.account_id, customer);
        let ids = self.store.conversations_of(account, customer).await?;
        let mut erased = Erased::default();
        for id in &ids {
            erased += self.store.erase_conversation(&account.account_id, id).await?;
        }
        let (consent_records, opt_out_kept) = self.store.erase_consent(&account.account_id, customer, &tag).await?;
        erased.consent_records = consent_records;
        let erasure = Erasure { erased, opt_out_kept };
        let mut entry = AuditEntry::new(actor, AuditAction::CustomerErased, &account.account_id, tag);
        if let Ok(serde_json::Value::Object(counts)) = serde_json::to_value(erasure) {
            entry.detail = counts;
        }
        self.store.record(&entry).await?;
        tracing::info!(account_id = %account.account_id, conversations = erased.conversations, messages = erased.messages, opt_out_kept, "customer erased");
        Ok(erasure)
    }
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
