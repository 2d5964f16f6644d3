//! The agents' desk: the dashboard list, a transcript, and the moves of the state machine.

use std::time::Duration;

use crate::access::{admit, admit_existing, check, standing_in, Refusal};
use crate::backoff::Backoff;
use crate::ports::{
    AccountStore, BadCursor, Committed, ConversationMoves, ConversationNotes, ConversationReads, Counts, Guard, Holder,
    Listing, Members, Move, Note, Order, Page, ReadError, StoreError,
};
use channel_domain::access::{Action, Caller, Standing, UserId};
use channel_domain::audit::{Actor, AuditAction, AuditEntry};
use channel_domain::conversation::{listable, next, Author, Conversation, Event, Message, Status, MAX_NOTE_CHARS};
use channel_domain::ids::{AccountId, ConversationId, Timestamp};
use channel_domain::phone::PhoneNumber;

/// How often a move that lost a race is tried again.
const MOVE_ATTEMPTS: u32 = 5;

/// The pause before a move that lost a race or met a conflicting transaction reads again.
const MOVE_BACKOFF: Backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(100));

/// Applies a move: `true` when it is done; `false` when it lost its condition or met another
/// transaction on its items (after a pause: read again and decide again).
pub(crate) async fn moved<C: ConversationMoves>(store: &C, m: &Move, attempt: u32) -> Result<bool, StoreError> {
    match store.apply_move(m).await {
        Ok(Committed::Done) => Ok(true),
        Ok(Committed::Lost) | Err(StoreError::Conflict(_)) => {
            MOVE_BACKOFF.sleep(attempt).await;
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Why a desk request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeskError {
    /// No such conversation.
    #[error("no conversation has this id")]
    NotFound,
    /// Not a move the state machine allows from this status.
    #[error("a conversation that is {} cannot be asked to {}", .from.as_str(), .event.as_str())]
    Illegal {
        /// The status it is in.
        from: Status,
        /// The move asked for.
        event: Event,
    },
    /// Statuses that cannot be listed together.
    #[error("status lists open, active and waiting, or closed alone")]
    Unlistable,
    /// `assigned` with `status=closed`.
    #[error("assigned lists live conversations: who held a closed one no longer counts")]
    AssignedClosed,
    /// `assigned` with some of the live statuses.
    #[error("assigned lists live conversations in every live status: leave status out")]
    AssignedNarrowed,
    /// A cursor this API did not give out.
    #[error(transparent)]
    Cursor(#[from] BadCursor),
    /// The conversation kept changing under the move.
    #[error("the conversation kept changing under the move")]
    Busy,
    /// No such account (or not one of the caller's).
    #[error("no messaging account has this id")]
    AccountNotFound,
    /// The caller's role does not allow it.
    #[error("your role does not allow this")]
    Forbidden,
    /// Another agent holds the conversation.
    #[error("the conversation is assigned to {0}")]
    AssignedToOther(String),
    /// An assignment to someone who is not a member of the account.
    #[error("{0} is not a member of this account")]
    NotAMember(UserId),
    /// The conversation is closed.
    #[error("the conversation is closed")]
    Closed,
    /// A note with no text.
    #[error("a note needs text")]
    EmptyNote,
    /// A note longer than [`MAX_NOTE_CHARS`].
    #[error("a note is at most {MAX_NOTE_CHARS} characters")]
    NoteTooLong,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ReadError> for DeskError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Cursor(c) => Self::Cursor(c),
            ReadError::Store(s) => Self::Store(s),
        }
    }
}

impl DeskError {
    /// A refusal about a conversation (hidden: not found).
    fn on_conversation(r: Refusal) -> Self {
        match r {
            Refusal::Forbidden => Self::Forbidden,
            Refusal::Hidden => Self::NotFound,
            Refusal::HeldBy(h) => Self::AssignedToOther(h),
            Refusal::Store(e) => Self::Store(e),
        }
    }

    /// A refusal about an account (hidden: no such account).
    fn on_account(r: Refusal) -> Self {
        match r {
            Refusal::Hidden => Self::AccountNotFound,
            other => Self::on_conversation(other),
        }
    }
}

/// Who holds the conversations a list asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assigned {
    /// The caller.
    Me,
    /// Nobody.
    Nobody,
    /// This user.
    User(UserId),
}

impl Assigned {
    /// Parses `me`, `none` or a user id.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "me" => Some(Self::Me),
            "none" => Some(Self::Nobody),
            user => UserId::parse(user).ok().map(Self::User),
        }
    }
}

/// What a dashboard list asks for: statuses (every live one when absent), who holds them, a
/// customer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    /// The statuses asked for.
    pub statuses: Option<Vec<Status>>,
    /// Who holds them.
    pub assigned: Option<Assigned>,
    /// The customer's number.
    pub customer: Option<PhoneNumber>,
}

/// The listing of a filter: some live statuses or `closed` alone; `assigned` lists live
/// conversations in every live status (who holds a closed one no longer counts).
pub fn listing_of(caller: &Caller, filter: &Filter) -> Result<Listing, DeskError> {
    let statuses = filter.statuses.clone().unwrap_or_else(|| Status::LIVE.to_vec());
    if !listable(&statuses) {
        return Err(DeskError::Unlistable);
    }
    let held = filter.assigned.as_ref().map(|a| match a {
        Assigned::Me => Some(caller.user_id.clone()),
        Assigned::Nobody => None,
        Assigned::User(u) => Some(u.clone()),
    });
    if held.is_some() && statuses.contains(&Status::Closed) {
        return Err(DeskError::AssignedClosed);
    }
    Ok(match (&filter.customer, held) {
        (Some(number), held) => Listing::Customer {
            number: number.clone(),
            support_numbers: Vec::new(),
            statuses,
            held,
        },
        (None, Some(held)) if Status::LIVE.iter().all(|s| statuses.contains(s)) => Listing::Held(held),
        (None, Some(_)) => return Err(DeskError::AssignedNarrowed),
        (None, None) => Listing::Statuses(statuses),
    })
}

/// The desk service.
#[derive(Debug)]
pub struct Desk<C> {
    /// Conversations and members.
    pub store: C,
}

impl<C: ConversationMoves + ConversationReads + ConversationNotes + Members + AccountStore> Desk<C> {
    /// The dashboard: an account's conversations of a filter, newest activity first, every page
    /// full unless it is the last.
    pub async fn list(
        &self,
        caller: &Caller,
        account_id: &AccountId,
        filter: &Filter,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Conversation>, DeskError> {
        admit(&self.store, caller, account_id, Action::ReadConversations)
            .await
            .map_err(DeskError::on_account)?;
        let mut listing = listing_of(caller, filter)?;
        self.numbers_into(account_id, &mut listing).await?;
        Ok(self.store.list(account_id, &listing, limit, cursor).await?)
    }

    /// A customer's conversations with the account, closed ones too, newest activity first (the
    /// customer's history).
    pub async fn history(
        &self,
        caller: &Caller,
        account_id: &AccountId,
        customer: &PhoneNumber,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Conversation>, DeskError> {
        admit(&self.store, caller, account_id, Action::ReadConversations)
            .await
            .map_err(DeskError::on_account)?;
        let mut listing = Listing::Customer {
            number: customer.clone(),
            support_numbers: Vec::new(),
            statuses: Status::ALL.to_vec(),
            held: None,
        };
        self.numbers_into(account_id, &mut listing).await?;
        Ok(self.store.list(account_id, &listing, limit, cursor).await?)
    }

    /// A customer's listing gets the account's support numbers, whose pointers find the
    /// customer's live conversations: 1 GetItem of the account, which is also what tells an
    /// operator (whose standing reads no membership) that there is no such account.
    async fn numbers_into(&self, account_id: &AccountId, listing: &mut Listing) -> Result<(), DeskError> {
        if let Listing::Customer { support_numbers, .. } = listing {
            let account = self
                .store
                .account(account_id)
                .await?
                .ok_or(DeskError::AccountNotFound)?;
            *support_numbers = account.numbers.into_iter().map(|n| n.number).collect();
        }
        Ok(())
    }

    /// The desk's counters of the account's live conversations: all, the caller's, nobody's.
    pub async fn counts(&self, caller: &Caller, account_id: &AccountId) -> Result<Counts, DeskError> {
        admit_existing(&self.store, caller, account_id, Action::ReadConversations)
            .await
            .map_err(DeskError::on_account)?;
        Ok(self.store.counts(account_id, &caller.user_id).await?)
    }

    /// A conversation with a page of its transcript in `order`.
    pub async fn transcript(
        &self,
        caller: &Caller,
        id: &ConversationId,
        order: Order,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Conversation, DeskError> {
        let found = self.store.transcript(id, order, limit, cursor).await?;
        let conversation = found.ok_or(DeskError::NotFound)?;
        admit(&self.store, caller, &conversation.account_id, Action::ReadConversations)
            .await
            .map_err(DeskError::on_conversation)?;
        Ok(conversation)
    }

    /// A move (accept, close, end): the policy and the state machine decide, one conditional
    /// write applies it with its audit entry; a lost race reads again.
    pub async fn apply(&self, caller: &Caller, id: &ConversationId, event: Event) -> Result<Conversation, DeskError> {
        for attempt in 1..=MOVE_ATTEMPTS {
            let current = self.store.conversation(id).await?.ok_or(DeskError::NotFound)?;
            let holder = current.assigned_agent.as_deref();
            let standing = admit(&self.store, caller, &current.account_id, Action::Work { holder })
                .await
                .map_err(DeskError::on_conversation)?;
            let m = plan_move(&current, event, caller, standing)?;
            if moved(&self.store, &m, attempt).await? {
                tracing::info!(conversation_id = %id, status = m.to.as_str(), event = event.as_str(), "conversation moved");
                return Ok(m.applied_to(current));
            }
        }
        Err(DeskError::Busy)
    }

    /// Assigns a conversation to a member of its account, or to nobody.
    pub async fn assign(
        &self,
        caller: &Caller,
        id: &ConversationId,
        to: Option<&UserId>,
    ) -> Result<Conversation, DeskError> {
        for attempt in 1..=MOVE_ATTEMPTS {
            let current = self.store.conversation(id).await?.ok_or(DeskError::NotFound)?;
            let holder = current.assigned_agent.as_deref();
            let standing = standing_in(&self.store, caller, &current.account_id).await?;
            let action = Action::Assign {
                holder,
                to: to.map(UserId::as_str),
            };
            check(caller, standing, action).map_err(DeskError::on_conversation)?;
            if current.status == Status::Closed {
                return Err(DeskError::Closed);
            }
            let to = match to {
                None => None,
                Some(user) => match self.store.member(&current.account_id, user).await? {
                    None => return Err(DeskError::NotAMember(user.clone())),
                    Some(member) => Some((user, member.display_name.unwrap_or_else(|| user.to_string()))),
                },
            };
            let m = plan_assignment(&current, caller, to.as_ref().map(|(u, n)| (*u, n.as_str())));
            if moved(&self.store, &m, attempt).await? {
                tracing::info!(conversation_id = %id, to = to.as_ref().map_or("", |(u, _)| u.as_str()), "conversation assigned");
                return Ok(m.applied_to(current));
            }
        }
        Err(DeskError::Busy)
    }
}

impl<C: ConversationMoves + ConversationNotes + Members> Desk<C> {
    /// Writes a note on a conversation the caller may work (the policy's Work action), while it
    /// is not closed; the note and its entry (without the text) in one transaction; a note that
    /// lost a race with a move reads again and is decided again.
    pub async fn note(&self, caller: &Caller, id: &ConversationId, text: &str) -> Result<Message, DeskError> {
        let text = note_text(text)?;
        for attempt in 1..=MOVE_ATTEMPTS {
            let current = self.store.conversation(id).await?.ok_or(DeskError::NotFound)?;
            let holder = current.assigned_agent.as_deref();
            admit(&self.store, caller, &current.account_id, Action::Work { holder })
                .await
                .map_err(DeskError::on_conversation)?;
            if current.status == Status::Closed {
                return Err(DeskError::Closed);
            }
            let note = plan_note(&current, caller, text);
            let written = match self.store.write_note(&note).await {
                Ok(Committed::Done) => true,
                Ok(Committed::Lost) | Err(StoreError::Conflict(_)) => false,
                Err(e) => return Err(e.into()),
            };
            if written {
                tracing::info!(conversation_id = %id, message_id = %note.message.message_id, "note written");
                return Ok(note.message);
            }
            MOVE_BACKOFF.sleep(attempt).await;
        }
        Err(DeskError::Busy)
    }
}

/// A note's text as written: not blank, at most [`MAX_NOTE_CHARS`] characters.
pub fn note_text(text: &str) -> Result<&str, DeskError> {
    if text.trim().is_empty() {
        return Err(DeskError::EmptyNote);
    }
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(DeskError::NoteTooLong);
    }
    Ok(text)
}

/// A note by the caller (named by the token's name, else their id) on a conversation as read,
/// on the condition that its holder is still the one read; audited without the text.
pub fn plan_note(current: &Conversation, caller: &Caller, text: &str) -> Note {
    let author = Author {
        user_id: caller.user_id.clone(),
        name: caller.name.clone().unwrap_or_else(|| caller.user_id.to_string()),
    };
    let message = Message::note(text, author);
    let audit = AuditEntry::new(
        &Actor::of(caller),
        AuditAction::NoteWritten,
        &current.account_id,
        current.conversation_id.as_str(),
    )
    .with("message_id", message.message_id.to_string());
    Note {
        conversation_id: current.conversation_id.clone(),
        account_id: current.account_id.clone(),
        message,
        holder_read: current.assigned_agent.clone(),
        audit,
    }
}

/// The move an event makes of a conversation as read: whoever accepts an unassigned
/// conversation takes it (a member on the condition that they still are one); the move
/// applies only while the holder is still the one read; audited.
pub fn plan_move(current: &Conversation, event: Event, caller: &Caller, standing: Standing) -> Result<Move, DeskError> {
    let to = next(current.status, event).ok_or(DeskError::Illegal {
        from: current.status,
        event,
    })?;
    let takes = to == Status::Active && current.assigned_agent.is_none();
    let action = match event {
        Event::Accept => AuditAction::ConversationAccepted,
        Event::Close => AuditAction::ConversationClosed,
        _ => AuditAction::ConversationEnded,
    };
    let audit = AuditEntry::new(
        &Actor::of(caller),
        action,
        &current.account_id,
        current.conversation_id.as_str(),
    )
    .with("from", current.status.as_str())
    .with("to", to.as_str());
    Ok(Move {
        conversation_id: current.conversation_id.clone(),
        thread: current.thread(),
        from: current.status,
        to,
        at: Timestamp::now(),
        preview: None,
        opted_out: None,
        holder: if takes {
            Holder::To(caller.user_id.clone(), own_name(caller))
        } else {
            Holder::Keep
        },
        guard: Guard {
            holder_read: Some(current.assigned_agent.clone()),
            member: (takes && standing != Standing::Operator).then(|| caller.user_id.clone()),
            activity_read: None,
        },
        audit: Some(audit),
        away_for: None,
        wrote: None,
    })
}

/// The name a user who takes a conversation themselves is shown by: the token's, else their id.
pub fn own_name(caller: &Caller) -> String {
    caller.name.clone().unwrap_or_else(|| caller.user_id.to_string())
}

/// An assignment to a member and the name the conversation keeps for them (or to nobody): the
/// status kept, the holder changed while it is still the one read, the new holder still a
/// member; audited.
pub fn plan_assignment(current: &Conversation, caller: &Caller, to: Option<(&UserId, &str)>) -> Move {
    let user = to.map(|(u, _)| u);
    let audit = AuditEntry::new(
        &Actor::of(caller),
        AuditAction::ConversationAssigned,
        &current.account_id,
        current.conversation_id.as_str(),
    )
    .with("from", current.assigned_agent.as_deref())
    .with("to", user.map(UserId::to_string));
    Move {
        conversation_id: current.conversation_id.clone(),
        thread: current.thread(),
        from: current.status,
        to: current.status,
        at: Timestamp::now(),
        preview: None,
        opted_out: None,
        holder: to.map_or(Holder::Nobody, |(u, name)| Holder::To(u.clone(), name.to_owned())),
        guard: Guard {
            holder_read: Some(current.assigned_agent.clone()),
            member: user.cloned(),
            activity_read: None,
        },
        audit: Some(audit),
        away_for: None,
        wrote: None,
    }
}
