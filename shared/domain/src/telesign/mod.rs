//! Everything the channel says to TeleSign and hears from it: credentials, request signing, the
//! messaging API's requests, answers and failures, callbacks and their verification, status
//! codes. The HTTP client is an adapter.

pub mod callback;
pub mod key;
pub mod sign;
pub mod status;
pub mod validate;
pub mod wire;

pub use callback::{verify_callback, Callback, DeliveryReport, InboundSms, SignatureError, VerifiedWith};
pub use key::{ApiKey, Credentials, KeyError};
pub use status::MessageState;
pub use wire::{ApiHost, Failure, FailureKind, MessageAnswer, SendSms, TelesignError};
