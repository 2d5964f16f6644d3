//! What the table holds of one customer with an account, read for an export and deleted for an
//! erasure. Their conversations are found through the index (the account's live and closed
//! conversations, filtered by the customer's number) and the live pointer of each support number
//! (strongly consistent, so a conversation the index has not shown yet is found too). A
//! conversation is deleted in pages (BatchWriteItem, 25 items a request): its pointer and hold
//! first (a new message then starts a new conversation), then its messages with the references
//! and idempotency records they name, then the conversation item, then whatever a racing write
//! added meanwhile. The conversation item goes last so that an interrupted erasure still finds it
//! and the next request finishes it.

use crate::table::Key;
use std::collections::HashMap;

use aws_sdk_dynamodb::types::ReturnValue;

use super::items::{from_item, to_item, AuditItem, ConversationItem, MessageItem, OptOutItem, RawItem};
use super::{key, key_of, s, sdk_error, Dynamo, Item, StoreError};
use crate::table::{self, GSI1};
use channel_domain::account::Account;
use channel_domain::audit::AuditEntry;
use channel_domain::conversation::Conversation;
use channel_domain::conversation::Status;
use channel_domain::ids::{AccountId, ConversationId};
use channel_domain::phone::PhoneNumber;
use channel_services::ports::{ConversationFile, CustomerRecords, Erased};

/// The sort key of a conversation item in its partition.
const CONVERSATION_SK: &str = "CONV";

fn conversation_in(items: &[Item]) -> Result<Option<Conversation>, StoreError> {
    items
        .iter()
        .find(|i| key_of(i).is_some_and(|k| k.sk == CONVERSATION_SK))
        .map(|i| Ok(from_item::<ConversationItem>(i.clone())?.into_conversation()))
        .transpose()
}

fn is_message(item: &Item) -> bool {
    key_of(item).is_some_and(|k| k.sk.starts_with("MSG#"))
}

impl Dynamo {
    /// Deletes one item when `condition` holds; whether it did.
    async fn delete_if(&self, k: Key, condition: &str, vals: Item) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(k)))
            .condition_expression(condition)
            .set_expression_attribute_values((!vals.is_empty()).then_some(vals))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match out {
            Ok(o) => Ok(o.attributes.is_some()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_error(e)),
        }
    }

    /// The live pointer (when it points at this conversation) and the holder's hold item.
    async fn erase_pointers(&self, c: &Conversation) -> Result<usize, StoreError> {
        let t = c.thread();
        let pointer = table::thread_key(
            t.account_id.as_str(),
            t.support_number.as_str(),
            t.customer_number.as_str(),
        );
        let ours = HashMap::from([(":c".to_owned(), s(c.conversation_id.as_str()))]);
        let mut deleted = usize::from(self.delete_if(pointer, "conversation_id = :c", ours).await?);
        if let Some(agent) = &c.assigned_agent {
            let hold = table::hold_key(c.account_id.as_str(), agent, c.conversation_id.as_str());
            deleted += usize::from(self.delete_if(hold, "attribute_exists(pk)", HashMap::new()).await?);
        }
        Ok(deleted)
    }

    /// The items of a partition but its conversation item, with the items their messages name.
    fn erasable(items: &[Item], erased: &mut Erased) -> Result<Vec<Key>, StoreError> {
        let mut keys = Vec::new();
        for item in items {
            let Some(k) = key_of(item) else { continue };
            if k.sk == CONVERSATION_SK {
                continue;
            }
            if is_message(item) {
                let message: MessageItem = from_item(item.clone())?;
                for linked in message.linked_keys() {
                    if linked.pk.starts_with("IDEM#") {
                        erased.idempotency_records += 1;
                    } else {
                        erased.references += 1;
                    }
                    keys.push(linked);
                }
                erased.messages += 1;
            }
            keys.push(k);
        }
        Ok(keys)
    }
}

impl CustomerRecords for Dynamo {
    /// 4 Queries per shard on `gsi1` filtered by the customer's number (per 1 MB: the live statuses', the
    /// closed one) + 1
    /// BatchGetItem (the live pointer of each support number). An erasure must miss nothing: the
    /// pointers alone would miss a live conversation on a number the account no longer has.
    async fn conversations_of(
        &self,
        account: &Account,
        customer: &PhoneNumber,
    ) -> Result<Vec<ConversationId>, StoreError> {
        let mut ids: Vec<ConversationId> = Vec::new();
        for partition in super::items::index_partitions(&account.account_id, &Status::ALL) {
            let vals = HashMap::from([(":p".to_owned(), s(partition)), (":c".to_owned(), s(customer.as_str()))]);
            let found = self
                .query_all(Some(GSI1), "gsi1pk = :p", Some("customer_number = :c"), vals)
                .await?;
            for item in found {
                ids.push(from_item::<ConversationItem>(item)?.into_conversation().conversation_id);
            }
        }
        let numbers: Vec<PhoneNumber> = account.numbers.iter().map(|n| n.number.clone()).collect();
        ids.extend(self.pointed(&account.account_id, &numbers, customer.as_str()).await?);
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// 1 Query per 1 MB of the conversation's partition.
    async fn conversation_file(&self, id: &ConversationId) -> Result<Option<ConversationFile>, StoreError> {
        let items = self.partition(&table::conversation_key(id.as_str()).pk).await?;
        let Some(mut conversation) = conversation_in(&items)? else {
            return Ok(None);
        };
        let mut messages = Vec::new();
        let mut raw_payloads = Vec::new();
        for item in items
            .iter()
            .filter(|i| key_of(i).is_some_and(|k| k.sk.starts_with("RAW#")))
        {
            let raw: RawItem = from_item(item.clone())?;
            raw_payloads.push((raw.message_id, raw.body));
        }
        for item in items.into_iter().filter(is_message) {
            let message: MessageItem = from_item(item)?;
            if let Some(raw) = message.raw() {
                raw_payloads.push((message.id().clone(), raw.to_owned()));
            }
            messages.push(message.into_message());
        }
        conversation.messages = Some(messages);
        Ok(Some(ConversationFile {
            conversation,
            raw_payloads,
        }))
    }

    /// 1 Query.
    async fn consent_records(
        &self,
        account_id: &AccountId,
        customer: &PhoneNumber,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        let Key { pk, .. } = table::consent_key(account_id.as_str(), customer.as_str());
        self.partition(&pk).await?.into_iter().map(from_item).collect()
    }

    /// 1 Query per 1 MB of the account's trail (read whole, kept by target).
    async fn entries_about(&self, account_id: &AccountId, targets: &[String]) -> Result<Vec<AuditEntry>, StoreError> {
        let Key { pk, .. } = table::audit_key(account_id.as_str(), "", "");
        let mut entries = Vec::new();
        for item in self.partition(&pk).await? {
            let entry = from_item::<AuditItem>(item)?.into_entry();
            if targets.contains(&entry.target) {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// 1 Query, 1 or 2 DeleteItem (pointer, hold), 1 BatchWriteItem per 25 items, 1 DeleteItem
    /// (the conversation), 1 Query (what a racing write added).
    async fn erase_conversation(&self, _account_id: &AccountId, id: &ConversationId) -> Result<Erased, StoreError> {
        let Key { pk, sk } = table::conversation_key(id.as_str());
        let items = self.partition(&pk).await?;
        let mut erased = Erased::default();
        if let Some(c) = conversation_in(&items)? {
            erased.references += self.erase_pointers(&c).await?;
        }
        let keys = Self::erasable(&items, &mut erased)?;
        self.delete_many(keys).await?;
        if self
            .delete_if(Key::new(pk.clone(), sk), "attribute_exists(pk)", HashMap::new())
            .await?
        {
            erased.conversations += 1;
        }
        let late = self.partition(&pk).await?;
        let keys = Self::erasable(&late, &mut erased)?;
        let conversation_again: Vec<_> = late
            .iter()
            .filter_map(key_of)
            .filter(|k| k.sk == CONVERSATION_SK)
            .collect();
        self.delete_many(keys.into_iter().chain(conversation_again).collect())
            .await?;
        Ok(erased)
    }

    /// 1 Query, 1 PutItem when they opted out, 1 BatchWriteItem per 25 items, 1 GetItem.
    async fn erase_consent(
        &self,
        account_id: &AccountId,
        customer: &PhoneNumber,
        tag: &str,
    ) -> Result<(usize, bool), StoreError> {
        let Key { pk, sk: state_sk } = table::consent_key(account_id.as_str(), customer.as_str());
        let items = self.partition(&pk).await?;
        let opted_out = items.iter().any(|i| {
            key_of(i).is_some_and(|k| k.sk == state_sk)
                && i.get(super::items::attr::OPTED_OUT).and_then(|v| v.as_bool().ok()) == Some(&true)
        });
        if opted_out {
            // The tag first: there is never a moment without an opt-out.
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(to_item(&OptOutItem::of(account_id, tag))?))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        let count = items.len();
        self.delete_many(items.iter().filter_map(key_of).collect()).await?;
        let kept = opted_out || self.opt_out_kept(account_id, tag).await?;
        Ok((count, kept))
    }

    /// 1 GetItem.
    async fn opt_out_kept(&self, account_id: &AccountId, tag: &str) -> Result<bool, StoreError> {
        Ok(self.get(table::opt_out_key(account_id.as_str(), tag)).await?.is_some())
    }

    /// 1 PutItem.
    async fn record(&self, audit: &AuditEntry) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&AuditItem::of(audit))?))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}
