//! The SMS channel's shared crate, in layers (`docs/architecture.md` draws them):
//!
//! - the domain: `ids`, `phone`, `sms`, `conversation`, `account`, `access` (who may do what),
//!   `audit`, and the TeleSign protocol
//!   (`telesign`), pure types and rules;
//! - the services (`service`): receive a callback, send a message, move a conversation, manage
//!   accounts, over the capability traits of `service::ports`;
//! - the adapters: `store` (DynamoDB), `secrets` (Secrets Manager), `queue` (SQS), `gateway`
//!   (TeleSign), with `table`, `meter`, `aws` and `backoff` (every retry loop's waits); `metrics`
//!   (CloudWatch embedded metric format);
//! - the HTTP edge: `http` and `error`, `observe` (each invocation's span and metrics), and
//!   `runtime`, which wires a function together.

#![deny(missing_docs)]

pub mod access;
pub mod account;
pub mod audit;
pub mod automation;
pub mod aws;
pub mod backoff;
pub mod bus;
pub mod cache;
pub mod canned;
pub mod cognito;
pub mod config;
pub mod conversation;
pub mod error;
pub mod events;
pub mod gateway;
pub mod http;
pub mod ids;
pub mod jobs;
pub mod logging;
pub mod meter;
pub mod metrics;
pub mod observe;
pub mod paging;
pub mod phone;
pub mod privacy;
pub mod push;
pub mod queue;
pub mod runtime;
pub mod secrets;
pub mod service;
pub mod sms;
pub mod store;
pub mod table;
pub mod telesign;
pub mod tls;

pub use error::ApiError;
