//! The channel's domain: pure types and rules, with no I/O, no runtime and no AWS or HTTP client
//! (Cargo holds it to that: this crate depends on none of them). Ids and times (`ids`), phone
//! numbers (`phone`), SMS text (`sms`), conversations and their state machine (`conversation`),
//! accounts and their numbers (`account`), who may do what (`access`), the audit trail
//! (`audit`), automated messages and business hours (`automation`), canned responses
//! (`canned`), the events of a change (`events`), the jobs a change makes due (`jobs`), pages of
//! capped lists (`paging`), opt-out tags (`privacy`), a send's outcome (`sent`), and TeleSign's protocol (`telesign`:
//! signing, callbacks, the messaging API's requests, answers and failures, status codes).

#![deny(missing_docs)]

pub mod access;
pub mod account;
pub mod audit;
pub mod automation;
pub mod canned;
pub mod conversation;
pub mod events;
pub mod ids;
pub mod jobs;
pub mod paging;
pub mod phone;
pub mod privacy;
pub mod sent;
pub mod sms;
pub mod telesign;
