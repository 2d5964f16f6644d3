//! The SMS channel's shared crate: the domain (conversations, SMS text, phone numbers), the
//! TeleSign protocol, and the AWS adapters every function uses.

#![deny(missing_docs)]

pub mod aws;
pub mod config;
pub mod error;
pub mod http;
pub mod logging;
pub mod phone;
pub mod sms;
pub mod store;
pub mod table;
pub mod telesign;

pub use error::ApiError;
