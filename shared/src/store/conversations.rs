//! Conversations: reading one with its transcript, the dashboard list, and the agents' moves.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::item::{b, flag, opt_n, opt_s, req_s, s};
use super::{key, values, Dynamo, Item, StoreError, Txn};
use crate::conversation::{next, Conversation, Direction, Event, Message, Status};
use crate::sms::Encoding;
use crate::table::{self, GSI1, GSI1_PK, GSI1_SK};
use crate::telesign::MessageState;

/// Reads a conversation item.
pub fn conversation_from_item(item: &Item) -> Result<Conversation, StoreError> {
    let status = req_s(item, "status")?;
    Ok(Conversation {
        conversation_id: req_s(item, "conversation_id")?,
        account_id: req_s(item, "account_id")?,
        support_number: req_s(item, "support_number")?,
        customer_number: req_s(item, "customer_number")?,
        status: Status::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("status {status}")))?,
        created_at: req_s(item, "created_at")?,
        last_activity_at: req_s(item, "last_activity_at")?,
        assigned_agent: opt_s(item, "assigned_agent").map(str::to_owned),
        opted_out: flag(item, "opted_out"),
        last_message_preview: opt_s(item, "last_message_preview").map(str::to_owned),
        messages: None,
        next_cursor: None,
    })
}

/// Reads a message item.
pub fn message_from_item(item: &Item) -> Result<Message, StoreError> {
    let direction = match req_s(item, "direction")?.as_str() {
        "inbound" => Direction::Inbound,
        "outbound" => Direction::Outbound,
        _ => Direction::System,
    };
    let status = req_s(item, "status")?;
    Ok(Message {
        message_id: req_s(item, "message_id")?,
        direction,
        text: req_s(item, "text")?,
        created_at: req_s(item, "created_at")?,
        status: MessageState::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("status {status}")))?,
        telesign_reference_id: opt_s(item, "telesign_reference_id").map(str::to_owned),
        status_code: opt_n(item, "status_code"),
        status_description: opt_s(item, "status_description").map(str::to_owned),
        segments: opt_n(item, "segments").unwrap_or(1),
        encoding: match opt_s(item, "encoding") {
            Some("ucs2") => Encoding::Ucs2,
            _ => Encoding::Gsm7,
        },
        agent_id: opt_s(item, "agent_id").map(str::to_owned),
        too_long: flag(item, "too_long"),
    })
}

/// The dashboard index's sort key: newest activity sorts last, read backwards.
pub(crate) fn activity_sort_key(last_activity_at: &str, conversation_id: &str) -> String {
    format!("{last_activity_at}#{conversation_id}")
}

/// The index partition of a conversation in a status.
pub(crate) fn index_partition(account_id: &str, status: Status) -> String {
    match status {
        Status::Closed => table::closed_conversations_partition(account_id),
        _ => table::live_conversations_partition(account_id),
    }
}

fn encode_cursor(key: &HashMap<String, AttributeValue>) -> String {
    let plain: HashMap<&str, &str> = key
        .iter()
        .filter_map(|(k, v)| v.as_s().ok().map(|v| (k.as_str(), v.as_str())))
        .collect();
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&plain).unwrap_or_default())
}

/// Why a cursor was refused.
#[derive(Debug, thiserror::Error)]
#[error("the cursor is not one this API gave out")]
pub struct BadCursor;

fn decode_cursor(cursor: &str, expected: &[&str]) -> Result<HashMap<String, AttributeValue>, BadCursor> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| BadCursor)?;
    let plain: HashMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| BadCursor)?;
    if plain.len() != expected.len() || !expected.iter().all(|k| plain.contains_key(*k)) {
        return Err(BadCursor);
    }
    Ok(plain.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect())
}

/// One page of a list.
#[derive(Debug)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts.
    pub next_cursor: Option<String>,
}

/// A move refused by the state machine or lost to a concurrent one.
#[derive(Debug)]
pub enum MoveOutcome {
    /// Done: the conversation as it is now.
    Moved(Box<Conversation>),
    /// Not a legal move from this status.
    Illegal(Status),
    /// No such conversation.
    NotFound,
}

impl Dynamo {
    /// One conversation (1 GetItem).
    pub async fn conversation(&self, conversation_id: &str) -> Result<Option<Conversation>, StoreError> {
        self.get(table::conversation_key(conversation_id))
            .await?
            .map(|i| conversation_from_item(&i))
            .transpose()
    }

    /// A conversation with a page of its messages, oldest first (1 Query: the conversation item
    /// sorts before its messages in the partition).
    pub async fn conversation_with_messages(
        &self,
        conversation_id: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Result<Option<Conversation>, BadCursor>, StoreError> {
        let (pk, _) = table::conversation_key(conversation_id);
        let start = match cursor.map(|c| decode_cursor(c, &[table::PK, table::SK])).transpose() {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        let mut conversation = if start.is_some() {
            self.conversation(conversation_id).await?
        } else {
            None
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(pk))
            .consistent_read(true)
            .limit(limit + if start.is_none() { 1 } else { 0 })
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let mut messages = Vec::new();
        for item in out.items() {
            match opt_s(item, table::SK) {
                Some("CONV") => conversation = Some(conversation_from_item(item)?),
                Some(sk) if sk.starts_with("MSG#") => messages.push(message_from_item(item)?),
                _ => {}
            }
        }
        let Some(mut conversation) = conversation else {
            return Ok(Ok(None));
        };
        conversation.next_cursor = out.last_evaluated_key().map(encode_cursor);
        conversation.messages = Some(messages);
        Ok(Ok(Some(conversation)))
    }

    /// The dashboard: an account's conversations in `statuses`, newest activity first (1 Query
    /// on the index per page). `statuses` are all live ones, or `closed` alone.
    pub async fn list_conversations(
        &self,
        account_id: &str,
        statuses: &[Status],
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Result<Page<Conversation>, BadCursor>, StoreError> {
        let closed = statuses.contains(&Status::Closed);
        let partition = index_partition(account_id, if closed { Status::Closed } else { Status::Open });
        let start = match cursor
            .map(|c| decode_cursor(c, &[table::PK, table::SK, GSI1_PK, GSI1_SK]))
            .transpose()
        {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        if start
            .as_ref()
            .is_some_and(|k| k.get(GSI1_PK).and_then(|v| v.as_s().ok()) != Some(&partition))
        {
            return Ok(Err(BadCursor));
        }
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("gsi1pk = :p")
            .expression_attribute_values(":p", s(partition))
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start);
        let all_live = [Status::Open, Status::Active, Status::Waiting]
            .iter()
            .all(|x| statuses.contains(x));
        if !closed && !all_live {
            let placeholders: Vec<String> = (0..statuses.len()).map(|i| format!(":s{i}")).collect();
            query = query
                .filter_expression(format!("#status IN ({})", placeholders.join(", ")))
                .expression_attribute_names("#status", "status");
            for (i, st) in statuses.iter().enumerate() {
                query = query.expression_attribute_values(format!(":s{i}"), s(st.as_str()));
            }
        }
        let out = query.send().await.map_err(StoreError::from_sdk)?;
        let items = out
            .items()
            .iter()
            .map(conversation_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Ok(Page {
            items,
            next_cursor: out.last_evaluated_key().map(encode_cursor),
        }))
    }

    /// An agent's move (accept, close, end): 1 GetItem, then 1 transaction that writes the new
    /// status on the conversation and its live pointer only if the status is still the one read.
    pub async fn move_conversation(
        &self,
        conversation_id: &str,
        event: Event,
        agent_id: Option<&str>,
    ) -> Result<MoveOutcome, StoreError> {
        for _ in 0..5 {
            let Some(current) = self.conversation(conversation_id).await? else {
                return Ok(MoveOutcome::NotFound);
            };
            let Some(to) = next(current.status, event) else {
                return Ok(MoveOutcome::Illegal(current.status));
            };
            let now = crate::ids::now();
            let items = self.status_change(&current, to, &now, agent_id)?;
            match self.transact(items).await? {
                Txn::Done => {
                    let mut moved = current;
                    moved.status = to;
                    moved.last_activity_at = now;
                    if to == Status::Active {
                        moved.assigned_agent = agent_id.map(str::to_owned).or(moved.assigned_agent);
                    }
                    return Ok(MoveOutcome::Moved(Box::new(moved)));
                }
                Txn::Cancelled(_) => continue,
            }
        }
        Err(StoreError::Unavailable(
            "the conversation kept changing under the move".into(),
        ))
    }

    /// The writes that move `current` to `to` at `now`, on the condition that its status is
    /// still `current.status`: the conversation item and its index keys, and the live pointer
    /// (deleted when the conversation closes).
    pub(crate) fn status_change(
        &self,
        current: &Conversation,
        to: Status,
        now: &str,
        agent_id: Option<&str>,
    ) -> Result<Vec<aws_sdk_dynamodb::types::TransactWriteItem>, StoreError> {
        let mut set = vec![
            "#status = :to",
            "last_activity_at = :now",
            "gsi1pk = :gpk",
            "gsi1sk = :gsk",
        ];
        let mut vals = values([
            (":to", s(to.as_str())),
            (":from", s(current.status.as_str())),
            (":now", s(now)),
            (":gpk", s(index_partition(&current.account_id, to))),
            (":gsk", s(activity_sort_key(now, &current.conversation_id))),
        ]);
        if let (Status::Active, Some(agent)) = (to, agent_id) {
            set.push("assigned_agent = :agent");
            vals.insert(":agent".into(), s(agent));
        }
        let mut items = vec![self.update(
            key(table::conversation_key(&current.conversation_id)),
            &format!("SET {}", set.join(", ")),
            Some("#status = :from"),
            vals,
        )?];
        let thread = key(table::thread_key(
            &current.account_id,
            &current.support_number,
            &current.customer_number,
        ));
        if to == Status::Closed {
            items.push(self.delete(
                thread,
                Some("conversation_id = :c"),
                values([(":c", s(&current.conversation_id))]),
            )?);
        } else if to != current.status {
            items.push(self.update(
                thread,
                "SET #status = :to",
                Some("conversation_id = :c"),
                values([(":to", s(to.as_str())), (":c", s(&current.conversation_id))]),
            )?);
        }
        Ok(items)
    }
}

/// Attribute helpers the other store modules use for conversation items.
pub(crate) fn new_conversation_item(c: &Conversation) -> Item {
    let (pk, sk) = table::conversation_key(&c.conversation_id);
    super::item::build(vec![
        (table::PK, Some(s(pk))),
        (table::SK, Some(s(sk))),
        ("conversation_id", Some(s(&c.conversation_id))),
        ("account_id", Some(s(&c.account_id))),
        ("support_number", Some(s(&c.support_number))),
        ("customer_number", Some(s(&c.customer_number))),
        ("status", Some(s(c.status.as_str()))),
        ("created_at", Some(s(&c.created_at))),
        ("last_activity_at", Some(s(&c.last_activity_at))),
        ("assigned_agent", c.assigned_agent.as_deref().map(s)),
        ("opted_out", Some(b(c.opted_out))),
        ("last_message_preview", c.last_message_preview.as_deref().map(s)),
        (GSI1_PK, Some(s(index_partition(&c.account_id, c.status)))),
        (
            GSI1_SK,
            Some(s(activity_sort_key(&c.last_activity_at, &c.conversation_id))),
        ),
    ])
}

/// The live pointer item of a new conversation.
pub(crate) fn thread_item(c: &Conversation) -> Item {
    let (pk, sk) = table::thread_key(&c.account_id, &c.support_number, &c.customer_number);
    super::item::build(vec![
        (table::PK, Some(s(pk))),
        (table::SK, Some(s(sk))),
        ("conversation_id", Some(s(&c.conversation_id))),
        ("status", Some(s(c.status.as_str()))),
    ])
}

/// A message item.
pub(crate) fn message_item(conversation: &Conversation, m: &Message, raw: Option<&str>) -> Item {
    let (pk, sk) = table::message_key(&conversation.conversation_id, &m.message_id);
    let rank = crate::telesign::status::rank(m.status, m.status_code);
    super::item::build(vec![
        (table::PK, Some(s(pk))),
        (table::SK, Some(s(sk))),
        ("message_id", Some(s(&m.message_id))),
        ("conversation_id", Some(s(&conversation.conversation_id))),
        ("account_id", Some(s(&conversation.account_id))),
        ("direction", Some(s(m.direction.as_str()))),
        ("text", Some(s(&m.text))),
        ("created_at", Some(s(&m.created_at))),
        ("status", Some(s(m.status.as_str()))),
        ("status_rank", Some(super::item::n(rank))),
        ("telesign_reference_id", m.telesign_reference_id.as_deref().map(s)),
        ("status_code", m.status_code.map(super::item::n)),
        ("status_description", m.status_description.as_deref().map(s)),
        ("segments", Some(super::item::n(m.segments))),
        ("encoding", Some(s(m.encoding.as_str()))),
        ("agent_id", m.agent_id.as_deref().map(s)),
        ("too_long", m.too_long.then_some(b(true))),
        ("raw", raw.map(s)),
    ])
}
