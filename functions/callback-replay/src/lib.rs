//! The parking queue's consumer (an SQS event source, reporting batch item failures): each parked
//! callback is replayed through the callback service's own idempotent path. A replay that fails
//! for a reason of the store is tried again later, its message hidden for a backoff that grows
//! with its receive count; after the queue's `maxReceiveCount` receives it moves to the
//! dead-letter queue, from where an operator redrives it (`docs/architecture.md`). A callback
//! that can never be stored (its account or number gone) is logged and let go, as a live one
//! would be refused.

use std::time::Duration;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use shared::backoff::Backoff;
use shared::queue::Queue;
use shared::secrets::Secrets;
use shared::service::callbacks::{Callbacks, REPLAY_BACKOFF};
use shared::service::directory::CachedDirectory;
use shared::service::ports::ParkedCallback;
use shared::store::Dynamo;

/// The callback service over DynamoDB, Secrets Manager and the parking queue.
pub type Service = Callbacks<CachedDirectory<Dynamo, Secrets>, Dynamo, Queue>;

/// The function's dependencies, built once per sandbox.
#[derive(Debug)]
pub struct App {
    service: Service,
    backoff: Backoff,
}

/// What became of one parked callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replayed {
    /// Stored, a duplicate, or never storable: the message goes.
    Done,
    /// To be tried again after a backoff.
    Later,
}

impl App {
    /// Builds the function from its environment (`TABLE_NAME`, `SECRET_PREFIX`,
    /// `CALLBACK_QUEUE_URL`, `REPLAY_BACKOFF_MAX_SECONDS`).
    pub async fn from_env() -> Result<Self, shared::config::ConfigError> {
        Self::from_clients(&shared::runtime::Clients::from_env().await?)
    }

    /// Builds the function from clients made once (the local gateway gives each function its own meter).
    pub fn from_clients(clients: &shared::runtime::Clients) -> Result<Self, shared::config::ConfigError> {
        let cap = shared::config::parsed("REPLAY_BACKOFF_MAX_SECONDS", REPLAY_BACKOFF.cap.as_secs())?;
        let backoff = Backoff::new(
            REPLAY_BACKOFF.base.min(Duration::from_secs(cap)),
            Duration::from_secs(cap),
        );
        let service = Callbacks {
            directory: clients.directory()?,
            log: clients.dynamo(),
            queue: clients.queue()?,
        };
        Ok(Self { service, backoff })
    }

    /// The parking queue (the local stack's poller receives and deletes with its client).
    pub fn queue(&self) -> &Queue {
        &self.service.queue
    }

    /// Replays a batch concurrently; answers the messages to be received again.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let outcomes = futures::future::join_all(event.records.iter().map(|m| self.replay(m))).await;
        let mut response = SqsBatchResponse::default();
        for (message, outcome) in event.records.iter().zip(outcomes) {
            if outcome == Replayed::Later {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = message.message_id.clone().unwrap_or_default();
                response.batch_item_failures.push(failure);
            }
        }
        response
    }

    async fn replay(&self, message: &SqsMessage) -> Replayed {
        let parked = message
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str::<ParkedCallback>(b).ok());
        let Some(parked) = parked else {
            // Not a message this channel parks: it stays for the dead-letter queue and a person.
            tracing::error!(
                message_id = message.message_id.as_deref().unwrap_or(""),
                "unreadable message in the parking queue"
            );
            return Replayed::Later;
        };
        match self.service.replay(&parked).await {
            Ok(_) => Replayed::Done,
            Err(e) if e.is_transient() => {
                self.hide(message).await;
                Replayed::Later
            }
            Err(e) => {
                tracing::error!(account_id = %parked.account_id, parked_at = %parked.parked_at, reason = %e, "parked callback can never be stored; let go");
                Replayed::Done
            }
        }
    }

    /// Hides a message for the backoff its receive count calls for (when that fails, the queue's
    /// own visibility timeout applies).
    async fn hide(&self, message: &SqsMessage) {
        let receives: u32 = message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let wait = self.backoff.delay(receives).max(Duration::from_secs(1));
        let Some(receipt) = message.receipt_handle.as_deref() else {
            return;
        };
        tracing::warn!(
            message_id = message.message_id.as_deref().unwrap_or(""),
            receives,
            wait_s = wait.as_secs(),
            "parked callback not stored yet; tried again later"
        );
        if let Err(e) = self.service.queue.retry_later(receipt, wait).await {
            tracing::warn!(error = %e, "the replay's backoff could not be set");
        }
    }
}
