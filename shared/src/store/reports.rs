//! Delivery reports: move an outbound message's status forward, never back.

use super::item::{n, opt_n, opt_s, s};
use super::{key, values, Dynamo, StoreError};
use crate::table;
use crate::telesign::status::{rank, state_of_code};
use crate::telesign::DeliveryReport;

/// What a report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportOutcome {
    /// The message moved to the report's status.
    Updated {
        /// The conversation.
        conversation_id: String,
        /// The message.
        message_id: String,
    },
    /// The message is already at this status (a retried report).
    Duplicate,
    /// The message is at a later status: the report is older and left out.
    Stale,
    /// No message of this account has this reference or external id.
    Unknown,
}

/// Splits our `external_id` (`<conversation_id>-<message_id>`).
pub fn parse_external_id(external_id: &str) -> Option<(&str, &str)> {
    let (c, m) = external_id.split_once('-')?;
    (crate::ids::is_id(c) && crate::ids::is_id(m)).then_some((c, m))
}

/// Our `external_id` of a message: where a delivery report finds it without a lookup.
pub fn external_id(conversation_id: &str, message_id: &str) -> String {
    format!("{conversation_id}-{message_id}")
}

impl Dynamo {
    /// Applies a report: 1 conditional UpdateItem when it carries our `external_id`, else 1
    /// GetItem of the reference's pointer first. A refused update costs 1 GetItem to tell a
    /// duplicate from a stale report.
    pub async fn apply_report(&self, account_id: &str, report: &DeliveryReport) -> Result<ReportOutcome, StoreError> {
        let location = match report.external_id.as_deref().and_then(parse_external_id) {
            Some((c, m)) => Some((c.to_owned(), m.to_owned())),
            None => self
                .get(table::outbound_ref_key(&report.reference_id))
                .await?
                .and_then(|i| {
                    Some((
                        opt_s(&i, "conversation_id")?.to_owned(),
                        opt_s(&i, "message_id")?.to_owned(),
                    ))
                }),
        };
        let Some((conversation_id, message_id)) = location else {
            return Ok(ReportOutcome::Unknown);
        };
        let code = report.status.code;
        let state = state_of_code(code);
        let r = rank(state, Some(code));
        let description = report.status.description.clone().unwrap_or_default();
        let message_key = table::message_key(&conversation_id, &message_id);
        // A single conditional UpdateItem: a transaction would cost twice the write units.
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(message_key.clone())))
            .update_expression(
                "SET #status = :st, status_rank = :r, status_code = :code, status_description = :d, \
                 telesign_reference_id = if_not_exists(telesign_reference_id, :ref), status_updated_at = :now",
            )
            .condition_expression("attribute_exists(pk) AND account_id = :a AND direction = :out AND status_rank < :r")
            .set_expression_attribute_names(Some(super::names()))
            .set_expression_attribute_values(Some(values([
                (":st", s(state.as_str())),
                (":r", n(r)),
                (":code", n(code)),
                (":d", s(description)),
                (":ref", s(&report.reference_id)),
                (":now", s(crate::ids::now())),
                (":a", s(account_id)),
                (":out", s("outbound")),
            ])))
            .send()
            .await;
        let refused = match updated {
            Ok(_) => false,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                true
            }
            Err(e) => return Err(StoreError::from_sdk(e)),
        };
        if !refused {
            return Ok(ReportOutcome::Updated {
                conversation_id,
                message_id,
            });
        }
        // Refused: tell a retried report from an older one, or from a message that is not ours.
        let Some(item) = self.get(message_key).await? else {
            return Ok(ReportOutcome::Unknown);
        };
        if opt_s(&item, "account_id") != Some(account_id) || opt_s(&item, "direction") != Some("outbound") {
            return Ok(ReportOutcome::Unknown);
        }
        if opt_n::<u32>(&item, "status_code") == Some(code) {
            Ok(ReportOutcome::Duplicate)
        } else {
            Ok(ReportOutcome::Stale)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_round_trip_and_refuse_strangers() {
        let c = crate::ids::new_id();
        let m = crate::ids::new_message_id();
        assert_eq!(parse_external_id(&external_id(&c, &m)), Some((c.as_str(), m.as_str())));
        assert_eq!(parse_external_id("order-42"), None);
        assert_eq!(parse_external_id("nothing"), None);
    }
}
