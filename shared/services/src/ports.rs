//! The capabilities the services depend on, one small trait each. The DynamoDB, Secrets Manager
//! and TeleSign adapters implement them for production; `service::fakes` implements them in
//! memory for tests of the rules. Every method is one request to a store unless it says otherwise.

use std::future::Future;
use std::time::Instant;

use channel_domain::access::{Role, UserId};
use channel_domain::account::{Account, AccountSecret, SupportNumber};
use channel_domain::audit::AuditEntry;
use channel_domain::conversation::{Consent, Conversation, Message, Status, Thread};
use channel_domain::ids::{AccountId, ConversationId, MessageId, Timestamp};
use channel_domain::phone::PhoneNumber;
use channel_domain::telesign::validate::Validation;
use channel_domain::telesign::{ApiHost, Credentials, MessageAnswer, MessageState, SendSms, TelesignError};

/// A store failed for a reason of the store, not of the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Throttled, timed out or unreachable.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// An item does not have the shape the code writes.
    #[error("a stored item is malformed: {0}")]
    Corrupt(String),
    /// Another transaction held one of the items (DynamoDB's `TransactionConflict`): nothing was
    /// written and no condition was judged; read again and try again.
    #[error("the transaction conflicted with another: {0}")]
    Conflict(String),
}

/// A conditional write: done, or lost to a concurrent change of what was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// Every write is durable.
    Done,
    /// A condition failed: read again.
    Lost,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts.
    pub next_cursor: Option<String>,
}

/// The order of a transcript's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Oldest first (the default).
    #[default]
    Oldest,
    /// Newest first.
    Newest,
}

impl Order {
    /// `asc` or `desc`, as the API names them.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "asc" => Some(Self::Oldest),
            "desc" => Some(Self::Newest),
            _ => None,
        }
    }
}

/// A cursor that this API did not give out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not one this API gave out")]
pub struct BadCursor;

/// Where a listing or transcript read ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The client's cursor.
    #[error(transparent)]
    Cursor(#[from] BadCursor),
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A conversation moving from the status it was read in to another, touched at `at`: the one
/// write that every path (agent moves, replies, customer messages) makes on a conversation and
/// its live pointer, on the condition that the status is still `from`.
#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Its customer and support number (the pointer's key).
    pub thread: Thread,
    /// The status read.
    pub from: Status,
    /// The status after the move (`closed` deletes the pointer).
    pub to: Status,
    /// When.
    pub at: Timestamp,
    /// The new preview, when a message comes with the move.
    pub preview: Option<String>,
    /// The customer's consent, when it is known anew.
    pub opted_out: Option<bool>,
    /// Who holds it after the move.
    pub holder: Holder,
    /// What else must still be as read for the move to apply.
    pub guard: Guard,
    /// The audit entry written with it.
    pub audit: Option<AuditEntry>,
    /// The closed period an away message goes out for with this move: recorded on the live
    /// pointer, on the condition that no away message went out for it yet.
    pub away_for: Option<String>,
    /// Who wrote the message the move comes with, if one does.
    pub wrote: Option<Writer>,
}

/// Who wrote the message a move comes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// The customer: the conversation needs a reply.
    Customer,
    /// A person of the desk: the conversation is answered.
    Agent,
}

/// Who holds a conversation after a move.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Holder {
    /// Whoever held it.
    #[default]
    Keep,
    /// This user, with their name as the conversation keeps it.
    To(UserId, String),
    /// Nobody.
    Nobody,
}

/// Conditions a move carries besides the status read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Guard {
    /// The holder as read (`Some(None)`: unassigned): a move that depends on who holds the
    /// conversation applies only while that is still so.
    pub holder_read: Option<Option<UserId>>,
    /// A user who must still be a member of the conversation's account (the new holder).
    pub member: Option<UserId>,
    /// The last activity as read: a move that must not apply to a conversation that just got a
    /// message (the sweep's end of an idle one) applies only while it is still so.
    pub activity_read: Option<Timestamp>,
}

impl Move {
    /// The conversation as it is after the move.
    pub fn applied_to(&self, mut c: Conversation) -> Conversation {
        c.status = self.to;
        c.last_activity_at = self.at;
        if let Some(p) = &self.preview {
            c.last_message_preview = Some(p.clone());
        }
        if let Some(o) = self.opted_out {
            c.opted_out = o;
        }
        match &self.holder {
            Holder::Keep => {}
            Holder::To(u, name) => {
                c.assigned_agent = Some(u.clone());
                c.assigned_agent_name = Some(name.clone());
            }
            Holder::Nobody => {
                c.assigned_agent = None;
                c.assigned_agent_name = None;
            }
        }
        match self.wrote {
            Some(Writer::Customer) => c.customer_wrote(self.at),
            Some(Writer::Agent) => c.answered(),
            None => {}
        }
        c
    }
}

/// How a message's conversation is written with it: created (with its pointer, on the condition
/// that the customer has no live conversation), or moved.
#[derive(Debug, Clone, PartialEq)]
pub enum ConversationWrite {
    /// A first contact.
    Create(Conversation),
    /// An existing conversation.
    Move(Move),
}

impl ConversationWrite {
    /// The conversation's id.
    pub fn conversation_id(&self) -> &ConversationId {
        match self {
            Self::Create(c) => &c.conversation_id,
            Self::Move(m) => &m.conversation_id,
        }
    }
}

/// Reading conversations and moving them.
pub trait ConversationMoves: Send + Sync {
    /// One conversation (strongly consistent).
    fn conversation(
        &self,
        id: &ConversationId,
    ) -> impl Future<Output = Result<Option<Conversation>, StoreError>> + Send;
    /// Applies a move as one conditional write.
    fn apply_move(&self, m: &Move) -> impl Future<Output = Result<Committed, StoreError>> + Send;
}

/// A note to add to a conversation's transcript, with its audit entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Its account.
    pub account_id: AccountId,
    /// The note (`direction: note`).
    pub message: Message,
    /// Who held the conversation when the policy allowed the note: it is written only while
    /// they still do (`None`: nobody) and the conversation is not closed.
    pub holder_read: Option<UserId>,
    /// The entry (no text).
    pub audit: AuditEntry,
}

/// Writing notes.
pub trait ConversationNotes: Send + Sync {
    /// Writes a note with its entry in one transaction; `Lost` when the conversation is gone,
    /// closed or held by someone else by now.
    fn write_note(&self, note: &Note) -> impl Future<Output = Result<Committed, StoreError>> + Send;
}

/// Reading the dashboard and transcripts.
pub trait ConversationReads: Send + Sync {
    /// A conversation with a page of its messages in `order`.
    fn transcript(
        &self,
        id: &ConversationId,
        order: Order,
        limit: u32,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<Option<Conversation>, ReadError>> + Send;
    /// An account's conversations of a listing, newest activity first; every page holds `limit`
    /// conversations unless it is the last.
    fn list(
        &self,
        account_id: &AccountId,
        listing: &Listing,
        limit: u32,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<Page<Conversation>, ReadError>> + Send;
    /// How many live conversations the account has, the user holds, and nobody holds.
    fn counts(
        &self,
        account_id: &AccountId,
        user_id: &UserId,
    ) -> impl Future<Output = Result<Counts, StoreError>> + Send;
}

/// Which of an account's conversations a list holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    /// In these statuses: some live ones, or `closed` alone.
    Statuses(Vec<Status>),
    /// Live, held by this user, or by nobody (`None`).
    Held(Option<UserId>),
    /// A customer's, in these statuses (any of the four), held by someone (`Some(Some(user))`) or
    /// nobody (`Some(None)`) when asked.
    Customer {
        /// The customer's number.
        number: PhoneNumber,
        /// The account's support numbers: the pointer of each names the customer's live
        /// conversation with it (the service reads them with the account).
        support_numbers: Vec<PhoneNumber>,
        /// The statuses listed.
        statuses: Vec<Status>,
        /// Who holds them, when the list asks.
        held: Option<Option<UserId>>,
    },
}

/// The desk's counters of an account's live conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Counts {
    /// Every live conversation.
    pub all: u64,
    /// Those the caller holds.
    pub mine: u64,
    /// Those nobody holds.
    pub unassigned: u64,
}

/// The live conversation of a thread as its pointer has it, and the customer's consent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ThreadState {
    /// The live conversation and its status, if there is one.
    pub live: Option<(ConversationId, Status)>,
    /// Whether the customer has opted out of this account.
    pub opted_out: bool,
    /// The account that owns the support number, as read with the pointer (no transaction
    /// checks the number's claim: that one item would make every message to the number conflict).
    pub number_owner: Option<AccountId>,
    /// The stamp of the account's keys, as read with the pointer.
    pub key_version: Option<i64>,
    /// The customer's consent item as read: absent, or its order (see [`ConsentWrite::order`];
    /// `None` for an item written before changes were ordered).
    pub consent_read: Option<Option<String>>,
    /// The closed period the live conversation last got an away message for.
    pub away_sent_for: Option<String>,
    /// The account's name and the support number with its settings, read with the pointer (a
    /// settings change applies to the next message).
    pub number: Option<(String, channel_domain::account::SupportNumber)>,
    /// The customer's opt-out tag when an opt-out of theirs was kept by an erasure (then
    /// `opted_out` is true too, and an opt-in lifts it).
    pub kept_opt_out: Option<String>,
}

/// An inbound message to store, with everything written in its one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundRecord {
    /// The customer and support number.
    pub thread: Thread,
    /// TeleSign's reference: seen once.
    pub reference_id: String,
    /// The message.
    pub message: Message,
    /// The raw callback body, kept with the message.
    pub raw: String,
    /// The conversation created or moved.
    pub conversation: ConversationWrite,
    /// A consent keyword: its ledger entry, and the change it makes.
    pub consent: Option<ConsentWrite>,
    /// The automated messages it is due, recorded with it and sent once it is stored.
    pub automated: Vec<Message>,
    /// The closed period an away message goes out for (on the live pointer, on the condition
    /// that none went out for it yet).
    pub away_for: Option<String>,
    /// The tag of an opt-out kept by an erasure that this message's opt-in lifts.
    pub lift_opt_out: Option<String>,
}

/// A consent keyword as stored: always a ledger entry; the customer's consent item when the
/// keyword is newer than the last change (on the condition that the item is still as read);
/// a notice and an audit entry when it changes the customer's state.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentWrite {
    /// What the customer asked.
    pub consent: Consent,
    /// Its place in the customer's order: TeleSign's `submit_timestamp` (epoch milliseconds,
    /// zero-padded; the receive time when missing, and never later than it) and the reference.
    pub order: String,
    /// What it did.
    pub effect: channel_domain::automation::ConsentEffect,
    /// The consent item as read (see [`ThreadState::consent_read`]): the write's condition.
    pub read: Option<Option<String>>,
    /// Whether the customer was opted out as read.
    pub was_opted_out: bool,
    /// The notice in the conversation and the audit entry, when the state changes.
    pub change: Option<(Message, AuditEntry)>,
}

/// What became of an inbound write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundWrite {
    /// Stored.
    Stored,
    /// The reference was stored before.
    Duplicate,
    /// The conversation changed (or was created) since it was read.
    Lost,
}

/// An idle conversation ended by the sweep, with what is written with it.
#[derive(Debug, Clone, PartialEq)]
pub struct IdleEnd {
    /// The end, conditioned on the status, holder and activity read (and its audit entry).
    pub end: Move,
    /// The system message that says why.
    pub notice: Message,
    /// The closing message, recorded to go out.
    pub closing: Option<Message>,
}

/// Idle conversations, for the auto-close sweep.
pub trait IdleConversations: Send + Sync {
    /// Conversations of an account whose last activity is before `before`, oldest first, at most
    /// `limit`: the live ones, or (`closed`) the ended ones, whose last activity is their end (the
    /// activity index: eventually consistent, so each change is conditioned on what it read).
    fn idle(
        &self,
        account_id: &AccountId,
        closed: bool,
        before: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Conversation>, StoreError>> + Send;
    /// One transaction: the end, the notice, the closing message, the entry.
    fn end_idle(&self, e: &IdleEnd) -> impl Future<Output = Result<Committed, StoreError>> + Send;
}

/// Customer messages, stored exactly once.
pub trait InboundLog: Send + Sync {
    /// The thread's live conversation, consent (with an opt-out kept by `opt_out_tag`) and the
    /// number's owner (one batched read).
    fn thread_state(
        &self,
        thread: &Thread,
        opt_out_tag: &str,
    ) -> impl Future<Output = Result<ThreadState, StoreError>> + Send;
    /// One transaction: the reference seen, the message, the conversation, the consent.
    fn record_inbound(&self, r: &InboundRecord) -> impl Future<Output = Result<InboundWrite, StoreError>> + Send;
}

/// An outbound message to record before it is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundRecord {
    /// The customer and support number.
    pub thread: Thread,
    /// The message, `unknown` ("sending").
    pub message: Message,
    /// The conversation created or moved.
    pub conversation: ConversationWrite,
    /// The idempotency key claimed with it, and the request's fingerprint.
    pub idempotency: Option<(IdempotencyScope, String)>,
    /// The audit entry of the send.
    pub audit: AuditEntry,
    /// The customer's opt-out tag (`privacy::OptOutKey::tag`): an opt-out kept after an
    /// erasure refuses the send in the same transaction as the consent.
    pub opt_out_tag: Option<String>,
}

/// An idempotency key in its account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyScope {
    /// The account.
    pub account_id: AccountId,
    /// The caller's key.
    pub key: channel_domain::ids::IdempotencyKey,
}

/// What became of the recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeginWrite {
    /// Recorded: send it.
    Begun,
    /// The customer has opted out (checked in the same transaction).
    OptedOut,
    /// The idempotency key was claimed before.
    KeyTaken,
    /// The conversation changed since it was read.
    Lost,
}

/// How a send ended, as the message and the key record it.
#[derive(Debug, Clone, PartialEq)]
pub struct Settlement {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// The message.
    pub message_id: MessageId,
    /// Its state now.
    pub state: MessageState,
    /// TeleSign's reference, if it gave one.
    pub reference_id: Option<String>,
    /// TeleSign's status code.
    pub code: Option<u32>,
    /// TeleSign's words or the channel's reason.
    pub description: String,
    /// The key and what it keeps: the outcome to replay, or `None` to forget the key.
    pub idempotency: Option<(IdempotencyScope, Option<channel_domain::sent::SentMessage>)>,
}

/// An idempotency record as stored.
#[derive(Debug, Clone, PartialEq)]
pub enum IdempotencyRecord {
    /// The first request is still under way.
    Pending {
        /// Its fingerprint.
        fingerprint: String,
    },
    /// The first request's outcome.
    Done {
        /// Its fingerprint.
        fingerprint: String,
        /// The outcome, to replay.
        outcome: Box<channel_domain::sent::SentMessage>,
    },
}

/// Outbound messages: recorded before they are sent, settled after.
pub trait OutboundLog: Send + Sync {
    /// The thread's live conversation (pointer and consent in one read, then the conversation).
    fn live_conversation(
        &self,
        thread: &Thread,
    ) -> impl Future<Output = Result<(Option<Conversation>, bool), StoreError>> + Send;
    /// The account that owns a support number, read now (its claim, strongly consistent): a number
    /// removed, or claimed by another account, since an account was cached sends no more. A read
    /// of its own, never a condition of the send's transaction: every send from the number would
    /// then conflict with every other.
    fn number_owner(&self, number: &PhoneNumber) -> impl Future<Output = Result<Option<AccountId>, StoreError>> + Send;
    /// One transaction: consent checked, key claimed, message recorded, conversation written.
    fn begin_outbound(&self, r: &OutboundRecord) -> impl Future<Output = Result<BeginWrite, StoreError>> + Send;
    /// One transaction: the message's status (never backwards), the reference's pointer, the key's outcome.
    fn settle(&self, s: &Settlement) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Idempotency records of sends.
pub trait IdempotencyLog: Send + Sync {
    /// The record of a key.
    fn idempotency(
        &self,
        scope: &IdempotencyScope,
    ) -> impl Future<Output = Result<Option<IdempotencyRecord>, StoreError>> + Send;
}

/// Where a message is: its conversation and id.
pub type MessageRef = (ConversationId, MessageId);

/// A delivery report's status for a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    /// The account whose callback carried it.
    pub account_id: AccountId,
    /// The state reached.
    pub state: MessageState,
    /// Its rank: the update applies only over a lower one.
    pub rank: u8,
    /// TeleSign's code.
    pub code: u32,
    /// TeleSign's words.
    pub description: String,
    /// TeleSign's reference.
    pub reference_id: String,
}

/// A message's status as stored, to explain a refused update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredStatus {
    /// The account.
    pub account_id: AccountId,
    /// Whether it is outbound.
    pub outbound: bool,
    /// Its last TeleSign code.
    pub code: Option<u32>,
}

/// Delivery reports on outbound messages.
pub trait ReportLog: Send + Sync {
    /// The message a TeleSign reference points at.
    fn locate(&self, reference_id: &str) -> impl Future<Output = Result<Option<MessageRef>, StoreError>> + Send;
    /// Moves the status forward: `Done`, or `Lost` when the message is missing, not this
    /// account's outbound message, or already at this rank or later.
    fn advance(&self, at: &MessageRef, u: &StatusUpdate) -> impl Future<Output = Result<Committed, StoreError>> + Send;
    /// The stored status of a message.
    fn stored_status(&self, at: &MessageRef) -> impl Future<Output = Result<Option<StoredStatus>, StoreError>> + Send;
    /// The stamp of the account's keys as its record has it (changed by every key change).
    fn key_stamp(&self, account_id: &AccountId) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;
}

/// A verified callback that could not be stored at once, as it waits in the parking queue: the
/// raw body as signed (base64), the header that signed it, the account of its URL.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ParkedCallback {
    /// The account id of the callback URL.
    pub account_id: AccountId,
    /// The `Authorization` header it came with (kept for an audit; the replay does not verify
    /// again: it was verified before it was parked, and only the callback function may park).
    pub authorization: Option<String>,
    /// The raw body, base64.
    pub body: String,
    /// Why it was parked.
    pub reason: String,
    /// When.
    pub parked_at: Timestamp,
}

impl ParkedCallback {
    /// A callback as received.
    pub fn of(account_id: &AccountId, authorization: Option<&str>, body: &[u8], reason: String) -> Self {
        use base64::Engine;
        Self {
            account_id: account_id.clone(),
            authorization: authorization.map(str::to_owned),
            body: base64::engine::general_purpose::STANDARD.encode(body),
            reason,
            parked_at: Timestamp::now(),
        }
    }

    /// The raw body, or `None` when the message is not one this channel parked.
    pub fn raw_body(&self) -> Option<Vec<u8>> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.decode(&self.body).ok()
    }
}

/// The parking queue could not take a callback.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the parking queue is unavailable: {0}")]
pub struct QueueError(pub String);

/// Where verified callbacks wait when they cannot be stored at once.
pub trait CallbackQueue: Send + Sync {
    /// Parks one callback for a replay.
    fn park(&self, callback: &ParkedCallback) -> impl Future<Output = Result<(), QueueError>> + Send;
}

/// A queue refused messages: those from `done` on were not queued (the ones before were).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the queue took {done} messages, then failed: {error}")]
pub struct Unqueued {
    /// How many of the jobs, in order, were queued.
    pub done: usize,
    /// Why the next was not.
    pub error: QueueError,
}

/// Where work done off the request path waits for the worker (at least once: a job may come
/// twice, and is idempotent where it is done).
pub trait WorkQueue: Send + Sync {
    /// Queues jobs, in order (batched as the queue allows).
    fn enqueue(&self, jobs: &[channel_domain::jobs::Job]) -> impl Future<Output = Result<(), Unqueued>> + Send;
}

/// Where the accounts' turns of the sweep wait for the sweeper (at least once: a turn may come
/// twice, and every end it makes is conditioned on the conversation as read).
pub trait SweepQueue: Send + Sync {
    /// Queues turns (batched as the queue allows).
    fn queue_sweeps(
        &self,
        tasks: &[channel_domain::jobs::SweepTask],
    ) -> impl Future<Output = Result<(), Unqueued>> + Send;
}

/// The export bucket failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the export bucket failed: {0}")]
pub struct ExportError(pub String);

/// Where an export too large to answer waits to be fetched, by a link that expires.
pub trait ExportStore: Send + Sync {
    /// Stores `body` under `key`; answers a link that fetches it until `valid_for` has passed.
    fn publish(
        &self,
        key: &str,
        body: Vec<u8>,
        valid_for: std::time::Duration,
    ) -> impl Future<Output = Result<String, ExportError>> + Send;
}

/// An automated message recorded to go out, read back to send it: its conversation (the thread
/// and the account) and the message as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingSend {
    /// The conversation.
    pub conversation: Conversation,
    /// The message.
    pub message: Message,
}

/// What claiming a recorded message for its one send came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendClaim {
    /// This worker sends it, and nobody else ever will.
    Claimed,
    /// Another try claimed it first (a job that came twice), or it went out already.
    Taken,
    /// The customer opted out since it was recorded (its kind asks for consent): not sent.
    OptedOut,
}

/// Automated messages recorded by other paths, sent once by the worker.
pub trait Outbox: Send + Sync {
    /// The message and its conversation (strongly consistent; `None` once erased).
    fn pending_send(
        &self,
        conversation_id: &ConversationId,
        message_id: &MessageId,
    ) -> impl Future<Output = Result<Option<PendingSend>, StoreError>> + Send;
    /// Claims the message for its send: only while it has never been claimed nor sent, and,
    /// with `needs_consent`, only while the customer has not opted out (one transaction).
    fn claim_send(
        &self,
        pending: &PendingSend,
        needs_consent: bool,
    ) -> impl Future<Output = Result<SendClaim, StoreError>> + Send;
}

/// What claiming numbers came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Done.
    Done,
    /// This number belongs to an account already.
    NumberInUse(PhoneNumber),
    /// This TeleSign customer id belongs to an account already (TeleSign posts every callback of
    /// a customer id to one URL).
    CustomerIdInUse(String),
    /// The account does not exist.
    NoAccount,
}

/// Accounts and the claims on their numbers. Every change is one transaction with its audit entry.
pub trait AccountStore: Send + Sync {
    /// One account.
    fn account(&self, id: &AccountId) -> impl Future<Output = Result<Option<Account>, StoreError>> + Send;
    /// Every account, oldest first.
    fn accounts(&self) -> impl Future<Output = Result<Vec<Account>, StoreError>> + Send;
    /// Creates an account and claims its numbers, all or nothing. An account of this id found
    /// already is `Done`: ids are new, so only an earlier try of the same creation (one that
    /// timed out after committing) can have written it; a creation can be tried again.
    fn create_account(&self, a: &Account, audit: &AuditEntry)
        -> impl Future<Output = Result<Claim, StoreError>> + Send;
    /// Adds a number: the claim and the account's list together.
    fn add_number(
        &self,
        id: &AccountId,
        n: &SupportNumber,
        audit: &AuditEntry,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;
    /// Stamps the account record with the version of its keys.
    fn stamp_keys(&self, id: &AccountId, version: i64) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Replaces a number's settings, on the condition that they are still `before` (as read);
    /// `false` when the account does not own the number or its settings changed meanwhile.
    fn change_number(
        &self,
        id: &AccountId,
        before: &SupportNumber,
        after: &SupportNumber,
        audit: &AuditEntry,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Removes a number; `false` when the account does not own it.
    fn remove_number(
        &self,
        id: &AccountId,
        n: &PhoneNumber,
        audit: &AuditEntry,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Records a rotation of the account's key (its time on the account, and the entry);
    /// `false` when the account is gone.
    fn record_rotation(
        &self,
        id: &AccountId,
        audit: &AuditEntry,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Changes an account's name and retention with the entry; `false` when the account is gone.
    fn change_account(
        &self,
        change: &AccountChange,
        audit: &AuditEntry,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Deletes an account: its members, then the record with every claim (its numbers', its
    /// customer id's), the entry and the retired record `retired` (what its customers' export,
    /// erasure and expiry go on with) in one transaction; `false` when the account is gone. Safe
    /// to repeat: members already deleted are deleted again as nothing.
    fn delete_account(
        &self,
        a: &Account,
        retired: &Retired,
        audit: &AuditEntry,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// A deleted account, as long as something of its customers is left: its conversations expire
/// by its retention, and an operator can still export or erase a customer's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retired {
    /// The account's id.
    pub account_id: AccountId,
    /// Its name when it was deleted.
    pub name: String,
    /// Its numbers when it was deleted (the live pointers of its customers' threads).
    pub numbers: Vec<PhoneNumber>,
    /// Its retention: `None` when the operator kept its conversations.
    pub retention_days: Option<u32>,
}

impl Retired {
    /// The record a deletion leaves: the account's retention, else
    /// [`channel_domain::account::DELETED_ACCOUNT_RETENTION_DAYS`]; none when `keep`.
    pub fn of(a: &Account, keep: bool) -> Self {
        Self {
            account_id: a.account_id.clone(),
            name: a.name.clone(),
            numbers: a.numbers.iter().map(|n| n.number.clone()).collect(),
            retention_days: (!keep).then(|| {
                a.retention_days
                    .unwrap_or(channel_domain::account::DELETED_ACCOUNT_RETENTION_DAYS)
            }),
        }
    }
}

/// Deleted accounts whose customers' data is still held.
pub trait RetiredAccounts: Send + Sync {
    /// Every one (1 Query on the index).
    fn retired(&self) -> impl Future<Output = Result<Vec<Retired>, StoreError>> + Send;
    /// One (1 GetItem).
    fn retired_account(&self, id: &AccountId) -> impl Future<Output = Result<Option<Retired>, StoreError>> + Send;
    /// Forgets one once nothing of it is left (1 DeleteItem).
    fn forget_retired(&self, account_id: &AccountId) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Leases: one holder at a time of a named piece of work (the sweep), until the lease expires, so
/// that a run that overlaps another (a schedule that fires twice, a run longer than its period)
/// does nothing instead of racing it.
pub trait Leases: Send + Sync {
    /// Takes the lease `name` for `holder` until `until` (epoch seconds): `true` when it was free
    /// or expired, `false` while another holds it (1 conditional PutItem).
    fn acquire(&self, name: &str, holder: &str, until: i64) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Gives the lease back, if `holder` still holds it (1 conditional DeleteItem).
    fn release(&self, name: &str, holder: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What an operator changes of an account (`PATCH /accounts/{id}`): its new name and retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountChange {
    /// The account.
    pub account_id: AccountId,
    /// Its name after the change.
    pub name: String,
    /// Its retention after the change.
    pub retention_days: Option<u32>,
}

/// A member of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The account.
    pub account_id: AccountId,
    /// The user (a token's `sub`).
    pub user_id: UserId,
    /// `agent` or `supervisor`.
    pub role: Role,
    /// The name to show, when the operator gave one.
    pub display_name: Option<String>,
    /// When they were added (or their role last changed).
    pub added_at: Timestamp,
}

/// The members of accounts, and the conversations they hold.
pub trait Members: Send + Sync {
    /// A user's membership of an account (strongly consistent).
    fn member(
        &self,
        account_id: &AccountId,
        user_id: &UserId,
    ) -> impl Future<Output = Result<Option<Member>, StoreError>> + Send;
    /// A page of an account's members, by user id: `limit` after `cursor`, and the next page's
    /// cursor only when more follow.
    fn members(
        &self,
        account_id: &AccountId,
        limit: u32,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<Page<Member>, ReadError>> + Send;
    /// A user's memberships (from an index: a change shows within a second).
    fn memberships(&self, user_id: &UserId) -> impl Future<Output = Result<Vec<Member>, StoreError>> + Send;
    /// Adds a member or changes their role, with its entry; `Lost` when the account is gone.
    fn put_member(&self, m: &Member, audit: &AuditEntry) -> impl Future<Output = Result<Committed, StoreError>> + Send;
    /// Removes a member, with its entry; `false` when they were not one.
    fn remove_member(
        &self,
        account_id: &AccountId,
        user_id: &UserId,
        audit: &AuditEntry,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The account's conversations that are not closed and that `user_id` holds (read again
    /// before anything is done to them).
    fn held_by(
        &self,
        account_id: &AccountId,
        user_id: &UserId,
    ) -> impl Future<Output = Result<Vec<ConversationId>, StoreError>> + Send;
}

/// What writing a canned response came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CannedWrite {
    /// Written.
    Done,
    /// A new one's account, or a changed one, is not there.
    Missing,
    /// A new one would pass [`channel_domain::canned::MAX_PER_ACCOUNT`].
    Full,
}

/// An account's canned responses.
pub trait CannedResponses: Send + Sync {
    /// Every canned response of an account.
    fn canned_responses(
        &self,
        account_id: &AccountId,
    ) -> impl Future<Output = Result<Vec<channel_domain::canned::CannedResponse>, StoreError>> + Send;
    /// One canned response.
    fn canned_response(
        &self,
        account_id: &AccountId,
        id: &channel_domain::ids::CannedResponseId,
    ) -> impl Future<Output = Result<Option<channel_domain::canned::CannedResponse>, StoreError>> + Send;
    /// Writes a canned response with its entry: a new one on the condition that its account
    /// exists and keeps fewer than [`channel_domain::canned::MAX_PER_ACCOUNT`] (counted with it), a change
    /// on the condition that it still exists.
    fn put_canned_response(
        &self,
        r: &channel_domain::canned::CannedResponse,
        new: bool,
        audit: &AuditEntry,
    ) -> impl Future<Output = Result<CannedWrite, StoreError>> + Send;
    /// Deletes a canned response with its entry; `false` when there was none.
    fn delete_canned_response(
        &self,
        account_id: &AccountId,
        id: &channel_domain::ids::CannedResponseId,
        audit: &AuditEntry,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Reading the audit trail.
pub trait AuditLog: Send + Sync {
    /// An account's entries, newest first.
    fn audit(
        &self,
        account_id: &AccountId,
        limit: u32,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<Page<AuditEntry>, ReadError>> + Send;
}

/// Why a secret could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyStoreError {
    /// No secret of that name.
    #[error("the secret does not exist")]
    NotFound,
    /// A secret of that name exists already.
    #[error("the secret exists already")]
    AlreadyExists,
    /// The secret is not the JSON the channel writes.
    #[error("the secret is malformed")]
    Malformed,
    /// The store failed or could not be reached.
    #[error("the secret store is unavailable: {0}")]
    Unavailable(String),
}

/// The accounts' TeleSign keys.
pub trait KeyStore: Send + Sync {
    /// The secret name of an account.
    fn name_for(&self, account_id: &AccountId) -> String;
    /// Reads a secret.
    fn read(&self, name: &str) -> impl Future<Output = Result<AccountSecret, KeyStoreError>> + Send;
    /// Creates a secret; fails if the name is taken.
    fn create(&self, name: &str, s: &AccountSecret) -> impl Future<Output = Result<(), KeyStoreError>> + Send;
    /// Replaces a secret with a new version.
    fn replace(&self, name: &str, s: &AccountSecret) -> impl Future<Output = Result<(), KeyStoreError>> + Send;
    /// The deployment's key of opt-out tags (its own secret, not an account's).
    fn opt_out_key(&self) -> impl Future<Output = Result<channel_domain::privacy::OptOutKey, KeyStoreError>> + Send;
    /// Deletes a secret after a recovery window (undoing a creation known not to have
    /// happened; within the window it can still be restored).
    fn schedule_deletion(&self, name: &str) -> impl Future<Output = Result<(), KeyStoreError>> + Send;
}

/// TeleSign's messaging API.
pub trait SmsGateway: Send + Sync {
    /// Sends an SMS once (retrying only what TeleSign cannot have carried out).
    fn send_sms(
        &self,
        creds: &Credentials,
        host: ApiHost,
        sms: &SendSms<'_>,
        deadline: Instant,
    ) -> impl Future<Output = Result<MessageAnswer, TelesignError>> + Send;
    /// Asks whether credentials work. `Err`: undetermined.
    fn probe(
        &self,
        creds: &Credentials,
        host: ApiHost,
        deadline: Instant,
    ) -> impl Future<Output = Result<Validation, TelesignError>> + Send;
}

/// One conversation of a customer as an export holds it: the conversation with every message,
/// and the raw callback bodies of the inbound ones still kept.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationFile {
    /// The conversation, `messages` filled, oldest first.
    pub conversation: Conversation,
    /// `(message id, raw callback body)` of inbound messages.
    pub raw_payloads: Vec<(MessageId, String)>,
}

/// What erasing one conversation deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Erased {
    /// Conversations.
    pub conversations: usize,
    /// Messages (with their raw bodies).
    pub messages: usize,
    /// Inbound and outbound references, live pointers and holds.
    pub references: usize,
    /// Idempotency records holding a send's answer.
    pub idempotency_records: usize,
    /// Items of the consent partition (the state and its ledger).
    pub consent_records: usize,
}

impl std::ops::AddAssign for Erased {
    fn add_assign(&mut self, o: Self) {
        self.conversations += o.conversations;
        self.messages += o.messages;
        self.references += o.references;
        self.idempotency_records += o.idempotency_records;
        self.consent_records += o.consent_records;
    }
}

/// What the table holds of one customer with an account, for the operators' export and erasure.
pub trait CustomerRecords: Send + Sync {
    /// The ids of the customer's conversations with the account: their file (strongly
    /// consistent), and for conversations older than files their closed ones by the index and the
    /// live one of each of `numbers` by its pointer. Nothing else of the account is read.
    fn conversations_of(
        &self,
        account_id: &AccountId,
        numbers: &[PhoneNumber],
        customer: &PhoneNumber,
    ) -> impl Future<Output = Result<Vec<ConversationId>, StoreError>> + Send;
    /// A conversation with all its messages and raw bodies; `None` when it is gone.
    fn conversation_file(
        &self,
        id: &ConversationId,
    ) -> impl Future<Output = Result<Option<ConversationFile>, StoreError>> + Send;
    /// Every item of the customer's consent partition (the state and the ledger of changes), as JSON.
    fn consent_records(
        &self,
        account_id: &AccountId,
        customer: &PhoneNumber,
    ) -> impl Future<Output = Result<Vec<serde_json::Value>, StoreError>> + Send;
    /// The account's audit entries whose target is one of `targets`.
    fn entries_about(
        &self,
        account_id: &AccountId,
        targets: &[String],
    ) -> impl Future<Output = Result<Vec<AuditEntry>, StoreError>> + Send;
    /// Deletes a conversation of `customer`: its live pointer and hold first, then its messages
    /// with the references and idempotency records they name, in pages, the conversation item,
    /// and its entry in the customer's file last (so an interrupted erasure is found again and
    /// finished). Nothing found: nothing counted.
    fn erase_conversation(
        &self,
        account_id: &AccountId,
        customer: &PhoneNumber,
        id: &ConversationId,
    ) -> impl Future<Output = Result<Erased, StoreError>> + Send;
    /// Deletes the customer's consent partition; when they had opted out (or an earlier erasure
    /// kept their opt-out), the opt-out `tag` is written first and kept. Answers the items
    /// deleted and whether an opt-out is kept.
    fn erase_consent(
        &self,
        account_id: &AccountId,
        customer: &PhoneNumber,
        tag: &str,
    ) -> impl Future<Output = Result<(usize, bool), StoreError>> + Send;
    /// Whether an opt-out is kept by its tag (an erasure kept it, no START lifted it since).
    fn opt_out_kept(&self, account_id: &AccountId, tag: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Writes an entry alone (an export's, an erasure's: their work is many requests).
    fn record(&self, audit: &AuditEntry) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A live connection of the console (an API Gateway WebSocket connection), as its `$connect`
/// stored it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Connection {
    /// API Gateway's connection id.
    pub connection_id: String,
    /// The token's `sub`.
    pub user_id: UserId,
    /// The channel's roles the token held.
    pub roles: Vec<Role>,
    /// When it connected.
    pub connected_at: Timestamp,
    /// Epoch seconds after which it is gone whatever happened (DynamoDB's TTL deletes it).
    pub expires_at: i64,
}

/// Whose events a connection is listed for: one account's, or every account's (operators).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Audience {
    /// The members of one account.
    Account(AccountId),
    /// Operators: every account.
    Operators,
}

/// The live connections, listed by the audience whose events they receive.
pub trait Connections: Send + Sync {
    /// Lists a connection for each audience (1 BatchWriteItem; with its own item, for the
    /// disconnect).
    fn open(&self, c: &Connection, audiences: &[Audience]) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The connections listed for an audience, those whose token expired too (1 Query).
    fn listening(&self, audience: &Audience) -> impl Future<Output = Result<Vec<Connection>, StoreError>> + Send;
    /// Unlists a connection from one audience (1 DeleteItem).
    fn unlist(&self, audience: &Audience, connection_id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Forgets a connection everywhere (1 GetItem, 1 BatchWriteItem); nothing when unknown.
    fn close(&self, connection_id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Why a post to a connection did not arrive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostError {
    /// The connection is gone (API Gateway's 410): forget it.
    #[error("the connection is gone")]
    Gone,
    /// Anything else (throttled, unreachable).
    #[error("the post failed: {0}")]
    Failed(String),
}

/// The WebSocket API's management API (`@connections`).
pub trait Sockets: Send + Sync {
    /// Sends one message to one connection.
    fn post(&self, connection_id: &str, payload: &[u8]) -> impl Future<Output = Result<(), PostError>> + Send;
    /// Closes a connection (one already gone is closed too).
    fn disconnect(&self, connection_id: &str) -> impl Future<Output = Result<(), PostError>> + Send;
}

/// The event bus refused or did not take some events.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the event bus did not take the events: {0}")]
pub struct BusError(pub String);

/// The event bus of integrations (EventBridge).
pub trait EventBus: Send + Sync {
    /// Puts up to ten events (1 PutEvents); fails unless every one was taken.
    fn publish(&self, events: &[channel_domain::events::Event]) -> impl Future<Output = Result<(), BusError>> + Send;
}
