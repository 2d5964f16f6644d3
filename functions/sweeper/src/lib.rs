//! The auto-close sweep, run by an EventBridge schedule (every minute deployed; every
//! `SWEEP_INTERVAL_SECONDS` in the local stack): ends the conversations idle past their number's
//! timeout and records their closing message for the worker (`shared::service::sweeper`).

use std::time::{Duration, Instant};

use shared::ids::Timestamp;
use shared::service::sweeper::{SweepReport, Sweeper};
use shared::store::Dynamo;

/// The sweep over DynamoDB.
pub type Service = Sweeper<Dynamo>;

/// How long one sweep may read new accounts (the function's timeout is 60 s; a sweep that has
/// more to do leaves it to the next one).
const SWEEP_BUDGET: Duration = Duration::from_secs(40);

/// The function's dependencies, built once per sandbox.
#[derive(Debug)]
pub struct App {
    service: Service,
}

impl App {
    /// Builds the function from its environment (`TABLE_NAME`).
    pub async fn from_env() -> Result<Self, shared::config::ConfigError> {
        Self::from_clients(&shared::runtime::Clients::from_env().await?)
    }

    /// Builds the function from clients made once (the local gateway gives each function its own meter).
    pub fn from_clients(clients: &shared::runtime::Clients) -> Result<Self, shared::config::ConfigError> {
        Ok(Self {
            service: Sweeper { log: clients.dynamo() },
        })
    }

    /// The sweep service.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// One sweep; a store failure fails the invocation (the next schedule sweeps again).
    pub async fn handle(&self) -> Result<SweepReport, shared::service::ports::StoreError> {
        // Boxed: the sweep's future (accounts, conversations, erasures) is deep.
        let outcome = Box::pin(self.service.sweep(Timestamp::now(), Instant::now() + SWEEP_BUDGET)).await;
        let result = if outcome.is_ok() { "done" } else { "failed" };
        shared::metrics::emit(shared::metrics::sweep(result));
        outcome
    }
}
