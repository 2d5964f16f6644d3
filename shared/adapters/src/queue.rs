//! The channel's SQS queues (the endpoint from `AWS_ENDPOINT_URL_SQS` when set): the parking
//! queue, where a verified callback that could not be stored at once waits, raw, for its replay
//! by the `callback-replay` function (`CALLBACK_QUEUE_URL`), the work queue, where jobs wait
//! for the `worker` function (`WORK_QUEUE_URL`), and the sweep queue, where each account's turn
//! of the sweep waits for the `sweeper` function (`SWEEP_QUEUE_URL`).

use std::time::Duration;

use aws_sdk_sqs::Client;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use channel_domain::jobs::{Job, SweepTask};
use channel_services::ports::{CallbackQueue, ParkedCallback, QueueError, SweepQueue, Unqueued, WorkQueue};

/// The most messages of one SendMessageBatch.
const SQS_BATCH: usize = 10;

fn queue_error(e: impl std::fmt::Debug) -> QueueError {
    QueueError(format!("{e:?}").chars().take(400).collect())
}

/// One SQS queue.
#[derive(Debug, Clone)]
pub struct Queue {
    client: Client,
    url: String,
}

impl Queue {
    /// Connects to the queue at `url` with the shared AWS configuration, counting every request
    /// into `meter`.
    pub fn new(config: &aws_config::SdkConfig, url: String, meter: &crate::meter::Meter) -> Self {
        let conf = aws_sdk_sqs::config::Builder::from(config)
            .interceptor(meter.interceptor("sqs"))
            .build();
        Self {
            client: Client::from_conf(conf),
            url,
        }
    }

    /// The queue's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The SDK client (the local stack's poller receives and deletes with it, as Lambda's event
    /// source mapping does with the function's role).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Makes a received message visible again only after `wait` (a replay's backoff).
    pub async fn retry_later(&self, receipt_handle: &str, wait: Duration) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(wait.as_secs().min(43_200) as i32)
            .send()
            .await
            .map(|_| ())
            .map_err(queue_error)
    }
}

impl CallbackQueue for Queue {
    /// 1 SendMessage.
    async fn park(&self, callback: &ParkedCallback) -> Result<(), QueueError> {
        let body = serde_json::to_string(callback).map_err(|e| QueueError(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(queue_error)
    }
}

impl Queue {
    /// 1 SendMessageBatch per 10 messages, in order; a batch with a failed entry stops there
    /// (its entries before the failed one went).
    async fn send_all<T: serde::Serialize>(&self, messages: &[T]) -> Result<(), Unqueued> {
        for (n, chunk) in messages.chunks(SQS_BATCH).enumerate() {
            let before = n * SQS_BATCH;
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, message)| {
                    let body = serde_json::to_string(message).map_err(queue_error)?;
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .build()
                        .map_err(queue_error)
                })
                .collect::<Result<Vec<_>, QueueError>>()
                .map_err(|error| Unqueued { done: before, error })?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| Unqueued {
                    done: before,
                    error: queue_error(e),
                })?;
            let first_failed = out.failed().iter().filter_map(|f| f.id().parse::<usize>().ok()).min();
            if let Some(i) = first_failed {
                return Err(Unqueued {
                    done: before + i,
                    error: QueueError(format!("{} entries refused", out.failed().len())),
                });
            }
        }
        Ok(())
    }
}

impl WorkQueue for Queue {
    /// 1 SendMessageBatch per 10 jobs, in order (a job that comes twice is done once).
    async fn enqueue(&self, jobs: &[Job]) -> Result<(), Unqueued> {
        self.send_all(jobs).await
    }
}

impl SweepQueue for Queue {
    /// 1 SendMessageBatch per 10 turns.
    async fn queue_sweeps(&self, tasks: &[SweepTask]) -> Result<(), Unqueued> {
        self.send_all(tasks).await
    }
}
