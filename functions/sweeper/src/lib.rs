//! The auto-close sweep, in two parts. An EventBridge schedule (every minute deployed; every
//! `SWEEP_INTERVAL_SECONDS` in the local stack) queues one turn per account with something to
//! sweep on the sweep queue; the same function, as that queue's consumer (an SQS event source),
//! sweeps the turns of a batch at once, each with the whole budget: it ends the account's conversations idle past their number's timeout, records their
//! closing message for the worker and applies the retention (`shared::service::sweeper`).

use std::time::{Duration, Instant};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use shared::ids::Timestamp;
use shared::jobs::SweepTask;
use shared::queue::Queue;
use shared::service::sweeper::{SweepError, SweepReport, Sweeper};
use shared::store::Dynamo;

/// The sweep over DynamoDB and the sweep queue.
pub type Service = Sweeper<Dynamo, Queue>;

/// How long a batch's turns may sweep (the function's timeout is 60 s; a turn with more to do
/// leaves it to the account's next turn, a minute later).
const TURN_BUDGET: Duration = Duration::from_secs(40);

/// The function's dependencies, built once per sandbox.
#[derive(Debug)]
pub struct App {
    service: Service,
}

impl App {
    /// Builds the function from its environment (`TABLE_NAME`, `SWEEP_QUEUE_URL`).
    pub async fn from_env() -> Result<Self, shared::config::ConfigError> {
        Self::from_clients(&shared::runtime::Clients::from_env().await?)
    }

    /// Builds the function from clients made once (the local gateway gives each function its own meter).
    pub fn from_clients(clients: &shared::runtime::Clients) -> Result<Self, shared::config::ConfigError> {
        Ok(Self {
            service: Sweeper {
                log: clients.dynamo(),
                queue: clients.sweep_queue()?,
            },
        })
    }

    /// The sweep service.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// The sweep queue (the local stack's poller receives and deletes with its client).
    pub fn queue(&self) -> &Queue {
        &self.service.queue
    }

    /// The schedule's run: queues the accounts' turns; a failure fails the invocation (the next
    /// schedule queues them again).
    pub async fn schedule(&self) -> Result<SweepReport, SweepError> {
        let outcome = self.service.schedule(Timestamp::now()).await;
        let result = if outcome.is_ok() { "done" } else { "failed" };
        shared::metrics::emit(shared::metrics::sweep(result));
        outcome
    }

    /// A batch of turns, swept at once; every message of the batch goes. A turn whose store
    /// failed is not tried again (the account's next turn comes with the next schedule, a
    /// minute later) and counts as a failed sweep, as does a message that is no turn (nothing in
    /// it is needed: the schedule queues every account's turn again).
    pub async fn turns(&self, event: SqsEvent) -> SqsBatchResponse {
        let deadline = Instant::now() + TURN_BUDGET;
        let now = Timestamp::now();
        // Boxed: a turn's future (conversations, erasures) is deep.
        futures::future::join_all(event.records.iter().map(|m| Box::pin(self.one(m, now, deadline)))).await;
        SqsBatchResponse::default()
    }

    /// Sweeps one message's turn.
    async fn one(&self, message: &SqsMessage, now: Timestamp, deadline: Instant) {
        let Some(task) = message
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str::<SweepTask>(b).ok())
        else {
            tracing::error!(
                message_id = message.message_id.as_deref().unwrap_or(""),
                "a message of the sweep queue is no turn; dropped"
            );
            shared::metrics::emit(shared::metrics::sweep("failed"));
            return;
        };
        if let Err(e) = self.service.turn(&task, now, deadline).await {
            tracing::warn!(account_id = %task.account_id(), error = %e, "a sweep turn failed; the account's next turn tries again");
            shared::metrics::emit(shared::metrics::sweep("failed"));
        }
    }
}
