//! The table's stream consumer (a DynamoDB Streams event source with new and old images,
//! filtered to the conversations' partitions, reporting batch item failures): each batch of
//! committed changes, in the stream's order, becomes the contract's events
//! (`shared::service::events`), posted to the connections of each event's account and put on
//! the event bus. When the bus or the store fails, the first change not delivered is reported,
//! and the stream delivers the batch again from there (with its retries, bisection on error and
//! on-failure destination in the template): none is lost, some may come twice (same
//! `event_id`).

use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use shared::bus::Bus;
use shared::events::Change;
use shared::ids::Timestamp;
use shared::push::Connections;
use shared::queue::Queue;
use shared::service::events::Publisher;
use shared::store::stream::snapshot_of;
use shared::store::Dynamo;

/// The publisher over DynamoDB, the WebSocket API's `@connections`, EventBridge and the work queue.
pub type Service = Publisher<Dynamo, Connections, Bus, Queue>;

/// The function's dependencies, built once per sandbox.
#[derive(Debug)]
pub struct App {
    service: Service,
}

impl App {
    /// Builds the function from its environment (`TABLE_NAME`, `EVENT_BUS_NAME`,
    /// `CONNECTIONS_ENDPOINT`, `WORK_QUEUE_URL`).
    pub async fn from_env() -> Result<Self, shared::config::ConfigError> {
        Self::from_clients(&shared::runtime::Clients::from_env().await?)
    }

    /// Builds the function from clients made once (the local gateway gives each function its own meter).
    pub fn from_clients(clients: &shared::runtime::Clients) -> Result<Self, shared::config::ConfigError> {
        let bus = shared::config::required("EVENT_BUS_NAME")?;
        let endpoint = shared::config::optional("CONNECTIONS_ENDPOINT");
        Ok(Self {
            service: Publisher {
                store: clients.dynamo(),
                sockets: Connections::new(&clients.aws, endpoint, &clients.meter),
                bus: Bus::new(&clients.aws, bus, &clients.meter),
                work: clients.work_queue()?,
            },
        })
    }

    /// The event bus (the local stack creates it when missing).
    pub fn bus(&self) -> &Bus {
        &self.service.bus
    }

    /// Delivers one batch; answers the first record to deliver again, if any.
    pub async fn handle(&self, event: StreamEvent) -> DynamoDbEventResponse {
        let started = std::time::Instant::now();
        let changes: Vec<Change> = event.records.iter().map(change_of).collect();
        let mut response = DynamoDbEventResponse::default();
        // Boxed: the delivery's future (reads, posts, the bus) is deep.
        match Box::pin(self.service.deliver(&changes)).await {
            Ok(d) => {
                tracing::info!(
                    micros = started.elapsed().as_micros() as u64,
                    records = changes.len(),
                    events = d.events,
                    jobs = d.jobs,
                    posted = d.posted,
                    gone = d.gone,
                    failed = d.failed,
                    "events delivered"
                );
            }
            Err(e) => {
                let record = &event.records[e.from().min(event.records.len().saturating_sub(1))];
                tracing::warn!(records = changes.len(), from = e.from(), error = %e, "events not delivered; the stream delivers them again");
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = record.change.sequence_number.clone();
                response.batch_item_failures.push(failure);
            }
        }
        response
    }
}

/// A stream record as a change of the domain (images that are no conversation or message, and
/// empty ones, are `None`).
fn change_of(record: &EventRecord) -> Change {
    let image = |i: &shared::store::stream::Image| (!i.is_empty()).then(|| snapshot_of(i.clone())).flatten();
    let at =
        Timestamp::parse(&record.change.approximate_creation_date_time.to_rfc3339()).unwrap_or_else(Timestamp::now);
    Change {
        id: record.event_id.clone(),
        at,
        old: image(&record.change.old_image),
        new: image(&record.change.new_image),
    }
}
