//! The items of the table as serde structs (mapped by `serde_dynamo`), and the attribute names
//! that expressions use: the one place that knows what an item holds.

use crate::table::Key;
use channel_domain::automation::Kind;
use serde::{Deserialize, Serialize};

use crate::table;
use channel_domain::access::{Role, UserId};
use channel_domain::account::{Account, SupportNumber};
use channel_domain::audit::AuditEntry;
use channel_domain::conversation::{Author, Conversation, Direction, Message, Status};
use channel_domain::ids::{AccountId, ConversationId, MessageId, Timestamp};
use channel_domain::phone::PhoneNumber;
use channel_domain::sms::Encoding;
use channel_domain::telesign::{ApiHost, MessageState};
use channel_services::ports::{Member, Retired, StoreError};

use super::Item;

/// Attribute names used in expressions.
pub mod attr {
    /// A conversation's or message's status.
    pub const STATUS: &str = "status";
    /// A message's status rank.
    pub const STATUS_RANK: &str = "status_rank";
    /// The conversation a pointer, reference or message belongs to.
    pub const CONVERSATION_ID: &str = "conversation_id";
    /// The account of a claim or message.
    pub const ACCOUNT_ID: &str = "account_id";
    /// Whether a customer opted out.
    pub const OPTED_OUT: &str = "opted_out";

    /// Every attribute an expression of the store may name (besides the key attributes and
    /// the indexes' of `table`): the items' own fields, by their serde names, and the few that
    /// only an update sets (a counter, a claim's time, a key's stamp). A test holds every
    /// expression of `store/` to this list and the list to the items' fields, so that a field
    /// renamed in an item cannot leave an expression naming what no item writes.
    pub const ALL: &[&str] = &[
        STATUS,
        STATUS_RANK,
        CONVERSATION_ID,
        ACCOUNT_ID,
        OPTED_OUT,
        "assigned_agent",
        "assigned_agent_name",
        "away_for",
        "canned",
        "claimed_at",
        "consent_order",
        "customer_number",
        "direction",
        "holder",
        "idem_state",
        "key_rotated_at",
        "key_version",
        "last_activity_at",
        "last_customer_message_at",
        "last_message_preview",
        "name",
        "needs_reply",
        "numbers",
        "outcome",
        "retention_days",
        "settings",
        "status_code",
        "status_description",
        "status_updated_at",
        "telesign_reference_id",
        "waiting_since",
    ];
}

/// Writes a serde struct as an item.
pub fn to_item<T: Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Reads an item into a serde struct.
pub fn from_item<T: for<'de> Deserialize<'de>>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A conversation item (with its index keys).
#[derive(Debug, Serialize, Deserialize)]
pub struct ConversationItem {
    pk: String,
    sk: String,
    conversation_id: ConversationId,
    account_id: AccountId,
    support_number: PhoneNumber,
    customer_number: PhoneNumber,
    status: Status,
    created_at: Timestamp,
    last_activity_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    assigned_agent: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    assigned_agent_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_customer_message_at: Option<Timestamp>,
    #[serde(default)]
    needs_reply: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    waiting_since: Option<Timestamp>,
    #[serde(default)]
    opted_out: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_message_preview: Option<String>,
    gsi1pk: String,
    gsi1sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2pk: Option<String>,
}

/// The dashboard index's sort key: newest activity sorts last, read backwards.
pub fn activity_sort_key(at: &Timestamp, conversation_id: &ConversationId) -> String {
    format!("{at}#{conversation_id}")
}

/// The dashboard index's partition of a conversation in a status (one per status and shard).
pub fn index_partition(account_id: &AccountId, status: Status, conversation_id: &ConversationId) -> String {
    status_shard(account_id, status, table::shard_of(conversation_id.as_str()))
}

/// Every shard of the dashboard index's partitions of these statuses.
pub fn index_partitions(account_id: &AccountId, statuses: &[Status]) -> Vec<String> {
    statuses
        .iter()
        .flat_map(|st| (0..table::SHARDS).map(|k| status_shard(account_id, *st, k)))
        .collect()
}

/// Every shard of the second index's partition of the live conversations `holder` holds (`None`:
/// nobody).
pub fn held_partitions(account_id: &AccountId, holder: Option<&str>) -> Vec<String> {
    let account = account_id.as_str();
    (0..table::SHARDS)
        .map(|k| match holder {
            Some(user) => table::held_partition(account, user, k),
            None => table::unassigned_partition(account, k),
        })
        .collect()
}

fn status_shard(account_id: &AccountId, status: Status, shard: u32) -> String {
    match status {
        Status::Closed => table::closed_conversations_partition(account_id.as_str(), shard),
        live => table::status_partition(account_id.as_str(), live.as_str(), shard),
    }
}

/// The second index's partition of a conversation: while live, who holds it (or nobody), in its
/// shard; once closed, its customer (one partition: a customer's conversations are few).
pub fn second_partition(
    account_id: &AccountId,
    status: Status,
    holder: Option<&str>,
    customer: &str,
    conversation_id: &ConversationId,
) -> String {
    let shard = table::shard_of(conversation_id.as_str());
    match (status, holder) {
        (Status::Closed, _) => table::customer_closed_partition(account_id.as_str(), customer),
        (_, Some(user)) => table::held_partition(account_id.as_str(), user, shard),
        (_, None) => table::unassigned_partition(account_id.as_str(), shard),
    }
}

impl ConversationItem {
    /// The item of a conversation.
    pub fn of(c: &Conversation) -> Self {
        let Key { pk, sk } = table::conversation_key(c.conversation_id.as_str());
        Self {
            pk,
            sk,
            conversation_id: c.conversation_id.clone(),
            account_id: c.account_id.clone(),
            support_number: c.support_number.clone(),
            customer_number: c.customer_number.clone(),
            status: c.status,
            created_at: c.created_at,
            last_activity_at: c.last_activity_at,
            assigned_agent: c.assigned_agent.clone(),
            assigned_agent_name: c.assigned_agent_name.clone(),
            last_customer_message_at: c.last_customer_message_at,
            needs_reply: c.needs_reply,
            waiting_since: c.waiting_since,
            opted_out: c.opted_out,
            last_message_preview: c.last_message_preview.clone(),
            gsi1pk: index_partition(&c.account_id, c.status, &c.conversation_id),
            gsi1sk: activity_sort_key(&c.last_activity_at, &c.conversation_id),
            gsi2pk: Some(second_partition(
                &c.account_id,
                c.status,
                c.assigned_agent.as_deref(),
                c.customer_number.as_str(),
                &c.conversation_id,
            )),
        }
    }

    /// The conversation it holds.
    pub fn into_conversation(self) -> Conversation {
        Conversation {
            conversation_id: self.conversation_id,
            account_id: self.account_id,
            support_number: self.support_number,
            customer_number: self.customer_number,
            status: self.status,
            created_at: self.created_at,
            last_activity_at: self.last_activity_at,
            assigned_agent_name: self
                .assigned_agent
                .as_ref()
                .map(|a| self.assigned_agent_name.unwrap_or_else(|| a.to_string())),
            assigned_agent: self.assigned_agent,
            last_customer_message_at: self.last_customer_message_at,
            needs_reply: self.needs_reply,
            waiting_since: self.waiting_since,
            opted_out: self.opted_out,
            last_message_preview: self.last_message_preview,
            messages: None,
            next_cursor: None,
        }
    }
}

/// A message item, in its conversation's partition.
#[derive(Debug, Serialize, Deserialize)]
pub struct MessageItem {
    pk: String,
    sk: String,
    message_id: MessageId,
    conversation_id: ConversationId,
    account_id: AccountId,
    direction: Direction,
    text: String,
    created_at: Timestamp,
    status: MessageState,
    status_rank: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    telesign_reference_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status_code: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status_description: Option<String>,
    #[serde(default = "one")]
    segments: u32,
    encoding: Encoding,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    agent_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    agent_name: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    too_long: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<Kind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    author: Option<Author>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    raw: Option<String>,
    /// The partition key of the idempotency record of its send (an erasure deletes it: it holds
    /// the send's answer with the text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    idempotency_pk: Option<String>,
}

fn one() -> u32 {
    1
}

impl MessageItem {
    /// The item of a message of a conversation (with the raw callback body of an inbound one).
    pub fn of(conversation_id: &ConversationId, account_id: &AccountId, m: &Message, raw: Option<&str>) -> Self {
        let Key { pk, sk } = table::message_key(conversation_id.as_str(), m.message_id.as_str());
        Self {
            pk,
            sk,
            message_id: m.message_id.clone(),
            conversation_id: conversation_id.clone(),
            account_id: account_id.clone(),
            direction: m.direction,
            text: m.text.clone(),
            created_at: m.created_at,
            status: m.status,
            status_rank: channel_domain::telesign::status::rank(m.status, m.status_code),
            telesign_reference_id: m.telesign_reference_id.clone(),
            status_code: m.status_code,
            status_description: m.status_description.clone(),
            segments: m.segments,
            encoding: m.encoding,
            agent_id: m.agent_id.clone(),
            agent_name: m.agent_name.clone(),
            too_long: m.too_long,
            kind: m.kind,
            author: m.author.clone(),
            raw: raw.map(str::to_owned),
            idempotency_pk: None,
        }
    }

    /// The message, naming the idempotency record of its send.
    pub fn with_idempotency(mut self, record: &Key) -> Self {
        self.idempotency_pk = Some(record.pk.clone());
        self
    }

    /// The raw callback body kept with an inbound message.
    pub fn raw(&self) -> Option<&str> {
        self.raw.as_deref()
    }

    /// The keys of the items that name this message: its inbound reference (`INREF#`) or its
    /// outbound one (`OUTREF#`), and the idempotency record of its send.
    pub fn linked_keys(&self) -> Vec<Key> {
        let mut keys = Vec::new();
        if let Some(reference) = &self.telesign_reference_id {
            keys.push(match self.direction {
                Direction::Inbound => table::inbound_ref_key(self.account_id.as_str(), reference),
                _ => table::outbound_ref_key(reference),
            });
        }
        if let Some(pk) = &self.idempotency_pk {
            keys.push(Key::new(pk.clone(), "IDEM"));
        }
        keys
    }

    /// Its id.
    pub fn id(&self) -> &MessageId {
        &self.message_id
    }

    /// The message it holds, flagged unconfirmed when TeleSign never confirmed it in time.
    pub fn into_message(self) -> Message {
        let mut m = Message {
            message_id: self.message_id,
            direction: self.direction,
            text: self.text,
            created_at: self.created_at,
            status: self.status,
            telesign_reference_id: self.telesign_reference_id,
            status_code: self.status_code,
            status_description: self.status_description,
            segments: self.segments,
            encoding: self.encoding,
            agent_id: self.agent_id,
            agent_name: self.agent_name,
            too_long: self.too_long,
            unconfirmed: false,
            automated: self.kind.is_some(),
            kind: self.kind,
            author: self.author,
        };
        m.unconfirmed = m.unconfirmed_at(Timestamp::now());
        m
    }

    /// The account and the conversation it belongs to.
    pub fn owner(&self) -> (AccountId, ConversationId) {
        (self.account_id.clone(), self.conversation_id.clone())
    }

    /// Whose and which way, and its last code (to explain a refused report).
    pub fn status_facts(&self) -> (AccountId, bool, Option<u32>) {
        (
            self.account_id.clone(),
            self.direction == Direction::Outbound,
            self.status_code,
        )
    }
}

/// An inbound message's raw callback body, kept apart from the message so that TTL expires it
/// after the raw payload retention while the message stays.
#[derive(Debug, Serialize, Deserialize)]
pub struct RawItem {
    pk: String,
    sk: String,
    /// The message.
    pub message_id: MessageId,
    /// The body as TeleSign posted it.
    pub body: String,
    /// Epoch seconds after which DynamoDB deletes it.
    pub expires_at: i64,
}

impl RawItem {
    /// The raw body of a message, kept `days`.
    pub fn of(conversation_id: &ConversationId, message_id: &MessageId, body: &str, days: u32) -> Self {
        let Key { pk, sk } = table::raw_payload_key(conversation_id.as_str(), message_id.as_str());
        Self {
            pk,
            sk,
            message_id: message_id.clone(),
            body: body.to_owned(),
            expires_at: channel_domain::ids::epoch_seconds() + i64::from(days) * 86_400,
        }
    }
}

/// The live pointer of a thread.
#[derive(Debug, Serialize, Deserialize)]
pub struct PointerItem {
    pk: String,
    sk: String,
    /// The live conversation.
    pub conversation_id: ConversationId,
    /// Its status.
    pub status: Status,
    /// The closed period it last got an away message for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub away_for: Option<String>,
}

impl PointerItem {
    /// The pointer of a new conversation.
    pub fn of(c: &Conversation) -> Self {
        let Key { pk, sk } = table::thread_key(
            c.account_id.as_str(),
            c.support_number.as_str(),
            c.customer_number.as_str(),
        );
        Self {
            pk,
            sk,
            conversation_id: c.conversation_id.clone(),
            status: c.status,
            away_for: None,
        }
    }
}

/// A customer's file entry: one conversation they had with the account (`FILE#` partition).
#[derive(Debug, Serialize, Deserialize)]
pub struct FileItem {
    pk: String,
    sk: String,
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Its support number.
    pub support_number: PhoneNumber,
    /// When it began.
    pub created_at: Timestamp,
}

impl FileItem {
    /// The entry of a new conversation.
    pub fn of(c: &Conversation) -> Self {
        let Key { pk, sk } = table::customer_file_key(
            c.account_id.as_str(),
            c.customer_number.as_str(),
            c.conversation_id.as_str(),
        );
        Self {
            pk,
            sk,
            conversation_id: c.conversation_id.clone(),
            support_number: c.support_number.clone(),
            created_at: c.created_at,
        }
    }
}

/// An inbound reference seen, with a TTL.
#[derive(Debug, Serialize)]
pub struct ReferenceItem {
    pk: String,
    sk: String,
    conversation_id: ConversationId,
    message_id: MessageId,
    expires_at: i64,
}

impl ReferenceItem {
    /// The reference of an inbound message, remembered `ttl_seconds`.
    pub fn of(account_id: &AccountId, reference_id: &str, at: (&ConversationId, &MessageId), ttl_seconds: i64) -> Self {
        let Key { pk, sk } = table::inbound_ref_key(account_id.as_str(), reference_id);
        Self {
            pk,
            sk,
            conversation_id: at.0.clone(),
            message_id: at.1.clone(),
            expires_at: channel_domain::ids::epoch_seconds() + ttl_seconds,
        }
    }
}

/// An outbound reference → its message.
#[derive(Debug, Serialize, Deserialize)]
pub struct OutrefItem {
    pk: String,
    sk: String,
    /// The conversation.
    pub conversation_id: ConversationId,
    /// The message.
    pub message_id: MessageId,
}

impl OutrefItem {
    /// The pointer of TeleSign's reference to a message.
    pub fn of(reference_id: &str, conversation_id: &ConversationId, message_id: &MessageId) -> Self {
        let Key { pk, sk } = table::outbound_ref_key(reference_id);
        Self {
            pk,
            sk,
            conversation_id: conversation_id.clone(),
            message_id: message_id.clone(),
        }
    }
}

/// A customer's consent with an account.
#[derive(Debug, Serialize, Deserialize)]
pub struct ConsentItem {
    pk: String,
    sk: String,
    /// Whether the customer opted out.
    pub opted_out: bool,
    updated_at: Timestamp,
    conversation_id: ConversationId,
    /// The order of the keyword that set it (absent on items written before keywords were
    /// ordered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_order: Option<String>,
}

impl ConsentItem {
    /// The consent recorded from a message in a conversation, with the keyword's order.
    pub fn of(
        account_id: &AccountId,
        customer: &PhoneNumber,
        opted_out: bool,
        conversation_id: &ConversationId,
        order: &str,
    ) -> Self {
        let Key { pk, sk } = table::consent_key(account_id.as_str(), customer.as_str());
        Self {
            pk,
            sk,
            opted_out,
            updated_at: Timestamp::now(),
            conversation_id: conversation_id.clone(),
            consent_order: Some(order.to_owned()),
        }
    }
}

/// A consent keyword in the customer's ledger (kept for disputes): what was asked, in which
/// order, what it did; the message and conversation it came in, never its text.
#[derive(Debug, Serialize, Deserialize)]
pub struct ConsentChangeItem {
    pk: String,
    sk: String,
    consent: String,
    effect: String,
    order: String,
    conversation_id: ConversationId,
    message_id: MessageId,
    recorded_at: Timestamp,
}

impl ConsentChangeItem {
    /// The ledger entry of a keyword.
    pub fn of(
        account_id: &AccountId,
        customer: &PhoneNumber,
        w: &channel_services::ports::ConsentWrite,
        at: (&ConversationId, &MessageId),
    ) -> Self {
        use channel_domain::automation::ConsentEffect;
        let Key { pk, sk } = table::consent_change_key(account_id.as_str(), customer.as_str(), &w.order);
        let effect = match w.effect {
            ConsentEffect::Changed(_) => "changed",
            ConsentEffect::Unchanged(_) => "unchanged",
            ConsentEffect::Superseded(_) | ConsentEffect::None => "superseded",
        };
        Self {
            pk,
            sk,
            consent: w.consent.as_str().to_owned(),
            effect: effect.to_owned(),
            order: w.order.clone(),
            conversation_id: at.0.clone(),
            message_id: at.1.clone(),
            recorded_at: Timestamp::now(),
        }
    }
}

/// An opt-out kept after the customer's erasure: only its keyed hash.
#[derive(Debug, Serialize, Deserialize)]
pub struct OptOutItem {
    pk: String,
    sk: String,
    since: Timestamp,
}

impl OptOutItem {
    /// The opt-out of a customer by their tag.
    pub fn of(account_id: &AccountId, tag: &str) -> Self {
        let Key { pk, sk } = table::opt_out_key(account_id.as_str(), tag);
        Self {
            pk,
            sk,
            since: Timestamp::now(),
        }
    }
}

/// An idempotency record: pending while the first request runs, then its outcome.
#[derive(Debug, Serialize, Deserialize)]
pub struct IdempotencyItem {
    pk: String,
    sk: String,
    /// `pending` or `done`.
    pub idem_state: String,
    /// The first request's fingerprint.
    pub fingerprint: String,
    /// The outcome to replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Epoch seconds after which the record is gone (DynamoDB's TTL deletes it later).
    pub expires_at: i64,
}

impl IdempotencyItem {
    /// A pending claim of a key, remembered `ttl_seconds`.
    pub fn pending(key: Key, fingerprint: &str, ttl_seconds: i64) -> Self {
        Self {
            pk: key.pk,
            sk: key.sk,
            idem_state: "pending".into(),
            fingerprint: fingerprint.to_owned(),
            outcome: None,
            expires_at: channel_domain::ids::epoch_seconds() + ttl_seconds,
        }
    }
}

/// A number's claim: one account per number.
#[derive(Debug, Serialize, Deserialize)]
pub struct NumberItem {
    pk: String,
    sk: String,
    account_id: AccountId,
    settings: String,
}

impl NumberItem {
    /// The account that owns the number.
    pub fn into_owner(self) -> AccountId {
        self.account_id
    }

    /// The claim of an account on a number.
    pub fn of(account_id: &AccountId, n: &SupportNumber) -> Result<Self, StoreError> {
        let Key { pk, sk } = table::number_key(n.number.as_str());
        Ok(Self {
            pk,
            sk,
            account_id: account_id.clone(),
            settings: number_settings(n)?,
        })
    }
}

impl NumberItem {
    /// The number's settings as its claim keeps them (`None` when they cannot be read: then
    /// nothing automated goes out from it).
    pub fn settings(&self) -> Option<SupportNumber> {
        serde_json::from_str(&self.settings)
            .inspect_err(|e| tracing::error!(error = %e, "a number's settings cannot be read from its claim"))
            .ok()
    }
}

/// What every callback reads of its account (besides its number's claim): the name its automated
/// messages sign with and the stamp of its keys (a rotation in another function takes effect at once).
#[derive(Debug, Serialize, Deserialize)]
pub struct StampItem {
    pk: String,
    sk: String,
    account_id: AccountId,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_version: Option<i64>,
}

impl StampItem {
    /// The stamp of an account named `name` whose keys are at `key_version`.
    pub fn of(account_id: &AccountId, name: &str, key_version: Option<i64>) -> Self {
        let Key { pk, sk } = table::stamp_key(account_id.as_str());
        Self {
            pk,
            sk,
            account_id: account_id.clone(),
            name: name.to_owned(),
            key_version,
        }
    }

    /// The account's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version of its keys.
    pub fn key_version(&self) -> Option<i64> {
        self.key_version
    }
}

/// A number's settings as the account item keeps them (JSON text).
pub fn number_settings(n: &SupportNumber) -> Result<String, StoreError> {
    serde_json::to_string(n).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// An account record (never with its key).
#[derive(Debug, Serialize, Deserialize)]
pub struct AccountItem {
    pk: String,
    sk: String,
    account_id: AccountId,
    name: String,
    customer_id: String,
    api_host: ApiHost,
    secret_name: String,
    #[serde(default)]
    numbers: std::collections::HashMap<String, String>,
    created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retention_days: Option<u32>,
    gsi1pk: String,
    gsi1sk: String,
}

/// A TeleSign customer id's claim: one account per customer id.
#[derive(Debug, Serialize, Deserialize)]
pub struct CustomerItem {
    pk: String,
    sk: String,
    account_id: AccountId,
}

impl CustomerItem {
    /// The claim of an account on its customer id.
    pub fn of(a: &Account) -> Self {
        let Key { pk, sk } = table::customer_key(&a.customer_id);
        Self {
            pk,
            sk,
            account_id: a.account_id.clone(),
        }
    }
}

/// The index partition that lists every account.
pub const ACCOUNTS_PARTITION: &str = "ACCOUNTS";

/// The index partition that lists deleted accounts whose conversations still expire.
pub const RETIRED_PARTITION: &str = "RETIRED";

/// A deleted account with a retention: its id, name and retention, until its last conversation
/// has expired (no key, no number, no customer id).
#[derive(Debug, Serialize, Deserialize)]
pub struct RetiredItem {
    pk: String,
    sk: String,
    account_id: AccountId,
    name: String,
    /// Absent when the operator kept the conversations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retention_days: Option<u32>,
    /// The numbers it had (absent in a record written before they were kept).
    #[serde(default)]
    numbers: Vec<PhoneNumber>,
    deleted_at: Timestamp,
    gsi1pk: String,
    gsi1sk: String,
}

impl RetiredItem {
    /// The record of a deleted account.
    pub fn of(r: &Retired) -> Self {
        let Key { pk, sk } = table::retired_key(r.account_id.as_str());
        let deleted_at = Timestamp::now();
        Self {
            pk,
            sk,
            account_id: r.account_id.clone(),
            name: r.name.clone(),
            retention_days: r.retention_days,
            numbers: r.numbers.clone(),
            gsi1pk: RETIRED_PARTITION.into(),
            gsi1sk: format!("{deleted_at}#{}", r.account_id),
            deleted_at,
        }
    }

    /// The retired account: its id, name, numbers and retention.
    pub fn into_retired(self) -> Retired {
        Retired {
            account_id: self.account_id,
            name: self.name,
            numbers: self.numbers,
            retention_days: self.retention_days,
        }
    }
}

impl AccountItem {
    /// The item of an account.
    pub fn of(a: &Account) -> Result<Self, StoreError> {
        let Key { pk, sk } = table::account_key(a.account_id.as_str());
        let numbers = a
            .numbers
            .iter()
            .map(|n| Ok((n.number.to_string(), number_settings(n)?)))
            .collect::<Result<_, StoreError>>()?;
        Ok(Self {
            pk,
            sk,
            account_id: a.account_id.clone(),
            name: a.name.clone(),
            customer_id: a.customer_id.clone(),
            api_host: a.api_host,
            secret_name: a.secret_name.clone(),
            numbers,
            created_at: a.created_at,
            retention_days: a.retention_days,
            gsi1pk: ACCOUNTS_PARTITION.into(),
            gsi1sk: format!("{}#{}", a.created_at, a.account_id),
        })
    }

    /// The account it holds, numbers in order.
    pub fn into_account(self) -> Result<Account, StoreError> {
        let mut numbers: Vec<SupportNumber> = self
            .numbers
            .values()
            .map(|json| serde_json::from_str(json).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect::<Result<_, _>>()?;
        numbers.sort_by(|a, b| a.number.cmp(&b.number));
        Ok(Account {
            account_id: self.account_id,
            name: self.name,
            customer_id: self.customer_id,
            api_host: self.api_host,
            secret_name: self.secret_name,
            numbers,
            created_at: self.created_at,
            retention_days: self.retention_days,
        })
    }
}

/// A member of an account, in the account's partition and indexed by user.
#[derive(Debug, Serialize, Deserialize)]
pub struct MemberItem {
    pk: String,
    sk: String,
    account_id: AccountId,
    user_id: UserId,
    role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
    added_at: Timestamp,
    gsi1pk: String,
    gsi1sk: String,
}

impl MemberItem {
    /// The item of a member.
    pub fn of(m: &Member) -> Self {
        let Key { pk, sk } = table::member_key(m.account_id.as_str(), m.user_id.as_str());
        Self {
            pk,
            sk,
            account_id: m.account_id.clone(),
            user_id: m.user_id.clone(),
            role: m.role,
            display_name: m.display_name.clone(),
            added_at: m.added_at,
            gsi1pk: table::memberships_partition(m.user_id.as_str()),
            gsi1sk: m.account_id.to_string(),
        }
    }

    /// The member it holds.
    pub fn into_member(self) -> Member {
        Member {
            account_id: self.account_id,
            user_id: self.user_id,
            role: self.role,
            display_name: self.display_name,
            added_at: self.added_at,
        }
    }
}

/// A live conversation a user holds.
#[derive(Debug, Serialize, Deserialize)]
pub struct HoldItem {
    pk: String,
    sk: String,
    /// The conversation.
    pub conversation_id: ConversationId,
}

impl HoldItem {
    /// The hold of `user` on a conversation of an account.
    pub fn of(account_id: &AccountId, user: &str, conversation_id: &ConversationId) -> Self {
        let Key { pk, sk } = table::hold_key(account_id.as_str(), user, conversation_id.as_str());
        Self {
            pk,
            sk,
            conversation_id: conversation_id.clone(),
        }
    }
}

/// An audit entry, in its account's trail (no index: one partition for every account's entries
/// would take every change of the deployment).
#[derive(Debug, Serialize, Deserialize)]
pub struct AuditItem {
    pk: String,
    sk: String,
    /// Its subject's partition of `gsi2` (`AUDIT#<account>#<target>`): the entries about one
    /// conversation or customer, read for an export without the rest of the trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2pk: Option<String>,
    /// Its time and id, `gsi2`'s sort key (no `gsi1pk`: the entry is in no `gsi1` partition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
    #[serde(flatten)]
    entry: AuditEntry,
}

impl AuditItem {
    /// The item of an entry.
    pub fn of(e: &AuditEntry) -> Self {
        let id = channel_domain::ids::new_id();
        let at = e.at.to_string();
        let Key { pk, sk } = table::audit_key(e.account_id.as_str(), &at, &id);
        Self {
            gsi2pk: Some(table::audit_subject_partition(e.account_id.as_str(), &e.target)),
            gsi1sk: Some(sk.clone()),
            pk,
            sk,
            entry: e.clone(),
        }
    }

    /// The entry it holds.
    pub fn into_entry(self) -> AuditEntry {
        self.entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use channel_domain::conversation::Thread;

    #[test]
    fn a_conversation_reads_back_as_written() {
        let thread = Thread {
            account_id: AccountId::new(),
            support_number: PhoneNumber::parse("14255550100").unwrap(),
            customer_number: PhoneNumber::parse("48601234567").unwrap(),
        };
        let mut c = Conversation::first_contact(&thread);
        c.last_message_preview = Some("hi".into());
        let item = to_item(&ConversationItem::of(&c)).unwrap();
        assert_eq!(item["status"].as_s().unwrap(), "open");
        assert!(!item.contains_key("assigned_agent"));
        let back: ConversationItem = from_item(item).unwrap();
        assert_eq!(back.into_conversation(), c);
    }

    #[test]
    fn an_item_written_before_the_desk_fields_reads_with_them_derived() {
        let thread = Thread {
            account_id: AccountId::new(),
            support_number: PhoneNumber::parse("14255550100").unwrap(),
            customer_number: PhoneNumber::parse("48601234567").unwrap(),
        };
        let mut c = Conversation::first_contact(&thread);
        c.assigned_agent = Some(UserId::parse("a-1").unwrap());
        c.customer_wrote(c.created_at);
        let mut item = to_item(&ConversationItem::of(&c)).unwrap();
        for field in [
            "assigned_agent_name",
            "last_customer_message_at",
            "needs_reply",
            "waiting_since",
        ] {
            item.remove(field);
        }
        let old = from_item::<ConversationItem>(item).unwrap().into_conversation();
        assert_eq!(old.assigned_agent_name.as_deref(), Some("a-1"), "the holder's id");
        assert_eq!(
            (old.needs_reply, old.waiting_since, old.last_customer_message_at),
            (false, None, None)
        );
    }
}
