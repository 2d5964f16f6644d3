//! The SMS channel's shared crate: the one crate every function depends on. It composes the layer
//! crates beside it (`docs/architecture.md` draws them) and gives each module the path the
//! functions use:
//!
//! - the domain (`shared/domain`, `channel-domain`): `ids`, `phone`, `sms`, `conversation`,
//!   `account`, `access`, `audit`, `automation`, `canned`, `events`, `jobs`, `paging`, `privacy`,
//!   `telesign`, pure types and rules;
//! - the services (`shared/services`, `channel-services`): `service` (receive a callback, send a
//!   message, move a conversation, manage accounts… over the capability traits of
//!   `service::ports`), `backoff`, `cache`, `metrics`;
//! - the adapters (`shared/adapters`, `channel-adapters`): `store` (DynamoDB), `secrets`,
//!   `queue` (SQS), `bus` (EventBridge), `push` (`@connections`), `cognito`, `gateway`
//!   (TeleSign's client), with `table`, `meter`, `aws`, `tls` and `config`;
//! - the HTTP edge (`shared/edge`, `channel-edge`): `http`, `error`, `observe`, `logging` and
//!   `runtime`, which wires a function together.
//!
//! Each layer depends only on the ones below it: Cargo refuses anything else.

#![deny(missing_docs)]

pub use channel_adapters::{
    aws, bus, cognito, config, exports, gateway, jwt, meter, push, queue, secrets, store, table, tls,
};
pub use channel_domain::{
    access, account, audit, automation, canned, conversation, events, ids, jobs, paging, phone, privacy, sent, sms,
};
pub use channel_edge::{error, http, logging, observe, runtime, testing, ApiError};
pub use channel_services as service;
pub use channel_services::{backoff, cache, metrics};

/// TeleSign: the protocol (`channel_domain::telesign`) and its HTTP client (the adapter).
pub mod telesign {
    pub use channel_adapters::gateway::{RetryPolicy, TelesignClient};
    pub use channel_domain::telesign::*;
}
