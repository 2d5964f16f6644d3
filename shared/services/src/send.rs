//! Sending an SMS from the business: recorded before it is sent, sent once through TeleSign,
//! settled with its answer, and answered again from its record when the request is retried.

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::access::{admit, Refusal};
use crate::backoff::Backoff;
use crate::directory::{AccountDirectory, DirectoryError, Freshness};
use crate::ports::{
    BeginWrite, ConversationMoves, ConversationWrite, Guard, Holder, IdempotencyLog, IdempotencyRecord,
    IdempotencyScope, Members, Move, OutboundLog, OutboundRecord, Settlement, SmsGateway, StoreError, Writer,
};
use channel_domain::access::{Action, Caller, Standing, UserId};
use channel_domain::account::Account;
use channel_domain::audit::{Actor, AuditAction, AuditEntry};
use channel_domain::conversation::{external_id, next, preview, Conversation, Event, Message, Status, Thread};
use channel_domain::ids::{AccountId, ConversationId, IdempotencyKey};
use channel_domain::phone::PhoneNumber;
use channel_domain::sms::TextInfo;
use channel_domain::telesign::status::state_of_code;
use channel_domain::telesign::{FailureKind, MessageAnswer, MessageState, SendSms, TelesignError};

/// How often a send whose conversation changed under it is tried again.
const SEND_ATTEMPTS: u32 = 4;

/// The waits between those tries.
const RACE_BACKOFF: Backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(100));

/// How often a settle is tried: after TeleSign took a message, a failed settle (a timeout that may
/// have committed, a conflict with its delivery report) is tried again, never answered "not sent".
const SETTLE_ATTEMPTS: u32 = 4;

/// The waits between settles.
const SETTLE_BACKOFF: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(1_000));

/// The waits while the first request with a key runs.
const PENDING_BACKOFF: Backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(400));

/// What an agent (or the business) sends, checked at the edge.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The text.
    pub text: String,
    /// Its encoding and parts (see [`channel_domain::sms::check_text`]).
    pub info: TextInfo,
    /// The agent sending it.
    pub agent: Option<UserId>,
    /// Their name, as the message keeps it.
    pub agent_name: Option<String>,
    /// The caller's idempotency key.
    pub idempotency: Option<IdempotencyKey>,
    /// The public base URL delivery reports come back to.
    pub callback_base: Option<String>,
    /// When TeleSign must have answered.
    pub deadline: Instant,
}

pub use channel_domain::sent::{SentMessage, Verdict};

/// Why nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// No such conversation.
    #[error("no conversation has this id")]
    ConversationNotFound,
    /// No such account.
    #[error("no messaging account has this id")]
    AccountNotFound,
    /// The `from` number is not the account's.
    #[error("{0} is not a support number of this account")]
    UnknownNumber(PhoneNumber),
    /// The conversation is closed.
    #[error("the conversation is closed; start a new one with POST /messages")]
    ConversationClosed,
    /// The customer opted out.
    #[error("the customer has opted out (STOP); nothing can be sent until they text START")]
    OptedOut,
    /// The key was used for another request.
    #[error("this Idempotency-Key was used for another request")]
    KeyReused,
    /// The first request with the key is still running.
    #[error("a request with this Idempotency-Key is still being sent; retry shortly")]
    InProgress,
    /// The first request with the key failed and forgot it.
    #[error("the first request with this Idempotency-Key failed; send again")]
    FirstAttemptFailed,
    /// The conversation kept changing.
    #[error("the conversation kept changing; send again")]
    Busy,
    /// The caller's role does not allow it.
    #[error("your role does not allow this")]
    Forbidden,
    /// Another agent holds the conversation.
    #[error("the conversation is assigned to {0}")]
    AssignedToOther(String),
    /// The account or its keys could not be read.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SendError {
    /// A refusal of the gate; `hidden` is what a hidden thing answers.
    fn refused(r: Refusal, hidden: Self) -> Self {
        match r {
            Refusal::Forbidden => Self::Forbidden,
            Refusal::Hidden => hidden,
            Refusal::HeldBy(h) => Self::AssignedToOther(h),
            Refusal::Store(e) => Self::Store(e),
        }
    }
}

/// The send service.
#[derive(Debug)]
pub struct Sender<D, O, G> {
    /// Accounts and keys.
    pub directory: D,
    /// Outbound messages and idempotency records.
    pub log: O,
    /// TeleSign.
    pub gateway: G,
}

/// One attempt's inputs: the account, the conversation as read, whether it exists yet.
struct Attempt<'a> {
    account: &'a Account,
    conversation: &'a Conversation,
    exists: bool,
    fingerprint: &'a str,
    caller: &'a Caller,
    standing: Standing,
}

impl<D, O, G> Sender<D, O, G>
where
    D: AccountDirectory,
    O: OutboundLog + IdempotencyLog + ConversationMoves + Members,
    G: SmsGateway,
{
    /// A reply in a conversation, by a caller the policy lets work it.
    pub async fn reply(
        &self,
        caller: &Caller,
        conversation_id: &ConversationId,
        draft: &Draft,
    ) -> Result<SentMessage, SendError> {
        let fingerprint = fingerprint(&["reply", conversation_id.as_str(), &draft.text]);
        for round in 1..=SEND_ATTEMPTS {
            let conversation = self.log_conversation(conversation_id).await?;
            let holder = conversation.assigned_agent.as_deref();
            let standing = admit(&self.log, caller, &conversation.account_id, Action::Work { holder })
                .await
                .map_err(|r| SendError::refused(r, SendError::ConversationNotFound))?;
            let account = self
                .owner_of(&conversation.account_id, &conversation.support_number)
                .await?;
            let attempt = Attempt {
                account: &account,
                conversation: &conversation,
                exists: true,
                fingerprint: &fingerprint,
                caller,
                standing,
            };
            if let Some(sent) = self.send_once(&attempt, draft).await? {
                return Ok(sent);
            }
            RACE_BACKOFF.sleep(round).await;
        }
        Err(SendError::Busy)
    }

    /// The account, which must own `number`: its claim is read with every send (a number removed,
    /// or claimed by another account, since the account was cached stops sending at once), and
    /// the account again when the cached one does not list it yet.
    async fn owner_of(&self, id: &AccountId, number: &PhoneNumber) -> Result<Account, SendError> {
        let cached = self.account(id).await?;
        if self.log.number_owner(number).await?.as_ref() != Some(id) {
            return Err(SendError::UnknownNumber(number.clone()));
        }
        if cached.number(number).is_some() {
            return Ok(cached);
        }
        let fresh = self.directory.account(id, Freshness::Fresh).await?;
        match fresh {
            Some(account) if account.number(number).is_some() => Ok(account),
            Some(_) => Err(SendError::UnknownNumber(number.clone())),
            None => Err(SendError::AccountNotFound),
        }
    }

    /// A business-initiated message from a support number of the account to a customer: into the
    /// customer's live conversation, or a new one.
    pub async fn outreach(&self, caller: &Caller, thread: &Thread, draft: &Draft) -> Result<SentMessage, SendError> {
        let t = thread;
        let standing = admit(&self.log, caller, &t.account_id, Action::StartConversation)
            .await
            .map_err(|r| SendError::refused(r, SendError::AccountNotFound))?;
        let fingerprint = fingerprint(&[
            "outreach",
            t.account_id.as_str(),
            t.support_number.as_str(),
            t.customer_number.as_str(),
            &draft.text,
        ]);
        let account = self.owner_of(&t.account_id, &t.support_number).await?;
        for round in 1..=SEND_ATTEMPTS {
            let (existing, opted_out) = self.log.live_conversation(t).await?;
            if opted_out {
                return Err(SendError::OptedOut);
            }
            let exists = existing.is_some();
            let conversation = existing.unwrap_or_else(|| Conversation::first_contact(t));
            let attempt = Attempt {
                account: &account,
                conversation: &conversation,
                exists,
                fingerprint: &fingerprint,
                caller,
                standing,
            };
            if let Some(sent) = self.send_once(&attempt, draft).await? {
                return Ok(sent);
            }
            RACE_BACKOFF.sleep(round).await;
        }
        Err(SendError::Busy)
    }

    async fn log_conversation(&self, id: &ConversationId) -> Result<Conversation, SendError> {
        let found = self.log.conversation(id).await?;
        found.ok_or(SendError::ConversationNotFound)
    }

    async fn account(&self, id: &AccountId) -> Result<Account, SendError> {
        let found = self.directory.account(id, Freshness::Cached).await?;
        found.ok_or(SendError::AccountNotFound)
    }

    /// Records, sends and settles one message. `None`: the conversation changed, read it again.
    async fn send_once(&self, a: &Attempt<'_>, draft: &Draft) -> Result<Option<SentMessage>, SendError> {
        let scope = draft.idempotency.as_ref().map(|key| IdempotencyScope {
            account_id: a.account.account_id.clone(),
            key: key.clone(),
        });
        if let Some(scope) = &scope {
            if let Some(done) = self.replay(scope, a.fingerprint, false).await? {
                return Ok(Some(done));
            }
        }
        check_sendable(a.conversation)?;
        // Keys before anything is recorded: without them nothing can be sent.
        let keys = self.directory.keys(a.account, Freshness::Cached).await?;
        let mut record = plan_outbound(a, draft, scope.clone());
        let opt_outs = self.directory.opt_out_key().await?;
        record.opt_out_tag = Some(opt_outs.tag(&a.account.account_id, &a.conversation.customer_number));
        match self.log.begin_outbound(&record).await? {
            BeginWrite::Begun => {}
            BeginWrite::OptedOut => return Err(SendError::OptedOut),
            BeginWrite::Lost => return Ok(None),
            BeginWrite::KeyTaken => {
                let scope = scope.ok_or(SendError::Busy)?;
                return self.replay(&scope, a.fingerprint, true).await;
            }
        }
        let answer = self.deliver_with_fresh_key(a, &record, &keys.current, draft).await?;
        let sent = settle_message(record, answer);
        settle(&self.log, &sent, scope, draft.deadline).await?;
        tracing::info!(account_id = %a.account.account_id, conversation_id = %sent.conversation_id, message_id = %sent.message.message_id,
            reference_id = sent.message.telesign_reference_id.as_deref().unwrap_or(""), status = sent.message.status.as_str(), "outbound SMS");
        crate::metrics::emit(send_metric(&a.account.account_id, &sent));
        Ok(Some(sent))
    }

    /// Sends one recorded message; when TeleSign refuses the cached key, reads it again once.
    async fn deliver_with_fresh_key(
        &self,
        a: &Attempt<'_>,
        record: &OutboundRecord,
        cached: &channel_domain::telesign::Credentials,
        draft: &Draft,
    ) -> Result<Result<MessageAnswer, TelesignError>, SendError> {
        let out = Outgoing {
            account: a.account,
            thread: &record.thread,
            conversation_id: record.conversation.conversation_id(),
            message: &record.message,
            callback_base: draft.callback_base.as_deref(),
            deadline: draft.deadline,
        };
        Ok(transmit(&self.directory, &self.gateway, &out, cached).await?)
    }

    /// The first outcome of an idempotency key. With `wait`, waits while the first request runs.
    async fn replay(
        &self,
        scope: &IdempotencyScope,
        fingerprint: &str,
        wait: bool,
    ) -> Result<Option<SentMessage>, SendError> {
        for attempt in 1..=if wait { 40 } else { 1 } {
            match self.log.idempotency(scope).await? {
                None if wait => return Err(SendError::FirstAttemptFailed),
                None => return Ok(None),
                Some(
                    IdempotencyRecord::Pending { fingerprint: f } | IdempotencyRecord::Done { fingerprint: f, .. },
                ) if f != fingerprint => return Err(SendError::KeyReused),
                Some(IdempotencyRecord::Done { outcome, .. }) => {
                    return Ok(Some(*outcome));
                }
                Some(IdempotencyRecord::Pending { .. }) if wait => PENDING_BACKOFF.sleep(attempt).await,
                Some(IdempotencyRecord::Pending { .. }) => return Ok(None),
            }
        }
        Err(SendError::InProgress)
    }
}

/// A message recorded before it is sent, on its way to TeleSign.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// The account it goes out for.
    pub account: &'a Account,
    /// The customer and the support number it goes out from.
    pub thread: &'a Thread,
    /// Its conversation.
    pub conversation_id: &'a ConversationId,
    /// The message as recorded (its text, its id for the `external_id`).
    pub message: &'a Message,
    /// The public base URL delivery reports come back to.
    pub callback_base: Option<&'a str>,
    /// When TeleSign must have answered.
    pub deadline: Instant,
}

/// Sends a message recorded by another path (an automated message recorded with the customer
/// message or the move that made it due) and settles it, exactly as a reply is sent and
/// settled: one TeleSign request, the refused-key read once, the settle tried again.
pub async fn dispatch<D: AccountDirectory, O: OutboundLog, G: SmsGateway>(
    directory: &D,
    log: &O,
    gateway: &G,
    out: &Outgoing<'_>,
) -> Result<SentMessage, SendError> {
    let keys = directory.keys(out.account, Freshness::Cached).await?;
    let answer = transmit(directory, gateway, out, &keys.current).await?;
    let sent = settled(out.conversation_id, out.message.clone(), answer);
    settle(log, &sent, None, out.deadline).await?;
    tracing::info!(account_id = %out.account.account_id, conversation_id = %sent.conversation_id, message_id = %sent.message.message_id,
        kind = sent.message.kind.map_or("", |k| k.as_str()), status = sent.message.status.as_str(), "automated SMS");
    crate::metrics::emit(send_metric(&out.account.account_id, &sent));
    Ok(sent)
}

/// Sends; when TeleSign refuses the cached key (its invalid-credentials answer: it did
/// nothing), reads the key once more and, when it changed (a rotation in another function),
/// sends with it.
async fn transmit<D: AccountDirectory, G: SmsGateway>(
    directory: &D,
    gateway: &G,
    out: &Outgoing<'_>,
    cached: &channel_domain::telesign::Credentials,
) -> Result<Result<MessageAnswer, TelesignError>, DirectoryError> {
    let answer = send_sms(gateway, out, cached).await;
    let refused_key = matches!(&answer, Err(TelesignError::Failure(f)) if f.kind == FailureKind::InvalidCredentials);
    if !refused_key {
        return Ok(answer);
    }
    let fresh = directory.keys(out.account, Freshness::Fresh).await?;
    if fresh.current.api_key.expose_literal() == cached.api_key.expose_literal() {
        return Ok(answer);
    }
    tracing::info!(account_id = %out.account.account_id, "TeleSign refused the cached key; sending with the key read now");
    Ok(send_sms(gateway, out, &fresh.current).await)
}

async fn send_sms<G: SmsGateway>(
    gateway: &G,
    out: &Outgoing<'_>,
    creds: &channel_domain::telesign::Credentials,
) -> Result<MessageAnswer, TelesignError> {
    let external = external_id(out.conversation_id, &out.message.message_id);
    let callback_url = out.callback_base.map(|b| out.account.callback_url(b));
    let sms = SendSms {
        phone_number: out.thread.customer_number.as_str(),
        message: &out.message.text,
        message_type: "ARN",
        sender_id: Some(out.thread.support_number.as_str()),
        external_id: Some(&external),
        callback_url: callback_url.as_deref(),
    };
    gateway.send_sms(creds, out.account.api_host, &sms, out.deadline).await
}

/// Settles, tried again while it fails. When it never succeeds and TeleSign took the message
/// (or may have), the send is still answered as sent: the message stays "sending" until its
/// delivery report settles it, and a retry with the key waits on its pending record instead
/// of sending again.
async fn settle<O: OutboundLog>(
    log: &O,
    sent: &SentMessage,
    scope: Option<IdempotencyScope>,
    deadline: Instant,
) -> Result<(), SendError> {
    let settlement = settlement_of(sent, scope);
    let mut attempt = 1;
    loop {
        let Err(e) = log.settle(&settlement).await else {
            return Ok(());
        };
        let went_out = matches!(sent.verdict, Verdict::Accepted | Verdict::OutcomeUnknown);
        if attempt >= SETTLE_ATTEMPTS || Instant::now() + SETTLE_BACKOFF.ceiling(attempt) >= deadline {
            tracing::error!(conversation_id = %sent.conversation_id, message_id = %sent.message.message_id, error = %e, went_out,
                "the settle failed; the delivery report settles the message");
            return if went_out { Ok(()) } else { Err(e.into()) };
        }
        tracing::warn!(conversation_id = %sent.conversation_id, message_id = %sent.message.message_id, error = %e, attempt, "settle failed; trying again");
        SETTLE_BACKOFF.sleep(attempt).await;
        attempt += 1;
    }
}

/// A closed conversation, or a customer who opted out, takes no message.
pub fn check_sendable(c: &Conversation) -> Result<(), SendError> {
    if c.status == Status::Closed {
        return Err(SendError::ConversationClosed);
    }
    if c.opted_out {
        return Err(SendError::OptedOut);
    }
    Ok(())
}

/// The status a send leaves its conversation in: a reply makes it `active`; a first message
/// opens it `active` when an agent sent it, else `open`.
pub fn status_after_send(current: Status, exists: bool, agent: bool) -> Status {
    match (exists, agent) {
        (true, _) => next(current, Event::AgentReply).unwrap_or(current),
        (false, true) => Status::Active,
        (false, false) => Status::Open,
    }
}

fn plan_outbound(a: &Attempt<'_>, draft: &Draft, scope: Option<IdempotencyScope>) -> OutboundRecord {
    let c = a.conversation;
    let mut message = Message::outbound_pending(&draft.text, &draft.info, draft.agent.as_ref());
    message.agent_name = draft.agent.as_ref().and(draft.agent_name.clone());
    let to = status_after_send(c.status, a.exists, draft.agent.is_some());
    // The sender takes an unassigned conversation (a member on the condition that they still
    // are one); one held by someone else stays theirs.
    let takes = c.assigned_agent.is_none();
    let me = &a.caller.user_id;
    let conversation = if a.exists {
        ConversationWrite::Move(Move {
            conversation_id: c.conversation_id.clone(),
            thread: c.thread(),
            from: c.status,
            to,
            at: message.created_at,
            preview: Some(preview(&draft.text)),
            opted_out: None,
            holder: if takes {
                Holder::To(me.clone(), crate::desk::own_name(a.caller))
            } else {
                Holder::Keep
            },
            guard: Guard {
                holder_read: Some(c.assigned_agent.clone()),
                member: (takes && a.standing != Standing::Operator).then(|| me.clone()),
                activity_read: None,
            },
            audit: None,
            away_for: None,
            wrote: draft.agent.is_some().then_some(Writer::Agent),
        })
    } else {
        let mut created = c.clone();
        created.status = to;
        created.created_at = message.created_at;
        created.last_activity_at = message.created_at;
        created.assigned_agent = Some(me.clone());
        created.assigned_agent_name = Some(crate::desk::own_name(a.caller));
        created.last_message_preview = Some(preview(&draft.text));
        ConversationWrite::Create(created)
    };
    let audit = AuditEntry::new(
        &Actor::of(a.caller),
        AuditAction::MessageSent,
        &c.account_id,
        conversation.conversation_id().as_str(),
    )
    .with("message_id", message.message_id.as_str());
    OutboundRecord {
        thread: c.thread(),
        message,
        conversation,
        idempotency: scope.map(|s| (s, a.fingerprint.to_owned())),
        audit,
        opt_out_tag: None,
    }
}

/// The message as TeleSign's answer leaves it, and the verdict.
pub fn settle_message(record: OutboundRecord, answer: Result<MessageAnswer, TelesignError>) -> SentMessage {
    settled(record.conversation.conversation_id(), record.message, answer)
}

fn settled(
    conversation_id: &ConversationId,
    mut message: Message,
    answer: Result<MessageAnswer, TelesignError>,
) -> SentMessage {
    let (state, reference, code, description, verdict) = match answer {
        Ok(a) => (
            state_of_code(a.status.code),
            Some(a.reference_id),
            Some(a.status.code),
            a.status.description,
            Verdict::Accepted,
        ),
        Err(TelesignError::Failure(f)) if matches!(f.kind, FailureKind::RateLimited | FailureKind::Unavailable) => {
            let why = format!("TeleSign unavailable: {}", f.description);
            (
                MessageState::Failed,
                None,
                f.code,
                why.clone(),
                Verdict::Unavailable { description: why },
            )
        }
        Err(TelesignError::Failure(f)) => {
            let verdict = Verdict::Rejected {
                telesign_code: f.code,
                description: f.description.clone(),
            };
            (MessageState::Failed, None, f.code, f.description, verdict)
        }
        Err(TelesignError::Unreachable(why)) => {
            let why = format!("TeleSign unreachable: {why}");
            (
                MessageState::Failed,
                None,
                None,
                why.clone(),
                Verdict::Unavailable { description: why },
            )
        }
        Err(TelesignError::OutcomeUnknown(why)) => {
            let why = format!("outcome unknown, awaiting TeleSign's delivery report: {why}");
            (MessageState::Unknown, None, None, why, Verdict::OutcomeUnknown)
        }
    };
    message.status = state;
    message.telesign_reference_id = reference;
    message.status_code = code;
    message.status_description = Some(description);
    SentMessage {
        conversation_id: conversation_id.clone(),
        message,
        verdict,
    }
}

/// What the settle writes: an unavailable TeleSign forgets the key (the caller may retry);
/// every other outcome is kept for the key's replays.
fn settlement_of(sent: &SentMessage, scope: Option<IdempotencyScope>) -> Settlement {
    let keep = !matches!(sent.verdict, Verdict::Unavailable { .. });
    let outcome = keep.then(|| sent.clone());
    Settlement {
        conversation_id: sent.conversation_id.clone(),
        message_id: sent.message.message_id.clone(),
        state: sent.message.status,
        reference_id: sent.message.telesign_reference_id.clone(),
        code: sent.message.status_code,
        description: sent.message.status_description.clone().unwrap_or_default(),
        idempotency: scope.map(|s| (s, outcome)),
    }
}

/// The metric of a send that reached TeleSign (or tried to): its verdict and TeleSign's code.
pub fn send_metric(account_id: &AccountId, sent: &SentMessage) -> crate::metrics::Record {
    use crate::metrics::SendResult;
    let result = match sent.verdict {
        Verdict::Accepted => SendResult::Accepted,
        Verdict::OutcomeUnknown => SendResult::OutcomeUnknown,
        Verdict::Rejected { .. } => SendResult::Rejected,
        Verdict::Unavailable { .. } => SendResult::Unavailable,
    };
    crate::metrics::send(result, sent.message.status_code, account_id)
}

/// A fingerprint of a request's parts, so one key cannot be used for two requests.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for p in parts {
        hash.update(p.as_bytes());
        hash.update([0]);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
