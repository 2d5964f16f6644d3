//! The parking queue in SQS: a verified callback that could not be stored at once waits here,
//! raw, for its replay by the `callback-replay` function (queue URL from `CALLBACK_QUEUE_URL`;
//! the endpoint from `AWS_ENDPOINT_URL_SQS` when set).

use std::time::Duration;

use aws_sdk_sqs::Client;

use crate::service::ports::{CallbackQueue, ParkedCallback, QueueError};

/// The parking queue.
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
            .map_err(|e| QueueError(format!("{e:?}").chars().take(400).collect()))
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
            .map_err(|e| QueueError(format!("{e:?}").chars().take(400).collect()))
    }
}
