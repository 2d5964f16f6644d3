//! The HTTP edge: what every function's handler shares. The caller and the request's parts
//! (`http`), the one error enum mapped to the contract's answer (`error`), each invocation's span
//! and metrics (`observe`), the logs' setup (`logging`), and the wiring of a function from its
//! environment (`runtime`).

#![deny(missing_docs)]

pub mod error;
pub mod http;
pub mod logging;
pub mod observe;
pub mod runtime;
pub mod testing;

pub use error::ApiError;
