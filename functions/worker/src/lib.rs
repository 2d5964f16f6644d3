//! The work queue's consumer (an SQS event source, reporting batch item failures): each job of a
//! batch is done concurrently through `shared::service::worker`. A job that failed for a reason
//! of the store or the keys is reported and comes back after a backoff that grows with its
//! receive count; after the queue's `maxReceiveCount` receives it moves to the dead-letter queue
//! (alarmed). A message that is no job is left for the dead-letter queue and a person.

use std::time::{Duration, Instant};

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use shared::backoff::Backoff;
use shared::jobs::Job;
use shared::queue::Queue;
use shared::secrets::Secrets;
use shared::service::directory::CachedDirectory;
use shared::service::worker::{Done, Worker};
use shared::store::Dynamo;
use shared::telesign::TelesignClient;

/// The worker over DynamoDB, Secrets Manager and TeleSign.
pub type Service = Worker<CachedDirectory<Dynamo, Secrets>, Dynamo, TelesignClient>;

/// How long TeleSign may take for one job (the function's timeout is 30 s; a batch's jobs run at
/// once, and a settle after TeleSign's answer needs its own seconds).
const JOB_BUDGET: Duration = Duration::from_secs(20);

/// The waits before a failed job comes back: 2 s doubling to a minute.
const RETRY_BACKOFF: Backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(60));

/// The function's dependencies, built once per sandbox.
#[derive(Debug)]
pub struct App {
    service: Service,
    queue: Queue,
}

/// What became of one message of the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Done (or never to be done): the message goes.
    Done,
    /// To be received again.
    Again,
}

impl App {
    /// Builds the function from its environment (`TABLE_NAME`, `SECRET_PREFIX`, `WORK_QUEUE_URL`,
    /// `TELESIGN_BASE_URL`, `PUBLIC_BASE_URL`).
    pub async fn from_env() -> Result<Self, shared::config::ConfigError> {
        Self::from_clients(&shared::runtime::Clients::from_env().await?)
    }

    /// Builds the function from clients made once (the local gateway gives each function its own meter).
    pub fn from_clients(clients: &shared::runtime::Clients) -> Result<Self, shared::config::ConfigError> {
        Ok(Self {
            service: Worker {
                directory: clients.directory()?,
                log: clients.dynamo(),
                gateway: clients.telesign()?,
                callback_base: shared::config::url("PUBLIC_BASE_URL")?,
            },
            queue: clients.work_queue()?,
        })
    }

    /// The work queue (the local stack's poller receives and deletes with its client).
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// Does a batch's jobs at once; answers the messages to be received again.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let deadline = Instant::now() + JOB_BUDGET;
        let outcomes = futures::future::join_all(event.records.iter().map(|m| self.one(m, deadline))).await;
        let mut response = SqsBatchResponse::default();
        for (message, outcome) in event.records.iter().zip(outcomes) {
            if outcome == Outcome::Again {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = message.message_id.clone().unwrap_or_default();
                response.batch_item_failures.push(failure);
            }
        }
        response
    }

    async fn one(&self, message: &SqsMessage, deadline: Instant) -> Outcome {
        let id = message.message_id.as_deref().unwrap_or("");
        let Some(job) = message
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str::<Job>(b).ok())
        else {
            tracing::error!(
                message_id = id,
                "a message of the work queue is no job; left for the dead-letter queue"
            );
            return Outcome::Again;
        };
        match self.service.run(&job, deadline).await {
            Ok(done) => {
                if let Done::Unsettled(why) = &done {
                    tracing::warn!(account_id = %job.account_id(), job = ?job, reason = %why, "job done, its outcome not recorded");
                } else {
                    tracing::info!(account_id = %job.account_id(), job = ?job, done = ?done, "job done");
                }
                Outcome::Done
            }
            Err(e) => {
                self.later(message, &e).await;
                Outcome::Again
            }
        }
    }

    /// Hides a failed job for the backoff its receive count calls for (when that fails, the
    /// queue's own visibility timeout applies).
    async fn later(&self, message: &SqsMessage, error: &shared::service::worker::WorkError) {
        let receives: u32 = message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let wait = RETRY_BACKOFF.delay(receives).max(Duration::from_secs(1));
        tracing::warn!(message_id = message.message_id.as_deref().unwrap_or(""), receives, wait_s = wait.as_secs(), error = %error,
            "job failed; tried again later");
        if let Some(receipt) = message.receipt_handle.as_deref() {
            if let Err(e) = self.queue.retry_later(receipt, wait).await {
                tracing::warn!(error = %e, "the job's backoff could not be set");
            }
        }
    }
}
