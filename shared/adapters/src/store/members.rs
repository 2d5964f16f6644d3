//! Members of accounts, the conversations they hold, and the audit trail.

use crate::table::Key;
use std::collections::HashMap;

use super::conversations::{decode_cursor, encode_cursor};
use super::items::{from_item, to_item, AuditItem, ConversationItem, HoldItem, MemberItem};
use super::{key, key_of, s, sdk_error, Dynamo, Item, Part, StoreError};
use crate::table::{self, GSI1};
use channel_domain::access::UserId;
use channel_domain::audit::AuditEntry;
use channel_domain::ids::AccountId;
use channel_domain::ids::ConversationId;
use channel_services::ports::{AuditLog, BadCursor, Committed, Member, Members, Page, ReadError};

fn members_of(items: Vec<Item>) -> Result<Vec<Member>, StoreError> {
    items
        .into_iter()
        .map(|i| Ok(from_item::<MemberItem>(i)?.into_member()))
        .collect()
}

impl Members for Dynamo {
    /// 1 GetItem.
    async fn member(&self, account_id: &AccountId, user_id: &UserId) -> Result<Option<Member>, StoreError> {
        let found = self
            .get(table::member_key(account_id.as_str(), user_id.as_str()))
            .await?;
        found.map(|i| Ok(from_item::<MemberItem>(i)?.into_member())).transpose()
    }

    /// 1 Query of the account's members (`MEMBER#` of its partition, by user id), `limit + 1` of
    /// them from the cursor: the page is full unless it is the last, and has a cursor only when
    /// more follow.
    async fn members(
        &self,
        account_id: &AccountId,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Member>, ReadError> {
        let Key { pk, .. } = table::account_key(account_id.as_str());
        let fits = |k: &str, v: &str| match k {
            table::PK => v == pk,
            _ => v.starts_with(table::MEMBER_PREFIX) && v.len() <= 256,
        };
        let start = cursor
            .map(|c| decode_cursor(c, &[table::PK, table::SK], fits))
            .transpose()?;
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :m)")
            .expression_attribute_values(":pk", s(&pk))
            .expression_attribute_values(":m", s(table::MEMBER_PREFIX))
            .limit(limit as i32 + 1)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(sdk_error)?;
        let mut items: Vec<Item> = out.items().to_vec();
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_cursor = match (more, items.last()) {
            (true, Some(last)) => key_of(last).map(|k| encode_cursor(&key(k))),
            _ => None,
        };
        Ok(Page {
            items: members_of(items)?,
            next_cursor,
        })
    }

    /// 1 Query on the index.
    async fn memberships(&self, user_id: &UserId) -> Result<Vec<Member>, StoreError> {
        let vals = HashMap::from([(":p".to_owned(), s(table::memberships_partition(user_id.as_str())))]);
        members_of(self.query_all(Some(GSI1), "gsi1pk = :p", None, vals).await?)
    }

    /// 1 TransactWriteItems: the member (the account must exist) and the entry.
    async fn put_member(&self, m: &Member, audit: &AuditEntry) -> Result<Committed, StoreError> {
        let mut txn = self.txn();
        txn.check(
            Part::Account,
            key(table::account_key(m.account_id.as_str())),
            "attribute_exists(pk)",
            HashMap::new(),
        )?;
        txn.put(Part::Member, to_item(&MemberItem::of(m))?, None)?;
        txn.audit(audit)?;
        Ok(
            if txn
                .commit()
                .await?
                .done_unless(&[Part::Account], "setting the member")?
            {
                Committed::Done
            } else {
                Committed::Lost
            },
        )
    }

    /// 1 TransactWriteItems: the member deleted and the entry.
    async fn remove_member(
        &self,
        account_id: &AccountId,
        user_id: &UserId,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let mut txn = self.txn();
        let at = key(table::member_key(account_id.as_str(), user_id.as_str()));
        txn.delete(Part::Member, at, Some("attribute_exists(pk)"), HashMap::new())?;
        txn.audit(audit)?;
        txn.commit().await?.done_unless(&[Part::Member], "removing the member")
    }

    /// 1 Query of the user's hold items (strongly consistent: written with every move that
    /// assigns, lets go or ends) and 1 Query on `gsi2` per shard and 1 MB of the user's partition (the same
    /// conversations through the index, which may lag a just-committed assignment; the holds do
    /// not).
    async fn held_by(&self, account_id: &AccountId, user_id: &UserId) -> Result<Vec<ConversationId>, StoreError> {
        let Key { pk, .. } = table::hold_key(account_id.as_str(), user_id.as_str(), "");
        let holds = self
            .query_all(None, "pk = :pk", None, HashMap::from([(":pk".to_owned(), s(pk))]))
            .await?;
        let mut out = Vec::new();
        for item in holds {
            out.push(from_item::<HoldItem>(item)?.conversation_id);
        }
        for held in super::items::held_partitions(account_id, Some(user_id.as_str())) {
            let vals = HashMap::from([(":p".to_owned(), s(held))]);
            let assigned = self.query_all(Some(table::GSI2), "gsi2pk = :p", None, vals).await?;
            for item in assigned {
                let id = from_item::<ConversationItem>(item)?.into_conversation().conversation_id;
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
        Ok(out)
    }
}

impl AuditLog for Dynamo {
    /// 1 Query of the account's trail.
    async fn audit(
        &self,
        account_id: &AccountId,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<AuditEntry>, ReadError> {
        let Key { pk: partition, .. } = table::audit_key(account_id.as_str(), "", "");
        let start = cursor
            .map(|c| decode_cursor(c, &[table::PK, table::SK], |_, v| v.len() <= 256))
            .transpose()?;
        if start
            .as_ref()
            .is_some_and(|k| k.get(table::PK).and_then(|v| v.as_s().ok()) != Some(&partition))
        {
            return Err(BadCursor.into());
        }
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s(partition))
            .scan_index_forward(false)
            .limit(limit as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(sdk_error)?;
        let items = out
            .items()
            .iter()
            .cloned()
            .map(|i| Ok(from_item::<AuditItem>(i)?.into_entry()))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page {
            items,
            next_cursor: out.last_evaluated_key().map(encode_cursor),
        })
    }
}
