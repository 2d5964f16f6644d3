//! Conversations: their states, the moves between them, and the consent keywords.

use serde::{Deserialize, Serialize};

use crate::access::UserId;
use crate::ids::{AccountId, ConversationId, MessageId, Timestamp};
use crate::phone::PhoneNumber;
use crate::sms::{Encoding, TextInfo, MAX_MESSAGE_CHARS};
use crate::telesign::MessageState;

/// Where a conversation is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
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
        self.into()
    }

    /// Parses the contract's spelling.
    pub fn parse(text: &str) -> Option<Self> {
        text.parse().ok()
    }

    /// Every status but `closed`: the conversations a customer's next message joins.
    pub const LIVE: [Status; 3] = [Status::Open, Status::Active, Status::Waiting];

    /// Every status: a customer's history lists them all.
    pub const ALL: [Status; 4] = [Status::Open, Status::Active, Status::Waiting, Status::Closed];
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

impl Consent {
    /// The change's name in audit entries: `opted_out` or `opted_in`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OptOut => "opted_out",
            Self::OptIn => "opted_in",
        }
    }
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
    let word = keyword(text);
    if STOP_WORDS.contains(&word.as_str()) {
        Some(Consent::OptOut)
    } else if START_WORDS.contains(&word.as_str()) {
        Some(Consent::OptIn)
    } else {
        None
    }
}

/// A message as a keyword: trimmed of space and punctuation, upper case.
fn keyword(text: &str) -> String {
    text.trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation())
        .chars()
        .map(|c| match c {
            'ê' | 'Ê' => 'E',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

/// Whether a message asks for the number's help reply: HELP or INFO alone (as consent keywords
/// are read), or TeleSign's `action: help`.
pub fn asks_for_help(text: &str, action: Option<&str>) -> bool {
    action.is_some_and(|a| a.eq_ignore_ascii_case("help")) || matches!(keyword(text).as_str(), "HELP" | "INFO")
}

/// How long an inbound reference is remembered, and so how old a callback may be: an older one
/// could not be told from a new message, so it is ignored (a replayed old START never opts a
/// customer in again). TeleSign retries within a minute.
pub const DEDUPLICATION_WINDOW_SECONDS: i64 = 30 * 24 * 3600;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_and_info_ask_for_the_help_reply() {
        assert!(asks_for_help(" help! ", None));
        assert!(asks_for_help("Info", None));
        assert!(asks_for_help("anything", Some("HELP")));
        assert!(!asks_for_help("help me please", None));
        assert!(!asks_for_help("STOP", Some("stop")));
    }

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
        assert_eq!(consent_of("whatever", Some("Start")), Some(Consent::OptIn));
    }

    #[test]
    fn external_ids_round_trip_and_refuse_strangers() {
        let c = ConversationId::new();
        let m = MessageId::new();
        assert_eq!(parse_external_id(&external_id(&c, &m)), Some((c, m)));
        assert_eq!(parse_external_id("order-42"), None);
        assert_eq!(parse_external_id("nothing"), None);
    }

    #[test]
    fn every_spelling_is_the_contracts() {
        for (status, text) in [
            (Status::Open, "open"),
            (Status::Active, "active"),
            (Status::Waiting, "waiting"),
            (Status::Closed, "closed"),
        ] {
            assert_eq!((status.as_str(), Status::parse(text)), (text, Some(status)));
            assert_eq!(serde_json::to_value(status).unwrap(), text);
        }
        assert_eq!(Status::parse("Open"), None);
        assert_eq!(
            (
                Direction::Inbound.as_str(),
                Direction::Outbound.as_str(),
                Direction::System.as_str(),
                Direction::Note.as_str()
            ),
            ("inbound", "outbound", "system", "note")
        );
        let events = [
            Event::Accept,
            Event::Close,
            Event::End,
            Event::AgentReply,
            Event::CustomerMessage,
        ]
        .map(Event::as_str);
        assert_eq!(events, ["accept", "close", "end", "reply", "customer message"]);
    }

    #[test]
    fn closed_is_listed_alone() {
        assert!(listable(&Status::LIVE));
        assert!(listable(&[Status::Closed]));
        assert!(!listable(&[Status::Closed, Status::Open]));
        assert!(!listable(&[]));
    }

    #[test]
    fn previews_cut_at_100_characters() {
        assert_eq!(preview("short"), "short");
        let long = "é".repeat(101);
        assert_eq!(preview(&long).chars().count(), 101);
        assert!(preview(&long).ends_with('…'));
        assert_eq!(preview(&"a".repeat(100)), "a".repeat(100));
    }
}

/// A conversation as agents see it (`messages` only on the single read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// Its id.
    pub conversation_id: ConversationId,
    /// The messaging account.
    pub account_id: AccountId,
    /// The support number the customer texts.
    pub support_number: PhoneNumber,
    /// The customer's number.
    pub customer_number: PhoneNumber,
    /// Where it is.
    pub status: Status,
    /// When the customer (or an agent) started it.
    pub created_at: Timestamp,
    /// The last message or move.
    pub last_activity_at: Timestamp,
    /// The agent who has it.
    pub assigned_agent: Option<UserId>,
    /// The holder's name, kept on the conversation when it is assigned: the member's display
    /// name (the token's name when they take it themselves), else their id.
    #[serde(default)]
    pub assigned_agent_name: Option<String>,
    /// When the customer last wrote.
    #[serde(default)]
    pub last_customer_message_at: Option<Timestamp>,
    /// The customer wrote last: no person has answered since (automated messages do not answer).
    #[serde(default)]
    pub needs_reply: bool,
    /// The first customer message not answered yet.
    #[serde(default)]
    pub waiting_since: Option<Timestamp>,
    /// Whether the customer has opted out of messages from this account.
    pub opted_out: bool,
    /// The beginning of the last message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message_preview: Option<String>,
    /// The transcript, in the order asked for (single read only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<Message>>,
    /// Where the transcript continues, when it is longer than one page (single read only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The customer and support number a conversation is between: what its live pointer is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Thread {
    /// The messaging account.
    pub account_id: AccountId,
    /// The support number.
    pub support_number: PhoneNumber,
    /// The customer.
    pub customer_number: PhoneNumber,
}

impl Conversation {
    /// A new conversation of a customer with a support number, `open`, started now.
    pub fn first_contact(thread: &Thread) -> Self {
        let now = Timestamp::now();
        Self {
            conversation_id: ConversationId::new(),
            account_id: thread.account_id.clone(),
            support_number: thread.support_number.clone(),
            customer_number: thread.customer_number.clone(),
            status: Status::Open,
            created_at: now,
            last_activity_at: now,
            assigned_agent: None,
            assigned_agent_name: None,
            last_customer_message_at: None,
            needs_reply: false,
            waiting_since: None,
            opted_out: false,
            last_message_preview: None,
            messages: None,
            next_cursor: None,
        }
    }

    /// The customer wrote at `at`: it needs a reply, waiting since the first message not
    /// answered yet.
    pub fn customer_wrote(&mut self, at: Timestamp) {
        self.last_customer_message_at = Some(at);
        self.needs_reply = true;
        self.waiting_since.get_or_insert(at);
    }

    /// A person (not the channel) answered.
    pub fn answered(&mut self) {
        self.needs_reply = false;
        self.waiting_since = None;
    }

    /// The customer and support number it is between.
    pub fn thread(&self) -> Thread {
        Thread {
            account_id: self.account_id.clone(),
            support_number: self.support_number.clone(),
            customer_number: self.customer_number.clone(),
        }
    }
}

/// Which automated message a message is (`kind` in the contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Kind {
    /// The first customer message of a new conversation.
    Greeting,
    /// A customer message outside business hours (once per conversation per closed period).
    Away,
    /// The goodbye of an auto-closed conversation.
    Closing,
    /// The answer to HELP or INFO.
    Help,
    /// The confirmation of an opt-out: the one message an opted-out customer still gets.
    Stop,
    /// The confirmation of an opt-in.
    Start,
}

impl Kind {
    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl PartialOrd for Kind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Kind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Direction {
    /// The customer.
    Inbound,
    /// An agent or the business.
    Outbound,
    /// The channel (consent changes, automatic ends).
    System,
    /// A note of the desk's staff: in the transcript, never sent.
    Note,
}

/// Who wrote a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// Their user id (the token's `sub`).
    pub user_id: UserId,
    /// Their name as the token gives it, else their user id.
    pub name: String,
}

/// The longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

impl Direction {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Its id (sorts by creation time).
    pub message_id: MessageId,
    /// Who wrote it.
    pub direction: Direction,
    /// The text, whole.
    pub text: String,
    /// When it was stored.
    pub created_at: Timestamp,
    /// Where it is (see `telesign::status`).
    pub status: MessageState,
    /// TeleSign's reference id.
    pub telesign_reference_id: Option<String>,
    /// TeleSign's last status code.
    pub status_code: Option<u32>,
    /// TeleSign's (or the channel's) words for the status.
    pub status_description: Option<String>,
    /// Parts it takes.
    pub segments: u32,
    /// `gsm7` or `ucs2`.
    pub encoding: Encoding,
    /// The agent who sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<UserId>,
    /// Their name as their token gave it (else their id), when they sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    /// Set on an inbound text longer than 1600 characters (stored whole).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub too_long: bool,
    /// Set on an outbound message still "sending" [`UNCONFIRMED_AFTER_SECONDS`] after it was
    /// sent: the request left, TeleSign never answered and no report came. Nothing resends it;
    /// the agent may send it again (a new message).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unconfirmed: bool,
    /// Set on a message the channel sent by itself (greeting, away, closing, help, stop, start).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub automated: bool,
    /// Which automated message it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// Who wrote a note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<Author>,
}

/// How long an outbound message of unknown outcome waits for its delivery report before the
/// agent is shown it as not confirmed (TeleSign's reports come within seconds to minutes).
pub const UNCONFIRMED_AFTER_SECONDS: i64 = 10 * 60;

/// TeleSign's status code of an inbound SMS, kept on the message.
pub const INBOUND_STATUS_CODE: u32 = 1500;

/// What an outbound message says while TeleSign has not answered yet.
pub const SENDING: &str = "sending";

impl Message {
    fn new(direction: Direction, text: &str, info: &TextInfo, status: MessageState) -> Self {
        Self {
            message_id: MessageId::new(),
            direction,
            text: text.to_owned(),
            created_at: Timestamp::now(),
            status,
            telesign_reference_id: None,
            status_code: None,
            status_description: None,
            segments: info.segments as u32,
            encoding: info.encoding,
            agent_id: None,
            agent_name: None,
            too_long: false,
            unconfirmed: false,
            automated: false,
            kind: None,
            author: None,
        }
    }

    /// Whether, at `now`, this is an outbound message whose outcome TeleSign never confirmed
    /// (still our own `unknown`, no code) for [`UNCONFIRMED_AFTER_SECONDS`].
    pub fn unconfirmed_at(&self, now: Timestamp) -> bool {
        self.direction == Direction::Outbound
            && self.status == MessageState::Unknown
            && self.status_code.is_none()
            && now.epoch_seconds() - self.created_at.epoch_seconds() >= UNCONFIRMED_AFTER_SECONDS
    }

    /// A customer's SMS as received: flagged when longer than the limit, never cut.
    pub fn inbound(text: &str, info: &TextInfo, reference_id: &str) -> Self {
        let mut m = Self::new(Direction::Inbound, text, info, MessageState::Received);
        m.telesign_reference_id = Some(reference_id.to_owned());
        m.status_code = Some(INBOUND_STATUS_CODE);
        m.too_long = info.characters > MAX_MESSAGE_CHARS;
        m
    }

    /// An outbound message recorded before it is sent: its outcome is not known yet.
    pub fn outbound_pending(text: &str, info: &TextInfo, agent_id: Option<&UserId>) -> Self {
        let mut m = Self::new(Direction::Outbound, text, info, MessageState::Unknown);
        m.status_description = Some(SENDING.to_owned());
        m.agent_id = agent_id.cloned();
        m
    }

    /// An automated message recorded before it is sent, sorting right after `after` (the
    /// customer message or the move that made it due).
    pub fn automated(kind: Kind, text: &str, after: &MessageId) -> Self {
        let mut m = Self::outbound_pending(text, &crate::sms::analyse(text), None);
        m.message_id = after.successor();
        m.automated = true;
        m.kind = Some(kind);
        m
    }

    /// A note by `author`: kept in the transcript, never sent (no segments, no status to follow).
    pub fn note(text: &str, author: Author) -> Self {
        let mut m = Self::new(Direction::Note, text, &TextInfo::none(), MessageState::Received);
        m.author = Some(author);
        m
    }

    /// The channel's note that a conversation idle in `status` for `idle_seconds` was ended.
    pub fn auto_close_notice(status: Status, idle_seconds: u64) -> Self {
        let text = format!(
            "Closed automatically: {} for {} without a message.",
            status.as_str(),
            spell_duration(idle_seconds)
        );
        Self::new(Direction::System, &text, &TextInfo::none(), MessageState::Received)
    }

    /// The channel's note of a consent change, sorting right after the customer's keyword.
    pub fn consent_notice(consent: Consent, keyword: &str, after: &MessageId) -> Self {
        let text = match consent {
            Consent::OptOut => format!(
                "The customer opted out ({}): no message can be sent until they text START.",
                keyword.trim()
            ),
            Consent::OptIn => format!(
                "The customer opted in ({}): messages can be sent again.",
                keyword.trim()
            ),
        };
        let mut m = Self::new(Direction::System, &text, &TextInfo::none(), MessageState::Received);
        m.message_id = after.successor();
        m
    }
}

/// A duration as a person says it: `90 seconds`, `5 minutes`, `2 hours 30 minutes`, `3 days`.
pub fn spell_duration(seconds: u64) -> String {
    let unit = |n: u64, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    match seconds {
        s if s < 120 => unit(s, "second"),
        s if s < 7200 => unit(s / 60, "minute"),
        s if s < 172_800 && s % 3600 != 0 => format!("{} {}", unit(s / 3600, "hour"), unit(s % 3600 / 60, "minute")),
        s if s < 172_800 => unit(s / 3600, "hour"),
        s => unit(s / 86_400, "day"),
    }
}

/// Our `external_id` of a message, echoed in its delivery reports: `<conversation_id>-<message_id>`,
/// so that a report finds its message without a lookup.
pub fn external_id(conversation_id: &ConversationId, message_id: &MessageId) -> String {
    format!("{conversation_id}-{message_id}")
}

/// Reads our `external_id` back; `None` for anything this channel did not write.
pub fn parse_external_id(external_id: &str) -> Option<(ConversationId, MessageId)> {
    let (c, m) = external_id.split_once('-')?;
    Some((ConversationId::parse(c).ok()?, MessageId::parse(m).ok()?))
}

/// Whether a dashboard may list these statuses together: some live ones, or `closed` alone (the
/// two live in different index partitions).
pub fn listable(statuses: &[Status]) -> bool {
    !statuses.is_empty() && (!statuses.contains(&Status::Closed) || statuses.len() == 1)
}

/// The preview of a text on the dashboard: its first 100 characters.
pub fn preview(text: &str) -> String {
    let mut p: String = text.chars().take(100).collect();
    if text.chars().nth(100).is_some() {
        p.push('…');
    }
    p
}

#[cfg(test)]
mod unconfirmed {
    use super::*;

    #[test]
    fn an_outbound_message_of_unknown_outcome_is_unconfirmed_only_after_its_wait() {
        let info = crate::sms::analyse("hi");
        let m = Message::outbound_pending("hi", &info, None);
        let later = |s| m.created_at.plus_seconds(s);
        assert!(!m.unconfirmed_at(later(UNCONFIRMED_AFTER_SECONDS - 1)));
        assert!(m.unconfirmed_at(later(UNCONFIRMED_AFTER_SECONDS)));
        let mut reported = m.clone();
        reported.status_code = Some(250);
        assert!(
            !reported.unconfirmed_at(later(3600)),
            "TeleSign's own unknown is an answer"
        );
        let inbound = Message::inbound("hi", &info, "R");
        assert!(!inbound.unconfirmed_at(later(3600)));
    }
}
