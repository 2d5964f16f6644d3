//! Work done off the request path: a job is queued (SQS, the work queue) by the change that makes
//! it due and done by the worker function, at least once, so every job is idempotent where it is
//! done. Pure: the types and which change makes which job.

use serde::{Deserialize, Serialize};

use crate::conversation::Direction;
use crate::events::{Change, Snapshot};
use crate::ids::{AccountId, ConversationId, MessageId};
use crate::telesign::MessageState;

/// One piece of work, as the work queue carries it (JSON, tagged by `job`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// Send an automated message that a customer's message or a sweep recorded to go out (the
    /// message is recorded "sending" in that change's own transaction; the job hands it to
    /// TeleSign once and settles it).
    Send {
        /// Its account.
        account_id: AccountId,
        /// Its conversation.
        conversation_id: ConversationId,
        /// The message.
        message_id: MessageId,
    },
}

impl Job {
    /// The account a job is for (for the logs).
    pub fn account_id(&self) -> &AccountId {
        match self {
            Job::Send { account_id, .. } => account_id,
        }
    }
}

/// One account's turn of the sweep, as the sweep queue carries it (JSON, tagged by `sweep`):
/// the scheduled run queues one per account that has something the sweep may do, and each is
/// swept on its own, so a busy account takes its own time and never another's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "sweep", rename_all = "snake_case")]
pub enum SweepTask {
    /// A live account: its conversations idle past their timeout ended, its retention applied.
    Account {
        /// The account.
        account_id: AccountId,
    },
    /// A deleted account: its conversations expired by the retention it kept, its record
    /// forgotten once none is left.
    Retired {
        /// The deleted account.
        account_id: AccountId,
        /// Its retention.
        retention_days: u32,
    },
}

impl SweepTask {
    /// The account a turn is for.
    pub fn account_id(&self) -> &AccountId {
        match self {
            SweepTask::Account { account_id } | SweepTask::Retired { account_id, .. } => account_id,
        }
    }
}

/// The job a committed change makes due, if any: an automated message just recorded to go out
/// (created, outbound, not handed to TeleSign yet). Replies and business messages are sent by
/// the request that records them, and a message seen again (a status change) makes no job.
pub fn job_of(change: &Change) -> Option<Job> {
    if change.old.is_some() {
        return None;
    }
    let Some(Snapshot::Message {
        account_id,
        conversation_id,
        message,
    }) = &change.new
    else {
        return None;
    };
    let unsent = message.status == MessageState::Unknown && message.telesign_reference_id.is_none();
    (message.automated && message.direction == Direction::Outbound && unsent).then(|| Job::Send {
        account_id: account_id.clone(),
        conversation_id: conversation_id.clone(),
        message_id: message.message_id.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automation::Kind;
    use crate::conversation::Message;
    use crate::ids::Timestamp;

    fn created(message: Message) -> Change {
        Change {
            id: "1".into(),
            at: Timestamp::now(),
            old: None,
            new: Some(Snapshot::Message {
                account_id: AccountId::new(),
                conversation_id: ConversationId::new(),
                message,
            }),
        }
    }

    #[test]
    fn an_automated_message_recorded_to_go_out_is_a_send_job() {
        let m = Message::automated(Kind::Greeting, "Hello", &MessageId::new());
        let job = job_of(&created(m.clone())).expect("a job");
        assert!(matches!(job, Job::Send { message_id, .. } if message_id == m.message_id));
    }

    #[test]
    fn a_customer_message_a_reply_and_a_status_change_are_no_job() {
        let inbound = Message::inbound("hi", &crate::sms::analyse("hi"), "R1");
        assert_eq!(job_of(&created(inbound)), None);
        let mut reply = Message::automated(Kind::Greeting, "Hello", &MessageId::new());
        reply.automated = false;
        reply.kind = None;
        assert_eq!(job_of(&created(reply)), None, "a person's reply is sent by its request");
        let m = Message::automated(Kind::Help, "Help", &MessageId::new());
        let mut change = created(m);
        change.old = change.new.clone();
        assert_eq!(job_of(&change), None, "seen before: no second job");
        let mut sent = Message::automated(Kind::Help, "Help", &MessageId::new());
        sent.telesign_reference_id = Some("R".into());
        assert_eq!(job_of(&created(sent)), None, "already handed to TeleSign");
    }

    #[test]
    fn a_job_reads_back_as_it_was_queued() {
        let job = Job::Send {
            account_id: AccountId::new(),
            conversation_id: ConversationId::new(),
            message_id: MessageId::new(),
        };
        let text = serde_json::to_string(&job).unwrap();
        assert!(text.starts_with(r#"{"job":"send""#), "{text}");
        assert_eq!(serde_json::from_str::<Job>(&text).unwrap(), job);
    }
}
