//! Outbound messages: recorded before they are sent, settled with TeleSign's answer, and the
//! idempotency records that make a retried request return its first answer.

use super::conversations::{activity_sort_key, index_partition, message_item, new_conversation_item, thread_item};
use super::item::{b, n, opt_n, opt_s, s};
use super::{key, values, Dynamo, StoreError, Txn};
use crate::conversation::{preview, Conversation, Direction, Message, Status};
use crate::sms::TextInfo;
use crate::table;
use crate::telesign::status::rank;
use crate::telesign::MessageState;

/// How long an idempotency key is remembered.
const IDEMPOTENCY_TTL_SECONDS: i64 = 24 * 3600;

/// An outbound message to record before it is sent.
#[derive(Debug, Clone)]
pub struct NewOutbound<'a> {
    /// The conversation as read (or, for a first contact, as it will be created).
    pub conversation: &'a Conversation,
    /// Whether the conversation exists already (else it is created with its pointer).
    pub exists: bool,
    /// The status the conversation moves to.
    pub to_status: Status,
    /// The text.
    pub text: &'a str,
    /// Its encoding and segments.
    pub info: &'a TextInfo,
    /// The agent sending it.
    pub agent_id: Option<&'a str>,
    /// The idempotency record's scope and key, when the request carried one.
    pub idempotency: Option<(&'a str, &'a str)>,
    /// A fingerprint of the request, to refuse the same key for another request.
    pub request_fingerprint: &'a str,
}

/// What became of the recording.
#[derive(Debug)]
pub enum BeginOutcome {
    /// Recorded: send it.
    Begun(Message),
    /// The customer has opted out: nothing recorded.
    OptedOut,
    /// The conversation changed since it was read (or was created meanwhile): read it again.
    Changed,
    /// The idempotency key was used before: answer from its record.
    Replay,
}

/// An idempotency record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Idempotency {
    /// The first request is still under way.
    Pending {
        /// Its fingerprint.
        fingerprint: String,
    },
    /// The first request's answer.
    Done {
        /// Its fingerprint.
        fingerprint: String,
        /// The HTTP status answered.
        http_status: u16,
        /// The body answered.
        body: String,
    },
}

/// How a send ended, as the message records it.
#[derive(Debug, Clone)]
pub struct SendResult<'a> {
    /// The message's state now.
    pub state: MessageState,
    /// TeleSign's reference id, if it gave one.
    pub reference_id: Option<&'a str>,
    /// TeleSign's status code.
    pub code: Option<u32>,
    /// TeleSign's words, or the channel's reason.
    pub description: &'a str,
}

impl Dynamo {
    /// Records an outbound message before sending it (1 transaction): the consent checked, the
    /// idempotency key claimed, the message stored as `unknown` ("sending"), the conversation
    /// moved and touched on the condition that its status is still the one read.
    pub async fn begin_outbound(&self, o: &NewOutbound<'_>, message_id: &str) -> Result<BeginOutcome, StoreError> {
        let c = o.conversation;
        let now = crate::ids::now();
        let message = Message {
            message_id: message_id.to_owned(),
            direction: Direction::Outbound,
            text: o.text.to_owned(),
            created_at: now.clone(),
            status: MessageState::Unknown,
            telesign_reference_id: None,
            status_code: None,
            status_description: Some("sending".into()),
            segments: o.info.segments as u32,
            encoding: o.info.encoding,
            agent_id: o.agent_id.map(str::to_owned),
            too_long: false,
        };
        let mut items = vec![
            self.check(
                key(table::consent_key(&c.account_id, &c.customer_number)),
                "attribute_not_exists(pk) OR opted_out = :f",
                values([(":f", b(false))]),
            )?,
            self.put(message_item(c, &message, None), None)?,
        ];
        if let Some((scope, k)) = o.idempotency {
            let (pk, sk) = table::idempotency_key(scope, k);
            items.push(self.put(
                super::item::build(vec![
                    (table::PK, Some(s(pk))),
                    (table::SK, Some(s(sk))),
                    ("idem_state", Some(s("pending"))),
                    ("fingerprint", Some(s(o.request_fingerprint))),
                    (
                        table::TTL_ATTRIBUTE,
                        Some(n(crate::ids::epoch_seconds() + IDEMPOTENCY_TTL_SECONDS)),
                    ),
                ]),
                Some("attribute_not_exists(pk)"),
            )?);
        }
        if o.exists {
            let mut set = vec![
                "#status = :to",
                "last_activity_at = :now",
                "last_message_preview = :p",
                "gsi1pk = :gpk",
                "gsi1sk = :gsk",
            ];
            let mut vals = values([
                (":to", s(o.to_status.as_str())),
                (":seen", s(c.status.as_str())),
                (":now", s(&now)),
                (":p", s(preview(o.text))),
                (":gpk", s(index_partition(&c.account_id, o.to_status))),
                (":gsk", s(activity_sort_key(&now, &c.conversation_id))),
            ]);
            if let Some(agent) = o.agent_id {
                set.push("assigned_agent = :agent");
                vals.insert(":agent".into(), s(agent));
            }
            items.push(self.update(
                key(table::conversation_key(&c.conversation_id)),
                &format!("SET {}", set.join(", ")),
                Some("#status = :seen"),
                vals,
            )?);
            if o.to_status != c.status {
                items.push(self.update(
                    key(table::thread_key(&c.account_id, &c.support_number, &c.customer_number)),
                    "SET #status = :to",
                    Some("conversation_id = :c"),
                    values([(":to", s(o.to_status.as_str())), (":c", s(&c.conversation_id))]),
                )?);
            }
        } else {
            let mut created = c.clone();
            created.status = o.to_status;
            created.last_activity_at = now.clone();
            created.created_at = now.clone();
            created.assigned_agent = o.agent_id.map(str::to_owned);
            created.last_message_preview = Some(preview(o.text));
            items.push(self.put(new_conversation_item(&created), None)?);
            items.push(self.put(thread_item(&created), Some("attribute_not_exists(pk)"))?);
        }
        match self.transact(items).await? {
            Txn::Done => Ok(BeginOutcome::Begun(message)),
            Txn::Cancelled(reasons) => {
                if Txn::failed(&reasons, 0) {
                    Ok(BeginOutcome::OptedOut)
                } else if o.idempotency.is_some() && Txn::failed(&reasons, 2) {
                    Ok(BeginOutcome::Replay)
                } else {
                    Ok(BeginOutcome::Changed)
                }
            }
        }
    }

    /// Records how the send ended (1 transaction): the message's status and TeleSign's reference
    /// id, the reference's pointer for delivery reports, and the idempotency record's answer
    /// (`answer` = HTTP status and body; `None` forgets the key so the request may be retried).
    pub async fn finish_outbound(
        &self,
        conversation_id: &str,
        message_id: &str,
        result: &SendResult<'_>,
        idempotency: Option<(&str, &str)>,
        answer: Option<(u16, &str)>,
    ) -> Result<(), StoreError> {
        for with_status in [true, false] {
            let r = rank(result.state, result.code);
            let mut set = vec!["status_description = :d"];
            let mut vals = values([(":d", s(result.description))]);
            if with_status {
                set.extend(["#status = :st", "status_rank = :r"]);
                vals.insert(":st".into(), s(result.state.as_str()));
                vals.insert(":r".into(), n(r));
                if let Some(code) = result.code {
                    set.push("status_code = :code");
                    vals.insert(":code".into(), n(code));
                }
            }
            if let Some(reference) = result.reference_id {
                set.push("telesign_reference_id = :ref");
                vals.insert(":ref".into(), s(reference));
            }
            let condition = if with_status {
                "attribute_exists(pk) AND status_rank <= :r"
            } else {
                "attribute_exists(pk)"
            };
            let mut items = vec![self.update(
                key(table::message_key(conversation_id, message_id)),
                &format!("SET {}", set.join(", ")),
                Some(condition),
                vals,
            )?];
            if let Some(reference) = result.reference_id {
                let (pk, sk) = table::outbound_ref_key(reference);
                items.push(self.put(
                    super::item::build(vec![
                        (table::PK, Some(s(pk))),
                        (table::SK, Some(s(sk))),
                        ("conversation_id", Some(s(conversation_id))),
                        ("message_id", Some(s(message_id))),
                    ]),
                    None,
                )?);
            }
            if let Some((scope, k)) = idempotency {
                let idem = key(table::idempotency_key(scope, k));
                items.push(match answer {
                    Some((status, body)) => self.update(
                        idem,
                        "SET idem_state = :done, http_status = :h, answer_body = :b",
                        None,
                        values([(":done", s("done")), (":h", n(status)), (":b", s(body))]),
                    )?,
                    None => self.delete(idem, None, Default::default())?,
                });
            }
            match self.transact(items).await? {
                Txn::Done => return Ok(()),
                // A delivery report got there first with a later status: keep it, record the rest.
                Txn::Cancelled(reasons) if with_status && Txn::failed(&reasons, 0) => continue,
                Txn::Cancelled(reasons) => {
                    return Err(StoreError::Unavailable(format!(
                        "settling the message was cancelled: {reasons:?}"
                    )))
                }
            }
        }
        Ok(())
    }

    /// The idempotency record of a key (1 GetItem).
    pub async fn idempotency(&self, scope: &str, k: &str) -> Result<Option<Idempotency>, StoreError> {
        let Some(item) = self.get(table::idempotency_key(scope, k)).await? else {
            return Ok(None);
        };
        let fingerprint = opt_s(&item, "fingerprint").unwrap_or_default().to_owned();
        Ok(Some(match opt_s(&item, "idem_state") {
            Some("done") => Idempotency::Done {
                fingerprint,
                http_status: opt_n(&item, "http_status").unwrap_or(200),
                body: opt_s(&item, "answer_body").unwrap_or("{}").to_owned(),
            },
            _ => Idempotency::Pending { fingerprint },
        }))
    }

    /// The live conversation of a customer and a support number, with the customer's consent
    /// (1 BatchGetItem, then 1 GetItem when there is one).
    pub async fn live_conversation(
        &self,
        account_id: &str,
        support_number: &str,
        customer: &str,
    ) -> Result<(Option<Conversation>, bool), StoreError> {
        let found = self
            .get_many(vec![
                table::thread_key(account_id, support_number, customer),
                table::consent_key(account_id, customer),
            ])
            .await?;
        let opted_out = found
            .get(1)
            .and_then(|c| c.as_ref())
            .is_some_and(|c| super::item::flag(c, "opted_out"));
        let conversation = match found.into_iter().next().flatten() {
            Some(t) => self.conversation(&super::item::req_s(&t, "conversation_id")?).await?,
            None => None,
        };
        Ok((conversation, opted_out))
    }
}
