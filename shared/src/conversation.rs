//! Conversations: their states, the moves between them, and the consent keywords.

use serde::{Deserialize, Serialize};

/// Where a conversation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// New or reopened by the customer, waiting for an agent.
    Open,
    /// An agent has it.
    Active,
    /// The agent stepped away; a customer message reopens it.
    Waiting,
    /// Ended, resolved; never reopened.
    Closed,
}

impl Status {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Active => "active",
            Self::Waiting => "waiting",
            Self::Closed => "closed",
        }
    }

    /// Parses the contract's spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "open" => Self::Open,
            "active" => Self::Active,
            "waiting" => Self::Waiting,
            "closed" => Self::Closed,
            _ => return None,
        })
    }
}

/// What moves a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// An agent accepts it.
    Accept,
    /// An agent closes it to work on later.
    Close,
    /// An agent ends it.
    End,
    /// An agent replies.
    AgentReply,
    /// The customer writes.
    CustomerMessage,
}

impl Event {
    /// The route's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Close => "close",
            Self::End => "end",
            Self::AgentReply => "reply",
            Self::CustomerMessage => "customer message",
        }
    }
}

/// The state machine: the status after `event`, or `None` when the move is illegal.
///
/// `open → active` (accept or reply), `open | active → waiting` (close), `waiting → open`
/// (customer message), `waiting → active` (accept or reply), anything but `closed → closed` (end).
/// A customer message leaves `open` and `active` as they are; `closed` never moves.
pub fn next(from: Status, event: Event) -> Option<Status> {
    use Status::*;
    match (from, event) {
        (Closed, _) => None,
        (_, Event::End) => Some(Closed),
        (Open | Waiting, Event::Accept | Event::AgentReply) => Some(Active),
        (Active, Event::AgentReply) => Some(Active),
        (Active, Event::Accept) => None,
        (Open | Active, Event::Close) => Some(Waiting),
        (Waiting, Event::Close) => None,
        (Waiting, Event::CustomerMessage) => Some(Open),
        (s, Event::CustomerMessage) => Some(s),
    }
}

/// A consent change asked for by a customer's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// Stop sending to me.
    OptOut,
    /// Sending may resume.
    OptIn,
}

const STOP_WORDS: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
    "ARRET",
];
const START_WORDS: &[&str] = &["START", "UNSTOP", "YES"];

/// The consent change a message asks for: one of the contract's keywords alone (any case,
/// surrounding space and punctuation ignored), or TeleSign's `action`.
pub fn consent_of(text: &str, action: Option<&str>) -> Option<Consent> {
    match action.map(str::to_ascii_lowercase).as_deref() {
        Some("stop") => return Some(Consent::OptOut),
        Some("start") => return Some(Consent::OptIn),
        _ => {}
    }
    let word: String = text
        .trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation())
        .chars()
        .map(|c| match c {
            'ê' | 'Ê' => 'E',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    if STOP_WORDS.contains(&word.as_str()) {
        Some(Consent::OptOut)
    } else if START_WORDS.contains(&word.as_str()) {
        Some(Consent::OptIn)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_is_final() {
        for e in [
            Event::Accept,
            Event::Close,
            Event::End,
            Event::AgentReply,
            Event::CustomerMessage,
        ] {
            assert_eq!(next(Status::Closed, e), None);
        }
    }

    #[test]
    fn customer_message_reopens_a_waiting_conversation_only() {
        assert_eq!(next(Status::Waiting, Event::CustomerMessage), Some(Status::Open));
        assert_eq!(next(Status::Active, Event::CustomerMessage), Some(Status::Active));
        assert_eq!(next(Status::Open, Event::CustomerMessage), Some(Status::Open));
    }

    #[test]
    fn agent_moves_follow_the_contract() {
        assert_eq!(next(Status::Open, Event::Accept), Some(Status::Active));
        assert_eq!(next(Status::Active, Event::Accept), None);
        assert_eq!(next(Status::Active, Event::Close), Some(Status::Waiting));
        assert_eq!(next(Status::Waiting, Event::Close), None);
        assert_eq!(next(Status::Waiting, Event::End), Some(Status::Closed));
        assert_eq!(next(Status::Open, Event::AgentReply), Some(Status::Active));
    }

    #[test]
    fn consent_keywords_ignore_case_space_and_punctuation() {
        assert_eq!(consent_of("  stop! ", None), Some(Consent::OptOut));
        assert_eq!(consent_of("Arrêt", None), Some(Consent::OptOut));
        assert_eq!(consent_of("unstop", None), Some(Consent::OptIn));
        assert_eq!(consent_of("please stop texting", None), None);
        assert_eq!(consent_of("whatever", Some("STOP")), Some(Consent::OptOut));
        assert_eq!(consent_of("START", Some("help")), Some(Consent::OptIn));
    }
}

/// A conversation as agents see it (`messages` only on the single read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// Its id.
    pub conversation_id: String,
    /// The messaging account.
    pub account_id: String,
    /// The support number the customer texts.
    pub support_number: String,
    /// The customer's number.
    pub customer_number: String,
    /// Where it is.
    pub status: Status,
    /// When the customer (or an agent) started it.
    pub created_at: String,
    /// The last message or move.
    pub last_activity_at: String,
    /// The agent who has it.
    pub assigned_agent: Option<String>,
    /// Whether the customer has opted out of messages from this account.
    pub opted_out: bool,
    /// The beginning of the last message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message_preview: Option<String>,
    /// The transcript, oldest first (single read only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<Message>>,
    /// Where the transcript continues, when it is longer than one page (single read only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl Conversation {
    /// A new conversation of a customer with a support number, `open`, started now.
    pub fn first_contact(account_id: &str, support_number: &str, customer_number: &str) -> Self {
        let now = crate::ids::now();
        Self {
            conversation_id: crate::ids::new_id(),
            account_id: account_id.to_owned(),
            support_number: support_number.to_owned(),
            customer_number: customer_number.to_owned(),
            status: Status::Open,
            created_at: now.clone(),
            last_activity_at: now,
            assigned_agent: None,
            opted_out: false,
            last_message_preview: None,
            messages: None,
            next_cursor: None,
        }
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The customer.
    Inbound,
    /// An agent or the business.
    Outbound,
    /// The channel (consent changes, notes).
    System,
}

impl Direction {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
            Self::System => "system",
        }
    }
}

/// A message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Its id (sorts by creation time).
    pub message_id: String,
    /// Who wrote it.
    pub direction: Direction,
    /// The text, whole.
    pub text: String,
    /// When it was stored.
    pub created_at: String,
    /// Where it is (see `telesign::status`).
    pub status: crate::telesign::MessageState,
    /// TeleSign's reference id.
    pub telesign_reference_id: Option<String>,
    /// TeleSign's last status code.
    pub status_code: Option<u32>,
    /// TeleSign's (or the channel's) words for the status.
    pub status_description: Option<String>,
    /// Parts it takes.
    pub segments: u32,
    /// `gsm7` or `ucs2`.
    pub encoding: crate::sms::Encoding,
    /// The agent who sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Set on an inbound text longer than 1600 characters (stored whole).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub too_long: bool,
}

/// The preview of a text on the dashboard: its first 100 characters.
pub fn preview(text: &str) -> String {
    let mut p: String = text.chars().take(100).collect();
    if text.chars().nth(100).is_some() {
        p.push('…');
    }
    p
}
