//! In-memory adapters of every capability trait, faithful to the conditions the DynamoDB adapter
//! writes (a reference seen once, a pointer created once, a status still the one read, consent
//! checked with the send, forward-only reports), for fast tests of the rules. A test can make a
//! concurrent change happen between a service's read and its write with [`MemoryStore::before_next_write`].

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::ports::*;
use channel_domain::access::UserId;
use channel_domain::account::{Account, AccountSecret, SupportNumber};
use channel_domain::audit::AuditEntry;
use channel_domain::conversation::{Consent, Conversation, Message, Status, Thread};
use channel_domain::ids::{AccountId, ConversationId, MessageId, Timestamp};
use channel_domain::phone::PhoneNumber;
use channel_domain::telesign::validate::{Validation, Verdict};
use channel_domain::telesign::{ApiHost, Credentials, MessageAnswer, SendSms, TelesignError};

type Hook = Box<dyn FnOnce(&mut State) + Send>;

/// A stored message with its status rank and the raw callback body.
pub type StoredMessage = (Message, u8, Option<String>);

/// Everything the in-memory store holds.
#[derive(Debug, Default, Clone)]
pub struct State {
    /// Conversations by id.
    pub conversations: HashMap<ConversationId, Conversation>,
    /// Messages by conversation, in id order, with their status rank and raw body.
    pub messages: HashMap<ConversationId, BTreeMap<MessageId, StoredMessage>>,
    /// Live pointers: thread → (conversation, status).
    pub pointers: HashMap<Thread, (ConversationId, Status)>,
    /// References seen, per account.
    pub references: Vec<(AccountId, String)>,
    /// Outbound references → messages.
    pub outrefs: HashMap<String, MessageRef>,
    /// Consent: (account, customer) → opted out.
    pub consent: HashMap<(AccountId, PhoneNumber), bool>,
    /// Idempotency records.
    pub idempotency: HashMap<IdempotencyScope, IdempotencyRecord>,
    /// Accounts.
    pub accounts: HashMap<AccountId, Account>,
    /// Number claims.
    pub claims: HashMap<PhoneNumber, AccountId>,
    /// Members: (account, user) → member.
    pub members: BTreeMap<(AccountId, UserId), Member>,
    /// The audit trail, oldest first.
    pub audit: Vec<AuditEntry>,
    /// Membership reads made (the policy's cost).
    pub member_reads: usize,
    /// Transactions committed.
    pub writes: usize,
    /// The stamps of the accounts' keys.
    pub key_versions: HashMap<AccountId, i64>,
    /// The order of the keyword that set each consent (absent: written before keywords were ordered).
    pub consent_orders: HashMap<(AccountId, PhoneNumber), String>,
    /// The consent ledger: (account, customer, order, effect), in the order written.
    pub ledger: Vec<(
        AccountId,
        PhoneNumber,
        String,
        channel_domain::automation::ConsentEffect,
    )>,
    /// The closed period each live pointer last got an away message for.
    pub away: HashMap<Thread, String>,
    /// Deleted accounts whose conversations still expire.
    pub retired: HashMap<AccountId, Retired>,
    /// Opt-outs kept by their tag after an erasure.
    pub opt_out_tags: std::collections::HashSet<String>,
    /// Live connections listed per audience.
    pub listeners: HashMap<Audience, Vec<Connection>>,
    /// Canned responses by account and id.
    pub canned: BTreeMap<(AccountId, channel_domain::ids::CannedResponseId), channel_domain::canned::CannedResponse>,
    /// Automated messages claimed for their send.
    pub send_claims: std::collections::HashSet<MessageId>,
    /// Leases: name → (holder, until, epoch seconds).
    pub leases: HashMap<String, (String, i64)>,
}

/// The in-memory table.
#[derive(Clone, Default)]
pub struct MemoryStore {
    /// Its contents.
    pub state: Arc<Mutex<State>>,
    hooks: Arc<Mutex<Vec<Hook>>>,
    /// While set, inbound reads and writes fail as an outage would.
    pub down: Arc<std::sync::atomic::AtomicBool>,
    /// How many settles fail (as a timeout does: after the write committed) before one is answered.
    pub failing_settles: Arc<std::sync::atomic::AtomicUsize>,
    /// How many account creations fail the same way.
    pub failing_creations: Arc<std::sync::atomic::AtomicUsize>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryStore")
    }
}

impl MemoryStore {
    fn check_up(&self) -> Result<(), StoreError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Unavailable("the table is down".into()));
        }
        Ok(())
    }

    /// Runs `change` right before the next conditional write is checked: a concurrent writer.
    pub fn before_next_write(&self, change: impl FnOnce(&mut State) + Send + 'static) {
        self.hooks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(change));
    }

    /// Reads the state.
    pub fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Changes the state directly (a given of a test).
    pub fn write<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Runs a write: pending hooks first, then `f` on the state (which checks its own conditions).
    fn transact<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let hooks: Vec<Hook> = std::mem::take(&mut *self.hooks.lock().unwrap_or_else(|p| p.into_inner()));
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        for hook in hooks {
            hook(&mut state);
        }
        f(&mut state)
    }
}

impl State {
    /// The messages of a conversation, oldest first.
    pub fn transcript(&self, id: &ConversationId) -> Vec<Message> {
        self.messages
            .get(id)
            .map(|m| m.values().map(|(m, _, _)| m.clone()).collect())
            .unwrap_or_default()
    }

    fn move_holds(&self, m: &Move) -> bool {
        let pointer_ok = self
            .pointers
            .get(&m.thread)
            .is_some_and(|(c, _)| c == &m.conversation_id);
        let conversation = self.conversations.get(&m.conversation_id);
        let status_ok = conversation.is_some_and(|c| c.status == m.from);
        let holder_ok = match &m.guard.holder_read {
            None => true,
            Some(h) => conversation.is_some_and(|c| &c.assigned_agent == h),
        };
        let member_ok = m
            .guard
            .member
            .as_ref()
            .is_none_or(|u| self.members.contains_key(&(m.thread.account_id.clone(), u.clone())));
        let activity_ok = m
            .guard
            .activity_read
            .is_none_or(|seen| conversation.is_some_and(|c| c.last_activity_at == seen));
        status_ok && holder_ok && member_ok && activity_ok && (pointer_ok || (m.to == m.from))
    }

    fn apply_move(&mut self, m: &Move) {
        self.audit.extend(m.audit.clone());
        if let Some(c) = self.conversations.remove(&m.conversation_id) {
            self.conversations.insert(m.conversation_id.clone(), m.applied_to(c));
        }
        if m.to == Status::Closed {
            self.pointers.remove(&m.thread);
            self.away.remove(&m.thread);
        } else if let Some(p) = self.pointers.get_mut(&m.thread) {
            p.1 = m.to;
        }
    }

    fn write_holds(&self, w: &ConversationWrite) -> bool {
        match w {
            ConversationWrite::Create(c) => !self.pointers.contains_key(&c.thread()),
            ConversationWrite::Move(m) => self.move_holds(m),
        }
    }

    fn apply_write(&mut self, w: &ConversationWrite) {
        match w {
            ConversationWrite::Create(c) => {
                self.pointers.insert(c.thread(), (c.conversation_id.clone(), c.status));
                self.conversations.insert(c.conversation_id.clone(), c.clone());
            }
            ConversationWrite::Move(m) => self.apply_move(m),
        }
    }

    /// The pointer's condition of an away message: none went out for the period yet.
    fn away_holds(&self, r: &InboundRecord) -> bool {
        r.away_for.as_ref().is_none_or(|p| self.away.get(&r.thread) != Some(p))
    }

    /// The consent item's condition: still as read.
    fn consent_holds(&self, r: &InboundRecord) -> bool {
        use channel_domain::automation::ConsentEffect;
        let Some(w) = &r.consent else { return true };
        if matches!(w.effect, ConsentEffect::Superseded(_) | ConsentEffect::None) {
            return true;
        }
        let customer = (r.thread.account_id.clone(), r.thread.customer_number.clone());
        let stored = self.consent.get(&customer);
        match &w.read {
            None => stored.is_none(),
            Some(None) => !self.consent_orders.contains_key(&customer) && stored == Some(&w.was_opted_out),
            Some(Some(o)) => self.consent_orders.get(&customer) == Some(o),
        }
    }

    fn apply_consent(&mut self, r: &InboundRecord, w: &ConsentWrite) {
        use channel_domain::automation::ConsentEffect;
        let customer = (r.thread.account_id.clone(), r.thread.customer_number.clone());
        self.ledger
            .push((customer.0.clone(), customer.1.clone(), w.order.clone(), w.effect));
        if let ConsentEffect::Changed(c) | ConsentEffect::Unchanged(c) = w.effect {
            self.consent.insert(customer.clone(), c == Consent::OptOut);
            self.consent_orders.insert(customer, w.order.clone());
        }
        if let Some((notice, entry)) = &w.change {
            self.append(r.conversation.conversation_id(), notice, None);
            self.audit.push(entry.clone());
        }
    }

    fn append(&mut self, conversation: &ConversationId, m: &Message, raw: Option<String>) {
        let rank = channel_domain::telesign::status::rank(m.status, m.status_code);
        self.messages
            .entry(conversation.clone())
            .or_default()
            .insert(m.message_id.clone(), (m.clone(), rank, raw));
    }
}

impl IdleConversations for MemoryStore {
    async fn idle(
        &self,
        account_id: &AccountId,
        closed: bool,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError> {
        Ok(self.read(|s| {
            let mut idle: Vec<Conversation> = s
                .conversations
                .values()
                .filter(|c| {
                    &c.account_id == account_id && (c.status == Status::Closed) == closed && c.last_activity_at < before
                })
                .cloned()
                .collect();
            idle.sort_by_key(|c| c.last_activity_at);
            idle.truncate(limit as usize);
            idle
        }))
    }

    async fn end_idle(&self, e: &IdleEnd) -> Result<Committed, StoreError> {
        Ok(self.transact(|s| {
            if !s.move_holds(&e.end) {
                return Committed::Lost;
            }
            s.apply_move(&e.end);
            s.append(&e.end.conversation_id, &e.notice, None);
            if let Some(closing) = &e.closing {
                s.append(&e.end.conversation_id, closing, None);
            }
            s.writes += 1;
            Committed::Done
        }))
    }
}

impl ConversationMoves for MemoryStore {
    async fn conversation(&self, id: &ConversationId) -> Result<Option<Conversation>, StoreError> {
        Ok(self.read(|s| s.conversations.get(id).cloned()))
    }

    async fn apply_move(&self, m: &Move) -> Result<Committed, StoreError> {
        Ok(self.transact(|s| {
            if !s.move_holds(m) {
                return Committed::Lost;
            }
            s.apply_move(m);
            s.writes += 1;
            Committed::Done
        }))
    }
}

impl ConversationNotes for MemoryStore {
    async fn write_note(&self, n: &Note) -> Result<Committed, StoreError> {
        Ok(self.transact(|s| {
            let writable = s
                .conversations
                .get(&n.conversation_id)
                .is_some_and(|c| c.status != Status::Closed && c.assigned_agent.as_deref() == n.holder_read.as_deref());
            if !writable {
                return Committed::Lost;
            }
            s.append(&n.conversation_id, &n.message, None);
            s.audit.push(n.audit.clone());
            s.writes += 1;
            Committed::Done
        }))
    }
}

impl ConversationReads for MemoryStore {
    async fn transcript(
        &self,
        id: &ConversationId,
        order: Order,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Option<Conversation>, ReadError> {
        let skip: usize = match cursor {
            None => 0,
            Some(c) => c.parse().map_err(|_| BadCursor)?,
        };
        Ok(self.read(|s| {
            let mut c = s.conversations.get(id)?.clone();
            let mut all = s.transcript(id);
            if order == Order::Newest {
                all.reverse();
            }
            let end = (skip + limit as usize).min(all.len());
            c.messages = Some(all[skip.min(end)..end].to_vec());
            c.next_cursor = (end < all.len()).then(|| end.to_string());
            Some(c)
        }))
    }

    async fn list(
        &self,
        account_id: &AccountId,
        listing: &Listing,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Conversation>, ReadError> {
        let skip: usize = match cursor {
            None => 0,
            Some(c) => c.parse().map_err(|_| BadCursor)?,
        };
        Ok(self.read(|s| {
            let mut all: Vec<Conversation> = s
                .conversations
                .values()
                .filter(|c| &c.account_id == account_id && listed(c, listing))
                .cloned()
                .collect();
            all.sort_by_key(|c| std::cmp::Reverse((c.last_activity_at, c.conversation_id.clone())));
            let end = (skip + limit as usize).min(all.len());
            Page {
                items: all[skip.min(end)..end].to_vec(),
                next_cursor: (end < all.len()).then(|| end.to_string()),
            }
        }))
    }

    async fn counts(&self, account_id: &AccountId, user_id: &UserId) -> Result<Counts, StoreError> {
        Ok(self.read(|s| {
            let live: Vec<&Conversation> = s
                .conversations
                .values()
                .filter(|c| &c.account_id == account_id && c.status != Status::Closed)
                .collect();
            Counts {
                all: live.len() as u64,
                mine: live
                    .iter()
                    .filter(|c| c.assigned_agent.as_deref() == Some(user_id.as_str()))
                    .count() as u64,
                unassigned: live.iter().filter(|c| c.assigned_agent.is_none()).count() as u64,
            }
        }))
    }
}

/// Whether a conversation belongs to a listing, as the table's keys decide it.
fn listed(c: &Conversation, listing: &Listing) -> bool {
    let holder = |held: &Option<UserId>| held.as_ref().map(UserId::as_str) == c.assigned_agent.as_deref();
    match listing {
        Listing::Statuses(statuses) => statuses.contains(&c.status),
        Listing::Held(held) => c.status != Status::Closed && holder(held),
        Listing::Customer {
            number, statuses, held, ..
        } => &c.customer_number == number && statuses.contains(&c.status) && held.as_ref().is_none_or(holder),
    }
}

impl InboundLog for MemoryStore {
    async fn thread_state(&self, thread: &Thread, opt_out_tag: &str) -> Result<ThreadState, StoreError> {
        self.check_up()?;
        Ok(self.read(|s| {
            let customer = (thread.account_id.clone(), thread.customer_number.clone());
            let kept = s.opt_out_tags.contains(opt_out_tag);
            ThreadState {
                number_owner: s.claims.get(&thread.support_number).cloned(),
                key_version: s.key_versions.get(&thread.account_id).copied(),
                live: s.pointers.get(thread).cloned(),
                opted_out: kept || s.consent.get(&customer).copied().unwrap_or(false),
                kept_opt_out: kept.then(|| opt_out_tag.to_owned()),
                consent_read: s
                    .consent
                    .contains_key(&customer)
                    .then(|| s.consent_orders.get(&customer).cloned()),
                away_sent_for: s.away.get(thread).cloned(),
                number: s
                    .accounts
                    .get(&thread.account_id)
                    .and_then(|a| a.number(&thread.support_number).map(|n| (a.name.clone(), n.clone()))),
            }
        }))
    }

    async fn record_inbound(&self, r: &InboundRecord) -> Result<InboundWrite, StoreError> {
        self.check_up()?;
        Ok(self.transact(|s| {
            let reference = (r.thread.account_id.clone(), r.reference_id.clone());
            if s.references.contains(&reference) {
                return InboundWrite::Duplicate;
            }
            if !s.write_holds(&r.conversation) || !s.away_holds(r) || !s.consent_holds(r) {
                return InboundWrite::Lost;
            }
            s.references.push(reference);
            s.apply_write(&r.conversation);
            if let Some(period) = &r.away_for {
                s.away.insert(r.thread.clone(), period.clone());
            }
            let id = r.conversation.conversation_id().clone();
            s.append(&id, &r.message, Some(r.raw.clone()));
            if let Some(w) = &r.consent {
                s.apply_consent(r, w);
            }
            for m in &r.automated {
                s.append(&id, m, None);
            }
            if let Some(tag) = &r.lift_opt_out {
                s.opt_out_tags.remove(tag);
            }
            s.writes += 1;
            InboundWrite::Stored
        }))
    }
}

impl OutboundLog for MemoryStore {
    async fn number_owner(&self, number: &PhoneNumber) -> Result<Option<AccountId>, StoreError> {
        Ok(self.read(|s| s.claims.get(number).cloned()))
    }

    async fn live_conversation(&self, thread: &Thread) -> Result<(Option<Conversation>, bool), StoreError> {
        Ok(self.read(|s| {
            let live = s
                .pointers
                .get(thread)
                .and_then(|(id, _)| s.conversations.get(id).cloned());
            let opted_out = s
                .consent
                .get(&(thread.account_id.clone(), thread.customer_number.clone()))
                .copied()
                .unwrap_or(false);
            (live, opted_out)
        }))
    }

    async fn begin_outbound(&self, r: &OutboundRecord) -> Result<BeginWrite, StoreError> {
        Ok(self.transact(|s| {
            if s.consent
                .get(&(r.thread.account_id.clone(), r.thread.customer_number.clone()))
                == Some(&true)
            {
                return BeginWrite::OptedOut;
            }
            if r.opt_out_tag.as_ref().is_some_and(|t| s.opt_out_tags.contains(t)) {
                return BeginWrite::OptedOut;
            }
            if let Some((scope, _)) = &r.idempotency {
                if s.idempotency.contains_key(scope) {
                    return BeginWrite::KeyTaken;
                }
            }
            if !s.write_holds(&r.conversation) {
                return BeginWrite::Lost;
            }
            if let Some((scope, fingerprint)) = &r.idempotency {
                s.idempotency.insert(
                    scope.clone(),
                    IdempotencyRecord::Pending {
                        fingerprint: fingerprint.clone(),
                    },
                );
            }
            s.apply_write(&r.conversation);
            s.append(r.conversation.conversation_id(), &r.message, None);
            s.audit.push(r.audit.clone());
            s.writes += 1;
            BeginWrite::Begun
        }))
    }

    async fn settle(&self, st: &Settlement) -> Result<(), StoreError> {
        let failing = self
            .failing_settles
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let settled = self.settle_now(st);
        if failing {
            return Err(StoreError::Unavailable("timed out after committing".into()));
        }
        settled
    }
}

impl Leases for MemoryStore {
    async fn acquire(&self, name: &str, holder: &str, until: i64) -> Result<bool, StoreError> {
        self.check_up()?;
        let now = channel_domain::ids::epoch_seconds();
        // Not a transaction's write: a test's hook waits for the work the lease guards.
        Ok(self.write(|s| match s.leases.get(name) {
            Some((_, expires)) if *expires >= now => false,
            _ => {
                s.leases.insert(name.to_owned(), (holder.to_owned(), until));
                true
            }
        }))
    }

    async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.check_up()?;
        self.write(|s| {
            if s.leases.get(name).is_some_and(|(h, _)| h == holder) {
                s.leases.remove(name);
            }
        });
        Ok(())
    }
}

impl Outbox for MemoryStore {
    async fn pending_send(
        &self,
        conversation_id: &ConversationId,
        message_id: &MessageId,
    ) -> Result<Option<PendingSend>, StoreError> {
        self.check_up()?;
        Ok(self.read(|s| {
            let conversation = s.conversations.get(conversation_id)?.clone();
            let (message, _, _) = s.messages.get(conversation_id)?.get(message_id)?;
            Some(PendingSend {
                conversation,
                message: message.clone(),
            })
        }))
    }

    async fn claim_send(&self, pending: &PendingSend, needs_consent: bool) -> Result<SendClaim, StoreError> {
        self.check_up()?;
        let c = &pending.conversation;
        let id = &pending.message.message_id;
        Ok(self.transact(|s| {
            let unsent = s
                .messages
                .get(&c.conversation_id)
                .and_then(|t| t.get(id))
                .is_some_and(|(_, rank, _)| *rank == 0);
            if !unsent || s.send_claims.contains(id) {
                return SendClaim::Taken;
            }
            let key = (c.account_id.clone(), c.customer_number.clone());
            if needs_consent && s.consent.get(&key) == Some(&true) {
                return SendClaim::OptedOut;
            }
            s.send_claims.insert(id.clone());
            s.writes += 1;
            SendClaim::Claimed
        }))
    }
}

impl MemoryStore {
    fn settle_now(&self, st: &Settlement) -> Result<(), StoreError> {
        self.transact(|s| {
            let recorded = s
                .messages
                .get(&st.conversation_id)
                .is_some_and(|t| t.contains_key(&st.message_id));
            if !recorded {
                return Err(StoreError::Unavailable(
                    "settling a message that is not recorded".into(),
                ));
            }
            let rank = channel_domain::telesign::status::rank(st.state, st.code);
            if let Some((m, stored_rank, _)) = s
                .messages
                .get_mut(&st.conversation_id)
                .and_then(|t| t.get_mut(&st.message_id))
            {
                if *stored_rank <= rank {
                    m.status = st.state;
                    m.status_code = st.code.or(m.status_code);
                    *stored_rank = rank;
                }
                m.status_description = Some(st.description.clone());
                if st.reference_id.is_some() {
                    m.telesign_reference_id = st.reference_id.clone();
                }
            }
            if let Some(r) = &st.reference_id {
                s.outrefs
                    .insert(r.clone(), (st.conversation_id.clone(), st.message_id.clone()));
            }
            if let Some((scope, outcome)) = &st.idempotency {
                match outcome {
                    None => {
                        s.idempotency.remove(scope);
                    }
                    Some(outcome) => {
                        let fingerprint = match s.idempotency.get(scope) {
                            Some(
                                IdempotencyRecord::Pending { fingerprint }
                                | IdempotencyRecord::Done { fingerprint, .. },
                            ) => fingerprint.clone(),
                            None => String::new(),
                        };
                        s.idempotency.insert(
                            scope.clone(),
                            IdempotencyRecord::Done {
                                fingerprint,
                                outcome: Box::new(outcome.clone()),
                            },
                        );
                    }
                }
            }
            s.writes += 1;
            Ok(())
        })
    }
}

impl IdempotencyLog for MemoryStore {
    async fn idempotency(&self, scope: &IdempotencyScope) -> Result<Option<IdempotencyRecord>, StoreError> {
        Ok(self.read(|s| s.idempotency.get(scope).cloned()))
    }
}

impl ReportLog for MemoryStore {
    async fn key_stamp(&self, account_id: &AccountId) -> Result<Option<i64>, StoreError> {
        Ok(self.read(|s| s.key_versions.get(account_id).copied()))
    }

    async fn locate(&self, reference_id: &str) -> Result<Option<MessageRef>, StoreError> {
        Ok(self.read(|s| s.outrefs.get(reference_id).cloned()))
    }

    async fn advance(&self, at: &MessageRef, u: &StatusUpdate) -> Result<Committed, StoreError> {
        Ok(self.transact(|s| {
            let account = s.conversations.get(&at.0).map(|c| c.account_id.clone());
            let Some((m, rank, _)) = s.messages.get_mut(&at.0).and_then(|t| t.get_mut(&at.1)) else {
                return Committed::Lost;
            };
            let ours = account.as_ref() == Some(&u.account_id)
                && m.direction == channel_domain::conversation::Direction::Outbound;
            if !ours || *rank >= u.rank {
                return Committed::Lost;
            }
            m.status = u.state;
            m.status_code = Some(u.code);
            m.status_description = Some(u.description.clone());
            m.telesign_reference_id.get_or_insert_with(|| u.reference_id.clone());
            *rank = u.rank;
            Committed::Done
        }))
    }

    async fn stored_status(&self, at: &MessageRef) -> Result<Option<StoredStatus>, StoreError> {
        Ok(self.read(|s| {
            let account_id = s.conversations.get(&at.0)?.account_id.clone();
            let (m, _, _) = s.messages.get(&at.0)?.get(&at.1)?;
            Some(StoredStatus {
                account_id,
                outbound: m.direction == channel_domain::conversation::Direction::Outbound,
                code: m.status_code,
            })
        }))
    }
}

impl AccountStore for MemoryStore {
    async fn account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        self.check_up()?;
        Ok(self.read(|s| s.accounts.get(id).cloned()))
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let mut all: Vec<Account> = self.read(|s| s.accounts.values().cloned().collect());
        all.sort_by_key(|a| a.created_at);
        Ok(all)
    }

    async fn create_account(&self, a: &Account, audit: &AuditEntry) -> Result<Claim, StoreError> {
        let failing = self
            .failing_creations
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let created = self.transact(|s| {
            if s.accounts.contains_key(&a.account_id) {
                return Claim::Done;
            }
            if let Some(n) = a.numbers.iter().find(|n| s.claims.contains_key(&n.number)) {
                return Claim::NumberInUse(n.number.clone());
            }
            if s.accounts.values().any(|x| x.customer_id == a.customer_id) {
                return Claim::CustomerIdInUse(a.customer_id.clone());
            }
            for n in &a.numbers {
                s.claims.insert(n.number.clone(), a.account_id.clone());
            }
            s.accounts.insert(a.account_id.clone(), a.clone());
            s.audit.push(audit.clone());
            Claim::Done
        });
        if failing {
            return Err(StoreError::Unavailable("timed out after committing".into()));
        }
        Ok(created)
    }

    async fn stamp_keys(&self, id: &AccountId, version: i64) -> Result<(), StoreError> {
        self.write(|s| s.key_versions.insert(id.clone(), version));
        Ok(())
    }

    async fn add_number(&self, id: &AccountId, n: &SupportNumber, audit: &AuditEntry) -> Result<Claim, StoreError> {
        Ok(self.transact(|s| {
            if !s.accounts.contains_key(id) {
                return Claim::NoAccount;
            }
            if s.claims.contains_key(&n.number) {
                return Claim::NumberInUse(n.number.clone());
            }
            let Some(account) = s.accounts.get_mut(id) else {
                return Claim::NoAccount;
            };
            account.numbers.push(n.clone());
            account.numbers.sort_by(|a, b| a.number.cmp(&b.number));
            s.claims.insert(n.number.clone(), id.clone());
            s.audit.push(audit.clone());
            Claim::Done
        }))
    }

    async fn change_number(
        &self,
        id: &AccountId,
        before: &SupportNumber,
        after: &SupportNumber,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        Ok(self.transact(|s| {
            let Some(slot) = s
                .accounts
                .get_mut(id)
                .and_then(|a| a.numbers.iter_mut().find(|x| x.number == before.number))
            else {
                return false;
            };
            if slot != before {
                return false;
            }
            *slot = after.clone();
            s.audit.push(audit.clone());
            true
        }))
    }

    async fn remove_number(&self, id: &AccountId, n: &PhoneNumber, audit: &AuditEntry) -> Result<bool, StoreError> {
        Ok(self.transact(|s| {
            if s.claims.get(n) != Some(id) {
                return false;
            }
            s.claims.remove(n);
            if let Some(a) = s.accounts.get_mut(id) {
                a.numbers.retain(|x| &x.number != n);
            }
            s.audit.push(audit.clone());
            true
        }))
    }

    async fn record_rotation(&self, id: &AccountId, audit: &AuditEntry) -> Result<bool, StoreError> {
        Ok(self.transact(|s| {
            if !s.accounts.contains_key(id) {
                return false;
            }
            s.audit.push(audit.clone());
            true
        }))
    }

    async fn change_account(&self, change: &AccountChange, audit: &AuditEntry) -> Result<bool, StoreError> {
        Ok(self.transact(|s| {
            let Some(a) = s.accounts.get_mut(&change.account_id) else {
                return false;
            };
            a.name = change.name.clone();
            a.retention_days = change.retention_days;
            s.audit.push(audit.clone());
            true
        }))
    }

    async fn delete_account(&self, a: &Account, retired: &Retired, audit: &AuditEntry) -> Result<bool, StoreError> {
        Ok(self.transact(|s| {
            s.members.retain(|(account, _), _| account != &a.account_id);
            if s.accounts.remove(&a.account_id).is_none() {
                return false;
            }
            s.claims.retain(|_, owner| owner != &a.account_id);
            s.retired.insert(a.account_id.clone(), retired.clone());
            s.audit.push(audit.clone());
            true
        }))
    }
}

impl RetiredAccounts for MemoryStore {
    async fn retired(&self) -> Result<Vec<Retired>, StoreError> {
        Ok(self.read(|s| s.retired.values().cloned().collect()))
    }

    async fn retired_account(&self, id: &AccountId) -> Result<Option<Retired>, StoreError> {
        Ok(self.read(|s| s.retired.get(id).cloned()))
    }

    async fn forget_retired(&self, account_id: &AccountId) -> Result<(), StoreError> {
        self.write(|s| s.retired.remove(account_id));
        Ok(())
    }
}

impl Members for MemoryStore {
    async fn member(&self, account_id: &AccountId, user_id: &UserId) -> Result<Option<Member>, StoreError> {
        Ok(self.write(|s| {
            s.member_reads += 1;
            s.members.get(&(account_id.clone(), user_id.clone())).cloned()
        }))
    }

    async fn members(
        &self,
        account_id: &AccountId,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Member>, ReadError> {
        let all: Vec<Member> = self.read(|s| {
            s.members
                .values()
                .filter(|m| &m.account_id == account_id)
                .cloned()
                .collect()
        });
        let key = |m: &Member| (m.user_id.as_str().to_owned(), String::new());
        let (items, next_cursor) =
            channel_domain::paging::page_after(all, key, limit as usize, cursor).ok_or(ReadError::Cursor(BadCursor))?;
        Ok(Page { items, next_cursor })
    }

    async fn memberships(&self, user_id: &UserId) -> Result<Vec<Member>, StoreError> {
        Ok(self.read(|s| s.members.values().filter(|m| &m.user_id == user_id).cloned().collect()))
    }

    async fn put_member(&self, m: &Member, audit: &AuditEntry) -> Result<Committed, StoreError> {
        Ok(self.transact(|s| {
            if !s.accounts.contains_key(&m.account_id) {
                return Committed::Lost;
            }
            s.members.insert((m.account_id.clone(), m.user_id.clone()), m.clone());
            s.audit.push(audit.clone());
            Committed::Done
        }))
    }

    async fn remove_member(
        &self,
        account_id: &AccountId,
        user_id: &UserId,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        Ok(self.transact(|s| {
            if s.members.remove(&(account_id.clone(), user_id.clone())).is_none() {
                return false;
            }
            s.audit.push(audit.clone());
            true
        }))
    }

    async fn held_by(&self, account_id: &AccountId, user_id: &UserId) -> Result<Vec<ConversationId>, StoreError> {
        Ok(self.read(|s| {
            s.conversations
                .values()
                // Like the index, it may still list a conversation ended since.
                .filter(|c| &c.account_id == account_id && c.assigned_agent.as_deref() == Some(user_id.as_str()))
                .map(|c| c.conversation_id.clone())
                .collect()
        }))
    }
}

impl AuditLog for MemoryStore {
    async fn audit(
        &self,
        account_id: &AccountId,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<AuditEntry>, ReadError> {
        let skip: usize = match cursor {
            None => 0,
            Some(c) => c.parse().map_err(|_| BadCursor)?,
        };
        Ok(self.read(|s| {
            let all: Vec<AuditEntry> = s
                .audit
                .iter()
                .rev()
                .filter(|e| &e.account_id == account_id)
                .cloned()
                .collect();
            let end = (skip + limit as usize).min(all.len());
            Page {
                items: all[skip.min(end)..end].to_vec(),
                next_cursor: (end < all.len()).then(|| end.to_string()),
            }
        }))
    }
}

/// The parking queue in memory; `unavailable` makes it refuse as an outage would.
#[derive(Debug, Clone, Default)]
pub struct MemoryQueue {
    /// The callbacks parked, oldest first.
    pub parked: Arc<Mutex<Vec<ParkedCallback>>>,
    /// Whether the queue is down.
    pub unavailable: Arc<std::sync::atomic::AtomicBool>,
}

impl MemoryQueue {
    /// Takes every parked callback out (a consumer's receive).
    pub fn drain(&self) -> Vec<ParkedCallback> {
        std::mem::take(&mut *self.parked.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl CallbackQueue for MemoryQueue {
    async fn park(&self, callback: &ParkedCallback) -> Result<(), QueueError> {
        if self.unavailable.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(QueueError("down".into()));
        }
        self.parked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(callback.clone());
        Ok(())
    }
}

/// The export bucket in memory: each export by its key, the link `memory://<key>`.
#[derive(Debug, Clone, Default)]
pub struct MemoryExports {
    /// What was published, by key.
    pub objects: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl ExportStore for MemoryExports {
    async fn publish(&self, key: &str, body: Vec<u8>, _valid_for: std::time::Duration) -> Result<String, ExportError> {
        self.objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_owned(), body);
        Ok(format!("memory://{key}"))
    }
}

/// A queue in memory (the work queue's jobs, the sweep queue's turns): what was sent, oldest
/// first; `unavailable` refuses every send as an outage would.
#[derive(Debug, Clone)]
pub struct MemoryMessages<T> {
    /// The messages queued, oldest first.
    pub messages: Arc<Mutex<Vec<T>>>,
    /// Whether the queue is down.
    pub unavailable: Arc<std::sync::atomic::AtomicBool>,
}

impl<T> Default for MemoryMessages<T> {
    fn default() -> Self {
        Self {
            messages: Arc::default(),
            unavailable: Arc::default(),
        }
    }
}

impl<T: Clone> MemoryMessages<T> {
    /// Takes every queued message out (the consumer's receive).
    pub fn drain(&self) -> Vec<T> {
        std::mem::take(&mut *self.messages.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn send(&self, messages: &[T]) -> Result<(), Unqueued> {
        if self.unavailable.load(SeqCst) {
            return Err(Unqueued {
                done: 0,
                error: QueueError("down".into()),
            });
        }
        self.messages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(messages);
        Ok(())
    }
}

/// The sweep queue in memory.
pub type MemorySweeps = MemoryMessages<channel_domain::jobs::SweepTask>;

/// The work queue in memory.
pub type MemoryWork = MemoryMessages<channel_domain::jobs::Job>;

impl SweepQueue for MemorySweeps {
    async fn queue_sweeps(&self, tasks: &[channel_domain::jobs::SweepTask]) -> Result<(), Unqueued> {
        self.send(tasks)
    }
}

impl WorkQueue for MemoryWork {
    async fn enqueue(&self, jobs: &[channel_domain::jobs::Job]) -> Result<(), Unqueued> {
        self.send(jobs)
    }
}

/// Secrets in memory; `unavailable` makes every call fail as an outage would.
#[derive(Debug, Clone, Default)]
pub struct MemoryKeys {
    /// Secrets by name.
    pub secrets: Arc<Mutex<HashMap<String, AccountSecret>>>,
    /// Reads made.
    pub reads: Arc<Mutex<usize>>,
    /// Whether the store is down.
    pub unavailable: Arc<Mutex<bool>>,
}

impl MemoryKeys {
    fn check(&self) -> Result<(), KeyStoreError> {
        if *self.unavailable.lock().unwrap_or_else(|p| p.into_inner()) {
            return Err(KeyStoreError::Unavailable("down".into()));
        }
        Ok(())
    }
}

impl KeyStore for MemoryKeys {
    fn name_for(&self, account_id: &AccountId) -> String {
        format!("test/{account_id}")
    }

    async fn read(&self, name: &str) -> Result<AccountSecret, KeyStoreError> {
        self.check()?;
        *self.reads.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
            .ok_or(KeyStoreError::NotFound)
    }

    async fn create(&self, name: &str, s: &AccountSecret) -> Result<(), KeyStoreError> {
        self.check()?;
        let mut all = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        if all.contains_key(name) {
            return Err(KeyStoreError::AlreadyExists);
        }
        all.insert(name.to_owned(), s.clone());
        Ok(())
    }

    async fn replace(&self, name: &str, s: &AccountSecret) -> Result<(), KeyStoreError> {
        self.check()?;
        self.secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), s.clone());
        Ok(())
    }

    async fn opt_out_key(&self) -> Result<channel_domain::privacy::OptOutKey, KeyStoreError> {
        self.check()?;
        channel_domain::privacy::OptOutKey::new(FAKE_OPT_OUT_KEY).map_err(|_| KeyStoreError::Malformed)
    }

    async fn schedule_deletion(&self, name: &str) -> Result<(), KeyStoreError> {
        self.check()?;
        self.secrets.lock().unwrap_or_else(|p| p.into_inner()).remove(name);
        Ok(())
    }
}

/// The key of opt-out tags the fake key store holds.
pub const FAKE_OPT_OUT_KEY: &str = "fake-opt-out-key-of-the-unit-tests-0123456789";

/// An SMS the fake gateway was asked to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    /// To.
    pub phone_number: String,
    /// From.
    pub sender_id: Option<String>,
    /// Text.
    pub message: String,
    /// Our external id.
    pub external_id: Option<String>,
}

/// TeleSign in memory: answers from a script (accepted by default) and keeps what it was sent.
#[derive(Debug, Clone, Default)]
pub struct FakeGateway {
    /// Answers to give, first first; when empty, every send is accepted with a new reference.
    pub script: Arc<Mutex<Vec<Result<MessageAnswer, TelesignError>>>>,
    /// What was sent.
    pub sent: Arc<Mutex<Vec<SentSms>>>,
    /// The verdict of probes (`None`: TeleSign unavailable).
    pub probe_verdict: Arc<Mutex<Option<Verdict>>>,
}

impl FakeGateway {
    /// A gateway that accepts everything and finds every credential valid.
    pub fn accepting() -> Self {
        let g = Self::default();
        *g.probe_verdict.lock().unwrap_or_else(|p| p.into_inner()) = Some(Verdict::Valid);
        g
    }

    /// The next send gets this answer.
    pub fn answer_next(&self, answer: Result<MessageAnswer, TelesignError>) {
        self.script.lock().unwrap_or_else(|p| p.into_inner()).push(answer);
    }

    /// What was sent so far.
    pub fn sent(&self) -> Vec<SentSms> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl SmsGateway for FakeGateway {
    async fn send_sms(
        &self,
        _: &Credentials,
        _: ApiHost,
        sms: &SendSms<'_>,
        _: Instant,
    ) -> Result<MessageAnswer, TelesignError> {
        let scripted = {
            let mut script = self.script.lock().unwrap_or_else(|p| p.into_inner());
            (!script.is_empty()).then(|| script.remove(0))
        };
        let answer = scripted.unwrap_or_else(|| {
            Ok(MessageAnswer {
                reference_id: channel_domain::ids::new_id().to_uppercase(),
                status: channel_domain::telesign::wire::AnswerStatus {
                    code: 290,
                    description: "Message in progress".into(),
                },
            })
        });
        if !matches!(
            answer,
            Err(TelesignError::Unreachable(_)) | Err(TelesignError::Failure(_))
        ) {
            self.sent.lock().unwrap_or_else(|p| p.into_inner()).push(SentSms {
                phone_number: sms.phone_number.to_owned(),
                sender_id: sms.sender_id.map(str::to_owned),
                message: sms.message.to_owned(),
                external_id: sms.external_id.map(str::to_owned),
            });
        }
        answer
    }

    async fn probe(&self, _: &Credentials, _: ApiHost, _: Instant) -> Result<Validation, TelesignError> {
        match *self.probe_verdict.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(verdict) => Ok(Validation {
                verdict,
                telesign_code: (verdict != Verdict::Valid).then_some(10008),
            }),
            None => Err(TelesignError::Unreachable("down".into())),
        }
    }
}

impl CustomerRecords for MemoryStore {
    async fn conversations_of(
        &self,
        account_id: &AccountId,
        _numbers: &[PhoneNumber],
        customer: &PhoneNumber,
    ) -> Result<Vec<ConversationId>, StoreError> {
        let mut ids: Vec<ConversationId> = self.read(|s| {
            s.conversations
                .values()
                .filter(|c| &c.account_id == account_id && &c.customer_number == customer)
                .map(|c| c.conversation_id.clone())
                .collect()
        });
        ids.sort();
        Ok(ids)
    }

    async fn conversation_file(&self, id: &ConversationId) -> Result<Option<ConversationFile>, StoreError> {
        Ok(self.read(|s| {
            let mut conversation = s.conversations.get(id)?.clone();
            let stored = s.messages.get(id).cloned().unwrap_or_default();
            let raw_payloads = stored
                .iter()
                .filter_map(|(mid, (_, _, raw))| raw.clone().map(|r| (mid.clone(), r)))
                .collect();
            conversation.messages = Some(stored.into_values().map(|(m, _, _)| m).collect());
            Some(ConversationFile {
                conversation,
                raw_payloads,
            })
        }))
    }

    async fn consent_records(
        &self,
        account_id: &AccountId,
        customer: &PhoneNumber,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        let state = self.read(|s| s.consent.get(&(account_id.clone(), customer.clone())).copied());
        Ok(state
            .map(|o| serde_json::json!({ "opted_out": o }))
            .into_iter()
            .collect())
    }

    async fn entries_about(&self, account_id: &AccountId, targets: &[String]) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(self.read(|s| {
            s.audit
                .iter()
                .filter(|e| &e.account_id == account_id && targets.contains(&e.target))
                .cloned()
                .collect()
        }))
    }

    async fn erase_conversation(
        &self,
        _account_id: &AccountId,
        _customer: &PhoneNumber,
        id: &ConversationId,
    ) -> Result<Erased, StoreError> {
        Ok(self.write(|s| {
            let mut erased = Erased::default();
            let before = s.pointers.len();
            s.pointers.retain(|_, (c, _)| c != id);
            erased.references += before - s.pointers.len();
            let messages = s.messages.remove(id).unwrap_or_default();
            erased.messages = messages.len();
            let before = s.outrefs.len();
            s.outrefs.retain(|_, (c, _)| c != id);
            erased.references += before - s.outrefs.len();
            erased.conversations = usize::from(s.conversations.remove(id).is_some());
            erased
        }))
    }

    async fn erase_consent(
        &self,
        account_id: &AccountId,
        customer: &PhoneNumber,
        tag: &str,
    ) -> Result<(usize, bool), StoreError> {
        Ok(
            self.write(|s| match s.consent.remove(&(account_id.clone(), customer.clone())) {
                Some(opted_out) => {
                    if opted_out {
                        s.opt_out_tags.insert(tag.to_owned());
                    }
                    (1, s.opt_out_tags.contains(tag))
                }
                None => (0, s.opt_out_tags.contains(tag)),
            }),
        )
    }

    async fn opt_out_kept(&self, _account_id: &AccountId, tag: &str) -> Result<bool, StoreError> {
        Ok(self.read(|s| s.opt_out_tags.contains(tag)))
    }

    async fn record(&self, audit: &AuditEntry) -> Result<(), StoreError> {
        self.write(|s| s.audit.push(audit.clone()));
        Ok(())
    }
}

impl Connections for MemoryStore {
    async fn open(&self, c: &Connection, audiences: &[Audience]) -> Result<(), StoreError> {
        self.write(|s| {
            for a in audiences {
                s.listeners.entry(a.clone()).or_default().push(c.clone());
            }
        });
        Ok(())
    }

    async fn listening(&self, audience: &Audience) -> Result<Vec<Connection>, StoreError> {
        self.check_up()?;
        Ok(self.read(|s| s.listeners.get(audience).cloned().unwrap_or_default()))
    }

    async fn unlist(&self, audience: &Audience, connection_id: &str) -> Result<(), StoreError> {
        self.write(|s| {
            if let Some(l) = s.listeners.get_mut(audience) {
                l.retain(|c| c.connection_id != connection_id);
            }
        });
        Ok(())
    }

    async fn close(&self, connection_id: &str) -> Result<(), StoreError> {
        self.write(|s| {
            for l in s.listeners.values_mut() {
                l.retain(|c| c.connection_id != connection_id);
            }
        });
        Ok(())
    }
}

/// The WebSocket API's connections in memory: what each received, and which are gone.
#[derive(Debug, Clone, Default)]
pub struct MemorySockets {
    /// The payloads each connection received, in order.
    pub received: Arc<Mutex<HashMap<String, Vec<Vec<u8>>>>>,
    /// Connections that answer 410.
    pub gone: Arc<Mutex<Vec<String>>>,
    /// Connections closed by the server.
    pub closed: Arc<Mutex<Vec<String>>>,
}

impl MemorySockets {
    /// The events a connection received, in order.
    pub fn events_of(&self, connection_id: &str) -> Vec<channel_domain::events::Event> {
        let received = self.received.lock().unwrap_or_else(|p| p.into_inner());
        received
            .get(connection_id)
            .into_iter()
            .flatten()
            .filter_map(|p| serde_json::from_slice(p).ok())
            .collect()
    }
}

impl Sockets for MemorySockets {
    async fn post(&self, connection_id: &str, payload: &[u8]) -> Result<(), PostError> {
        if self
            .gone
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|g| g == connection_id)
        {
            return Err(PostError::Gone);
        }
        let mut received = self.received.lock().unwrap_or_else(|p| p.into_inner());
        received
            .entry(connection_id.to_owned())
            .or_default()
            .push(payload.to_vec());
        Ok(())
    }

    async fn disconnect(&self, connection_id: &str) -> Result<(), PostError> {
        self.closed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(connection_id.to_owned());
        Ok(())
    }
}

/// The event bus in memory; `failing` refuses that many requests before taking any.
#[derive(Debug, Clone, Default)]
pub struct MemoryBus {
    /// The events put, in order.
    pub events: Arc<Mutex<Vec<channel_domain::events::Event>>>,
    /// Requests still to refuse.
    pub failing: Arc<std::sync::atomic::AtomicUsize>,
}

impl EventBus for MemoryBus {
    async fn publish(&self, events: &[channel_domain::events::Event]) -> Result<(), BusError> {
        let refuse = self.failing.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)).is_ok();
        if refuse || events.len() > crate::events::BUS_BATCH {
            return Err(BusError("refused".into()));
        }
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(events);
        Ok(())
    }
}

impl CannedResponses for MemoryStore {
    async fn canned_responses(
        &self,
        account_id: &AccountId,
    ) -> Result<Vec<channel_domain::canned::CannedResponse>, StoreError> {
        Ok(self.read(|s| {
            s.canned
                .iter()
                .filter(|((a, _), _)| a == account_id)
                .map(|(_, r)| r.clone())
                .collect()
        }))
    }

    async fn canned_response(
        &self,
        account_id: &AccountId,
        id: &channel_domain::ids::CannedResponseId,
    ) -> Result<Option<channel_domain::canned::CannedResponse>, StoreError> {
        Ok(self.read(|s| s.canned.get(&(account_id.clone(), id.clone())).cloned()))
    }

    async fn put_canned_response(
        &self,
        r: &channel_domain::canned::CannedResponse,
        new: bool,
        audit: &AuditEntry,
    ) -> Result<CannedWrite, StoreError> {
        Ok(self.transact(|s| {
            let at = (r.account_id.clone(), r.canned_response_id.clone());
            let there = s.canned.contains_key(&at);
            if (new && (there || !s.accounts.contains_key(&r.account_id))) || (!new && !there) {
                return CannedWrite::Missing;
            }
            let kept = s.canned.keys().filter(|(a, _)| a == &r.account_id).count();
            if new && kept >= channel_domain::canned::MAX_PER_ACCOUNT {
                return CannedWrite::Full;
            }
            s.canned.insert(at, r.clone());
            s.audit.push(audit.clone());
            CannedWrite::Done
        }))
    }

    async fn delete_canned_response(
        &self,
        account_id: &AccountId,
        id: &channel_domain::ids::CannedResponseId,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        Ok(self.transact(|s| {
            if s.canned.remove(&(account_id.clone(), id.clone())).is_none() {
                return false;
            }
            s.audit.push(audit.clone());
            true
        }))
    }
}
