//! The event bus of integrations (EventBridge, `EVENT_BUS_NAME`; the endpoint from
//! `AWS_ENDPOINT_URL_EVENTBRIDGE` when set): each event with source `sms-channel` and
//! detail-type = its type, the event itself as the detail.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;

use channel_domain::events::Event;
use channel_services::ports::{BusError, EventBus};

/// The source of every event the channel puts on the bus.
pub const SOURCE: &str = "sms-channel";

/// One event bus.
#[derive(Debug, Clone)]
pub struct Bus {
    client: Client,
    name: String,
}

impl Bus {
    /// The bus named `name`, counting every request into `meter`.
    pub fn new(config: &aws_config::SdkConfig, name: String, meter: &crate::meter::Meter) -> Self {
        let conf = aws_sdk_eventbridge::config::Builder::from(config)
            .interceptor(meter.interceptor("events"))
            .build();
        Self {
            client: Client::from_conf(conf),
            name,
        }
    }

    /// The bus's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The SDK client (the local stack creates the bus with it).
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn entry(&self, e: &Event) -> Result<PutEventsRequestEntry, BusError> {
        let detail = serde_json::to_string(e).map_err(|e| BusError(e.to_string()))?;
        Ok(PutEventsRequestEntry::builder()
            .event_bus_name(&self.name)
            .source(SOURCE)
            .detail_type(e.kind.as_str())
            .detail(detail)
            .resources(format!("conversation/{}", e.conversation_id))
            .build())
    }
}

impl EventBus for Bus {
    /// 1 PutEvents; a partial failure fails the whole (the stream delivers the batch again).
    async fn publish(&self, events: &[Event]) -> Result<(), BusError> {
        if events.is_empty() {
            return Ok(());
        }
        let entries = events.iter().map(|e| self.entry(e)).collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| BusError(format!("{e:?}").chars().take(300).collect()))?;
        match out.failed_entry_count() {
            0 => Ok(()),
            n => Err(BusError(format!("{n} of {} entries refused", events.len()))),
        }
    }
}
