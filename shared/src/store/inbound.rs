//! Inbound SMS: into the customer's live conversation or a new one, exactly once.

use super::conversations::{activity_sort_key, message_item, new_conversation_item, thread_item};
use super::item::{b, opt_s, s};
use super::{key, values, Dynamo, StoreError, Txn};
use crate::conversation::{next, preview, Consent, Conversation, Direction, Event, Message, Status};
use crate::sms::TextInfo;
use crate::table;
use crate::telesign::MessageState;

/// How long a seen inbound reference is remembered (TeleSign retries within a minute).
const REFERENCE_TTL_SECONDS: i64 = 30 * 24 * 3600;

/// An inbound SMS, verified and parsed.
#[derive(Debug, Clone)]
pub struct NewInbound<'a> {
    /// The account whose callback URL received it.
    pub account_id: &'a str,
    /// The support number texted (digits).
    pub support_number: &'a str,
    /// The customer (digits).
    pub customer_number: &'a str,
    /// TeleSign's reference id.
    pub reference_id: &'a str,
    /// The text, whole.
    pub text: &'a str,
    /// Its encoding and segments.
    pub info: &'a TextInfo,
    /// A consent change it asks for.
    pub consent: Option<Consent>,
    /// The raw callback body, kept with the message.
    pub raw: &'a str,
}

/// What became of an inbound SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundOutcome {
    /// Stored, in this conversation.
    Stored {
        /// The conversation.
        conversation_id: String,
        /// The message.
        message_id: String,
        /// Whether the conversation is new.
        new_conversation: bool,
    },
    /// This reference was stored before.
    Duplicate,
    /// The account does not own the support number.
    UnknownNumber,
}

impl Dynamo {
    /// Stores an inbound SMS: 1 BatchGetItem (the live pointer and the consent), then 1
    /// transaction that marks the reference seen, appends the message, updates (or creates) the
    /// conversation and its pointer, checks the number still belongs to the account, and records
    /// a consent change. A lost race (a concurrent first message, an agent's move) repeats both.
    pub async fn record_inbound(&self, m: &NewInbound<'_>) -> Result<InboundOutcome, StoreError> {
        for _ in 0..6 {
            let found = self
                .get_many(vec![
                    table::thread_key(m.account_id, m.support_number, m.customer_number),
                    table::consent_key(m.account_id, m.customer_number),
                ])
                .await?;
            let opted_out_before = found
                .get(1)
                .and_then(|c| c.as_ref())
                .is_some_and(|c| super::item::flag(c, "opted_out"));
            let opted_out = match m.consent {
                Some(Consent::OptOut) => true,
                Some(Consent::OptIn) => false,
                None => opted_out_before,
            };
            let thread = found.into_iter().next().flatten();
            let now = crate::ids::now();
            let message = Message {
                message_id: crate::ids::new_message_id(),
                direction: Direction::Inbound,
                text: m.text.to_owned(),
                created_at: now.clone(),
                status: MessageState::Received,
                telesign_reference_id: Some(m.reference_id.to_owned()),
                status_code: Some(1500),
                status_description: None,
                segments: m.info.segments as u32,
                encoding: m.info.encoding,
                agent_id: None,
                too_long: m.info.characters > crate::sms::MAX_MESSAGE_CHARS,
            };
            // The live conversation (its status as read), or a new one.
            let mut conversation = Conversation::first_contact(m.account_id, m.support_number, m.customer_number);
            let seen_status = match &thread {
                Some(t) => {
                    let status = opt_s(t, "status").and_then(Status::parse).unwrap_or(Status::Open);
                    conversation.conversation_id = super::item::req_s(t, "conversation_id")?;
                    conversation.status = next(status, Event::CustomerMessage).unwrap_or(status);
                    Some(status)
                }
                None => None,
            };
            let new_conversation = seen_status.is_none();
            conversation.created_at = now.clone();
            conversation.last_activity_at = now.clone();
            conversation.opted_out = opted_out;
            conversation.last_message_preview = Some(preview(m.text));

            // Item 0: the reference, seen once. Item 1: the number still the account's.
            let (rpk, rsk) = table::inbound_ref_key(m.account_id, m.reference_id);
            let mut items = vec![
                self.put(
                    super::item::build(vec![
                        (table::PK, Some(s(rpk))),
                        (table::SK, Some(s(rsk))),
                        ("conversation_id", Some(s(&conversation.conversation_id))),
                        ("message_id", Some(s(&message.message_id))),
                        (
                            table::TTL_ATTRIBUTE,
                            Some(super::item::n(crate::ids::epoch_seconds() + REFERENCE_TTL_SECONDS)),
                        ),
                    ]),
                    Some("attribute_not_exists(pk)"),
                )?,
                self.check(
                    key(table::number_key(m.support_number)),
                    "account_id = :a",
                    values([(":a", s(m.account_id))]),
                )?,
                self.put(message_item(&conversation, &message, Some(m.raw)), None)?,
            ];
            // Item 3: the conversation (and item 4, its pointer).
            match seen_status {
                None => {
                    items.push(self.put(new_conversation_item(&conversation), None)?);
                    items.push(self.put(thread_item(&conversation), Some("attribute_not_exists(pk)"))?);
                }
                Some(seen) => {
                    items.push(self.update(
                        key(table::conversation_key(&conversation.conversation_id)),
                        "SET #status = :to, last_activity_at = :now, last_message_preview = :p, gsi1sk = :gsk, opted_out = :o",
                        Some("#status = :seen"),
                        values([
                            (":to", s(conversation.status.as_str())),
                            (":seen", s(seen.as_str())),
                            (":now", s(&now)),
                            (":p", s(preview(m.text))),
                            (":gsk", s(activity_sort_key(&now, &conversation.conversation_id))),
                            (":o", b(opted_out)),
                        ]),
                    )?);
                    if conversation.status != seen {
                        items.push(self.update(
                            key(table::thread_key(m.account_id, m.support_number, m.customer_number)),
                            "SET #status = :to",
                            Some("conversation_id = :c AND #status = :seen"),
                            values([
                                (":to", s(conversation.status.as_str())),
                                (":seen", s(seen.as_str())),
                                (":c", s(&conversation.conversation_id)),
                            ]),
                        )?);
                    }
                }
            }
            if let Some(consent) = m.consent {
                items.extend(self.consent_writes(&conversation, consent, m.text, &message.message_id)?);
            }

            match self.transact(items).await? {
                Txn::Done => {
                    return Ok(InboundOutcome::Stored {
                        conversation_id: conversation.conversation_id,
                        message_id: message.message_id,
                        new_conversation,
                    })
                }
                Txn::Cancelled(reasons) => {
                    if Txn::failed(&reasons, 0) {
                        return Ok(InboundOutcome::Duplicate);
                    }
                    if Txn::failed(&reasons, 1) {
                        return Ok(InboundOutcome::UnknownNumber);
                    }
                    tracing::info!(reasons = ?reasons, conversation_id = %conversation.conversation_id, "inbound write lost a race; reading again");
                    tokio::time::sleep(std::time::Duration::from_millis(5 + rand::random::<u64>() % 20)).await;
                }
            }
        }
        Err(StoreError::Unavailable(
            "the conversation kept changing under the message".into(),
        ))
    }

    /// The consent record of a customer and account, and the `system` message that shows it.
    fn consent_writes(
        &self,
        conversation: &Conversation,
        consent: Consent,
        keyword: &str,
        after_message_id: &str,
    ) -> Result<Vec<aws_sdk_dynamodb::types::TransactWriteItem>, StoreError> {
        let (pk, sk) = table::consent_key(&conversation.account_id, &conversation.customer_number);
        let now = crate::ids::now();
        let opted_out = consent == Consent::OptOut;
        let text = if opted_out {
            format!(
                "The customer opted out ({}): no message can be sent until they text START.",
                keyword.trim()
            )
        } else {
            format!(
                "The customer opted in ({}): messages can be sent again.",
                keyword.trim()
            )
        };
        let system = Message {
            message_id: crate::ids::next_message_id(after_message_id),
            direction: Direction::System,
            text,
            created_at: now.clone(),
            status: MessageState::Received,
            telesign_reference_id: None,
            status_code: None,
            status_description: None,
            segments: 0,
            encoding: crate::sms::Encoding::Gsm7,
            agent_id: None,
            too_long: false,
        };
        Ok(vec![
            self.put(
                super::item::build(vec![
                    (table::PK, Some(s(pk))),
                    (table::SK, Some(s(sk))),
                    ("opted_out", Some(b(opted_out))),
                    ("updated_at", Some(s(now))),
                    ("conversation_id", Some(s(&conversation.conversation_id))),
                ]),
                None,
            )?,
            self.put(message_item(conversation, &system, None), None)?,
        ])
    }
}
