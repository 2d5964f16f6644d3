//! Inbound SMS: into the customer's live conversation or a new one, exactly once.

use super::conversations::push_conversation;
use super::items::{from_item, to_item, ConsentItem, MessageItem, NumberItem, PointerItem, RawItem, ReferenceItem};
use super::{Dynamo, Part, StoreError, TxnOutcome};
use crate::conversation::{Consent, Thread};
use crate::service::ports::{InboundLog, InboundRecord, InboundWrite, ThreadState};
use crate::table;

/// How long a seen inbound reference is remembered (TeleSign retries within a minute).
const REFERENCE_TTL_SECONDS: i64 = 30 * 24 * 3600;

/// The stamp of an account's keys, read from its record.
#[derive(serde::Deserialize)]
pub(crate) struct KeyStamp {
    #[serde(default)]
    pub(crate) key_version: Option<i64>,
}

/// The keys of a thread's pointer and its customer's consent.
pub(crate) fn thread_keys(t: &Thread) -> Vec<(String, String)> {
    vec![
        table::thread_key(
            t.account_id.as_str(),
            t.support_number.as_str(),
            t.customer_number.as_str(),
        ),
        table::consent_key(t.account_id.as_str(), t.customer_number.as_str()),
    ]
}

/// Reads a pointer and a consent item of [`thread_keys`], and the number's claim when it was
/// read as well.
pub(crate) fn thread_state(found: Vec<Option<super::Item>>) -> Result<ThreadState, StoreError> {
    let mut found = found.into_iter();
    let live = found.next().flatten().map(from_item::<PointerItem>).transpose()?;
    let consent = found.next().flatten().map(from_item::<ConsentItem>).transpose()?;
    let claim = found.next().flatten().map(from_item::<NumberItem>).transpose()?;
    let stamp = found.next().flatten().map(from_item::<KeyStamp>).transpose()?;
    Ok(ThreadState {
        live: live.map(|p| (p.conversation_id, p.status)),
        opted_out: consent.is_some_and(|c| c.opted_out),
        number_owner: claim.map(NumberItem::into_owner),
        key_version: stamp.and_then(|s| s.key_version),
        kept_opt_out: None,
    })
}

impl InboundLog for Dynamo {
    /// 1 BatchGetItem: the pointer, the consent, the number's claim, the account's key stamp and
    /// an opt-out kept by an erasure.
    async fn thread_state(&self, thread: &Thread, opt_out_tag: &str) -> Result<ThreadState, StoreError> {
        let mut keys = thread_keys(thread);
        keys.push(table::number_key(thread.support_number.as_str()));
        keys.push(table::account_key(thread.account_id.as_str()));
        keys.push(table::opt_out_key(thread.account_id.as_str(), opt_out_tag));
        let mut found = self.get_many(keys).await?;
        let kept = found.pop().flatten().is_some();
        let mut state = thread_state(found)?;
        if kept {
            state.opted_out = true;
            state.kept_opt_out = Some(opt_out_tag.to_owned());
        }
        Ok(state)
    }

    /// 1 TransactWriteItems.
    async fn record_inbound(&self, r: &InboundRecord) -> Result<InboundWrite, StoreError> {
        let t = &r.thread;
        let conversation_id = r.conversation.conversation_id();
        let mut txn = self.txn();
        let reference = ReferenceItem::of(
            &t.account_id,
            &r.reference_id,
            (conversation_id, &r.message.message_id),
            REFERENCE_TTL_SECONDS,
        );
        txn.put(Part::Reference, to_item(&reference)?, Some("attribute_not_exists(pk)"))?;
        let message = MessageItem::of(conversation_id, &t.account_id, &r.message, None);
        txn.put(Part::Message, to_item(&message)?, None)?;
        let raw = RawItem::of(conversation_id, &r.message.message_id, &r.raw, self.raw_payload_days);
        txn.put(Part::RawPayload, to_item(&raw)?, None)?;
        push_conversation(&mut txn, &r.conversation)?;
        if let Some((consent, notice, entry)) = &r.consent {
            let opted_out = *consent == Consent::OptOut;
            let record = ConsentItem::of(&t.account_id, &t.customer_number, opted_out, conversation_id);
            txn.put(Part::Consent, to_item(&record)?, None)?;
            let notice = MessageItem::of(conversation_id, &t.account_id, notice, None);
            txn.put(Part::ConsentNotice, to_item(&notice)?, None)?;
            txn.audit(entry)?;
        }
        if let Some(tag) = &r.lift_opt_out {
            let kept = super::key(table::opt_out_key(t.account_id.as_str(), tag));
            txn.delete(Part::Consent, kept, None, std::collections::HashMap::new())?;
        }
        let outcome = txn.commit().await?;
        Ok(if matches!(outcome, TxnOutcome::Done) {
            InboundWrite::Stored
        } else if outcome.failed(Part::Reference) {
            InboundWrite::Duplicate
        } else {
            tracing::info!(outcome = ?outcome, conversation_id = %conversation_id, "inbound write cancelled");
            InboundWrite::Lost
        })
    }
}
