//! Counts of the AWS requests a function makes, by operation and by the IAM action each needs:
//! what the benchmarks report as request budgets and what the template's policies are checked
//! against. Counting is a few map updates per request.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemInput;
use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueInput;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// How the name of the secret holding the key of opt-out tags ends (`<stack>/opt-out-key`; the
/// template grants it apart from the account secrets).
pub const OPT_OUT_KEY_SUFFIX: &str = "opt-out-key";

/// Shared counters: every client built from one [`crate::runtime::Clients`] adds to the same.
#[derive(Debug, Clone, Default)]
pub struct Meter {
    counts: Arc<Mutex<Counts>>,
}

/// What a meter has counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests by `service:Operation` (one per operation, whatever its retries).
    pub requests: BTreeMap<String, u64>,
    /// IAM actions the requests needed, with how often: the action, the resource (`table`,
    /// `index/<name>`, `secret` or `queue`), and `transaction` for an item of a transaction (billed twice).
    pub actions: BTreeMap<String, u64>,
}

impl Counts {
    /// Requests to one service (`dynamodb`, `secretsmanager`).
    pub fn requests_to(&self, service: &str) -> u64 {
        let prefix = format!("{service}:");
        self.requests
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, v)| v)
            .sum()
    }
}

impl Meter {
    /// What was counted so far.
    pub fn snapshot(&self) -> Counts {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Starts again from zero.
    pub fn reset(&self) {
        *self.counts.lock().unwrap_or_else(|p| p.into_inner()) = Counts::default();
    }

    fn add(&self, request: String, actions: Vec<String>) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts.requests.entry(request).or_default() += 1;
        for a in actions {
            *counts.actions.entry(a).or_default() += 1;
        }
    }

    /// Counts one request made without the SDK (S3's, signed by hand): `request` as
    /// `service:Operation`, with the IAM actions it is authorised as.
    pub fn record(&self, request: &str, actions: &[&str]) {
        self.add(request.to_owned(), actions.iter().map(|a| (*a).to_owned()).collect());
    }

    /// The interceptor that counts into this meter.
    pub fn interceptor(&self, service: &'static str) -> Counting {
        Counting {
            meter: self.clone(),
            service,
        }
    }
}

/// An SDK interceptor that counts each operation once (before it is serialized, so retries do
/// not count again).
#[derive(Debug)]
pub struct Counting {
    meter: Meter,
    service: &'static str,
}

impl Intercept for Counting {
    fn name(&self) -> &'static str {
        "Counting"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_else(|| "Unknown".into());
        let actions = self.actions_of(&operation, context.input());
        self.meter.add(format!("{}:{operation}", self.service), actions);
        Ok(())
    }
}

impl Counting {
    /// The IAM actions (with the resource each names) that one request of `operation` is
    /// authorised as: a transaction's items one by one, a query on its index, a batch as its
    /// single action.
    fn actions_of(
        &self,
        operation: &str,
        input: &aws_smithy_runtime_api::client::interceptors::context::Input,
    ) -> Vec<String> {
        let mut actions = Vec::new();
        if let Some(t) = input.downcast_ref::<TransactWriteItemsInput>() {
            for item in t.transact_items() {
                let action = if item.put().is_some() {
                    "PutItem"
                } else if item.update().is_some() {
                    "UpdateItem"
                } else if item.delete().is_some() {
                    "DeleteItem"
                } else {
                    "ConditionCheckItem"
                };
                actions.push(format!("dynamodb:{action} table transaction"));
            }
        } else if let Some(q) = input.downcast_ref::<QueryInput>() {
            actions.push(match q.index_name() {
                Some(index) => format!("dynamodb:Query index/{index}"),
                None => "dynamodb:Query table".into(),
            });
        } else if input.downcast_ref::<BatchGetItemInput>().is_some() {
            actions.push("dynamodb:BatchGetItem table".into());
        } else if self.service == "dynamodb" {
            actions.push(format!("dynamodb:{operation} table"));
        } else if self.service == "dynamodbstreams" {
            // The event source mapping reads the table's stream with the function's role.
            actions.push(format!("dynamodb:{operation} stream"));
        } else if self.service == "execute-api" {
            // Posts to connections are authorised as one action on the API's connections.
            actions.push("execute-api:ManageConnections connections".into());
        } else if self.service == "events" {
            actions.push(format!("events:{operation} bus"));
        } else if self.service == "cognito-idp" {
            // The stack's user pool (its app client, its users).
            actions.push(format!("cognito-idp:{operation} userpool"));
        } else if self.service == "sqs" {
            // A batch is authorised as its single action, on the parking queue.
            let action = operation.trim_end_matches("Batch");
            actions.push(format!("sqs:{action} queue"));
        } else if input
            .downcast_ref::<GetSecretValueInput>()
            .and_then(|g| g.secret_id())
            .is_some_and(|id| id.ends_with(OPT_OUT_KEY_SUFFIX))
        {
            actions.push(format!("{}:{operation} opt-out-key", self.service));
        } else {
            actions.push(format!("{}:{operation} secret", self.service));
        }
        actions
    }
}
