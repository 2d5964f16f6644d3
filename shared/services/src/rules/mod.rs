//! The rules of inbound, send, moves, reports, accounts and access, given / when / then, against the
//! in-memory adapters: the whole set runs in well under a second.

mod access;
mod accounts;
mod automation;
mod callbacks;
mod desk;
mod events;
mod metrics;
mod privacy;
mod send;

/// Every store port's contract, held by the in-memory store (`tests/ports.rs` holds DynamoDB to it).
mod contracts {
    crate::port_contract_tests!(crate::testkit::fakes::MemoryStore::default());
}
