//! Lambda's SQS event source mappings, locally: pollers receive from each queue with its
//! consumer's own client (as a mapping does with the function's role): parked callbacks for
//! `callback-replay`, jobs for `worker`, the accounts' sweep turns for `sweeper`; each batch goes to the function as an SQS event, and
//! what it did not report as failed is deleted. The gateway also creates each queue and its
//! dead-letter queue when they are missing, as it creates the table.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName};
use serde_json::{json, Value};
use tracing::Instrument;

use crate::Gateway;

/// Concurrent batches, as the event source mapping starts with.
pub const POLLERS: usize = 5;

/// Concurrent batches of the sweep queue: four (a batch's turns run at once, and the batch holds
/// its poller until its longest turn ends); each poller's long poll costs moto a share of a core.
pub const SWEEP_POLLERS: usize = 4;

/// How many receives before a parked callback moves to the dead-letter queue locally
/// (`CALLBACK_QUEUE_MAX_RECEIVES`): with the local stack's backoff of at most 15 s, at least
/// 3.5 minutes of retries, so the two-minute outage test ends before any message would move.
/// The template's queue has 20 with backoffs of up to 5 minutes: at least 45 minutes.
pub const MAX_RECEIVES: u32 = 30;

/// How many receives before a job moves to the work queue's dead-letter queue (the template's
/// too: with backoffs of 2 s doubling to a minute, at least 8 minutes of tries).
pub const WORK_MAX_RECEIVES: u32 = 12;

/// How many receives before a message of the sweep queue moves to a dead-letter queue: never
/// (every turn goes, done or failed; the template's queue has no dead-letter queue).
pub const SWEEP_MAX_RECEIVES: u32 = 1000;

/// A queue's consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumer {
    /// `callback-replay`, on the parking queue.
    Replay,
    /// `worker`, on the work queue.
    Worker,
    /// `sweeper`, on the sweep queue.
    Sweeper,
}

impl Consumer {
    /// The function's name.
    pub fn function(self) -> &'static str {
        match self {
            Self::Replay => "callback-replay",
            Self::Worker => "worker",
            Self::Sweeper => "sweeper",
        }
    }
}

/// Creates the queue of `url` (its name is the URL's last segment) and its dead-letter queue
/// `<name>-dlq`, redriven after `max_receives` receives, unless they exist.
pub async fn ensure_queue(client: &aws_sdk_sqs::Client, url: &str, max_receives: u32) -> Result<(), String> {
    let name = url.rsplit('/').next().unwrap_or("callbacks");
    let text = |e: &dyn std::fmt::Debug| format!("{e:?}").chars().take(300).collect::<String>();
    let dlq = client
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .attributes(QueueAttributeName::MessageRetentionPeriod, "1209600")
        .send()
        .await
        .map_err(|e| text(&e))?;
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(dlq.queue_url().unwrap_or_default())
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| text(&e))?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_default();
    let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}).to_string();
    client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .attributes(QueueAttributeName::VisibilityTimeout, "60")
        .send()
        .await
        .map_err(|e| text(&e))?;
    Ok(())
}

impl Gateway {
    /// Runs the pollers of the three queues until the process ends.
    pub fn start_pollers(self: &Arc<Self>) {
        for consumer in [Consumer::Replay, Consumer::Worker, Consumer::Sweeper] {
            let pollers = if consumer == Consumer::Sweeper {
                SWEEP_POLLERS
            } else {
                POLLERS
            };
            for _ in 0..pollers {
                let gateway = self.clone();
                tokio::spawn(async move {
                    let arn = gateway.queue_arn(consumer).await;
                    loop {
                        if let Err(e) = gateway.poll_once(consumer, &arn).await {
                            tracing::warn!(error = %e, function = consumer.function(), "a queue could not be polled");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                });
            }
        }
    }

    fn queue_of(&self, consumer: Consumer) -> &shared::queue::Queue {
        match consumer {
            Consumer::Replay => self.replay.queue(),
            Consumer::Worker => self.worker.queue(),
            Consumer::Sweeper => self.sweeper.queue(),
        }
    }

    /// The queue's ARN, for the events' `eventSourceARN` (the mapping reads it as well).
    async fn queue_arn(&self, consumer: Consumer) -> String {
        let queue = self.queue_of(consumer);
        let attributes = queue
            .client()
            .get_queue_attributes()
            .queue_url(queue.url())
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await;
        attributes
            .ok()
            .and_then(|a| {
                a.attributes()
                    .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            })
            .unwrap_or_default()
    }

    /// One receive, one invocation, one delete of the messages that went.
    async fn poll_once(&self, consumer: Consumer, arn: &str) -> Result<(), String> {
        let queue = self.queue_of(consumer);
        let received = queue
            .client()
            .receive_message()
            .queue_url(queue.url())
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?;
        let messages = received.messages();
        if messages.is_empty() {
            return Ok(());
        }
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                let attributes: serde_json::Map<String, Value> = m
                    .attributes()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str().to_owned(), json!(v)))
                    .collect();
                json!({"messageId": m.message_id(), "receiptHandle": m.receipt_handle(), "body": m.body(),
                       "attributes": attributes, "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "local"})
            })
            .collect();
        let event = serde_json::from_value(json!({"Records": records})).map_err(|e| e.to_string())?;
        let span = tracing::info_span!("invoke", function = consumer.function());
        let run = async {
            match consumer {
                Consumer::Replay => (self.replay.handle(event).await, Vec::new()),
                // The worker's metrics, written as its invocation's (automated messages sent).
                Consumer::Worker => shared::metrics::scope(self.worker.handle(event)).await,
                // The sweep's turns, their metrics written as the invocation's.
                Consumer::Sweeper => shared::metrics::scope(self.sweeper.turns(event)).await,
            }
        };
        let (response, records) = run.instrument(span).await;
        shared::metrics::write(&records, &[]);
        let failed: HashSet<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        let done: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .filter(|m| !failed.contains(m.message_id().unwrap_or_default()))
            .filter_map(|m| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(m.message_id().unwrap_or_default())
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .build()
                    .ok()
            })
            .collect();
        if done.is_empty() {
            return Ok(());
        }
        queue
            .client()
            .delete_message_batch()
            .queue_url(queue.url())
            .set_entries(Some(done))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    }
}
