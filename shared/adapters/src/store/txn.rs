//! Transactions whose items are named: a cancellation says which named item failed its
//! condition, not which position.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update};

use super::{sdk_error, Dynamo, Item, StoreError};

/// What an item of a transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// An inbound reference, seen once.
    Reference,
    /// A message.
    Message,
    /// An inbound message's raw callback body.
    RawPayload,
    /// A consent notice.
    ConsentNotice,
    /// A conversation.
    Conversation,
    /// A live pointer.
    Pointer,
    /// A conversation's entry in its customer's file.
    File,
    /// A consent record.
    Consent,
    /// A consent keyword's ledger entry.
    ConsentLedger,
    /// An automated message, recorded to go out.
    Automated,
    /// The customer has not opted out.
    ConsentCheck,
    /// An idempotency key.
    Idempotency,
    /// An outbound reference.
    Outref,
    /// An account record.
    Account,
    /// An account's stamp: its name and the version of its keys.
    Stamp,
    /// A number's claim.
    NumberClaim,
    /// A TeleSign customer id's claim.
    CustomerClaim,
    /// A member of an account.
    Member,
    /// An audit entry.
    Audit,
    /// What a user holds.
    Hold,
    /// A canned response.
    Canned,
    /// An account's count of canned responses.
    CannedCount,
}

/// What a transaction came to.
#[derive(Debug)]
pub(crate) enum TxnOutcome {
    /// Every write is durable.
    Done,
    /// Cancelled: the parts whose condition failed (with the index of a repeated part).
    Cancelled(Vec<(Part, usize)>),
}

impl TxnOutcome {
    /// Whether `part` failed its condition.
    pub(crate) fn failed(&self, part: Part) -> bool {
        matches!(self, Self::Cancelled(parts) if parts.iter().any(|(p, _)| *p == part))
    }

    /// `true` when every write is durable, `false` when one of `parts` failed its condition; a
    /// cancellation for any other condition is a store fault naming `what` was being done.
    pub(crate) fn done_unless(self, parts: &[Part], what: &str) -> Result<bool, StoreError> {
        if matches!(self, Self::Done) {
            Ok(true)
        } else if parts.iter().any(|p| self.failed(*p)) {
            Ok(false)
        } else {
            Err(StoreError::Unavailable(format!("{what} was cancelled: {self:?}")))
        }
    }
}

/// A transaction being built.
pub(crate) struct Txn<'a> {
    dynamo: &'a Dynamo,
    items: Vec<TransactWriteItem>,
    parts: Vec<Part>,
}

/// Expression attribute names for the placeholders an expression uses.
fn names_in(expressions: &[&str], extra: &HashMap<String, String>) -> Option<HashMap<String, String>> {
    let mut names = extra.clone();
    if expressions.iter().any(|e| e.contains("#status")) {
        names.insert("#status".into(), "status".into());
    }
    (!names.is_empty()).then_some(names)
}

fn built<T>(r: Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Corrupt(format!("request could not be built: {e}")))
}

impl<'a> Txn<'a> {
    pub(crate) fn new(dynamo: &'a Dynamo) -> Self {
        Self {
            dynamo,
            items: Vec::new(),
            parts: Vec::new(),
        }
    }

    fn push(&mut self, part: Part, item: TransactWriteItem) {
        self.items.push(item);
        self.parts.push(part);
    }

    /// Puts an item, on a condition.
    pub(crate) fn put(&mut self, part: Part, item: Item, condition: Option<&str>) -> Result<(), StoreError> {
        let put = Put::builder()
            .table_name(&self.dynamo.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build();
        self.push(part, TransactWriteItem::builder().put(built(put)?).build());
        Ok(())
    }

    /// Puts an item, on a condition with values.
    pub(crate) fn put_if(
        &mut self,
        part: Part,
        item: Item,
        condition: &str,
        values: HashMap<String, AttributeValue>,
    ) -> Result<(), StoreError> {
        let put = Put::builder()
            .table_name(&self.dynamo.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(Some(values))
            .build();
        self.push(part, TransactWriteItem::builder().put(built(put)?).build());
        Ok(())
    }

    /// Updates an item, on a condition.
    pub(crate) fn update(
        &mut self,
        part: Part,
        key: Item,
        expression: &str,
        condition: Option<&str>,
        values: HashMap<String, AttributeValue>,
        extra_names: HashMap<String, String>,
    ) -> Result<(), StoreError> {
        let update = Update::builder()
            .table_name(&self.dynamo.table)
            .set_key(Some(key))
            .update_expression(expression)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names(names_in(&[expression, condition.unwrap_or("")], &extra_names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build();
        self.push(part, TransactWriteItem::builder().update(built(update)?).build());
        Ok(())
    }

    /// Checks a condition on an item without writing it.
    pub(crate) fn check(
        &mut self,
        part: Part,
        key: Item,
        condition: &str,
        values: HashMap<String, AttributeValue>,
    ) -> Result<(), StoreError> {
        self.check_named(part, key, condition, values, HashMap::new())
    }

    /// Checks a condition naming attributes through placeholders (`#name`) without writing.
    pub(crate) fn check_named(
        &mut self,
        part: Part,
        key: Item,
        condition: &str,
        values: HashMap<String, AttributeValue>,
        extra_names: HashMap<String, String>,
    ) -> Result<(), StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.dynamo.table)
            .set_key(Some(key))
            .condition_expression(condition)
            .set_expression_attribute_names(names_in(&[condition], &extra_names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build();
        self.push(
            part,
            TransactWriteItem::builder().condition_check(built(check)?).build(),
        );
        Ok(())
    }

    /// Deletes an item, on a condition.
    pub(crate) fn delete(
        &mut self,
        part: Part,
        key: Item,
        condition: Option<&str>,
        values: HashMap<String, AttributeValue>,
    ) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.dynamo.table)
            .set_key(Some(key))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build();
        self.push(part, TransactWriteItem::builder().delete(built(delete)?).build());
        Ok(())
    }

    /// Adds an audit entry: written with the change it records, or not at all.
    pub(crate) fn audit(&mut self, entry: &channel_domain::audit::AuditEntry) -> Result<(), StoreError> {
        let item = super::items::to_item(&super::items::AuditItem::of(entry))?;
        self.put(Part::Audit, item, None)
    }

    /// Runs the transaction: all its writes happen, or none.
    pub(crate) async fn commit(self) -> Result<TxnOutcome, StoreError> {
        let sent = self
            .dynamo
            .client
            .transact_write_items()
            .set_transact_items(Some(self.items))
            .send()
            .await;
        let Err(e) = sent else {
            return Ok(TxnOutcome::Done);
        };
        match e.into_service_error() {
            TransactWriteItemsError::TransactionCanceledException(c) => {
                // A cancellation for anything but a condition (a conflict with another
                // transaction, throttling, capacity) says nothing about the conditions: it is a
                // store fault to retry, never an answer such as "not a member" or "lost".
                let other = c
                    .cancellation_reasons()
                    .iter()
                    .filter_map(|r| r.code())
                    .find(|code| !matches!(*code, "None" | "ConditionalCheckFailed"));
                if let Some(code) = other {
                    let why = format!("the transaction was cancelled: {code}");
                    return Err(match code {
                        "TransactionConflict" => StoreError::Conflict(why),
                        _ => StoreError::Unavailable(why),
                    });
                }
                let failed = c
                    .cancellation_reasons()
                    .iter()
                    .zip(&self.parts)
                    .enumerate()
                    .filter(|(_, (r, _))| r.code() == Some("ConditionalCheckFailed"))
                    .map(|(i, (_, part))| (*part, i))
                    .collect();
                Ok(TxnOutcome::Cancelled(failed))
            }
            other => Err(sdk_error(other)),
        }
    }
}

/// Expression values from pairs.
pub(crate) fn values<const N: usize>(pairs: [(&str, AttributeValue); N]) -> HashMap<String, AttributeValue> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}
