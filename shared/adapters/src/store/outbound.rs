//! Outbound messages: recorded before they are sent, settled with TeleSign's answer, and the
//! idempotency records that make a retried request return its first outcome.

use crate::table::Key;
use std::collections::HashMap;

use super::conversations::push_conversation;
use super::inbound::{thread_keys, thread_state};
use super::items::{from_item, to_item, ConversationItem, IdempotencyItem, MessageItem, NumberItem, OutrefItem};
use super::{key, n, s, values, Dynamo, Part, StoreError, TxnOutcome};
use crate::table;
use channel_domain::conversation::{Conversation, Thread};
use channel_domain::ids::{AccountId, ConversationId, MessageId};
use channel_domain::phone::PhoneNumber;
use channel_domain::telesign::status::rank;
use channel_services::ports::{
    BeginWrite, ConversationMoves, IdempotencyLog, IdempotencyRecord, IdempotencyScope, OutboundLog, OutboundRecord,
    Outbox, PendingSend, SendClaim, Settlement,
};

/// How long an idempotency key is remembered with its outcome.
const IDEMPOTENCY_TTL_SECONDS: i64 = 24 * 3600;

/// How long a pending record (its first request still running, or dead) holds its key: a request
/// ends within the function's timeout, so after this the key may be claimed again.
const PENDING_TTL_SECONDS: i64 = 10 * 60;

fn idempotency_key(scope: &IdempotencyScope) -> Key {
    table::idempotency_key(scope.account_id.as_str(), scope.key.as_str())
}

impl OutboundLog for Dynamo {
    /// 1 GetItem of the number's claim (strongly consistent: 1 read unit while the claim, its
    /// settings included, stays under 4 KB).
    async fn number_owner(&self, number: &PhoneNumber) -> Result<Option<AccountId>, StoreError> {
        let found = self.get(table::number_key(number.as_str())).await?;
        Ok(found
            .map(from_item::<NumberItem>)
            .transpose()?
            .map(NumberItem::into_owner))
    }

    /// 1 BatchGetItem (pointer and consent), then 1 GetItem when there is a live conversation.
    async fn live_conversation(&self, thread: &Thread) -> Result<(Option<Conversation>, bool), StoreError> {
        let state = thread_state(self.get_many(thread_keys(thread)).await?)?;
        let conversation = match state.live {
            Some((id, _)) => self.conversation(&id).await?,
            None => None,
        };
        Ok((conversation, state.opted_out))
    }

    /// 1 TransactWriteItems: consent checked (the state, and an opt-out kept by its tag after an
    /// erasure), key claimed, message recorded (naming its key's record, for an erasure),
    /// conversation written, the send audited.
    async fn begin_outbound(&self, r: &OutboundRecord) -> Result<BeginWrite, StoreError> {
        let t = &r.thread;
        let mut txn = self.txn();
        let consent = key(table::consent_key(t.account_id.as_str(), t.customer_number.as_str()));
        let not_opted_out = "attribute_not_exists(pk) OR opted_out = :f";
        txn.check(
            Part::ConsentCheck,
            consent,
            not_opted_out,
            values([(":f", aws_sdk_dynamodb::types::AttributeValue::Bool(false))]),
        )?;
        if let Some(tag) = &r.opt_out_tag {
            let kept = key(table::opt_out_key(t.account_id.as_str(), tag));
            txn.check(Part::ConsentCheck, kept, "attribute_not_exists(pk)", HashMap::new())?;
        }
        let mut message = MessageItem::of(r.conversation.conversation_id(), &t.account_id, &r.message, None);
        if let Some((scope, _)) = &r.idempotency {
            message = message.with_idempotency(&idempotency_key(scope));
        }
        txn.put(Part::Message, to_item(&message)?, None)?;
        if let Some((scope, fingerprint)) = &r.idempotency {
            let claim = IdempotencyItem::pending(idempotency_key(scope), fingerprint, PENDING_TTL_SECONDS);
            let free = "attribute_not_exists(pk) OR (idem_state = :pending AND expires_at < :now)";
            let vals = values([
                (":pending", s("pending")),
                (":now", n(channel_domain::ids::epoch_seconds())),
            ]);
            txn.put_if(Part::Idempotency, to_item(&claim)?, free, vals)?;
        }
        push_conversation(&mut txn, &r.conversation, None)?;
        txn.audit(&r.audit)?;
        let outcome = txn.commit().await?;
        Ok(if matches!(outcome, TxnOutcome::Done) {
            BeginWrite::Begun
        } else if outcome.failed(Part::ConsentCheck) {
            BeginWrite::OptedOut
        } else if outcome.failed(Part::Idempotency) {
            BeginWrite::KeyTaken
        } else {
            BeginWrite::Lost
        })
    }

    /// 1 TransactWriteItems; a second one when a delivery report got there first with a later
    /// status (the report's status is kept, the rest recorded).
    async fn settle(&self, st: &Settlement) -> Result<(), StoreError> {
        for with_status in [true, false] {
            let mut txn = self.txn();
            let (expression, condition, vals) = settle_update(st, with_status);
            let message = key(table::message_key(st.conversation_id.as_str(), st.message_id.as_str()));
            txn.update(
                Part::Message,
                message,
                &expression,
                Some(condition),
                vals,
                HashMap::new(),
            )?;
            if let Some(reference) = &st.reference_id {
                txn.put(
                    Part::Outref,
                    to_item(&OutrefItem::of(reference, &st.conversation_id, &st.message_id))?,
                    None,
                )?;
            }
            if let Some((scope, outcome)) = &st.idempotency {
                let record = key(idempotency_key(scope));
                match outcome {
                    Some(outcome) => {
                        let expires = channel_domain::ids::epoch_seconds() + IDEMPOTENCY_TTL_SECONDS;
                        // Kept as JSON text: the answer a replay gives, read back whole.
                        let text = serde_json::to_string(outcome).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                        let vals = values([(":done", s("done")), (":o", s(text)), (":exp", n(expires))]);
                        txn.update(
                            Part::Idempotency,
                            record,
                            "SET idem_state = :done, outcome = :o, expires_at = :exp",
                            None,
                            vals,
                            HashMap::new(),
                        )?
                    }
                    None => txn.delete(Part::Idempotency, record, None, HashMap::new())?,
                }
            }
            match txn.commit().await? {
                TxnOutcome::Done => return Ok(()),
                outcome if with_status && outcome.failed(Part::Message) => continue,
                outcome => {
                    return Err(StoreError::Unavailable(format!(
                        "settling the message was cancelled: {outcome:?}"
                    )))
                }
            }
        }
        Ok(())
    }
}

/// The settle's update of the message: the status only over a rank not higher than its own.
fn settle_update(
    st: &Settlement,
    with_status: bool,
) -> (
    String,
    &'static str,
    HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) {
    let mut set = vec!["status_description = :d"];
    let mut vals = values([(":d", s(&st.description))]);
    if with_status {
        set.extend(["#status = :st", "status_rank = :r"]);
        vals.insert(":st".into(), s(st.state.as_str()));
        vals.insert(":r".into(), n(rank(st.state, st.code)));
        if let Some(code) = st.code {
            set.push("status_code = :code");
            vals.insert(":code".into(), n(code));
        }
    }
    if let Some(reference) = &st.reference_id {
        set.push("telesign_reference_id = :ref");
        vals.insert(":ref".into(), s(reference));
    }
    let condition = if with_status {
        "attribute_exists(pk) AND status_rank <= :r"
    } else {
        "attribute_exists(pk)"
    };
    (format!("SET {}", set.join(", ")), condition, vals)
}

impl IdempotencyLog for Dynamo {
    /// 1 GetItem.
    async fn idempotency(&self, scope: &IdempotencyScope) -> Result<Option<IdempotencyRecord>, StoreError> {
        let Some(item) = self.get(idempotency_key(scope)).await? else {
            return Ok(None);
        };
        let record: IdempotencyItem = from_item(item)?;
        if record.idem_state == "pending" && record.expires_at < channel_domain::ids::epoch_seconds() {
            // Its request is long over: the key is free again (the TTL deletes the item later).
            return Ok(None);
        }
        Ok(Some(match (record.idem_state.as_str(), record.outcome) {
            ("done", Some(outcome)) => IdempotencyRecord::Done {
                fingerprint: record.fingerprint,
                outcome: Box::new(serde_json::from_str(&outcome).map_err(|e| StoreError::Corrupt(e.to_string()))?),
            },
            _ => IdempotencyRecord::Pending {
                fingerprint: record.fingerprint,
            },
        }))
    }
}

impl Outbox for Dynamo {
    /// 1 BatchGetItem (the conversation and the message, strongly consistent).
    async fn pending_send(
        &self,
        conversation_id: &ConversationId,
        message_id: &MessageId,
    ) -> Result<Option<PendingSend>, StoreError> {
        let keys = vec![
            table::conversation_key(conversation_id.as_str()),
            table::message_key(conversation_id.as_str(), message_id.as_str()),
        ];
        let mut found = self.get_many(keys).await?.into_iter();
        let (Some(Some(conversation)), Some(Some(message))) = (found.next(), found.next()) else {
            return Ok(None);
        };
        Ok(Some(PendingSend {
            conversation: from_item::<ConversationItem>(conversation)?.into_conversation(),
            message: from_item::<MessageItem>(message)?.into_message(),
        }))
    }

    /// 1 TransactWriteItems: the message marked claimed while it is neither claimed nor sent
    /// (`status_rank` 0: recorded, not handed to TeleSign), with the customer's consent checked
    /// when the message asks for it.
    async fn claim_send(&self, pending: &PendingSend, needs_consent: bool) -> Result<SendClaim, StoreError> {
        let c = &pending.conversation;
        let mut txn = self.txn();
        let message = key(table::message_key(
            c.conversation_id.as_str(),
            pending.message.message_id.as_str(),
        ));
        let vals = values([
            (":now", s(channel_domain::ids::Timestamp::now().to_string())),
            (":zero", n(0)),
        ]);
        txn.update(
            Part::Automated,
            message,
            "SET claimed_at = :now",
            Some("attribute_exists(pk) AND attribute_not_exists(claimed_at) AND status_rank = :zero"),
            vals,
            HashMap::new(),
        )?;
        if needs_consent {
            let consent = key(table::consent_key(c.account_id.as_str(), c.customer_number.as_str()));
            txn.check(
                Part::ConsentCheck,
                consent,
                "attribute_not_exists(pk) OR opted_out = :f",
                values([(":f", aws_sdk_dynamodb::types::AttributeValue::Bool(false))]),
            )?;
        }
        let outcome = txn.commit().await?;
        Ok(if matches!(outcome, TxnOutcome::Done) {
            SendClaim::Claimed
        } else if outcome.failed(Part::Automated) {
            SendClaim::Taken
        } else if outcome.failed(Part::ConsentCheck) {
            SendClaim::OptedOut
        } else {
            return Err(StoreError::Unavailable(format!(
                "claiming the send was cancelled: {outcome:?}"
            )));
        })
    }
}
