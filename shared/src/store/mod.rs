//! Storage in the channel's DynamoDB table, split by capability: accounts, conversations,
//! inbound messages, outbound messages, delivery reports. Each function uses (and is granted in
//! IAM) only the capabilities it needs; `docs/architecture.md` lists the requests of each.

pub mod accounts;
pub mod conversations;
pub mod inbound;
pub mod item;
pub mod outbound;
pub mod reports;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;

use crate::table::{PK, SK};

/// A storage operation failed for a reason of the store, not of the request.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB throttled, timed out or could not be reached.
    #[error("DynamoDB is unavailable: {0}")]
    Unavailable(String),
    /// An item in the table does not have the shape the code writes.
    #[error("a stored item is malformed: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Wraps any SDK error as unavailability, keeping its text for the log.
    pub fn from_sdk<E: std::fmt::Debug>(e: E) -> Self {
        Self::Unavailable(format!("{e:?}").chars().take(600).collect())
    }
}

/// The channel's table in DynamoDB.
#[derive(Debug, Clone)]
pub struct Dynamo {
    /// The SDK client (endpoint from `AWS_ENDPOINT_URL_DYNAMODB` when set).
    pub client: Client,
    /// The table name.
    pub table: String,
}

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// What a transaction came to.
#[derive(Debug)]
pub(crate) enum Txn {
    /// Every write is durable.
    Done,
    /// Cancelled: the reason code of each item, in order (`None` where it passed).
    Cancelled(Vec<Option<String>>),
}

impl Txn {
    /// Whether item `i` failed its condition.
    pub(crate) fn failed(reasons: &[Option<String>], i: usize) -> bool {
        reasons.get(i).and_then(|r| r.as_deref()) == Some("ConditionalCheckFailed")
    }
}

fn build_err(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Corrupt(format!("request could not be built: {e}"))
}

/// The `pk`/`sk` key map.
pub(crate) fn key((pk, sk): (String, String)) -> Item {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk)),
        (SK.to_owned(), AttributeValue::S(sk)),
    ])
}

/// Expression values from pairs.
pub(crate) fn values<const N: usize>(pairs: [(&str, AttributeValue); N]) -> HashMap<String, AttributeValue> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Expression attribute names for the reserved words the items use.
pub(crate) fn names() -> HashMap<String, String> {
    HashMap::from([("#status".to_owned(), "status".to_owned())])
}

impl Dynamo {
    /// Connects to the table named `table` with the shared AWS configuration, counting every
    /// request into `meter`.
    pub fn new(config: &aws_config::SdkConfig, table: String, meter: &crate::meter::Meter) -> Self {
        let conf = aws_sdk_dynamodb::config::Builder::from(config)
            .interceptor(meter.interceptor("dynamodb"))
            .build();
        Self {
            client: Client::from_conf(conf),
            table,
        }
    }

    pub(crate) fn put(&self, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(build_err)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub(crate) fn update(
        &self,
        key: Item,
        expression: &str,
        condition: Option<&str>,
        values: HashMap<String, AttributeValue>,
    ) -> Result<TransactWriteItem, StoreError> {
        let uses_status = expression.contains("#status") || condition.is_some_and(|c| c.contains("#status"));
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(expression)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names(uses_status.then(names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build()
            .map_err(build_err)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    pub(crate) fn check(
        &self,
        key: Item,
        condition: &str,
        values: HashMap<String, AttributeValue>,
    ) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(condition)
            .set_expression_attribute_names(condition.contains("#status").then(names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build()
            .map_err(build_err)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    pub(crate) fn delete(
        &self,
        key: Item,
        condition: Option<&str>,
        values: HashMap<String, AttributeValue>,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build()
            .map_err(build_err)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Runs a transaction: all its writes happen, or none.
    pub(crate) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<Txn, StoreError> {
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Txn::Done),
            Err(e) => match e.into_service_error() {
                aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => {
                    let reasons = c
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code().filter(|c| *c != "None").map(str::to_owned))
                        .collect();
                    Ok(Txn::Cancelled(reasons))
                }
                other => Err(StoreError::from_sdk(other)),
            },
        }
    }

    /// Reads one item, strongly consistent.
    pub(crate) async fn get(&self, key_pair: (String, String)) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(key_pair)))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(out.item)
    }

    /// Reads several items in one request (retrying what DynamoDB leaves unprocessed), strongly
    /// consistent; the answer is in the order of the keys.
    pub(crate) async fn get_many(&self, keys: Vec<(String, String)>) -> Result<Vec<Option<Item>>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut found: Vec<Item> = Vec::new();
        let mut pending = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys.iter().cloned().map(key).collect()))
                .consistent_read(true)
                .build()
                .map_err(build_err)?,
        );
        let mut rounds = 0;
        while let Some(request) = pending.take() {
            rounds += 1;
            if rounds > 5 {
                return Err(StoreError::Unavailable("BatchGetItem left keys unprocessed".into()));
            }
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            if let Some(mut responses) = out.responses {
                found.extend(responses.remove(&self.table).unwrap_or_default());
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .filter(|k| !k.keys().is_empty());
        }
        Ok(keys
            .iter()
            .map(|(pk, sk)| {
                found
                    .iter()
                    .find(|i| item::opt_s(i, PK) == Some(pk.as_str()) && item::opt_s(i, SK) == Some(sk.as_str()))
                    .cloned()
            })
            .collect())
    }
}
