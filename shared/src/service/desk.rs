//! The agents' desk: the dashboard list, a transcript, and the moves of the state machine.

use crate::conversation::{listable, next, Conversation, Event, Status};
use crate::ids::{AccountId, ConversationId, Timestamp};
use crate::service::ports::{
    BadCursor, Committed, ConversationMoves, ConversationReads, Move, Page, ReadError, StoreError,
};

/// How often a move that lost a race is tried again.
const MOVE_ATTEMPTS: usize = 5;

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
    /// A cursor this API did not give out.
    #[error(transparent)]
    Cursor(#[from] BadCursor),
    /// The conversation kept changing under the move.
    #[error("the conversation kept changing under the move")]
    Busy,
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

/// The desk service.
#[derive(Debug)]
pub struct Desk<C> {
    /// Conversations.
    pub store: C,
}

impl<C: ConversationMoves + ConversationReads> Desk<C> {
    /// The dashboard: an account's conversations in `statuses`, newest activity first.
    pub async fn list(
        &self,
        account_id: &AccountId,
        statuses: &[Status],
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Conversation>, DeskError> {
        if !listable(statuses) {
            return Err(DeskError::Unlistable);
        }
        Ok(self.store.list(account_id, statuses, limit, cursor).await?)
    }

    /// A conversation with a page of its transcript.
    pub async fn transcript(
        &self,
        id: &ConversationId,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Conversation, DeskError> {
        self.store
            .transcript(id, limit, cursor)
            .await?
            .ok_or(DeskError::NotFound)
    }

    /// An agent's move (accept, close, end): the state machine decides, one conditional write
    /// applies it; a lost race reads again.
    pub async fn apply(
        &self,
        id: &ConversationId,
        event: Event,
        agent: Option<&str>,
    ) -> Result<Conversation, DeskError> {
        for _ in 0..MOVE_ATTEMPTS {
            let current = self.store.conversation(id).await?.ok_or(DeskError::NotFound)?;
            let m = plan_move(&current, event, agent)?;
            if self.store.apply_move(&m).await? == Committed::Done {
                tracing::info!(conversation_id = %id, status = m.to.as_str(), event = event.as_str(), "conversation moved");
                return Ok(m.applied_to(current));
            }
        }
        Err(DeskError::Busy)
    }
}

/// The move an agent's event makes of a conversation as read: the agent takes it when it
/// becomes `active`.
pub fn plan_move(current: &Conversation, event: Event, agent: Option<&str>) -> Result<Move, DeskError> {
    let to = next(current.status, event).ok_or(DeskError::Illegal {
        from: current.status,
        event,
    })?;
    Ok(Move {
        conversation_id: current.conversation_id.clone(),
        thread: current.thread(),
        from: current.status,
        to,
        at: Timestamp::now(),
        preview: None,
        opted_out: None,
        assign: agent.filter(|_| to == Status::Active).map(str::to_owned),
    })
}
