//! Leases (`LEASE#<name>` / `LEASE`): one holder at a time of a named piece of work until the
//! lease's `expires_at`, which the table's TTL also deletes later.

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;

use super::{key, n, s, sdk_error, Dynamo, StoreError};
use crate::table;
use channel_services::ports::Leases;

impl Leases for Dynamo {
    /// 1 PutItem, on the condition that the lease is free or expired.
    async fn acquire(&self, name: &str, holder: &str, until: i64) -> Result<bool, StoreError> {
        let mut item = key(table::lease_key(name));
        item.insert("holder".into(), s(holder));
        item.insert(table::TTL_ATTRIBUTE.into(), n(until));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #exp < :now")
            .expression_attribute_names("#exp", table::TTL_ATTRIBUTE)
            .expression_attribute_values(":now", n(channel_domain::ids::epoch_seconds()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_error(e)),
        }
    }

    /// 1 DeleteItem, on the condition that `holder` still holds it.
    async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(table::lease_key(name))))
            .condition_expression("holder = :me")
            .expression_attribute_values(":me", s(holder))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            // Expired and taken by another meanwhile: theirs now.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DeleteItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(sdk_error(e)),
        }
    }
}
