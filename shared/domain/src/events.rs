//! The channel's events: what changed in a conversation, typed as the contract names them
//! (`conversation.opened` … `note.added`), decided from the images before and after one committed
//! change of the table. Pure: `store::stream` decodes the images, `service::events` delivers.
//!
//! An event's `data` is the API representation of what changed (the conversation or the message
//! as `GET /conversations/{id}` answers it), so a field added to either flows into events.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::conversation::{Conversation, Message, Status};
use crate::ids::{AccountId, ConversationId, MessageId, Timestamp};

/// The type of an event (its `type`, and its detail-type on the event bus).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumIter)]
pub enum EventType {
    /// A conversation began (a customer's first message, or a business-initiated message).
    #[serde(rename = "conversation.opened")]
    #[strum(serialize = "conversation.opened")]
    ConversationOpened,
    /// A conversation changed (status, activity, preview, consent).
    #[serde(rename = "conversation.updated")]
    #[strum(serialize = "conversation.updated")]
    ConversationUpdated,
    /// A conversation's holder changed (accepted, assigned, transferred, let go).
    #[serde(rename = "conversation.assigned")]
    #[strum(serialize = "conversation.assigned")]
    ConversationAssigned,
    /// A conversation ended (`closed`, final).
    #[serde(rename = "conversation.ended")]
    #[strum(serialize = "conversation.ended")]
    ConversationEnded,
    /// A customer's message was stored.
    #[serde(rename = "message.received")]
    #[strum(serialize = "message.received")]
    MessageReceived,
    /// An outbound message (a reply, a business or automated message) was recorded to be sent.
    #[serde(rename = "message.sent")]
    #[strum(serialize = "message.sent")]
    MessageSent,
    /// An outbound message's status moved (TeleSign's answer, a delivery report).
    #[serde(rename = "message.status")]
    #[strum(serialize = "message.status")]
    MessageStatus,
    /// An entry of the transcript that is never sent: a note, or the channel's own notice.
    #[serde(rename = "note.added")]
    #[strum(serialize = "note.added")]
    NoteAdded,
}

impl EventType {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One event, as the sockets and the event bus receive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The id of the change it comes from (the stream record's): a redelivered event has the
    /// same id, so a consumer drops what it has seen.
    pub event_id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// When the change was committed: the stream's time of the record (whole seconds, or
    /// minutes locally), or the item's own time of the change when that is later.
    pub at: Timestamp,
    /// The account it belongs to (who may receive it).
    pub account_id: AccountId,
    /// The conversation.
    pub conversation_id: ConversationId,
    /// The message, for message and note events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<MessageId>,
    /// The conversation or the message as the API answers it.
    pub data: Value,
}

/// An item of the table that events are made of, decoded from a stream image.
#[derive(Debug, Clone, PartialEq)]
pub enum Snapshot {
    /// A conversation item.
    Conversation(Conversation),
    /// A message item, with the conversation and account it belongs to.
    Message {
        /// The account.
        account_id: AccountId,
        /// The conversation.
        conversation_id: ConversationId,
        /// The message.
        message: Message,
    },
}

/// One committed change of an item: its images before and after (none for an item created or
/// removed), with the stream record's id and time.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The stream record's id.
    pub id: String,
    /// When it was committed.
    pub at: Timestamp,
    /// The item before.
    pub old: Option<Snapshot>,
    /// The item after.
    pub new: Option<Snapshot>,
}

/// The event a change makes, if any: a removed item (expiry, erasure) and a change that leaves
/// the API representation as it was make none.
pub fn event_of(change: &Change) -> Option<Event> {
    match (&change.old, change.new.as_ref()?) {
        (old, Snapshot::Conversation(new)) => conversation_event(change, conversation_of(old), new),
        (old, Snapshot::Message { .. }) => message_event(change, old.as_ref()),
    }
}

fn conversation_of(s: &Option<Snapshot>) -> Option<&Conversation> {
    match s {
        Some(Snapshot::Conversation(c)) => Some(c),
        _ => None,
    }
}

fn conversation_event(change: &Change, old: Option<&Conversation>, new: &Conversation) -> Option<Event> {
    let data = serde_json::to_value(new).ok()?;
    let kind = match old {
        None => EventType::ConversationOpened,
        Some(old) if old.status != Status::Closed && new.status == Status::Closed => EventType::ConversationEnded,
        Some(old) if old.assigned_agent != new.assigned_agent => EventType::ConversationAssigned,
        Some(old) if serde_json::to_value(old).ok().as_ref() == Some(&data) => return None,
        Some(_) => EventType::ConversationUpdated,
    };
    Some(Event {
        event_id: change.id.clone(),
        kind,
        at: change.at.max(new.last_activity_at),
        account_id: new.account_id.clone(),
        conversation_id: new.conversation_id.clone(),
        message_id: None,
        data,
    })
}

fn message_event(change: &Change, old: Option<&Snapshot>) -> Option<Event> {
    let Some(Snapshot::Message {
        account_id,
        conversation_id,
        message,
    }) = &change.new
    else {
        return None;
    };
    let data = serde_json::to_value(message).ok()?;
    let kind = match old {
        None => created_message_type(&data),
        Some(Snapshot::Message { message: before, .. }) if before.status != message.status => EventType::MessageStatus,
        Some(_) => return None,
    };
    Some(Event {
        event_id: change.id.clone(),
        kind,
        at: change.at.max(message.created_at),
        account_id: account_id.clone(),
        conversation_id: conversation_id.clone(),
        message_id: Some(message.message_id.clone()),
        data,
    })
}

/// A new message's event, by the direction the API answers (so a direction added later, such
/// as `note`, needs no change here): the customer's is received, an outbound one is sent, and
/// anything else (notes, the channel's notices) is a note of the transcript.
fn created_message_type(data: &Value) -> EventType {
    match data["direction"].as_str() {
        Some("inbound") => EventType::MessageReceived,
        Some("outbound") => EventType::MessageSent,
        _ => EventType::NoteAdded,
    }
}
