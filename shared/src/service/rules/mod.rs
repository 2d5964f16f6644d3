//! The rules of inbound, send, moves, reports and accounts, given / when / then, against the
//! in-memory adapters: the whole set runs in well under a second.

mod accounts;
mod callbacks;
mod desk;
mod metrics;
mod send;
