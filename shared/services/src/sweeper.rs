//! The auto-close sweep: ends the conversations that stayed idle (no message either way) longer
//! than their number's timeout for their state, with a system message saying why and the
//! number's closing message, recorded in the end's transaction and sent by the worker as every
//! automated message is. It reads only what may be due:
//! per account with a timeout, the live conversations idle longer than its shortest timeout,
//! oldest first, from the activity index. It also applies each account's retention: the closed
//! conversations that ended longer ago than `retention_days` are erased.
//!
//! Every account gets its turn: the scheduled run only queues one turn per account that has
//! something to sweep (a timeout on a number, a retention, a deleted account's retention), and
//! each turn is swept on its own with its own deadline, so a busy account neither delays nor
//! starves another.

use std::time::Instant;

use crate::ports::{
    AccountStore, Committed, CustomerRecords, Guard, Holder, IdleConversations, IdleEnd, Leases, Move, Retired,
    RetiredAccounts, StoreError, SweepQueue, Unqueued,
};
use channel_domain::account::Account;
use channel_domain::audit::{Actor, AuditAction, AuditEntry};
use channel_domain::automation::Kind;
use channel_domain::conversation::{Conversation, Message, Status};
use channel_domain::ids::{AccountId, Timestamp};
use channel_domain::jobs::SweepTask;

/// The most conversations one page of a turn reads (a turn reads pages until its deadline).
pub const MAX_PER_ACCOUNT: u32 = 100;

/// The most pages of idle conversations one turn reads: a turn with more left ends and the
/// account's next turn (a minute later) goes on. Three pages keep a busy account's turn to a few
/// seconds, so that it holds its batch (and the poller that took it) no longer.
pub const MAX_PAGES: usize = 3;

/// The lease that keeps the scheduled runs one at a time: a schedule may fire twice
/// (EventBridge invokes at least once); the second run would queue every turn twice.
pub const SWEEP_LEASE: &str = "sweep";

/// How long a scheduled run holds its lease: the function's timeout (60 s) and a margin; a run
/// that died holding it delays the next by that at most.
pub const SWEEP_LEASE_SECONDS: i64 = 90;

/// What a sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Turns queued by the scheduled run (one per account with something to sweep, deleted
    /// ones included).
    pub queued: usize,
    /// Accounts with an idle timeout on some number.
    pub accounts: usize,
    /// Conversations read: idle ones, and those past a retention.
    pub read: usize,
    /// Conversations ended.
    pub ended: usize,
    /// Conversations that got a message (or moved) after they were read: left alone.
    pub lost: usize,
    /// Closing messages recorded to go out (the worker sends them).
    pub closings: usize,
    /// Closed conversations erased by their account's retention.
    pub expired: usize,
    /// The turn's deadline came with conversations still due: the account's next turn goes on.
    pub unfinished: bool,
    /// Another scheduled run held the lease: this one did nothing.
    pub skipped: bool,
}

impl std::ops::AddAssign for SweepReport {
    fn add_assign(&mut self, o: Self) {
        self.queued += o.queued;
        self.accounts += o.accounts;
        self.read += o.read;
        self.ended += o.ended;
        self.lost += o.lost;
        self.closings += o.closings;
        self.expired += o.expired;
        self.unfinished |= o.unfinished;
        self.skipped |= o.skipped;
    }
}

/// Why a sweep failed (the next one tries again).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The table failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The sweep queue refused turns (the next scheduled run queues them again).
    #[error(transparent)]
    Queue(#[from] Unqueued),
}

/// The turns of a scheduled run at `now`: every account with a timeout on a number or a
/// retention, then the deleted accounts whose conversations expire (not those an operator kept)
/// whose minute of the hour it is ([`retired_minute`]): a retention counts in days, and a
/// deleted account is read once an hour instead of every minute.
pub fn turns(accounts: &[Account], retired: &[Retired], now: Timestamp) -> Vec<SweepTask> {
    let minute = now.epoch_seconds().div_euclid(60).rem_euclid(60) as u32;
    let live = accounts
        .iter()
        .filter(|a| shortest_timeout(a).is_some() || a.retention_days.is_some())
        .map(|a| SweepTask::Account {
            account_id: a.account_id.clone(),
        });
    let deleted = retired
        .iter()
        .filter(|r| retired_minute(&r.account_id) == minute)
        .filter_map(|r| {
            Some(SweepTask::Retired {
                account_id: r.account_id.clone(),
                retention_days: r.retention_days?,
            })
        });
    live.chain(deleted).collect()
}

/// The sweep.
#[derive(Debug)]
pub struct Sweeper<L, Q> {
    /// Accounts, idle conversations, retired accounts, the erasures of retention.
    pub log: L,
    /// Where the accounts' turns wait.
    pub queue: Q,
}

impl<L, Q> Sweeper<L, Q>
where
    L: IdleConversations + AccountStore + CustomerRecords + RetiredAccounts + Leases,
    Q: SweepQueue,
{
    /// The scheduled run at `now`, one at a time ([`SWEEP_LEASE`]): queues one turn per account
    /// with something to sweep (1 Query of the accounts, 1 Query of the deleted ones, 1
    /// SendMessageBatch per 10 turns).
    pub async fn schedule(&self, now: Timestamp) -> Result<SweepReport, SweepError> {
        let holder = channel_domain::ids::new_id();
        let until = channel_domain::ids::epoch_seconds() + SWEEP_LEASE_SECONDS;
        if !self.log.acquire(SWEEP_LEASE, &holder, until).await? {
            tracing::info!("another sweep holds the lease; this one does nothing");
            return Ok(SweepReport {
                skipped: true,
                ..SweepReport::default()
            });
        }
        let queued = self.queue_turns(now).await;
        if let Err(e) = self.log.release(SWEEP_LEASE, &holder).await {
            tracing::warn!(error = %e, "the sweep's lease could not be given back; it expires by itself");
        }
        let queued = queued?;
        tracing::info!(queued, "sweep turns queued");
        Ok(SweepReport {
            queued,
            ..SweepReport::default()
        })
    }

    async fn queue_turns(&self, now: Timestamp) -> Result<usize, SweepError> {
        let (accounts, retired) = futures_util::future::try_join(self.log.accounts(), self.log.retired()).await?;
        let turns = turns(&accounts, &retired, now);
        self.queue.queue_sweeps(&turns).await?;
        Ok(turns.len())
    }

    /// One account's turn at `now`, until `deadline`: a live account's idle conversations ended
    /// and its retention applied (1 GetItem of the account first: gone, nothing to do), a
    /// deleted account's conversations expired.
    pub async fn turn(&self, task: &SweepTask, now: Timestamp, deadline: Instant) -> Result<SweepReport, StoreError> {
        let mut report = SweepReport::default();
        match task {
            SweepTask::Account { account_id } => {
                if let Some(account) = self.log.account(account_id).await? {
                    self.sweep_account(&account, now, deadline, &mut report).await?;
                }
            }
            SweepTask::Retired {
                account_id,
                retention_days,
            } => {
                self.sweep_retired(account_id, *retention_days, now, deadline, &mut report)
                    .await?;
            }
        }
        tracing::info!(account_id = %task.account_id(), read = report.read, ended = report.ended, lost = report.lost,
            expired = report.expired, unfinished = report.unfinished, "sweep turn");
        Ok(report)
    }

    /// Ends what is due at `now` in the account and applies its retention, until `deadline`.
    pub async fn sweep_account(
        &self,
        account: &Account,
        now: Timestamp,
        deadline: Instant,
        report: &mut SweepReport,
    ) -> Result<(), StoreError> {
        if let Some(shortest) = shortest_timeout(account) {
            report.accounts += 1;
            self.end_idle_of(account, shortest, now, deadline, report).await?;
        }
        if let Some(days) = account.retention_days {
            let before = retention_cutoff(now, days);
            self.expire_before(&account.account_id, true, before, deadline, report)
                .await?;
        }
        Ok(())
    }

    /// A deleted account's turn: its closed conversations, and its live ones (nobody can end them
    /// any more), expire once their last activity is older than its retention; when none is
    /// left, its record goes.
    pub async fn sweep_retired(
        &self,
        account_id: &AccountId,
        retention_days: u32,
        now: Timestamp,
        deadline: Instant,
        report: &mut SweepReport,
    ) -> Result<(), StoreError> {
        let before = retention_cutoff(now, retention_days);
        for closed in [true, false] {
            self.expire_before(account_id, closed, before, deadline, report).await?;
        }
        if report.unfinished {
            return Ok(());
        }
        // What is left, closed or live (the index may still show what was just erased: then the
        // record goes with a later turn).
        let left = self.log.idle(account_id, true, now, 1).await?.len()
            + self.log.idle(account_id, false, now, 1).await?.len();
        if left == 0 {
            self.log.forget_retired(account_id).await?;
            tracing::info!(account_id = %account_id, "a deleted account's last conversation has expired");
        }
        Ok(())
    }

    /// Ends the account's conversations idle past their timeout: those idle past the shortest
    /// are read, oldest first, a page at a time, until none is left or the deadline.
    async fn end_idle_of(
        &self,
        account: &Account,
        shortest: u64,
        now: Timestamp,
        deadline: Instant,
        report: &mut SweepReport,
    ) -> Result<(), StoreError> {
        let before = now.plus_seconds(-(shortest as i64));
        let mut pages = Pages::default();
        let ended = self.end_pages(account, before, now, deadline, report, &mut pages).await;
        pages.finish(&self.log).await;
        ended
    }

    async fn end_pages(
        &self,
        account: &Account,
        before: Timestamp,
        now: Timestamp,
        deadline: Instant,
        report: &mut SweepReport,
        pages: &mut Pages,
    ) -> Result<(), StoreError> {
        while let Some(page) = pages
            .next(&self.log, &account.account_id, false, before, report)
            .await?
        {
            for c in page {
                // Past the deadline nothing more is ended: the account's next turn ends it.
                if Instant::now() >= deadline {
                    report.unfinished = true;
                    return Ok(());
                }
                if let Some(end) = plan_idle_end(account, &c, now) {
                    self.end(account, &end, report).await?;
                }
            }
        }
        Ok(())
    }

    /// Retention: erases the account's conversations (`closed` or live) whose last activity is
    /// older than `before`, oldest first (their messages, raw bodies, references and idempotency
    /// records, the conversation last; an interrupted erasure is found again by the next turn).
    async fn expire_before(
        &self,
        account_id: &AccountId,
        closed: bool,
        before: Timestamp,
        deadline: Instant,
        report: &mut SweepReport,
    ) -> Result<(), StoreError> {
        let mut pages = Pages::default();
        let expired = self
            .expire_pages(account_id, closed, before, deadline, report, &mut pages)
            .await;
        pages.finish(&self.log).await;
        expired
    }

    async fn expire_pages(
        &self,
        account_id: &AccountId,
        closed: bool,
        before: Timestamp,
        deadline: Instant,
        report: &mut SweepReport,
        pages: &mut Pages,
    ) -> Result<(), StoreError> {
        while let Some(page) = pages.next(&self.log, account_id, closed, before, report).await? {
            for c in page {
                if Instant::now() >= deadline {
                    report.unfinished = true;
                    return Ok(());
                }
                let erased = self
                    .log
                    .erase_conversation(account_id, &c.customer_number, &c.conversation_id)
                    .await?;
                report.expired += erased.conversations;
                tracing::info!(account_id = %account_id, conversation_id = %c.conversation_id, last_activity_at = %c.last_activity_at,
                    messages = erased.messages, "conversation expired by retention");
            }
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

/// The pages of one turn's reads of an index partition: each read again from the oldest (what
/// the turn ended or erased has left it), with the conversations this turn already had left
/// out (the index is eventually consistent and may still show them); the last page is one
/// shorter than [`MAX_PER_ACCOUNT`], one with nothing new, or the [`MAX_PAGES`]th.
#[derive(Debug, Default)]
struct Pages {
    seen: std::collections::HashSet<channel_domain::ids::ConversationId>,
    read: usize,
    done: bool,
    /// The busy account's lease this turn holds (its name and holder), once a page came full.
    lease: Option<(String, String)>,
}

impl Pages {
    async fn next<L: IdleConversations + Leases>(
        &mut self,
        log: &L,
        account_id: &AccountId,
        closed: bool,
        before: Timestamp,
        report: &mut SweepReport,
    ) -> Result<Option<Vec<Conversation>>, StoreError> {
        if self.done {
            return Ok(None);
        }
        if self.read == MAX_PAGES {
            report.unfinished = true;
            return Ok(None);
        }
        self.read += 1;
        let page = log.idle(account_id, closed, before, MAX_PER_ACCOUNT).await?;
        self.done = page.len() < MAX_PER_ACCOUNT as usize;
        // A full page: a busy account, whose turn may outlast the next schedule's. One turn of it
        // works at a time (a lease by account); another finds it held and leaves it.
        if !self.done && self.lease.is_none() {
            let name = busy_lease(account_id);
            let holder = channel_domain::ids::new_id();
            let until = channel_domain::ids::epoch_seconds() + SWEEP_LEASE_SECONDS;
            if !log.acquire(&name, &holder, until).await? {
                tracing::info!(account_id = %account_id, "another turn of this busy account holds it; this one leaves it");
                report.unfinished = true;
                return Ok(None);
            }
            self.lease = Some((name, holder));
        }
        let fresh: Vec<Conversation> = page
            .into_iter()
            .filter(|c| self.seen.insert(c.conversation_id.clone()))
            .collect();
        if fresh.is_empty() {
            return Ok(None);
        }
        report.read += fresh.len();
        Ok(Some(fresh))
    }

    /// Gives the busy account's lease back, if this turn took it.
    async fn finish<L: Leases>(self, log: &L) {
        if let Some((name, holder)) = self.lease {
            if let Err(e) = log.release(&name, &holder).await {
                tracing::warn!(error = %e, "a busy account's sweep lease could not be given back; it expires by itself");
            }
        }
    }
}

/// The lease of one busy account's turns: `sweep#<account>`.
pub fn busy_lease(account_id: &AccountId) -> String {
    format!("{SWEEP_LEASE}#{account_id}")
}

/// The minute of each hour a deleted account's turn comes (0 to 59, from its id: the deleted
/// accounts spread over the hour).
pub fn retired_minute(account_id: &AccountId) -> u32 {
    account_id
        .as_str()
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 60
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
