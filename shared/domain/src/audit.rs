//! The audit trail: one entry per change, naming who made it, written in the same transaction as
//! the change (so neither exists without the other). An entry names ids and roles, never a key,
//! a message text or a customer's number.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::access::{Caller, UserId};
use crate::ids::{AccountId, Timestamp};

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumIter)]
pub enum AuditAction {
    /// An account was created.
    #[serde(rename = "account.created")]
    #[strum(serialize = "account.created")]
    AccountCreated,
    /// An account's name or retention changed.
    #[serde(rename = "account.changed")]
    #[strum(serialize = "account.changed")]
    AccountChanged,
    /// An account was deleted.
    #[serde(rename = "account.deleted")]
    #[strum(serialize = "account.deleted")]
    AccountDeleted,
    /// An account's TeleSign key was rotated.
    #[serde(rename = "key.rotated")]
    #[strum(serialize = "key.rotated")]
    KeyRotated,
    /// A next key was staged (it verifies callbacks before it becomes current).
    #[serde(rename = "key.staged")]
    #[strum(serialize = "key.staged")]
    KeyStaged,
    /// A support number was added.
    #[serde(rename = "number.added")]
    #[strum(serialize = "number.added")]
    NumberAdded,
    /// A support number's settings changed.
    #[serde(rename = "number.changed")]
    #[strum(serialize = "number.changed")]
    NumberChanged,
    /// A support number was removed.
    #[serde(rename = "number.removed")]
    #[strum(serialize = "number.removed")]
    NumberRemoved,
    /// A member was added or their role changed.
    #[serde(rename = "member.changed")]
    #[strum(serialize = "member.changed")]
    MemberChanged,
    /// A member was removed.
    #[serde(rename = "member.removed")]
    #[strum(serialize = "member.removed")]
    MemberRemoved,
    /// A canned response was written or changed.
    #[serde(rename = "canned_response.changed")]
    #[strum(serialize = "canned_response.changed")]
    CannedResponseChanged,
    /// A canned response was deleted.
    #[serde(rename = "canned_response.deleted")]
    #[strum(serialize = "canned_response.deleted")]
    CannedResponseDeleted,
    /// A conversation was accepted.
    #[serde(rename = "conversation.accepted")]
    #[strum(serialize = "conversation.accepted")]
    ConversationAccepted,
    /// A conversation was assigned, transferred or let go.
    #[serde(rename = "conversation.assigned")]
    #[strum(serialize = "conversation.assigned")]
    ConversationAssigned,
    /// A conversation was closed (set waiting).
    #[serde(rename = "conversation.closed")]
    #[strum(serialize = "conversation.closed")]
    ConversationClosed,
    /// A conversation was ended.
    #[serde(rename = "conversation.ended")]
    #[strum(serialize = "conversation.ended")]
    ConversationEnded,
    /// A conversation was ended for inactivity.
    #[serde(rename = "conversation.auto_closed")]
    #[strum(serialize = "conversation.auto_closed")]
    ConversationAutoClosed,
    /// A message was sent to a customer.
    #[serde(rename = "message.sent")]
    #[strum(serialize = "message.sent")]
    MessageSent,
    /// A note was written.
    #[serde(rename = "note.written")]
    #[strum(serialize = "note.written")]
    NoteWritten,
    /// A customer opted out or in.
    #[serde(rename = "consent.changed")]
    #[strum(serialize = "consent.changed")]
    ConsentChanged,
    /// A customer's data was erased.
    #[serde(rename = "customer.erased")]
    #[strum(serialize = "customer.erased")]
    CustomerErased,
    /// A customer's data was exported.
    #[serde(rename = "customer.exported")]
    #[strum(serialize = "customer.exported")]
    CustomerExported,
}

impl AuditAction {
    /// The action's name in entries.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in user.
    User(UserId),
    /// The customer (by text message; never named by number).
    Customer,
    /// The channel itself (a sweep, an automated message).
    System,
}

impl Actor {
    /// The caller of a request.
    pub fn of(caller: &Caller) -> Self {
        Self::User(caller.user_id.clone())
    }

    /// The actor as an entry names it: the user id, `customer` or `system`.
    pub fn name(&self) -> &str {
        match self {
            Self::User(u) => u.as_str(),
            Self::Customer => "customer",
            Self::System => "system",
        }
    }
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When.
    pub at: Timestamp,
    /// Who: a user id, `customer` or `system`.
    pub actor: String,
    /// What.
    pub action: AuditAction,
    /// The account concerned.
    pub account_id: AccountId,
    /// The thing changed: a conversation, number, member or account id.
    pub target: String,
    /// Ids and settings of the change (never a key or a text).
    pub detail: Map<String, Value>,
}

impl AuditEntry {
    /// An entry made now.
    pub fn new(actor: &Actor, action: AuditAction, account_id: &AccountId, target: impl Into<String>) -> Self {
        Self {
            at: Timestamp::now(),
            actor: actor.name().to_owned(),
            action,
            account_id: account_id.clone(),
            target: target.into(),
            detail: Map::new(),
        }
    }

    /// The entry with one more detail.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.detail.insert(key.to_owned(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_serialise_as_the_contract_names_them() {
        let account = AccountId::new();
        let entry = AuditEntry::new(
            &Actor::User(UserId::parse("u-1").unwrap()),
            AuditAction::ConversationAssigned,
            &account,
            "c-1",
        )
        .with("to", "u-2");
        let v = serde_json::to_value(&entry).unwrap();
        assert_eq!(v["action"], "conversation.assigned");
        assert_eq!(v["actor"], "u-1");
        assert_eq!(v["detail"]["to"], "u-2");
        assert_eq!(AuditAction::KeyRotated.as_str(), "key.rotated");
        assert_eq!(Actor::Customer.name(), "customer");
    }
}
