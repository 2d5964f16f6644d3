//! The adapters: the ports of `channel_services` over AWS and TeleSign. DynamoDB (`store`, its keys
//! in `table`), Secrets Manager (`secrets`), SQS (`queue`: the parking and work queues),
//! EventBridge (`bus`), the WebSocket API's `@connections` (`push`), Cognito and CloudFormation's
//! answers (`cognito`), TeleSign's HTTP client (`gateway`); and their plumbing: the AWS
//! configuration (`aws`), one TLS client for every call (`tls`), the request meter of the tests
//! and benchmarks (`meter`), and the environment's settings (`config`).

#![deny(missing_docs)]

pub mod aws;
pub mod bus;
pub mod cognito;
pub mod config;
pub mod exports;
pub mod gateway;
pub mod jwt;
pub mod meter;
pub mod push;
pub mod queue;
pub mod secrets;
pub mod store;
pub mod table;
pub mod tls;
