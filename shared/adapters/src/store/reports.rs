//! Delivery reports: move an outbound message's status forward, never back.

use super::items::{from_item, MessageItem, OutrefItem};
use super::{key, n, s, sdk_error, values, Dynamo, StoreError};
use crate::table;
use crate::table::Key;
use channel_services::ports::{Committed, MessageRef, ReportLog, StatusUpdate, StoredStatus};

impl ReportLog for Dynamo {
    /// 1 GetItem of the account's stamp item (an account whose stamp item is not made yet: 1
    /// GetItem of its record more).
    async fn key_stamp(&self, account_id: &channel_domain::ids::AccountId) -> Result<Option<i64>, StoreError> {
        for Key { pk, sk } in [
            table::stamp_key(account_id.as_str()),
            table::account_key(account_id.as_str()),
        ] {
            let found = self
                .client
                .get_item()
                .table_name(&self.table)
                .key(table::PK, s(pk))
                .key(table::SK, s(sk))
                .projection_expression("key_version")
                .consistent_read(true)
                .send()
                .await
                .map_err(sdk_error)?;
            if let Some(item) = found.item {
                let stamp = from_item::<super::inbound::KeyStamp>(item)?;
                return Ok(stamp.key_version);
            }
        }
        Ok(None)
    }

    /// 1 GetItem of the reference's pointer.
    async fn locate(&self, reference_id: &str) -> Result<Option<MessageRef>, StoreError> {
        let found = self.get(table::outbound_ref_key(reference_id)).await?;
        Ok(found
            .map(from_item::<OutrefItem>)
            .transpose()?
            .map(|o| (o.conversation_id, o.message_id)))
    }

    /// 1 conditional UpdateItem (a transaction would cost twice the write units).
    async fn advance(&self, at: &MessageRef, u: &StatusUpdate) -> Result<Committed, StoreError> {
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(table::message_key(at.0.as_str(), at.1.as_str()))))
            .update_expression(
                "SET #status = :st, status_rank = :r, status_code = :code, status_description = :d, \
                 telesign_reference_id = if_not_exists(telesign_reference_id, :ref), status_updated_at = :now",
            )
            .condition_expression("attribute_exists(pk) AND account_id = :a AND direction = :out AND status_rank < :r")
            .expression_attribute_names("#status", "status")
            .set_expression_attribute_values(Some(values([
                (":st", s(u.state.as_str())),
                (":r", n(u.rank)),
                (":code", n(u.code)),
                (":d", s(&u.description)),
                (":ref", s(&u.reference_id)),
                (":now", s(channel_domain::ids::now())),
                (":a", s(u.account_id.as_str())),
                (":out", s("outbound")),
            ])))
            .send()
            .await;
        match updated {
            Ok(_) => Ok(Committed::Done),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(Committed::Lost)
            }
            Err(e) => Err(sdk_error(e)),
        }
    }

    /// 1 GetItem.
    async fn stored_status(&self, at: &MessageRef) -> Result<Option<StoredStatus>, StoreError> {
        let found = self.get(table::message_key(at.0.as_str(), at.1.as_str())).await?;
        Ok(found.map(from_item::<MessageItem>).transpose()?.map(|m| {
            let (account_id, outbound, code) = m.status_facts();
            StoredStatus {
                account_id,
                outbound,
                code,
            }
        }))
    }
}
