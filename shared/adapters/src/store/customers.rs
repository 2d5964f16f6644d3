//! What the table holds of one customer with an account, read for an export and deleted for an
//! erasure, found through the customer's own partitions and never the rest of the account: their
//! file (`FILE#<account>#<customer>`, one entry per conversation, written with it; strongly
//! consistent), their closed conversations on `gsi2` and the live pointer of each support number
//! (for conversations older than files); the audit entries about them by subject on `gsi2`. A
//! conversation is deleted in pages (BatchWriteItem, 25 items a request): its pointer and hold
//! first (a new message then starts a new conversation), then its messages with the references
//! and idempotency records they name, then the conversation item, then whatever a racing write
//! added meanwhile. The conversation item goes last so that an interrupted erasure still finds it
//! and the next request finishes it.

use crate::table::Key;
use std::collections::HashMap;

use aws_sdk_dynamodb::types::ReturnValue;

use super::items::{from_item, to_item, AuditItem, ConversationItem, FileItem, MessageItem, OptOutItem, RawItem};
use super::{key, key_of, s, sdk_error, Dynamo, Item, StoreError};
use crate::table::{self, GSI2};
use channel_domain::audit::AuditEntry;
use channel_domain::conversation::Conversation;
use channel_domain::ids::{AccountId, ConversationId};
use channel_domain::phone::PhoneNumber;
use channel_services::ports::{ConversationFile, CustomerRecords, Erased};

/// How many subjects' audit entries an export reads at once.
const SUBJECT_READS: usize = 8;

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
    /// At once: 1 Query of the customer's file (strongly consistent: every conversation made
    /// since files are kept, live or closed), 1 Query of `gsi2` (their closed conversations, the
    /// older ones too), 1 BatchGetItem (the live pointer of each of `numbers`, for a live one
    /// older than files); each again per 1 MB. Nothing else of the account is read, however
    /// large it is.
    async fn conversations_of(
        &self,
        account_id: &AccountId,
        numbers: &[PhoneNumber],
        customer: &PhoneNumber,
    ) -> Result<Vec<ConversationId>, StoreError> {
        let file = table::customer_file_partition(account_id.as_str(), customer.as_str());
        let closed = HashMap::from([(
            ":p".to_owned(),
            s(table::customer_closed_partition(account_id.as_str(), customer.as_str())),
        )]);
        let (filed, closed, pointed) = futures_util::future::try_join3(
            self.partition(&file),
            self.query_all(Some(GSI2), "gsi2pk = :p", None, closed),
            self.pointed(account_id, numbers, customer.as_str()),
        )
        .await?;
        let mut ids = pointed;
        for item in filed {
            ids.push(from_item::<FileItem>(item)?.conversation_id);
        }
        for item in closed {
            ids.push(from_item::<ConversationItem>(item)?.into_conversation().conversation_id);
        }
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
        use futures_util::{StreamExt, TryStreamExt};
        let partitions: Vec<String> = targets
            .iter()
            .map(|target| table::audit_subject_partition(account_id.as_str(), target))
            .collect();
        let reads = partitions.into_iter().map(|partition| {
            let vals = HashMap::from([(":p".to_owned(), s(partition))]);
            self.query_all(Some(GSI2), "gsi2pk = :p", None, vals)
        });
        let found: Vec<Vec<Item>> = futures_util::stream::iter(reads)
            .buffered(SUBJECT_READS)
            .try_collect()
            .await?;
        let mut entries = Vec::new();
        for item in found.into_iter().flatten() {
            entries.push(from_item::<AuditItem>(item)?.into_entry());
        }
        entries.sort_by_key(|e| e.at);
        Ok(entries)
    }

    /// 1 Query, 1 or 2 DeleteItem (pointer, hold), 1 BatchWriteItem per 25 items, 1 DeleteItem
    /// (the conversation), 1 Query (what a racing write added).
    async fn erase_conversation(
        &self,
        account_id: &AccountId,
        customer: &PhoneNumber,
        id: &ConversationId,
    ) -> Result<Erased, StoreError> {
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
        // Its entry in the customer's file last (the conversation's index, not counted): until it
        // goes, the conversation is found again.
        let filed = table::customer_file_key(account_id.as_str(), customer.as_str(), id.as_str());
        self.delete_if(filed, "attribute_exists(pk)", HashMap::new()).await?;
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
