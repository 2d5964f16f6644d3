//! The auto-close sweep: ends the conversations that stayed idle (no message either way) longer
//! than their number's timeout for their state, with a system message saying why and the
//! number's closing message, sent as every automated message is. It reads only what may be due:
//! per account with a timeout, the live conversations idle longer than its shortest timeout,
//! oldest first, from the activity index.

use std::time::Instant;

use crate::account::Account;
use crate::audit::{Actor, AuditAction, AuditEntry};
use crate::automation::Kind;
use crate::conversation::{Conversation, Message, Status};
use crate::ids::Timestamp;
use crate::service::directory::AccountDirectory;
use crate::service::ports::{
    AccountStore, Committed, Guard, Holder, IdleConversations, IdleEnd, Move, OutboundLog, SmsGateway, StoreError,
};
use crate::service::send::{dispatch, Outgoing};

/// The most conversations one sweep reads per account (the rest wait for the next sweep).
pub const MAX_PER_ACCOUNT: u32 = 100;

/// What a sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Accounts with an idle timeout on some number.
    pub accounts: usize,
    /// Idle conversations read.
    pub read: usize,
    /// Conversations ended.
    pub ended: usize,
    /// Conversations that got a message (or moved) after they were read: left alone.
    pub lost: usize,
    /// Closing messages handed to TeleSign.
    pub closings: usize,
}

/// The sweep.
#[derive(Debug)]
pub struct Sweeper<D, L, G> {
    /// Accounts and keys (for the closing messages).
    pub directory: D,
    /// Accounts, idle conversations, the settles of closing messages.
    pub log: L,
    /// TeleSign.
    pub gateway: G,
    /// The public base URL delivery reports come back to.
    pub callback_base: Option<String>,
}

impl<D, L, G> Sweeper<D, L, G>
where
    D: AccountDirectory,
    L: IdleConversations + AccountStore + OutboundLog,
    G: SmsGateway,
{
    /// Ends what is due at `now` in every account; stops reading new accounts at `deadline`.
    pub async fn sweep(&self, now: Timestamp, deadline: Instant) -> Result<SweepReport, StoreError> {
        let accounts = self.log.accounts().await?;
        self.sweep_accounts(accounts, now, deadline).await
    }

    /// Ends what is due at `now` in these accounts.
    pub async fn sweep_accounts(
        &self,
        accounts: Vec<Account>,
        now: Timestamp,
        deadline: Instant,
    ) -> Result<SweepReport, StoreError> {
        let mut report = SweepReport::default();
        for account in accounts {
            let Some(shortest) = shortest_timeout(&account) else {
                continue;
            };
            if Instant::now() >= deadline {
                break;
            }
            report.accounts += 1;
            let before = now.plus_seconds(-(shortest as i64));
            let idle = self.log.idle(&account.account_id, before, MAX_PER_ACCOUNT).await?;
            report.read += idle.len();
            for c in idle {
                let Some(end) = plan_idle_end(&account, &c, now) else {
                    continue;
                };
                self.end(&account, &end, deadline, &mut report).await?;
            }
        }
        tracing::info!(
            accounts = report.accounts,
            read = report.read,
            ended = report.ended,
            lost = report.lost,
            "sweep"
        );
        Ok(report)
    }

    async fn end(
        &self,
        account: &Account,
        e: &IdleEnd,
        deadline: Instant,
        report: &mut SweepReport,
    ) -> Result<(), StoreError> {
        if self.log.end_idle(e).await? == Committed::Lost {
            tracing::info!(conversation_id = %e.end.conversation_id, "idle conversation changed since it was read; left alone");
            report.lost += 1;
            return Ok(());
        }
        report.ended += 1;
        tracing::info!(account_id = %account.account_id, conversation_id = %e.end.conversation_id, status = e.end.from.as_str(), "idle conversation ended");
        let Some(closing) = &e.closing else {
            return Ok(());
        };
        let out = Outgoing {
            account,
            thread: &e.end.thread,
            conversation_id: &e.end.conversation_id,
            message: closing,
            callback_base: self.callback_base.as_deref(),
            deadline,
        };
        match dispatch(&self.directory, &self.log, &self.gateway, &out).await {
            Ok(_) => {
                report.closings += 1;
                crate::metrics::emit(crate::metrics::automated(Some(Kind::Closing)));
            }
            Err(e) => {
                tracing::error!(account_id = %account.account_id, message_id = %closing.message_id, error = %e, "closing SMS not sent")
            }
        }
        Ok(())
    }
}

/// The shortest idle timeout of any number of the account.
pub fn shortest_timeout(account: &Account) -> Option<u64> {
    account
        .numbers
        .iter()
        .filter_map(|n| n.settings.auto_close.shortest())
        .min()
}

/// The end of a conversation that is due at `now` (idle for longer than its number's timeout
/// for its state), conditioned on the status, holder and activity read; `None` when it is not due.
pub fn plan_idle_end(account: &Account, c: &Conversation, now: Timestamp) -> Option<IdleEnd> {
    let number = account.number(&c.support_number)?;
    let timeout = number.settings.auto_close.after(c.status)?;
    // Due when idle for longer than the timeout (the index's query is strict the same way).
    if c.status == Status::Closed || c.last_activity_at.plus_seconds(timeout as i64) >= now {
        return None;
    }
    let notice = Message::auto_close_notice(c.status, timeout);
    let closing = number
        .settings
        .text(Kind::Closing, &number.language, &account.name)
        .filter(|_| !c.opted_out)
        .map(|text| Message::automated(Kind::Closing, &text, &notice.message_id));
    let audit = AuditEntry::new(
        &Actor::System,
        AuditAction::ConversationAutoClosed,
        &c.account_id,
        c.conversation_id.as_str(),
    )
    .with("from", c.status.as_str())
    .with("idle_seconds", timeout);
    Some(IdleEnd {
        end: Move {
            conversation_id: c.conversation_id.clone(),
            thread: c.thread(),
            from: c.status,
            to: Status::Closed,
            at: now,
            preview: None,
            opted_out: None,
            holder: Holder::Keep,
            guard: Guard {
                holder_read: Some(c.assigned_agent.clone()),
                member: None,
                activity_read: Some(c.last_activity_at),
            },
            audit: Some(audit),
            away_for: None,
            wrote: None,
        },
        notice,
        closing,
    })
}
