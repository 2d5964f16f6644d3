//! The auto-close sweep: ends the conversations that stayed idle (no message either way) longer
//! than their number's timeout for their state, with a system message saying why and the
//! number's closing message, recorded in the end's transaction and sent by the worker as every
//! automated message is. It reads only what may be due:
//! per account with a timeout, the live conversations idle longer than its shortest timeout,
//! oldest first, from the activity index. It also applies each account's retention: the closed
//! conversations that ended longer ago than `retention_days` are erased.

use std::time::Instant;

use crate::ports::{
    AccountStore, Committed, CustomerRecords, Guard, Holder, IdleConversations, IdleEnd, Leases, Move, Retired,
    RetiredAccounts, StoreError,
};
use channel_domain::account::Account;
use channel_domain::audit::{Actor, AuditAction, AuditEntry};
use channel_domain::automation::Kind;
use channel_domain::conversation::{Conversation, Message, Status};
use channel_domain::ids::Timestamp;

/// The most conversations one sweep reads per account (the rest wait for the next sweep).
pub const MAX_PER_ACCOUNT: u32 = 100;

/// The lease that keeps sweeps one at a time: a schedule may fire twice (EventBridge invokes
/// at least once), and a run may outlast its minute. A reservation of one execution would do the
/// same, at the price of an account concurrency quota a new account does not have.
pub const SWEEP_LEASE: &str = "sweep";

/// How long a sweep holds its lease: the function's timeout (60 s) and a margin; a sweep that
/// died holding it delays the next by that at most.
pub const SWEEP_LEASE_SECONDS: i64 = 90;

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
    /// Closing messages recorded to go out (the worker sends them).
    pub closings: usize,
    /// Closed conversations erased by their account's retention.
    pub expired: usize,
    /// Another sweep held the lease: this one did nothing.
    pub skipped: bool,
}

/// The sweep.
#[derive(Debug)]
pub struct Sweeper<L> {
    /// Accounts, idle conversations, retired accounts, the erasures of retention.
    pub log: L,
}

impl<L> Sweeper<L>
where
    L: IdleConversations + AccountStore + CustomerRecords + RetiredAccounts + Leases,
{
    /// One sweep at a time ([`SWEEP_LEASE`]): ends what is due at `now` in every account, and
    /// expires the conversations of deleted accounts by their retention; stops at `deadline`.
    pub async fn sweep(&self, now: Timestamp, deadline: Instant) -> Result<SweepReport, StoreError> {
        let holder = channel_domain::ids::new_id();
        let until = channel_domain::ids::epoch_seconds() + SWEEP_LEASE_SECONDS;
        if !self.log.acquire(SWEEP_LEASE, &holder, until).await? {
            tracing::info!("another sweep holds the lease; this one does nothing");
            return Ok(SweepReport {
                skipped: true,
                ..SweepReport::default()
            });
        }
        let swept = self.sweep_all(now, deadline).await;
        if let Err(e) = self.log.release(SWEEP_LEASE, &holder).await {
            tracing::warn!(error = %e, "the sweep's lease could not be given back; it expires by itself");
        }
        swept
    }

    async fn sweep_all(&self, now: Timestamp, deadline: Instant) -> Result<SweepReport, StoreError> {
        let accounts = self.log.accounts().await?;
        let mut report = self.sweep_accounts(accounts, now, deadline).await?;
        for retired in self.log.retired().await? {
            if Instant::now() >= deadline {
                break;
            }
            self.sweep_retired(&retired, now, &mut report).await?;
        }
        Ok(report)
    }

    /// A deleted account: its closed conversations, and its live ones (nobody can end them any
    /// more), expire once their last activity is older than its retention; when none is left,
    /// its record goes.
    pub async fn sweep_retired(&self, r: &Retired, now: Timestamp, report: &mut SweepReport) -> Result<(), StoreError> {
        let before = retention_cutoff(now, r.retention_days);
        for closed in [true, false] {
            let old = self.log.idle(&r.account_id, closed, before, MAX_PER_ACCOUNT).await?;
            self.erase_all(&r.account_id, &old, report).await?;
        }
        // What is left, closed or live (the index may still show what was just erased: then the
        // record goes with a later sweep).
        let left = self.log.idle(&r.account_id, true, now, 1).await?.len()
            + self.log.idle(&r.account_id, false, now, 1).await?.len();
        if left == 0 {
            self.log.forget_retired(&r.account_id).await?;
            tracing::info!(account_id = %r.account_id, "a deleted account's last conversation has expired");
        }
        Ok(())
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
            if Instant::now() >= deadline {
                break;
            }
            if let Some(shortest) = shortest_timeout(&account) {
                report.accounts += 1;
                self.end_idle_of(&account, shortest, now, deadline, &mut report).await?;
            }
            if let Some(days) = account.retention_days {
                self.expire(&account, days, now, &mut report).await?;
            }
        }
        tracing::info!(
            accounts = report.accounts,
            read = report.read,
            ended = report.ended,
            lost = report.lost,
            expired = report.expired,
            "sweep"
        );
        Ok(report)
    }

    /// Ends the account's conversations idle past their timeout: those idle past the shortest
    /// are read, oldest first.
    async fn end_idle_of(
        &self,
        account: &Account,
        shortest: u64,
        now: Timestamp,
        deadline: Instant,
        report: &mut SweepReport,
    ) -> Result<(), StoreError> {
        let before = now.plus_seconds(-(shortest as i64));
        let idle = self
            .log
            .idle(&account.account_id, false, before, MAX_PER_ACCOUNT)
            .await?;
        report.read += idle.len();
        for c in idle {
            // Past the deadline nothing more is ended: the next sweep ends it.
            if Instant::now() >= deadline {
                break;
            }
            if let Some(end) = plan_idle_end(account, &c, now) {
                self.end(account, &end, report).await?;
            }
        }
        Ok(())
    }

    /// Retention: erases the account's conversations that ended more than `days` ago, oldest
    /// first (their messages, raw bodies, references and idempotency records, the conversation
    /// last; an interrupted erasure is found again by the next sweep).
    async fn expire(
        &self,
        account: &Account,
        days: u32,
        now: Timestamp,
        report: &mut SweepReport,
    ) -> Result<(), StoreError> {
        let before = retention_cutoff(now, days);
        let ended = self
            .log
            .idle(&account.account_id, true, before, MAX_PER_ACCOUNT)
            .await?;
        self.erase_all(&account.account_id, &ended, report).await
    }

    async fn erase_all(
        &self,
        account_id: &channel_domain::ids::AccountId,
        conversations: &[Conversation],
        report: &mut SweepReport,
    ) -> Result<(), StoreError> {
        for c in conversations {
            let erased = self.log.erase_conversation(account_id, &c.conversation_id).await?;
            report.expired += erased.conversations;
            tracing::info!(account_id = %account_id, conversation_id = %c.conversation_id, last_activity_at = %c.last_activity_at,
                messages = erased.messages, "conversation expired by retention");
        }
        Ok(())
    }

    async fn end(&self, account: &Account, e: &IdleEnd, report: &mut SweepReport) -> Result<(), StoreError> {
        if self.log.end_idle(e).await? == Committed::Lost {
            tracing::info!(conversation_id = %e.end.conversation_id, "idle conversation changed since it was read; left alone");
            report.lost += 1;
            return Ok(());
        }
        report.ended += 1;
        report.closings += usize::from(e.closing.is_some());
        tracing::info!(account_id = %account.account_id, conversation_id = %e.end.conversation_id, status = e.end.from.as_str(),
            closing = e.closing.is_some(), "idle conversation ended");
        Ok(())
    }
}

/// The end time before which a closed conversation has outlived a retention of `days`: a
/// conversation ended at `t` is kept until `t + days` and erased by the first sweep after it.
pub fn retention_cutoff(now: Timestamp, days: u32) -> Timestamp {
    now.plus_seconds(-(i64::from(days) * 86_400))
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
