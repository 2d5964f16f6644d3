//! The SMS channel's shared crate: the domain (conversations, SMS text, phone numbers), the
//! TeleSign protocol, and the AWS adapters every function uses.

#![deny(missing_docs)]

pub mod account;
pub mod aws;
pub mod cache;
pub mod config;
pub mod conversation;
pub mod directory;
pub mod error;
pub mod http;
pub mod ids;
pub mod logging;
pub mod meter;
pub mod phone;
pub mod runtime;
pub mod secrets;
pub mod sms;
pub mod store;
pub mod table;
pub mod telesign;
pub mod tls;

pub use error::ApiError;
