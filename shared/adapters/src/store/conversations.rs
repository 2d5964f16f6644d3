//! Conversations: one read, the dashboard list and transcripts, and the one conditional write
//! that moves a conversation and its live pointer, shared by agent moves, replies and customer
//! messages.

use crate::table::Key;
use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::items::{
    activity_sort_key, from_item, index_partition, index_partitions, second_partition, to_item, ConversationItem,
    FileItem, HoldItem, MessageItem, PointerItem,
};
use super::{key, s, sdk_error, values, Dynamo, Item, Part, StoreError, Txn, TxnOutcome};
use channel_domain::access::UserId;
use channel_domain::conversation::{Conversation, Status};
use channel_domain::ids::{AccountId, ConversationId, Timestamp};

use crate::table::{self, GSI1};
use channel_services::ports::{
    BadCursor, Committed, ConversationMoves, ConversationNotes, ConversationReads, ConversationWrite, Counts, Holder,
    IdleConversations, IdleEnd, Listing, Move, Note, Order, Page, ReadError, Writer,
};

/// Adds the writes of a move to a transaction: the conversation's status, activity and index
/// keys (and preview, consent, holder when the move carries them) on the condition that its
/// status (and, when the move depends on it, its holder) is still the one read; its live pointer
/// updated, or deleted when it closes; the new holder's membership checked; the audit entry.
pub(crate) fn push_move(txn: &mut Txn<'_>, m: &Move) -> Result<(), StoreError> {
    let (expression, condition, vals) = move_update(m);
    let conversation = key(table::conversation_key(m.conversation_id.as_str()));
    txn.update(
        Part::Conversation,
        conversation,
        &expression,
        Some(&condition),
        vals,
        HashMap::new(),
    )?;
    if let Some(member) = &m.guard.member {
        let at = key(table::member_key(m.thread.account_id.as_str(), member.as_str()));
        txn.check(Part::Member, at, "attribute_exists(pk)", HashMap::new())?;
    }
    if let Some(entry) = &m.audit {
        txn.audit(entry)?;
    }
    push_holds(txn, m)?;
    push_pointer_move(txn, m)
}

/// The hold items of a move that changes who holds a live conversation (or ends it): the
/// previous holder's deleted, the new holder's put.
fn push_holds(txn: &mut Txn<'_>, m: &Move) -> Result<(), StoreError> {
    let before = m.guard.holder_read.clone().flatten();
    let after = match &m.holder {
        _ if m.to == Status::Closed => None,
        Holder::Keep => before.clone(),
        Holder::To(u, _) => Some(u.clone()),
        Holder::Nobody => None,
    };
    if before == after {
        return Ok(());
    }
    let account = m.thread.account_id.as_str();
    let conversation = m.conversation_id.as_str();
    if let Some(user) = before {
        let at = key(table::hold_key(account, &user, conversation));
        txn.delete(Part::Hold, at, None, HashMap::new())?;
    }
    if let Some(user) = after {
        txn.put(
            Part::Hold,
            to_item(&HoldItem::of(&m.thread.account_id, &user, &m.conversation_id))?,
            None,
        )?;
    }
    Ok(())
}

/// The second index's partition after a move that changes it: it follows who holds a live
/// conversation, and the customer of a closed one; a move that keeps the holder of a live one
/// leaves it as it is (and need not know who that is).
fn second_partition_after(m: &Move) -> Option<String> {
    let holder_after = match &m.holder {
        Holder::To(u, _) => Some(Some(u.as_str())),
        Holder::Nobody => Some(None),
        Holder::Keep => None,
    };
    (m.to == Status::Closed || holder_after.is_some()).then(|| {
        let customer = m.thread.customer_number.as_str();
        second_partition(
            &m.thread.account_id,
            m.to,
            holder_after.flatten(),
            customer,
            &m.conversation_id,
        )
    })
}

/// What the writer of a move's message changes: a customer's needs a reply (waiting since the
/// first unanswered one); a person's answers it; an automated one changes neither.
fn who_wrote(
    m: &Move,
    set: &mut Vec<&'static str>,
    remove: &mut Vec<&'static str>,
    vals: &mut HashMap<String, AttributeValue>,
) {
    match m.wrote {
        Some(Writer::Customer) => {
            set.extend([
                "last_customer_message_at = :now",
                "needs_reply = :yes",
                "waiting_since = if_not_exists(waiting_since, :now)",
            ]);
            vals.insert(":yes".into(), AttributeValue::Bool(true));
        }
        Some(Writer::Agent) => {
            set.push("needs_reply = :no");
            vals.insert(":no".into(), AttributeValue::Bool(false));
            remove.push("waiting_since");
        }
        None => {}
    }
}

/// The conversation's update of a move: expression, condition and values.
fn move_update(m: &Move) -> (String, String, HashMap<String, AttributeValue>) {
    let mut set = vec![
        "#status = :to",
        "last_activity_at = :now",
        "gsi1pk = :gpk",
        "gsi1sk = :gsk",
    ];
    let mut remove = Vec::new();
    let mut vals = values([
        (":to", s(m.to.as_str())),
        (":from", s(m.from.as_str())),
        (":now", s(m.at.to_string())),
        (
            ":gpk",
            s(index_partition(&m.thread.account_id, m.to, &m.conversation_id)),
        ),
        (":gsk", s(activity_sort_key(&m.at, &m.conversation_id))),
    ]);
    let (holder, name) = match &m.holder {
        Holder::To(u, name) => (Some(s(u.as_str())), Some(s(name))),
        Holder::Keep | Holder::Nobody => (None, None),
    };
    let optional = [
        ("last_message_preview = :p", ":p", m.preview.clone().map(s)),
        ("opted_out = :o", ":o", m.opted_out.map(AttributeValue::Bool)),
        ("assigned_agent = :agent", ":agent", holder),
        ("assigned_agent_name = :agent_name", ":agent_name", name),
        ("gsi2pk = :g2", ":g2", second_partition_after(m).map(s)),
    ];
    for (clause, name, value) in optional {
        if let Some(v) = value {
            set.push(clause);
            vals.insert(name.to_owned(), v);
        }
    }
    if m.holder == Holder::Nobody {
        remove.extend(["assigned_agent", "assigned_agent_name"]);
    }
    who_wrote(m, &mut set, &mut remove, &mut vals);
    let mut expression = format!("SET {}", set.join(", "));
    if !remove.is_empty() {
        expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
    }
    (expression, move_condition(m, &mut vals), vals)
}

/// A move's condition: the status read (and the activity and holder read, when it depends on them).
fn move_condition(m: &Move, vals: &mut HashMap<String, AttributeValue>) -> String {
    let mut condition = "#status = :from".to_owned();
    if let Some(seen) = &m.guard.activity_read {
        condition.push_str(" AND last_activity_at = :seen");
        vals.insert(":seen".into(), s(seen.to_string()));
    }
    match &m.guard.holder_read {
        None => {}
        Some(None) => condition.push_str(" AND attribute_not_exists(assigned_agent)"),
        Some(Some(h)) => {
            condition.push_str(" AND assigned_agent = :held");
            vals.insert(":held".into(), s(h.as_str()));
        }
    }
    condition
}

/// The live pointer's part of a move: its status follows the conversation's; it goes when the
/// conversation closes (the next message opens a new one).
fn push_pointer_move(txn: &mut Txn<'_>, m: &Move) -> Result<(), StoreError> {
    let t = &m.thread;
    let pointer = key(table::thread_key(
        t.account_id.as_str(),
        t.support_number.as_str(),
        t.customer_number.as_str(),
    ));
    let this = values([(":c", s(m.conversation_id.as_str()))]);
    if m.to == Status::Closed {
        return txn.delete(Part::Pointer, pointer, Some("conversation_id = :c"), this);
    }
    if m.to == m.from && m.away_for.is_none() {
        return Ok(());
    }
    let mut vals = this;
    vals.insert(":to".into(), s(m.to.as_str()));
    let mut set = "SET #status = :to".to_owned();
    let mut condition = "conversation_id = :c".to_owned();
    if let Some(period) = &m.away_for {
        // One away message per closed period: of two messages racing, one records it.
        set.push_str(", away_for = :away");
        condition.push_str(" AND (attribute_not_exists(away_for) OR away_for <> :away)");
        vals.insert(":away".into(), s(period));
    }
    txn.update(Part::Pointer, pointer, &set, Some(&condition), vals, HashMap::new())
}

/// Adds the writes of a message's conversation: created with its pointer and its entry in the
/// customer's file (the pointer on the condition that
/// the thread has no live conversation; `away_for` the closed period an away message goes out
/// for with it), or moved.
pub(crate) fn push_conversation(
    txn: &mut Txn<'_>,
    w: &ConversationWrite,
    away_for: Option<&str>,
) -> Result<(), StoreError> {
    match w {
        ConversationWrite::Create(c) => {
            txn.put(Part::Conversation, to_item(&ConversationItem::of(c))?, None)?;
            // The customer's file: their conversations, found without the account's others.
            txn.put(Part::File, to_item(&FileItem::of(c))?, None)?;
            if let Some(user) = &c.assigned_agent {
                txn.put(
                    Part::Hold,
                    to_item(&HoldItem::of(&c.account_id, user, &c.conversation_id))?,
                    None,
                )?;
            }
            let mut pointer = PointerItem::of(c);
            pointer.away_for = away_for.map(str::to_owned);
            txn.put(Part::Pointer, to_item(&pointer)?, Some("attribute_not_exists(pk)"))
        }
        ConversationWrite::Move(m) => push_move(txn, m),
    }
}

pub(crate) fn encode_cursor(key: &HashMap<String, AttributeValue>) -> String {
    let plain: HashMap<&str, &str> = key
        .iter()
        .filter_map(|(k, v)| v.as_s().ok().map(|v| (k.as_str(), v.as_str())))
        .collect();
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&plain).unwrap_or_default())
}

/// The most a transcript page's messages take in JSON (the rest of the answer is a few KB):
/// within Lambda's 6 MB synchronous answer with room to spare.
const MAX_TRANSCRIPT_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// The partition of a conversation and its messages.
fn pk_of(id: &ConversationId) -> String {
    table::conversation_key(id.as_str()).pk
}

/// A transcript page's conversation (when the page holds it), its messages, and where the next
/// page starts: DynamoDB's page is 1 MB, but a text of control characters grows sixfold in JSON,
/// so the page ends early rather than pass Lambda's 6 MB answer.
fn page_of(
    id: &ConversationId,
    items: Vec<Item>,
    last_evaluated: Option<&HashMap<String, AttributeValue>>,
) -> Result<TranscriptPage, StoreError> {
    let (mut conversation, mut messages) = (None, Vec::new());
    let (mut answer_bytes, mut last_kept, mut cut) = (0, None, false);
    for item in items {
        match item.get(table::SK).and_then(|v| v.as_s().ok()).map(String::as_str) {
            Some("CONV") => conversation = Some(conversation_of(item)?),
            Some(sk) if sk.starts_with("MSG#") => {
                let sk = sk.to_owned();
                let message = from_item::<MessageItem>(item)?.into_message();
                answer_bytes += serde_json::to_vec(&message).map_or(0, |b| b.len());
                if answer_bytes > MAX_TRANSCRIPT_ANSWER_BYTES && !messages.is_empty() {
                    cut = true;
                    break;
                }
                messages.push(message);
                last_kept = Some(sk);
            }
            _ => {}
        }
    }
    let next_cursor = match (cut, last_kept) {
        (true, Some(sk)) => Some(encode_cursor(&HashMap::from([
            (table::PK.to_owned(), s(pk_of(id))),
            (table::SK.to_owned(), s(sk)),
        ]))),
        _ => last_evaluated.map(encode_cursor),
    };
    Ok(TranscriptPage {
        conversation,
        messages,
        next_cursor,
    })
}

/// What one read of a conversation's partition gave.
struct TranscriptPage {
    conversation: Option<Conversation>,
    messages: Vec<channel_domain::conversation::Message>,
    next_cursor: Option<String>,
}

/// The longest cursor taken: what this API gives out is far shorter.
const MAX_CURSOR: usize = 1024;

/// A cursor this API gave out, with the keys `expected`, each value passing `fits`; anything else
/// is the client's mistake (400), never a request DynamoDB would refuse (503).
pub(crate) fn decode_cursor(
    cursor: &str,
    expected: &[&str],
    fits: impl Fn(&str, &str) -> bool,
) -> Result<Item, BadCursor> {
    if cursor.len() > MAX_CURSOR {
        return Err(BadCursor);
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| BadCursor)?;
    let plain: HashMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| BadCursor)?;
    if plain.len() != expected.len() || !expected.iter().all(|k| plain.contains_key(*k)) {
        return Err(BadCursor);
    }
    // DynamoDB refuses an empty string in a key (a ValidationException, not a client's 400).
    if !plain.iter().all(|(k, v)| !v.is_empty() && fits(k, v)) {
        return Err(BadCursor);
    }
    Ok(plain.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect())
}

fn conversation_of(item: Item) -> Result<Conversation, StoreError> {
    Ok(from_item::<ConversationItem>(item)?.into_conversation())
}

impl ConversationMoves for Dynamo {
    /// 1 GetItem.
    async fn conversation(&self, id: &ConversationId) -> Result<Option<Conversation>, StoreError> {
        self.get(table::conversation_key(id.as_str()))
            .await?
            .map(conversation_of)
            .transpose()
    }

    /// 1 TransactWriteItems.
    async fn apply_move(&self, m: &Move) -> Result<Committed, StoreError> {
        let mut txn = self.txn();
        push_move(&mut txn, m)?;
        Ok(match txn.commit().await? {
            TxnOutcome::Done => Committed::Done,
            TxnOutcome::Cancelled(_) => Committed::Lost,
        })
    }
}

impl ConversationNotes for Dynamo {
    /// 1 TransactWriteItems: the conversation checked (there, not closed, held by the one read),
    /// the note put, the entry.
    async fn write_note(&self, n: &Note) -> Result<Committed, StoreError> {
        let mut txn = self.txn();
        let mut vals = values([(":closed", s(Status::Closed.as_str()))]);
        let mut condition = "attribute_exists(pk) AND #status <> :closed AND ".to_owned();
        match &n.holder_read {
            None => condition.push_str("attribute_not_exists(assigned_agent)"),
            Some(h) => {
                condition.push_str("assigned_agent = :held");
                vals.insert(":held".into(), s(h.as_str()));
            }
        }
        let conversation = key(table::conversation_key(n.conversation_id.as_str()));
        txn.check(Part::Conversation, conversation, &condition, vals)?;
        let item = MessageItem::of(&n.conversation_id, &n.account_id, &n.message, None);
        txn.put(Part::Message, to_item(&item)?, Some("attribute_not_exists(pk)"))?;
        txn.audit(&n.audit)?;
        Ok(match txn.commit().await? {
            TxnOutcome::Done => Committed::Done,
            TxnOutcome::Cancelled(_) => Committed::Lost,
        })
    }
}

impl IdleConversations for Dynamo {
    /// By last activity, oldest first: 1 Query on the index per shard for closed ones; for live
    /// ones 1 per live status and shard; all at once.
    async fn idle(
        &self,
        account_id: &AccountId,
        closed: bool,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError> {
        let partitions = if closed {
            index_partitions(account_id, &[Status::Closed])
        } else {
            index_partitions(account_id, &Status::LIVE)
        };
        // Every shard at once: the sweep reads each account's, and waits for the slowest only.
        let reads = partitions.into_iter().map(|partition| {
            self.client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("gsi1pk = :p AND gsi1sk < :cutoff")
                .expression_attribute_values(":p", s(partition))
                .expression_attribute_values(":cutoff", s(before.to_string()))
                .limit(limit as i32)
                .send()
        });
        let mut found = Vec::new();
        for out in futures_util::future::try_join_all(reads).await.map_err(sdk_error)? {
            for item in out.items().iter().cloned() {
                found.push(conversation_of(item)?);
            }
        }
        found.sort_by_key(|c| c.last_activity_at);
        found.truncate(limit as usize);
        Ok(found)
    }

    /// 1 TransactWriteItems: the end and its pointer, holds and entry; the notice; the closing
    /// message recorded to go out.
    async fn end_idle(&self, e: &IdleEnd) -> Result<Committed, StoreError> {
        let mut txn = self.txn();
        push_move(&mut txn, &e.end)?;
        let account = &e.end.thread.account_id;
        let notice = MessageItem::of(&e.end.conversation_id, account, &e.notice, None);
        txn.put(Part::Message, to_item(&notice)?, None)?;
        if let Some(closing) = &e.closing {
            let item = MessageItem::of(&e.end.conversation_id, account, closing, None);
            txn.put(Part::Automated, to_item(&item)?, None)?;
        }
        Ok(match txn.commit().await? {
            TxnOutcome::Done => Committed::Done,
            TxnOutcome::Cancelled(_) => Committed::Lost,
        })
    }
}

impl ConversationReads for Dynamo {
    /// Oldest first: 1 Query (the conversation item sorts before its messages, raw bodies after
    /// them and out of the query); a later page adds 1 GetItem. Newest first: 1 GetItem and
    /// 1 Query (the messages alone, backwards).
    async fn transcript(
        &self,
        id: &ConversationId,
        order: Order,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Option<Conversation>, ReadError> {
        let Key { pk, .. } = table::conversation_key(id.as_str());
        let fits = |k: &str, v: &str| match k {
            table::PK => v == pk,
            _ => v.starts_with("MSG#") && v.len() <= 64,
        };
        let start = cursor
            .map(|c| decode_cursor(c, &[table::PK, table::SK], fits))
            .transpose()?;
        let with_item = start.is_none() && order == Order::Oldest;
        let mut conversation = match with_item {
            false => self.conversation(id).await?,
            true => None,
        };
        let (condition, from) = match order {
            Order::Oldest => ("pk = :pk AND sk < :bound", table::AFTER_MESSAGES),
            Order::Newest => ("pk = :pk AND begins_with(sk, :bound)", "MSG#"),
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(condition)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":bound", s(from))
            .scan_index_forward(order == Order::Oldest)
            .consistent_read(true)
            .limit(limit as i32 + i32::from(with_item))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(sdk_error)?;
        let items: Vec<Item> = out.items().to_vec();
        let page = page_of(id, items, out.last_evaluated_key())?;
        let (messages, next_cursor) = (page.messages, page.next_cursor);
        if page.conversation.is_some() {
            conversation = page.conversation;
        }
        Ok(conversation.map(|mut c| {
            c.next_cursor = next_cursor;
            c.messages = Some(messages);
            c
        }))
    }

    /// [`Dynamo::listing_page`]: 1 Query per partition of the listing (+3 requests for a
    /// customer's live conversations).
    async fn list(
        &self,
        account_id: &AccountId,
        listing: &Listing,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Conversation>, ReadError> {
        self.listing_page(account_id, listing, limit, cursor).await
    }

    /// [`Dynamo::count_live`]: 5 Queries (counts).
    async fn counts(&self, account_id: &AccountId, user_id: &UserId) -> Result<Counts, StoreError> {
        self.count_live(account_id, user_id).await
    }
}
