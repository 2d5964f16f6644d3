//! Canned responses: items in their account's partition, written with their audit entry.

use crate::table::Key;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::items::{from_item, to_item};
use super::{key, n, s, values, Dynamo, Part, StoreError, TxnOutcome};
use crate::table;
use channel_domain::audit::AuditEntry;
use channel_domain::canned::CannedResponse;
use channel_domain::ids::{AccountId, CannedResponseId};
use channel_services::ports::{CannedResponses, CannedWrite};

/// A canned response as stored: `ACCOUNT#<account>` / `CANNED#<id>`.
#[derive(Debug, Serialize, Deserialize)]
struct CannedItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    response: CannedResponse,
}

impl CannedItem {
    fn of(r: &CannedResponse) -> Self {
        let Key { pk, sk } = table::canned_response_key(r.account_id.as_str(), r.canned_response_id.as_str());
        Self {
            pk,
            sk,
            response: r.clone(),
        }
    }
}

impl CannedResponses for Dynamo {
    /// 1 Query of the account's partition under `CANNED#` per 1 MB.
    async fn canned_responses(&self, account_id: &AccountId) -> Result<Vec<CannedResponse>, StoreError> {
        let Key { pk, .. } = table::account_key(account_id.as_str());
        let vals = HashMap::from([(":p".to_owned(), s(pk)), (":c".to_owned(), s(table::CANNED_PREFIX))]);
        let items = self
            .query_all(None, "pk = :p AND begins_with(sk, :c)", None, vals)
            .await?;
        items
            .into_iter()
            .map(|i| Ok(from_item::<CannedItem>(i)?.response))
            .collect()
    }

    /// 1 GetItem.
    async fn canned_response(
        &self,
        account_id: &AccountId,
        id: &CannedResponseId,
    ) -> Result<Option<CannedResponse>, StoreError> {
        let found = self
            .get(table::canned_response_key(account_id.as_str(), id.as_str()))
            .await?;
        found.map(|i| Ok(from_item::<CannedItem>(i)?.response)).transpose()
    }

    /// 1 TransactWriteItems: a new one with its account checked and its count raised while under
    /// the most an account keeps, or a change of one that still exists; the entry.
    async fn put_canned_response(
        &self,
        r: &CannedResponse,
        new: bool,
        audit: &AuditEntry,
    ) -> Result<CannedWrite, StoreError> {
        let mut txn = self.txn();
        if new {
            let account = key(table::account_key(r.account_id.as_str()));
            txn.check(Part::Account, account, "attribute_exists(pk)", HashMap::new())?;
            let count = key(table::canned_count_key(r.account_id.as_str()));
            let vals = values([
                (":zero", n(0)),
                (":one", n(1)),
                (":max", n(channel_domain::canned::MAX_PER_ACCOUNT)),
            ]);
            txn.update(
                Part::CannedCount,
                count,
                "SET canned = if_not_exists(canned, :zero) + :one",
                Some("attribute_not_exists(canned) OR canned < :max"),
                vals,
                HashMap::new(),
            )?;
            txn.put(
                Part::Canned,
                to_item(&CannedItem::of(r))?,
                Some("attribute_not_exists(pk)"),
            )?;
        } else {
            txn.put(Part::Canned, to_item(&CannedItem::of(r))?, Some("attribute_exists(pk)"))?;
        }
        txn.audit(audit)?;
        let outcome = txn.commit().await?;
        Ok(if matches!(outcome, TxnOutcome::Done) {
            CannedWrite::Done
        } else if outcome.failed(Part::CannedCount) {
            CannedWrite::Full
        } else if outcome.failed(Part::Account) || outcome.failed(Part::Canned) {
            CannedWrite::Missing
        } else {
            return Err(StoreError::Unavailable(format!(
                "writing the canned response was cancelled: {outcome:?}"
            )));
        })
    }

    /// 1 TransactWriteItems: the response deleted and the entry.
    async fn delete_canned_response(
        &self,
        account_id: &AccountId,
        id: &CannedResponseId,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let mut txn = self.txn();
        let at = key(table::canned_response_key(account_id.as_str(), id.as_str()));
        txn.delete(Part::Canned, at, Some("attribute_exists(pk)"), HashMap::new())?;
        let count = key(table::canned_count_key(account_id.as_str()));
        txn.update(
            Part::CannedCount,
            count,
            "SET canned = if_not_exists(canned, :one) - :one",
            None,
            values([(":one", n(1))]),
            HashMap::new(),
        )?;
        txn.audit(audit)?;
        txn.commit()
            .await?
            .done_unless(&[Part::Canned], "deleting the canned response")
    }
}
