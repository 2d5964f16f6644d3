//! Inbound SMS: into the customer's live conversation or a new one, exactly once.

use super::conversations::push_conversation;
use crate::table::Key;
use aws_sdk_dynamodb::types::AttributeValue;

use super::items::{
    from_item, to_item, ConsentChangeItem, ConsentItem, MessageItem, NumberItem, PointerItem, RawItem, ReferenceItem,
    StampItem,
};
use super::{key, n, s, values, Dynamo, Part, StoreError, TxnOutcome};
use crate::table;
use channel_domain::account::SupportNumber;
use channel_domain::automation::ConsentEffect;
use channel_domain::conversation::{Consent, Thread};
use channel_domain::ids::AccountId;
use channel_services::ports::{ConsentWrite, InboundLog, InboundRecord, InboundWrite, ThreadState};
use std::collections::HashMap;

/// How long a seen inbound reference is remembered.
const REFERENCE_TTL_SECONDS: i64 = channel_domain::conversation::DEDUPLICATION_WINDOW_SECONDS;

/// What an account's record holds of its stamp: the version of its keys, its name and its
/// numbers' settings (each number's JSON). Read by callbacks of an account whose stamp item is not
/// made yet, and by the delivery reports of one.
#[derive(serde::Deserialize)]
pub(crate) struct KeyStamp {
    #[serde(default)]
    pub(crate) key_version: Option<i64>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    numbers: std::collections::HashMap<String, String>,
}

impl KeyStamp {
    /// The account's name and one of its numbers with its settings (`None` when the account
    /// no longer has it, or its settings cannot be read: then nothing automated goes out).
    fn number(&self, number: &str) -> Option<(String, SupportNumber)> {
        let json = self.numbers.get(number)?;
        let parsed = serde_json::from_str(json)
            .inspect_err(|e| tracing::error!(support_number = number, error = %e, "a number's settings cannot be read"))
            .ok()?;
        Some((self.name.clone(), parsed))
    }
}

/// The keys of a thread's pointer and its customer's consent.
pub(crate) fn thread_keys(t: &Thread) -> Vec<Key> {
    vec![
        table::thread_key(
            t.account_id.as_str(),
            t.support_number.as_str(),
            t.customer_number.as_str(),
        ),
        table::consent_key(t.account_id.as_str(), t.customer_number.as_str()),
    ]
}

/// Reads a pointer and a consent item of [`thread_keys`], and the number's claim and the
/// account's stamp when they were read as well (an account without its stamp item, made before
/// stamps had one, is read by [`legacy_state`]).
pub(crate) fn thread_state(found: Vec<Option<super::Item>>) -> Result<ThreadState, StoreError> {
    let mut found = found.into_iter();
    let live = found.next().flatten().map(from_item::<PointerItem>).transpose()?;
    let consent = found.next().flatten().map(from_item::<ConsentItem>).transpose()?;
    let claim = found.next().flatten().map(from_item::<NumberItem>).transpose()?;
    let stamp = found.next().flatten().map(from_item::<StampItem>).transpose()?;
    let number = match (&claim, &stamp) {
        (Some(c), Some(s)) => c.settings().map(|n| (s.name().to_owned(), n)),
        _ => None,
    };
    Ok(ThreadState {
        away_sent_for: live.as_ref().and_then(|p| p.away_for.clone()),
        live: live.map(|p| (p.conversation_id, p.status)),
        opted_out: consent.as_ref().is_some_and(|c| c.opted_out),
        consent_read: consent.map(|c| c.consent_order),
        number_owner: claim.map(NumberItem::into_owner),
        number,
        key_version: stamp.and_then(|s| s.key_version()),
        kept_opt_out: None,
    })
}

impl Dynamo {
    /// An account made before stamps had an item of their own: its record read (as every callback
    /// read it then), and its stamp item made from it, with each number's settings on its claim.
    /// A stamp item not made (a rotation or a rename in between, a conflict) is made by a later
    /// callback; the callback goes on with the record as read.
    async fn legacy_state(&self, thread: &Thread, state: &mut ThreadState) -> Result<(), StoreError> {
        let Some(item) = self.get(table::account_key(thread.account_id.as_str())).await? else {
            return Ok(());
        };
        let record = from_item::<KeyStamp>(item)?;
        state.number = record.number(thread.support_number.as_str());
        state.key_version = record.key_version;
        if let Err(e) = self.make_stamp(&thread.account_id, &record).await {
            tracing::info!(account_id = %thread.account_id, error = %e, "the account's stamp item is not made yet");
        }
        Ok(())
    }

    /// 1 TransactWriteItems: the stamp (on the condition that the record's name and key version
    /// are still as read) and each number's settings on its claim.
    async fn make_stamp(&self, id: &AccountId, record: &KeyStamp) -> Result<(), StoreError> {
        // The check, the stamp and the claims: at most 100 items in one transaction.
        if record.numbers.len() > 98 {
            return Err(StoreError::Unavailable(
                "more numbers than one transaction holds".into(),
            ));
        }
        let mut txn = self.txn();
        let (condition, vals) = match record.key_version {
            Some(v) => (
                "#name = :n AND key_version = :v",
                values([(":n", s(&record.name)), (":v", n(v))]),
            ),
            None => (
                "#name = :n AND attribute_not_exists(key_version)",
                values([(":n", s(&record.name))]),
            ),
        };
        let names = HashMap::from([("#name".to_owned(), "name".to_owned())]);
        txn.check_named(
            Part::Account,
            key(table::account_key(id.as_str())),
            condition,
            vals,
            names,
        )?;
        let stamp = StampItem::of(id, &record.name, record.key_version);
        txn.put(Part::Stamp, to_item(&stamp)?, Some("attribute_not_exists(pk)"))?;
        for (number, settings) in &record.numbers {
            txn.update(
                Part::NumberClaim,
                key(table::number_key(number)),
                "SET settings = :v",
                Some("account_id = :a"),
                values([(":v", s(settings)), (":a", s(id.as_str()))]),
                HashMap::new(),
            )?;
        }
        match txn.commit().await? {
            TxnOutcome::Done => Ok(()),
            other => Err(StoreError::Unavailable(format!(
                "making the stamp was cancelled: {other:?}"
            ))),
        }
    }
}

/// A consent keyword's writes: its ledger entry; the consent item when it is newer than the
/// last change, on the condition that the item is still as read; the notice and the entry when
/// it changes the customer's state.
fn push_consent(txn: &mut super::Txn<'_>, r: &InboundRecord, w: &ConsentWrite) -> Result<(), StoreError> {
    let t = &r.thread;
    let conversation_id = r.conversation.conversation_id();
    let ledger = ConsentChangeItem::of(
        &t.account_id,
        &t.customer_number,
        w,
        (conversation_id, &r.message.message_id),
    );
    txn.put(Part::ConsentLedger, to_item(&ledger)?, None)?;
    let opted_out = match w.effect {
        ConsentEffect::Changed(c) | ConsentEffect::Unchanged(c) => c == Consent::OptOut,
        ConsentEffect::Superseded(_) | ConsentEffect::None => return Ok(()),
    };
    let record = ConsentItem::of(&t.account_id, &t.customer_number, opted_out, conversation_id, &w.order);
    let item = to_item(&record)?;
    match &w.read {
        None => txn.put(Part::Consent, item, Some("attribute_not_exists(pk)"))?,
        Some(None) => txn.put_if(
            Part::Consent,
            item,
            "attribute_not_exists(consent_order) AND opted_out = :was",
            values([(":was", AttributeValue::Bool(w.was_opted_out))]),
        )?,
        Some(Some(order)) => txn.put_if(
            Part::Consent,
            item,
            "consent_order = :read",
            values([(":read", s(order))]),
        )?,
    }
    if let Some((notice, entry)) = &w.change {
        let notice = MessageItem::of(conversation_id, &t.account_id, notice, None);
        txn.put(Part::ConsentNotice, to_item(&notice)?, None)?;
        txn.audit(entry)?;
    }
    Ok(())
}

impl InboundLog for Dynamo {
    /// 1 BatchGetItem: the pointer, the consent, the number's claim (its owner and settings), the
    /// account's stamp (its name and the version of its keys) and an opt-out kept by an erasure.
    /// Never the account's record: its size grows with its numbers' settings, and every callback
    /// of the account would read it. (An account made before stamps had an item of their own:
    /// 1 GetItem of its record more, and 1 TransactWriteItems making its stamp, once.)
    async fn thread_state(&self, thread: &Thread, opt_out_tag: &str) -> Result<ThreadState, StoreError> {
        let mut keys = thread_keys(thread);
        keys.push(table::number_key(thread.support_number.as_str()));
        keys.push(table::stamp_key(thread.account_id.as_str()));
        keys.push(table::opt_out_key(thread.account_id.as_str(), opt_out_tag));
        let mut found = self.get_many(keys).await?;
        let kept = found.pop().flatten().is_some();
        let stamped = found.last().is_some_and(Option::is_some);
        let mut state = thread_state(found)?;
        if !stamped && state.number_owner.as_ref() == Some(&thread.account_id) {
            self.legacy_state(thread, &mut state).await?;
        }
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
        push_conversation(&mut txn, &r.conversation, r.away_for.as_deref())?;
        if let Some(w) = &r.consent {
            push_consent(&mut txn, r, w)?;
        }
        for m in &r.automated {
            let item = MessageItem::of(conversation_id, &t.account_id, m, None);
            txn.put(Part::Automated, to_item(&item)?, None)?;
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
