//! Everything the channel says to TeleSign and hears from it: credentials, request signing, the
//! messaging client, callbacks and their verification, status codes.

pub mod callback;
pub mod client;
pub mod key;
pub mod sign;
pub mod status;
pub mod validate;

pub use callback::{verify_callback, Callback, DeliveryReport, InboundSms, SignatureError, VerifiedWith};
pub use client::{ApiHost, Failure, FailureKind, MessageAnswer, RetryPolicy, SendSms, TelesignClient, TelesignError};
pub use key::{ApiKey, Credentials, KeyError};
pub use status::MessageState;
