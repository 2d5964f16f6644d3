//! The worker: the jobs of the work queue (`channel_domain::jobs`), done off the request path, each
//! idempotent because the queue delivers at least once.
//!
//! A send job hands an automated message to TeleSign once. The message was recorded "sending"
//! in the transaction of the change that made it due (a customer's message, a sweep's end), so
//! the callback that stored the customer's SMS answers TeleSign without waiting for TeleSign;
//! here it is read back, claimed (one transaction: never claimed nor sent before, and, but for
//! the stop confirmation, the customer still not opted out), sent, and settled as every message
//! is (`send::dispatch`). A job that comes twice finds it claimed and does nothing; a worker
//! that dies between the claim and TeleSign leaves it "sending", shown unconfirmed after ten
//! minutes, like a reply whose answer never came: nothing sends it twice.

use std::time::Instant;

use crate::directory::{AccountDirectory, DirectoryError, Freshness};
use crate::ports::{OutboundLog, Outbox, PendingSend, SendClaim, Settlement, SmsGateway, StoreError};
use crate::send::{dispatch, Outgoing, Verdict};
use channel_domain::automation::Kind;
use channel_domain::ids::{ConversationId, MessageId};
use channel_domain::jobs::Job;
use channel_domain::telesign::MessageState;

/// What the channel writes on an automated message it did not send because the customer opted
/// out between its recording and its send.
pub const OPTED_OUT_MEANWHILE: &str = "Not sent: the customer opted out before it went out.";

/// What a job came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// Handed to TeleSign (with TeleSign's verdict) and settled.
    Sent(Verdict),
    /// Claimed or sent by another try of the same job: nothing to do.
    Taken,
    /// The message, its conversation or its account is gone (erased, expired, deleted).
    Gone,
    /// The customer opted out meanwhile: recorded as not sent.
    OptedOut,
    /// Claimed, but what TeleSign answered could not be recorded (the message stays "sending",
    /// shown unconfirmed after ten minutes; its delivery report settles it if it went out).
    Unsettled(String),
}

/// Why a job is to be tried again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkError {
    /// The store failed (the job is tried again).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The account or its keys could not be read.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
}

/// The worker's service.
#[derive(Debug)]
pub struct Worker<D, L, G> {
    /// Accounts and keys.
    pub directory: D,
    /// The recorded messages, their claims and settles.
    pub log: L,
    /// TeleSign.
    pub gateway: G,
    /// The public base URL delivery reports come back to.
    pub callback_base: Option<String>,
}

impl<D, L, G> Worker<D, L, G>
where
    D: AccountDirectory,
    L: Outbox + OutboundLog,
    G: SmsGateway,
{
    /// Does one job; TeleSign must have answered by `deadline`.
    pub async fn run(&self, job: &Job, deadline: Instant) -> Result<Done, WorkError> {
        match job {
            Job::Send {
                conversation_id,
                message_id,
                ..
            } => self.send(conversation_id, message_id, deadline).await,
        }
    }

    /// Read back, claimed, sent, settled.
    async fn send(
        &self,
        conversation_id: &ConversationId,
        message_id: &MessageId,
        deadline: Instant,
    ) -> Result<Done, WorkError> {
        let Some(pending) = self.log.pending_send(conversation_id, message_id).await? else {
            return Ok(Done::Gone);
        };
        if !is_unsent(&pending) {
            return Ok(Done::Taken);
        }
        let account_id = pending.conversation.account_id.clone();
        let Some(account) = self.directory.account(&account_id, Freshness::Cached).await? else {
            return Ok(Done::Gone);
        };
        // The keys before the claim: once claimed, only TeleSign stands between it and its send.
        self.directory.keys(&account, Freshness::Cached).await?;
        let kind = pending.message.kind;
        match self.log.claim_send(&pending, needs_consent(kind)).await? {
            SendClaim::Claimed => {}
            SendClaim::Taken => return Ok(Done::Taken),
            SendClaim::OptedOut => {
                self.log.settle(&not_sent(&pending)).await?;
                tracing::info!(account_id = %account_id, conversation_id = %conversation_id, message_id = %message_id,
                    "automated SMS not sent: the customer opted out meanwhile");
                return Ok(Done::OptedOut);
            }
        }
        let thread = pending.conversation.thread();
        let out = Outgoing {
            account: &account,
            thread: &thread,
            conversation_id,
            message: &pending.message,
            callback_base: self.callback_base.as_deref(),
            deadline,
        };
        match dispatch(&self.directory, &self.log, &self.gateway, &out).await {
            Ok(sent) => {
                crate::metrics::emit(crate::metrics::automated(kind));
                Ok(Done::Sent(sent.verdict))
            }
            // Claimed: never tried again, so never sent twice.
            Err(e) => {
                tracing::error!(account_id = %account_id, message_id = %message_id, error = %e, "automated SMS claimed but not settled");
                Ok(Done::Unsettled(e.to_string()))
            }
        }
    }
}

/// Whether a recorded message is still to be handed to TeleSign (the claim decides for sure).
fn is_unsent(p: &PendingSend) -> bool {
    p.message.automated && p.message.status == MessageState::Unknown && p.message.telesign_reference_id.is_none()
}

/// The stop confirmation goes to a customer who just opted out; every other automated message
/// only to one who has not (a STOP that came after the greeting was recorded stops it).
pub fn needs_consent(kind: Option<Kind>) -> bool {
    kind != Some(Kind::Stop)
}

/// The settle of a message not sent because the customer opted out meanwhile.
fn not_sent(p: &PendingSend) -> Settlement {
    Settlement {
        conversation_id: p.conversation.conversation_id.clone(),
        message_id: p.message.message_id.clone(),
        state: MessageState::Failed,
        reference_id: None,
        code: None,
        description: OPTED_OUT_MEANWHILE.into(),
        idempotency: None,
    }
}
