//! Messaging accounts and the claims on their support numbers.

use crate::table::Key;
use std::collections::HashMap;

use super::items::{
    from_item, number_settings, to_item, AccountItem, CustomerItem, NumberItem, RetiredItem, StampItem,
    ACCOUNTS_PARTITION, RETIRED_PARTITION,
};
use super::{key, n, s, sdk_error, values, Dynamo, Part, StoreError, TxnOutcome};
use crate::table::{self, GSI1};
use channel_domain::account::{Account, SupportNumber};
use channel_domain::audit::AuditEntry;
use channel_domain::ids::AccountId;
use channel_domain::phone::PhoneNumber;
use channel_services::ports::{AccountChange, AccountStore, Claim, Retired, RetiredAccounts};

impl Dynamo {
    /// The keys of an account's items under a sort key prefix: its members, its canned
    /// responses (1 Query of its partition).
    async fn keys_under(&self, id: &AccountId, prefix: &str) -> Result<Vec<Key>, StoreError> {
        let Key { pk, .. } = table::account_key(id.as_str());
        let vals = HashMap::from([(":p".to_owned(), s(pk)), (":m".to_owned(), s(prefix))]);
        let items = self
            .query_all(None, "pk = :p AND begins_with(sk, :m)", None, vals)
            .await?;
        let text = |i: &super::Item, k: &str| i.get(k).and_then(|v| v.as_s().ok()).cloned();
        Ok(items
            .iter()
            .filter_map(|i| Some(Key::new(text(i, table::PK)?, text(i, table::SK)?)))
            .collect())
    }
}

impl Dynamo {
    /// The transaction of an account's change: the record, the entry, and the stamp's name when
    /// `with_stamp`.
    async fn account_change(
        &self,
        change: &AccountChange,
        audit: &AuditEntry,
        with_stamp: bool,
    ) -> Result<TxnOutcome, StoreError> {
        let mut txn = self.txn();
        txn.audit(audit)?;
        let (expression, vals) = match change.retention_days {
            Some(days) => (
                "SET #name = :n, retention_days = :r",
                values([(":n", s(&change.name)), (":r", n(days))]),
            ),
            None => (
                "SET #name = :n REMOVE retention_days",
                values([(":n", s(&change.name))]),
            ),
        };
        let name = || HashMap::from([("#name".to_owned(), "name".to_owned())]);
        txn.update(
            Part::Account,
            key(table::account_key(change.account_id.as_str())),
            expression,
            Some("attribute_exists(pk)"),
            vals,
            name(),
        )?;
        if with_stamp {
            txn.update(
                Part::Stamp,
                key(table::stamp_key(change.account_id.as_str())),
                "SET #name = :n",
                Some("attribute_exists(pk)"),
                values([(":n", s(&change.name))]),
                name(),
            )?;
        }
        txn.commit().await
    }
}

impl AccountStore for Dynamo {
    /// 1 GetItem.
    async fn account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        let found = self.get(table::account_key(id.as_str())).await?;
        found.map(|i| from_item::<AccountItem>(i)?.into_account()).transpose()
    }

    /// 1 Query on the index per 1 MB of accounts.
    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let vals = HashMap::from([(":p".to_owned(), s(ACCOUNTS_PARTITION))]);
        let items = self.query_all(Some(GSI1), "gsi1pk = :p", None, vals).await?;
        items
            .into_iter()
            .map(|item| from_item::<AccountItem>(item)?.into_account())
            .collect()
    }

    /// 1 TransactWriteItems: the record, every number's claim (with its settings), the stamp and
    /// the customer id's claim.
    async fn create_account(&self, a: &Account, audit: &AuditEntry) -> Result<Claim, StoreError> {
        let mut txn = self.txn();
        txn.audit(audit)?;
        txn.put(
            Part::Account,
            to_item(&AccountItem::of(a)?)?,
            Some("attribute_not_exists(pk)"),
        )?;
        for n in &a.numbers {
            txn.put(
                Part::NumberClaim,
                to_item(&NumberItem::of(&a.account_id, n)?)?,
                Some("attribute_not_exists(pk)"),
            )?;
        }
        txn.put(
            Part::Stamp,
            to_item(&StampItem::of(&a.account_id, &a.name, None))?,
            None,
        )?;
        // Last, so that a number's failure is found by its position.
        txn.put(
            Part::CustomerClaim,
            to_item(&CustomerItem::of(a))?,
            Some("attribute_not_exists(pk)"),
        )?;
        match txn.commit().await? {
            TxnOutcome::Done => Ok(Claim::Done),
            // The id is new: an earlier try of this creation committed (its claims with it).
            outcome if outcome.failed(Part::Account) => Ok(Claim::Done),
            outcome if outcome.failed(Part::CustomerClaim) && !outcome.failed(Part::NumberClaim) => {
                Ok(Claim::CustomerIdInUse(a.customer_id.clone()))
            }
            TxnOutcome::Cancelled(failed) => {
                let claimed = failed.iter().find(|(p, _)| *p == Part::NumberClaim);
                // Items: the entry, the record, then the numbers in order.
                match claimed.and_then(|(_, i)| a.numbers.get(i - 2)) {
                    Some(n) => Ok(Claim::NumberInUse(n.number.clone())),
                    None => Err(StoreError::Unavailable(format!(
                        "creating the account was cancelled: {failed:?}"
                    ))),
                }
            }
        }
    }

    /// 1 TransactWriteItems: the record's stamp and the stamp item's, together. An account made
    /// before stamps had an item of their own (its stamp item is missing) gets 1 UpdateItem of its
    /// record, as then; its first callback makes its stamp item (`inbound.rs`).
    async fn stamp_keys(&self, id: &AccountId, version: i64) -> Result<(), StoreError> {
        let mut txn = self.txn();
        let vals = || values([(":v", n(version))]);
        let record = key(table::account_key(id.as_str()));
        txn.update(
            Part::Account,
            record,
            "SET key_version = :v",
            Some("attribute_exists(pk)"),
            vals(),
            HashMap::new(),
        )?;
        let stamp = key(table::stamp_key(id.as_str()));
        txn.update(
            Part::Stamp,
            stamp,
            "SET key_version = :v",
            Some("attribute_exists(pk)"),
            vals(),
            HashMap::new(),
        )?;
        if matches!(txn.commit().await?, TxnOutcome::Done) {
            return Ok(());
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(table::account_key(id.as_str()))))
            .update_expression("SET key_version = :v")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":v", n(version))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    /// 1 TransactWriteItems: the claim and the account's list.
    async fn add_number(&self, id: &AccountId, n: &SupportNumber, audit: &AuditEntry) -> Result<Claim, StoreError> {
        let mut txn = self.txn();
        txn.audit(audit)?;
        txn.put(
            Part::NumberClaim,
            to_item(&NumberItem::of(id, n)?)?,
            Some("attribute_not_exists(pk)"),
        )?;
        let names = HashMap::from([("#n".to_owned(), n.number.to_string())]);
        let vals = values([(":v", s(number_settings(n)?))]);
        let account = key(table::account_key(id.as_str()));
        txn.update(
            Part::Account,
            account,
            "SET numbers.#n = :v",
            Some("attribute_exists(pk)"),
            vals,
            names,
        )?;
        let outcome = txn.commit().await?;
        if matches!(outcome, TxnOutcome::Done) {
            Ok(Claim::Done)
        } else if outcome.failed(Part::Account) {
            Ok(Claim::NoAccount)
        } else if outcome.failed(Part::NumberClaim) {
            Ok(Claim::NumberInUse(n.number.clone()))
        } else {
            Err(StoreError::Unavailable(format!(
                "adding the number was cancelled: {outcome:?}"
            )))
        }
    }

    /// 1 TransactWriteItems: the number's settings on the account (on the condition that they
    /// are as read) and on its claim (still the account's), and the entry. The claim's owner is
    /// not touched: routing never stops.
    async fn change_number(
        &self,
        id: &AccountId,
        before: &SupportNumber,
        after: &SupportNumber,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let mut txn = self.txn();
        txn.audit(audit)?;
        let names = HashMap::from([("#n".to_owned(), after.number.to_string())]);
        let vals = values([
            (":v", s(number_settings(after)?)),
            (":was", s(number_settings(before)?)),
        ]);
        txn.update(
            Part::Account,
            key(table::account_key(id.as_str())),
            "SET numbers.#n = :v",
            Some("numbers.#n = :was"),
            vals,
            names,
        )?;
        // The claim keeps the settings the inbound path reads (with its number, not the record).
        txn.update(
            Part::NumberClaim,
            key(table::number_key(after.number.as_str())),
            "SET settings = :v",
            Some("account_id = :a"),
            values([(":v", s(number_settings(after)?)), (":a", s(id.as_str()))]),
            HashMap::new(),
        )?;
        txn.commit()
            .await?
            .done_unless(&[Part::Account, Part::NumberClaim], "changing the number")
    }

    /// 1 TransactWriteItems: the claim and the account's list.
    async fn remove_number(
        &self,
        id: &AccountId,
        number: &PhoneNumber,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let mut txn = self.txn();
        txn.audit(audit)?;
        let claim = key(table::number_key(number.as_str()));
        txn.delete(
            Part::NumberClaim,
            claim,
            Some("account_id = :a"),
            values([(":a", s(id.as_str()))]),
        )?;
        let names = HashMap::from([("#n".to_owned(), number.to_string())]);
        let account = key(table::account_key(id.as_str()));
        txn.update(
            Part::Account,
            account,
            "REMOVE numbers.#n",
            Some("attribute_exists(pk)"),
            HashMap::new(),
            names,
        )?;
        txn.commit()
            .await?
            .done_unless(&[Part::NumberClaim, Part::Account], "removing the number")
    }

    /// 1 TransactWriteItems: the record's name and retention, the stamp's name, and the entry (an
    /// account whose stamp item is not made yet: a second one without it).
    async fn change_account(&self, change: &AccountChange, audit: &AuditEntry) -> Result<bool, StoreError> {
        let outcome = self.account_change(change, audit, true).await?;
        if outcome.failed(Part::Stamp) && !outcome.failed(Part::Account) {
            return self
                .account_change(change, audit, false)
                .await?
                .done_unless(&[Part::Account], "changing the account");
        }
        outcome.done_unless(&[Part::Account, Part::Stamp], "changing the account")
    }

    /// 2 Query (the members, the canned responses), 1 DeleteItem per member and canned
    /// response, and 1 TransactWriteItems: the record, its stamp, its numbers' claims, its customer id's
    /// claim (one made before claims were kept may be missing), the entry.
    async fn delete_account(&self, a: &Account, retired: &Retired, audit: &AuditEntry) -> Result<bool, StoreError> {
        let mut owned = self.keys_under(&a.account_id, table::MEMBER_PREFIX).await?;
        owned.extend(self.keys_under(&a.account_id, table::CANNED_PREFIX).await?);
        owned.push(table::canned_count_key(a.account_id.as_str()));
        for member in owned {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key(member)))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        let mut txn = self.txn();
        txn.audit(audit)?;
        let ours = || values([(":a", s(a.account_id.as_str()))]);
        txn.delete(
            Part::Account,
            key(table::account_key(a.account_id.as_str())),
            Some("attribute_exists(pk)"),
            HashMap::new(),
        )?;
        for number in &a.numbers {
            let claim = key(table::number_key(number.number.as_str()));
            txn.delete(Part::NumberClaim, claim, Some("account_id = :a"), ours())?;
        }
        txn.delete(
            Part::CustomerClaim,
            key(table::customer_key(&a.customer_id)),
            Some("attribute_not_exists(pk) OR account_id = :a"),
            ours(),
        )?;
        txn.delete(
            Part::Stamp,
            key(table::stamp_key(a.account_id.as_str())),
            None,
            HashMap::new(),
        )?;
        // What the sweep needs to go on expiring its conversations by its retention, and an
        // operator to export or erase a customer's data.
        txn.put(Part::Account, to_item(&RetiredItem::of(retired))?, None)?;
        txn.commit()
            .await?
            .done_unless(&[Part::Account], "deleting the account")
    }

    /// 1 TransactWriteItems: the rotation's time on the record, and the entry.
    async fn record_rotation(&self, id: &AccountId, audit: &AuditEntry) -> Result<bool, StoreError> {
        let mut txn = self.txn();
        txn.audit(audit)?;
        txn.update(
            Part::Account,
            key(table::account_key(id.as_str())),
            "SET key_rotated_at = :at",
            Some("attribute_exists(pk)"),
            values([(":at", s(audit.at.to_string()))]),
            HashMap::new(),
        )?;
        txn.commit()
            .await?
            .done_unless(&[Part::Account], "recording the rotation")
    }
}

impl RetiredAccounts for Dynamo {
    /// 1 Query on `gsi1` (the `RETIRED` partition), every page.
    async fn retired(&self) -> Result<Vec<Retired>, StoreError> {
        let vals = HashMap::from([(":p".to_owned(), s(RETIRED_PARTITION))]);
        let items = self.query_all(Some(GSI1), "gsi1pk = :p", None, vals).await?;
        items
            .into_iter()
            .map(|item| Ok(from_item::<RetiredItem>(item)?.into_retired()))
            .collect()
    }

    /// 1 GetItem.
    async fn retired_account(&self, id: &AccountId) -> Result<Option<Retired>, StoreError> {
        let found = self.get(table::retired_key(id.as_str())).await?;
        Ok(found
            .map(from_item::<RetiredItem>)
            .transpose()?
            .map(RetiredItem::into_retired))
    }

    /// 1 DeleteItem.
    async fn forget_retired(&self, account_id: &AccountId) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(table::retired_key(account_id.as_str()))))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}
