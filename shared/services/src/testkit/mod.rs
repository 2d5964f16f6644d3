//! The services' test kit (feature `testkit`): in-memory adapters of every port ([`fakes`]), a
//! world of an account, its key and its number over them ([`harness`]), and the contract every
//! store port's implementation must keep ([`contracts`]), run against both stores.

pub mod contracts;
pub mod fakes;
#[allow(missing_docs)]
pub mod harness;
