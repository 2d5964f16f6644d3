//! The service layer: the rules of the channel over domain types, and nothing of HTTP or AWS
//! (Cargo holds it to that: this crate depends on the domain and on no adapter, no AWS SDK, no
//! HTTP client). Each service depends on the capability traits of [`ports`]; the functions build
//! them over the DynamoDB, Secrets Manager, SQS and TeleSign adapters (`channel_adapters`), the
//! tests over the in-memory ones of [`testkit`] (feature `testkit`).
//!
//! Also here: [`backoff`] (every retry loop's waits), [`cache`] (what a warm function keeps) and
//! [`metrics`] (what the services observe, written as CloudWatch's embedded metric format).

#![deny(missing_docs)]

pub mod access;
pub mod accounts;
pub mod backoff;
pub mod cache;
pub mod callbacks;
pub mod desk;
pub mod directory;
pub mod events;
pub mod metrics;
pub mod ports;
pub mod privacy;
#[cfg(test)]
mod rules;
pub mod send;
pub mod setup;
pub mod sweeper;
pub mod team;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod worker;
