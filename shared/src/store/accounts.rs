//! Messaging accounts and the claims on their support numbers.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{req_s, s};
use super::{key, values, Dynamo, Item, StoreError, Txn};
use crate::account::{Account, SupportNumber};
use crate::table::{self, GSI1, GSI1_PK, GSI1_SK};
use crate::telesign::ApiHost;

/// The index partition that lists every account.
const ACCOUNTS_PARTITION: &str = "ACCOUNTS";

/// What creating an account or adding a number came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// Done.
    Done,
    /// This number belongs to an account already.
    NumberInUse(String),
    /// The account does not exist (adding a number).
    NoAccount,
}

fn number_item(account_id: &str, n: &SupportNumber) -> Result<Item, StoreError> {
    let (pk, sk) = table::number_key(&n.number);
    Ok(super::item::build(vec![
        (table::PK, Some(s(pk))),
        (table::SK, Some(s(sk))),
        ("account_id", Some(s(account_id))),
        (
            "settings",
            Some(s(
                serde_json::to_string(n).map_err(|e| StoreError::Corrupt(e.to_string()))?
            )),
        ),
    ]))
}

fn numbers_attribute(numbers: &[SupportNumber]) -> Result<AttributeValue, StoreError> {
    let map: HashMap<String, AttributeValue> = numbers
        .iter()
        .map(|n| {
            Ok((
                n.number.clone(),
                s(serde_json::to_string(n).map_err(|e| StoreError::Corrupt(e.to_string()))?),
            ))
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(AttributeValue::M(map))
}

/// Reads an account item.
pub fn account_from_item(item: &Item) -> Result<Account, StoreError> {
    let mut numbers: Vec<SupportNumber> = match item.get("numbers") {
        Some(AttributeValue::M(map)) => map
            .values()
            .filter_map(|v| v.as_s().ok())
            .map(|json| serde_json::from_str(json).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect::<Result<_, _>>()?,
        _ => Vec::new(),
    };
    numbers.sort_by(|a, b| a.number.cmp(&b.number));
    let host = req_s(item, "api_host")?;
    Ok(Account {
        account_id: req_s(item, "account_id")?,
        name: req_s(item, "name")?,
        customer_id: req_s(item, "customer_id")?,
        api_host: ApiHost::parse(&host).ok_or_else(|| StoreError::Corrupt(format!("api_host {host}")))?,
        secret_name: req_s(item, "secret_name")?,
        numbers,
        created_at: req_s(item, "created_at")?,
    })
}

impl Dynamo {
    /// Creates an account and claims its numbers, all or nothing (1 transaction).
    pub async fn create_account(&self, a: &Account) -> Result<ClaimOutcome, StoreError> {
        let (pk, sk) = table::account_key(&a.account_id);
        let mut items = vec![self.put(
            super::item::build(vec![
                (table::PK, Some(s(pk))),
                (table::SK, Some(s(sk))),
                ("account_id", Some(s(&a.account_id))),
                ("name", Some(s(&a.name))),
                ("customer_id", Some(s(&a.customer_id))),
                ("api_host", Some(s(a.api_host.as_str()))),
                ("secret_name", Some(s(&a.secret_name))),
                ("numbers", Some(numbers_attribute(&a.numbers)?)),
                ("created_at", Some(s(&a.created_at))),
                (GSI1_PK, Some(s(ACCOUNTS_PARTITION))),
                (GSI1_SK, Some(s(format!("{}#{}", a.created_at, a.account_id)))),
            ]),
            Some("attribute_not_exists(pk)"),
        )?];
        for n in &a.numbers {
            items.push(self.put(number_item(&a.account_id, n)?, Some("attribute_not_exists(pk)"))?);
        }
        match self.transact(items).await? {
            Txn::Done => Ok(ClaimOutcome::Done),
            Txn::Cancelled(reasons) => {
                for (i, n) in a.numbers.iter().enumerate() {
                    if Txn::failed(&reasons, i + 1) {
                        return Ok(ClaimOutcome::NumberInUse(n.number.clone()));
                    }
                }
                Err(StoreError::Unavailable(format!(
                    "creating the account was cancelled: {reasons:?}"
                )))
            }
        }
    }

    /// One account (1 GetItem).
    pub async fn account(&self, account_id: &str) -> Result<Option<Account>, StoreError> {
        self.get(table::account_key(account_id))
            .await?
            .map(|i| account_from_item(&i))
            .transpose()
    }

    /// Every account, oldest first (1 Query per 100).
    pub async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("gsi1pk = :p")
                .expression_attribute_values(":p", s(ACCOUNTS_PARTITION))
                .set_exclusive_start_key(start)
                .limit(100)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            for item in page.items() {
                out.push(account_from_item(item)?);
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    /// Adds a number to an account: the claim and the account's list together (1 transaction).
    pub async fn add_number(&self, account_id: &str, n: &SupportNumber) -> Result<ClaimOutcome, StoreError> {
        let settings = serde_json::to_string(n).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let items = vec![
            self.put(number_item(account_id, n)?, Some("attribute_not_exists(pk)"))?,
            self.update_with_names(
                key(table::account_key(account_id)),
                "SET numbers.#n = :v",
                "attribute_exists(pk)",
                HashMap::from([("#n".to_owned(), n.number.clone())]),
                values([(":v", s(settings))]),
            )?,
        ];
        match self.transact(items).await? {
            Txn::Done => Ok(ClaimOutcome::Done),
            Txn::Cancelled(r) if Txn::failed(&r, 1) => Ok(ClaimOutcome::NoAccount),
            Txn::Cancelled(r) if Txn::failed(&r, 0) => Ok(ClaimOutcome::NumberInUse(n.number.clone())),
            Txn::Cancelled(r) => Err(StoreError::Unavailable(format!(
                "adding the number was cancelled: {r:?}"
            ))),
        }
    }

    /// Removes a number from an account, claim and list together (1 transaction). `false` when
    /// the account does not own it.
    pub async fn remove_number(&self, account_id: &str, number: &str) -> Result<bool, StoreError> {
        let items = vec![
            self.delete(
                key(table::number_key(number)),
                Some("account_id = :a"),
                values([(":a", s(account_id))]),
            )?,
            self.update_with_names(
                key(table::account_key(account_id)),
                "REMOVE numbers.#n",
                "attribute_exists(pk)",
                HashMap::from([("#n".to_owned(), number.to_owned())]),
                HashMap::new(),
            )?,
        ];
        match self.transact(items).await? {
            Txn::Done => Ok(true),
            Txn::Cancelled(r) if Txn::failed(&r, 0) || Txn::failed(&r, 1) => Ok(false),
            Txn::Cancelled(r) => Err(StoreError::Unavailable(format!(
                "removing the number was cancelled: {r:?}"
            ))),
        }
    }

    fn update_with_names(
        &self,
        k: Item,
        expression: &str,
        condition: &str,
        names: HashMap<String, String>,
        vals: HashMap<String, AttributeValue>,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        let update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(k))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values((!vals.is_empty()).then_some(vals))
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
            .update(update)
            .build())
    }
}
