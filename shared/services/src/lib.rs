//! The service layer: the rules of the channel over domain types, and nothing of HTTP or AWS.
//! Each service depends on the capability traits of [`ports`]; the functions build them over the
//! DynamoDB, Secrets Manager and TeleSign adapters, the tests over [`fakes`].

pub mod access;
pub mod accounts;
pub mod callbacks;
pub mod desk;
pub mod directory;
pub mod events;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
#[cfg(test)]
mod harness;
pub mod ports;
pub mod privacy;
#[cfg(test)]
mod rules;
pub mod send;
pub mod setup;
pub mod sweeper;
pub mod team;
pub mod worker;
