//! TeleSign's callbacks: verified against the account's key before anything is read, then an
//! inbound SMS stored exactly once in its conversation, or a delivery report applied forward only.

use std::time::Duration;

use crate::backoff::Backoff;
use crate::directory::{AccountDirectory, DirectoryError, Freshness};
use crate::ports::{
    CallbackQueue, Committed, ConsentWrite, ConversationWrite, Guard, Holder, InboundLog, InboundRecord, InboundWrite,
    Move, ParkedCallback, ReportLog, StatusUpdate, StoreError, ThreadState, Writer,
};
use channel_domain::account::{Account, AccountKeys};
use channel_domain::audit::{Actor, AuditAction, AuditEntry};
use channel_domain::automation::{due_on_inbound, ConsentEffect, InboundFacts, Kind};
use channel_domain::conversation::{
    asks_for_help, consent_of, next, parse_external_id, preview, Consent, Conversation, Event, Message, Thread,
    DEDUPLICATION_WINDOW_SECONDS,
};
use channel_domain::ids::AccountId;
use channel_domain::phone::PhoneNumber;
use channel_domain::sms::TextInfo;
use channel_domain::telesign::status::{rank, state_of_code};
use channel_domain::telesign::MessageState;
use channel_domain::telesign::{verify_callback, Callback, DeliveryReport, InboundSms, SignatureError};

/// How often an inbound write that lost a race is tried again.
const INBOUND_ATTEMPTS: u32 = 6;

/// The waits between those tries: racing writers spread out (5 ms doubling up to 80 ms).
const RACE_BACKOFF: Backoff = Backoff::new(Duration::from_millis(5), Duration::from_millis(80));

/// The waits between the replays of a parked callback (the queue's visibility timeout after each
/// failed replay): 5 s doubling up to 5 minutes, unless `REPLAY_BACKOFF_MAX_SECONDS` says less.
pub const REPLAY_BACKOFF: Backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(300));

/// What a callback came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// An inbound SMS, stored.
    Stored {
        /// Its conversation.
        conversation_id: channel_domain::ids::ConversationId,
        /// The message.
        message_id: channel_domain::ids::MessageId,
        /// Whether the conversation is new.
        new_conversation: bool,
    },
    /// An inbound SMS stored before (a retried callback).
    Duplicate,
    /// A delivery report.
    Report(ReportOutcome),
    /// Verified, but not storable now: parked in the queue, to be replayed.
    Parked,
    /// An inbound SMS older than the deduplication window: left out (a replay of it could not
    /// be told from a new message).
    Ignored,
}

/// What a delivery report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportOutcome {
    /// The message moved to the report's status.
    Updated,
    /// The message is already at this status (a retried report).
    Duplicate,
    /// The message is at a later status: the report is older and left out.
    Stale,
    /// No outbound message of this account has this reference or external id.
    Unknown,
}

/// Why a callback was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// No account has this callback URL.
    #[error("no messaging account has this callback URL")]
    UnknownAccount,
    /// Not signed with the account's key.
    #[error("the callback is not signed with the account's key: {0}")]
    InvalidSignature(SignatureError),
    /// Signed, but unreadable (the sentence says what).
    #[error("{0}")]
    Malformed(String),
    /// The account does not own the support number texted.
    #[error("this account has no such support number")]
    UnknownNumber,
    /// The conversation kept changing under the message.
    #[error("the conversation kept changing under the message")]
    Busy,
    /// The account or its keys could not be read.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CallbackError {
    /// Whether the callback may be stored later: the store failed or stayed busy (a verified
    /// callback is then parked, not refused).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Store(_) | Self::Busy | Self::Directory(DirectoryError::Store(_))
        )
    }
}

/// The callback service. The automated messages an SMS is due are recorded in its transaction
/// and sent by the worker (`service::worker`), so a callback is answered without waiting for
/// TeleSign.
#[derive(Debug)]
pub struct Callbacks<D, L, Q> {
    /// Accounts and keys.
    pub directory: D,
    /// Inbound messages and delivery reports.
    pub log: L,
    /// Where verified callbacks wait when they cannot be stored now.
    pub queue: Q,
}

impl<D, L, Q> Callbacks<D, L, Q>
where
    D: AccountDirectory,
    L: InboundLog + ReportLog,
    Q: CallbackQueue,
{
    /// Verifies and applies one callback of `account_id` (the raw body, as signed). A verified
    /// callback that cannot be stored now is parked for a replay and answered as taken.
    pub async fn receive(
        &self,
        account_id: &str,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<CallbackOutcome, CallbackError> {
        let id = AccountId::parse(account_id).map_err(|_| CallbackError::UnknownAccount)?;
        let account = match self.account(&id).await {
            Err(e) if e.is_transient() => {
                self.verify_by_secret(&id, authorization, body).await?;
                return self.park(&id, authorization, body, e).await;
            }
            other => other?,
        };
        self.verify(&account, authorization, body).await?;
        match self.apply(account, authorization, body).await {
            Err(e) if e.is_transient() => self.park(&id, authorization, body, e).await,
            other => other,
        }
    }

    /// Applies a parked callback through the same idempotent path as a live one (it was verified
    /// before it was parked). An error that [`CallbackError::is_transient`] asks for another try.
    pub async fn replay(&self, parked: &ParkedCallback) -> Result<CallbackOutcome, CallbackError> {
        let body = parked
            .raw_body()
            .ok_or_else(|| CallbackError::Malformed("the parked body is not base64".into()))?;
        let account = self.account(&parked.account_id).await?;
        let outcome = self.apply(account, None, &body).await?;
        tracing::info!(account_id = %parked.account_id, parked_at = %parked.parked_at, outcome = ?outcome, "parked callback replayed");
        Ok(outcome)
    }

    /// Applies a verified callback; `authorization` (a live callback's) is verified again when the
    /// account's keys changed meanwhile.
    async fn apply(
        &self,
        account: Account,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<CallbackOutcome, CallbackError> {
        let callback = Callback::parse(body)
            .map_err(|e| CallbackError::Malformed(format!("the callback could not be read: {e}")))?;
        match callback {
            Callback::Inbound(sms) => self.inbound(account, &sms, authorization, body).await,
            Callback::Delivery(report) => {
                // A live report is verified again when the keys changed since they were cached
                // (a revoked key stops at once); a replay was verified when it was parked.
                if authorization.is_some() {
                    let stamp = self.log.key_stamp(&account.account_id).await?;
                    self.confirm_keys(&account, stamp, authorization, body).await?;
                }
                Ok(CallbackOutcome::Report(
                    self.report(&account.account_id, &report).await?,
                ))
            }
        }
    }

    /// Parks a verified callback; when the queue fails too, the callback is refused with the
    /// store's error (TeleSign tries again).
    async fn park(
        &self,
        id: &AccountId,
        authorization: Option<&str>,
        body: &[u8],
        why: CallbackError,
    ) -> Result<CallbackOutcome, CallbackError> {
        let parked = ParkedCallback::of(id, authorization, body, why.to_string());
        match self.queue.park(&parked).await {
            Ok(()) => {
                tracing::warn!(account_id = %id, reason = %why, "callback parked for a replay");
                Ok(CallbackOutcome::Parked)
            }
            Err(e) => {
                tracing::error!(account_id = %id, reason = %why, queue = %e, "callback neither stored nor parked");
                Err(why)
            }
        }
    }

    async fn account(&self, id: &AccountId) -> Result<Account, CallbackError> {
        let found = self.directory.account(id, Freshness::Cached).await?;
        found.ok_or_else(|| {
            tracing::warn!(account_id = %id, "callback for an account that does not exist");
            CallbackError::UnknownAccount
        })
    }

    /// Verification when the account record cannot be read: the keys straight from the
    /// account's secret (a missing secret is an unknown account).
    async fn verify_by_secret(
        &self,
        id: &AccountId,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<(), CallbackError> {
        let keys = match self.directory.keys_of(id).await {
            Err(DirectoryError::KeysUnusable { .. }) => return Err(CallbackError::UnknownAccount),
            other => other?,
        };
        check_signature(&keys, authorization, body).map_err(|e| {
            tracing::warn!(account_id = %id, reason = %e, "callback refused");
            CallbackError::InvalidSignature(e)
        })
    }

    /// The current key, the previous one in its grace period, the next one once staged; a
    /// mismatch with cached keys reads them again, at most once per account every
    /// [`crate::directory::REREAD_INTERVAL`].
    async fn verify(&self, account: &Account, authorization: Option<&str>, body: &[u8]) -> Result<(), CallbackError> {
        let mut verified = check_signature(
            &self.directory.keys(account, Freshness::Cached).await?,
            authorization,
            body,
        );
        if verified == Err(SignatureError::Mismatch) && self.directory.reread_allowed(&account.account_id) {
            let fresh = self.directory.keys(account, Freshness::Fresh).await?;
            verified = check_signature(&fresh, authorization, body);
        }
        refused(account, verified)
    }

    /// Verifies again with keys read now when the account record's stamp says the cached ones
    /// are stale (a revocation in another function takes effect at once). A replay, verified
    /// when it was parked, has no header to verify.
    async fn confirm_keys(
        &self,
        account: &Account,
        stamp: Option<i64>,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<(), CallbackError> {
        let Some(authorization) = authorization else {
            return Ok(());
        };
        let cached = self.directory.keys(account, Freshness::Cached).await?;
        if stamp.is_none() || cached.version == stamp {
            return Ok(());
        }
        let fresh = self.directory.keys(account, Freshness::Fresh).await?;
        refused(account, check_signature(&fresh, Some(authorization), body))
    }

    /// The customer's opt-out tag (the key is read once per sandbox; a failure to read it is
    /// transient: the callback is parked, never let go).
    async fn opt_out_tag(&self, thread: &Thread) -> Result<String, CallbackError> {
        let key = self
            .directory
            .opt_out_key()
            .await
            .map_err(|e| CallbackError::Store(StoreError::Unavailable(format!("the opt-out key: {e}"))))?;
        Ok(key.tag(&thread.account_id, &thread.customer_number))
    }

    async fn inbound(
        &self,
        account: Account,
        sms: &InboundSms,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<CallbackOutcome, CallbackError> {
        if too_old(sms) {
            tracing::warn!(account_id = %account.account_id, reference_id = %sms.reference_id, submitted_at = ?sms.submitted_at,
                "inbound SMS older than the deduplication window ignored");
            return Ok(CallbackOutcome::Ignored);
        }
        let thread = self.thread_of(account.clone(), sms).await?;
        let info = channel_domain::sms::analyse(&sms.text);
        let raw = String::from_utf8_lossy(body).into_owned();
        let tag = self.opt_out_tag(&thread).await?;
        for attempt in 1..=INBOUND_ATTEMPTS {
            let state = self.log.thread_state(&thread, &tag).await?;
            if attempt == 1 {
                self.confirm_keys(&account, state.key_version, authorization, body)
                    .await?;
            }
            if state.number_owner.as_ref() != Some(&thread.account_id) {
                return Err(self.number_gone(&thread).await);
            }
            let record = plan_inbound(&thread, &state, sms, &info, raw.clone());
            let written = match self.log.record_inbound(&record).await {
                // Another writer held an item: read again, as after a lost condition.
                Err(StoreError::Conflict(_)) => InboundWrite::Lost,
                other => other?,
            };
            match written {
                InboundWrite::Stored => return Ok(stored(&record, sms)),
                InboundWrite::Duplicate => {
                    tracing::info!(account_id = %thread.account_id, reference_id = %sms.reference_id, "inbound SMS already stored");
                    return Ok(CallbackOutcome::Duplicate);
                }
                InboundWrite::Lost => {
                    tracing::info!(conversation_id = %record.conversation.conversation_id(), attempt, "inbound write lost a race or conflicted; reading again");
                    RACE_BACKOFF.sleep(attempt).await;
                }
            }
        }
        Err(CallbackError::Busy)
    }

    /// The thread an SMS belongs to: numbers as TeleSign wrote them, the support number owned by
    /// the account (a number added since the account was cached is routed at once).
    async fn thread_of(&self, account: Account, sms: &InboundSms) -> Result<Thread, CallbackError> {
        let number = |what: &str, raw: &str| {
            PhoneNumber::parse_any(raw).map_err(|e| CallbackError::Malformed(format!("{what}: {e}")))
        };
        let customer_number = number("user_response.phone_number", &sms.customer_number)?;
        let support_number = number("user_response.sender_id", &sms.support_number)?;
        let mut account = account;
        if account.number(&support_number).is_none() {
            let fresh = self.directory.account(&account.account_id, Freshness::Fresh).await?;
            account = fresh.unwrap_or(account);
        }
        if account.number(&support_number).is_none() {
            tracing::warn!(account_id = %account.account_id, support_number = %support_number, reference_id = %sms.reference_id, "inbound SMS to a number the account does not own");
            return Err(CallbackError::UnknownNumber);
        }
        Ok(Thread {
            account_id: account.account_id,
            support_number,
            customer_number,
        })
    }

    async fn number_gone(&self, thread: &Thread) -> CallbackError {
        if let Ok(Some(account)) = self.directory.account(&thread.account_id, Freshness::Cached).await {
            self.directory.forget(&account);
        }
        tracing::warn!(account_id = %thread.account_id, support_number = %thread.support_number, "support number removed from the account");
        CallbackError::UnknownNumber
    }

    /// Applies a report: located by our `external_id`, else by TeleSign's reference; moved
    /// forward only; a refused move is told apart as duplicate, stale or not ours.
    pub async fn report(&self, account_id: &AccountId, report: &DeliveryReport) -> Result<ReportOutcome, StoreError> {
        let location = match report.external_id.as_deref().and_then(parse_external_id) {
            Some(at) => Some(at),
            None => self.log.locate(&report.reference_id).await?,
        };
        let Some(at) = location else {
            return Ok(ReportOutcome::Unknown);
        };
        let code = report.status.code;
        let state = state_of_code(code);
        let update = StatusUpdate {
            account_id: account_id.clone(),
            state,
            rank: rank(state, Some(code)),
            code,
            description: report.status.description.clone().unwrap_or_default(),
            reference_id: report.reference_id.clone(),
        };
        let outcome = match self.log.advance(&at, &update).await? {
            Committed::Done => ReportOutcome::Updated,
            Committed::Lost => match self.log.stored_status(&at).await? {
                Some(s) if &s.account_id == account_id && s.outbound && s.code == Some(code) => {
                    ReportOutcome::Duplicate
                }
                Some(s) if &s.account_id == account_id && s.outbound => ReportOutcome::Stale,
                _ => ReportOutcome::Unknown,
            },
        };
        tracing::info!(account_id = %account_id, reference_id = %report.reference_id, status_code = code, outcome = ?outcome, "delivery report");
        if outcome == ReportOutcome::Updated {
            observe_lag(account_id, &at.1, state);
        }
        Ok(outcome)
    }
}

/// Whether TeleSign's signed time of an SMS is older than the deduplication window.
fn too_old(sms: &InboundSms) -> bool {
    sms.submitted_at
        .is_some_and(|t| channel_domain::ids::epoch_seconds() - t.unix_timestamp() > DEDUPLICATION_WINDOW_SECONDS)
}

/// The current key, then the previous one in its grace period, then the staged next one.
fn check_signature(keys: &AccountKeys, authorization: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
    let id = &keys.current.customer_id;
    let verified = verify_callback(authorization, body, id, &keys.current.api_key, keys.previous.as_ref());
    match (&verified, &keys.next) {
        (Err(SignatureError::Mismatch), Some(next)) => verify_callback(authorization, body, id, next, None).map(|_| ()),
        _ => verified.map(|_| ()),
    }
}

fn refused(account: &Account, verified: Result<(), SignatureError>) -> Result<(), CallbackError> {
    verified.map_err(|e| {
        tracing::warn!(account_id = %account.account_id, reason = %e, "callback refused");
        CallbackError::InvalidSignature(e)
    })
}

/// The delivery-report lag of a report that made a message final: from the message's record
/// (its id's time, just before it was sent) to now.
fn observe_lag(account_id: &AccountId, message_id: &channel_domain::ids::MessageId, state: MessageState) {
    let status = match state {
        MessageState::Delivered => "delivered",
        MessageState::Failed => "failed",
        _ => return,
    };
    if let Some(sent) = message_id.epoch_millis() {
        let lag = channel_domain::ids::epoch_millis().saturating_sub(sent);
        crate::metrics::emit(crate::metrics::report_lag(lag, status, account_id));
    }
}

/// What an inbound SMS writes, given what was read of its thread: the message, the conversation
/// created (first contact) or moved (a `waiting` one reopens), the consent keyword in the
/// customer's order, and the automated messages it is due.
pub fn plan_inbound(
    thread: &Thread,
    state: &ThreadState,
    sms: &InboundSms,
    info: &TextInfo,
    raw: String,
) -> InboundRecord {
    let message = Message::inbound(&sms.text, info, &sms.reference_id);
    let keyword = consent_of(&sms.text, sms.action.as_deref());
    let order = consent_order(sms, message.created_at);
    let effect = keyword.map_or(ConsentEffect::None, |c| consent_effect(c, &order, state));
    let opted_out = match effect {
        ConsentEffect::Changed(c) => c == Consent::OptOut,
        _ => state.opted_out,
    };
    // The hours as the customer met them: when they sent it, not when a retry arrived.
    let closed_period = state
        .number
        .as_ref()
        .and_then(|(_, n)| n.settings.closed_period(sent_at(sms, message.created_at)));
    let facts = InboundFacts {
        new_conversation: state.live.is_none(),
        help: asks_for_help(&sms.text, sms.action.as_deref()),
        consent: effect,
        opted_out,
        closed_period: closed_period.clone(),
        away_sent_for: state.away_sent_for.clone(),
    };
    let due = texts_of(state, &due_on_inbound(&facts));
    let away_for = closed_period.filter(|_| due.iter().any(|(k, _)| *k == Kind::Away));
    let conversation = conversation_write(thread, state, sms, &message, opted_out, away_for.clone());
    let consent = keyword.map(|c| ConsentWrite {
        consent: c,
        order,
        effect,
        read: state.consent_read.clone(),
        was_opted_out: state.opted_out,
        change: matches!(effect, ConsentEffect::Changed(_))
            .then(|| consent_change(thread, &conversation, c, sms, &message)),
    });
    let last = consent
        .as_ref()
        .and_then(|w| w.change.as_ref())
        .map_or(&message.message_id, |(notice, _)| &notice.message_id);
    let automated = automated_messages(&due, last);
    InboundRecord {
        thread: thread.clone(),
        reference_id: sms.reference_id.clone(),
        message,
        raw,
        conversation,
        consent,
        automated,
        away_for,
        lift_opt_out: lifted(state, effect),
    }
}

/// When the customer sent an SMS: TeleSign's signed `submit_timestamp`, never later than it was
/// received (the receive time when it is missing).
pub fn sent_at(sms: &InboundSms, received: channel_domain::ids::Timestamp) -> channel_domain::ids::Timestamp {
    let received_ms = received.epoch_millis();
    let submitted = sms
        .submitted_at
        .map_or(received_ms, |t| (t.unix_timestamp_nanos() / 1_000_000) as i64);
    if submitted >= received_ms {
        return received;
    }
    channel_domain::ids::Timestamp::from_epoch_millis(submitted.max(0)).unwrap_or(received)
}

/// A keyword's place in the customer's order: when it was sent ([`sent_at`], in epoch
/// milliseconds), then the reference, so two keywords always compare.
pub fn consent_order(sms: &InboundSms, received: channel_domain::ids::Timestamp) -> String {
    format!("{:013}#{}", sent_at(sms, received).epoch_millis(), sms.reference_id)
}

/// What a keyword of this order does against the consent read: older than the last change, it
/// is superseded; otherwise it changes the state, or leaves it as it is.
pub fn consent_effect(c: Consent, order: &str, state: &ThreadState) -> ConsentEffect {
    let newer = match &state.consent_read {
        Some(Some(last)) => order > last.as_str(),
        _ => true,
    };
    if !newer {
        ConsentEffect::Superseded(c)
    } else if (c == Consent::OptOut) == state.opted_out {
        ConsentEffect::Unchanged(c)
    } else {
        ConsentEffect::Changed(c)
    }
}

/// The texts of the kinds due that are on for the number (none without its settings).
fn texts_of(state: &ThreadState, kinds: &[Kind]) -> Vec<(Kind, String)> {
    let Some((account_name, number)) = &state.number else {
        return Vec::new();
    };
    kinds
        .iter()
        .filter_map(|k| {
            number
                .settings
                .text(*k, &number.language, account_name)
                .map(|t| (*k, t))
        })
        .collect()
}

/// Automated messages recorded to go out, sorting after `after`, one after another.
pub fn automated_messages(due: &[(Kind, String)], after: &channel_domain::ids::MessageId) -> Vec<Message> {
    let mut last = after.clone();
    due.iter()
        .map(|(kind, text)| {
            let m = Message::automated(*kind, text, &last);
            last = m.message_id.clone();
            m
        })
        .collect()
}

fn conversation_write(
    thread: &Thread,
    state: &ThreadState,
    sms: &InboundSms,
    message: &Message,
    opted_out: bool,
    away_for: Option<String>,
) -> ConversationWrite {
    match &state.live {
        None => {
            let mut c = Conversation::first_contact(thread);
            c.created_at = message.created_at;
            c.last_activity_at = message.created_at;
            c.opted_out = opted_out;
            c.last_message_preview = Some(preview(&sms.text));
            c.customer_wrote(message.created_at);
            ConversationWrite::Create(c)
        }
        Some((id, status)) => ConversationWrite::Move(Move {
            conversation_id: id.clone(),
            thread: thread.clone(),
            from: *status,
            to: next(*status, Event::CustomerMessage).unwrap_or(*status),
            at: message.created_at,
            preview: Some(preview(&sms.text)),
            opted_out: Some(opted_out),
            holder: Holder::Keep,
            guard: Guard::default(),
            audit: None,
            away_for,
            wrote: Some(Writer::Customer),
        }),
    }
}

fn consent_change(
    thread: &Thread,
    conversation: &ConversationWrite,
    c: Consent,
    sms: &InboundSms,
    message: &Message,
) -> (Message, AuditEntry) {
    let entry = AuditEntry::new(
        &Actor::Customer,
        AuditAction::ConsentChanged,
        &thread.account_id,
        conversation.conversation_id().as_str(),
    )
    .with("consent", c.as_str())
    .with("message_id", message.message_id.as_str());
    (Message::consent_notice(c, &sms.text, &message.message_id), entry)
}

/// The opt-out kept by an erasure that an opt-in (one that changes the state) lifts.
fn lifted(state: &ThreadState, effect: ConsentEffect) -> Option<String> {
    (effect == ConsentEffect::Changed(Consent::OptIn))
        .then(|| state.kept_opt_out.clone())
        .flatten()
}

fn stored(record: &InboundRecord, sms: &InboundSms) -> CallbackOutcome {
    let new_conversation = matches!(record.conversation, ConversationWrite::Create(_));
    let conversation_id = record.conversation.conversation_id().clone();
    tracing::info!(account_id = %record.thread.account_id, conversation_id = %conversation_id, message_id = %record.message.message_id,
        reference_id = %sms.reference_id, new_conversation, too_long = record.message.too_long, "inbound SMS stored");
    CallbackOutcome::Stored {
        conversation_id,
        message_id: record.message.message_id.clone(),
        new_conversation,
    }
}
