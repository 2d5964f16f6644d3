//! The stack's setup at deploy time, as a CloudFormation custom resource: what the template
//! cannot say without a cycle.
//!
//! The console's sign-in: the HTTP API's JWT authorizer names the user pool's app client (its
//! audience), so the app client cannot name the API's URL as its callback and sign-out URL
//! (CloudFormation refuses the cycle). The `ConsoleSignIn` resource depends on both and, once
//! they exist, sets the app client's callback and sign-out URLs to the console's, keeping every
//! other setting of the client as it is; on every update too (its properties name the client's
//! settings, so a change of them, which resets the client's URLs, runs it again). Deleting it
//! changes nothing: the client goes with the stack.

use std::future::Future;

use serde::Deserialize;
use serde_json::{json, Value};

/// A CloudFormation custom resource request, as Lambda receives it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceRequest {
    /// `Create`, `Update` or `Delete`.
    pub request_type: String,
    /// Where the answer goes (a presigned S3 URL).
    #[serde(rename = "ResponseURL")]
    pub response_url: String,
    /// The stack.
    pub stack_id: String,
    /// This request.
    pub request_id: String,
    /// The resource's logical id.
    pub logical_resource_id: String,
    /// The id an earlier answer gave (updates and deletes).
    #[serde(default)]
    pub physical_resource_id: Option<String>,
    /// The resource's properties.
    #[serde(default)]
    pub resource_properties: Value,
}

/// What the console's sign-in needs set: the app client and the console's URL.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConsoleSignIn {
    /// The user pool.
    pub user_pool_id: String,
    /// Its app client.
    pub client_id: String,
    /// The console's URL: the callback and sign-out URL.
    pub console_url: String,
}

/// The app clients of a user pool.
pub trait AppClients: Send + Sync {
    /// Sets the client's callback and sign-out URLs to `urls`, every other setting kept.
    fn set_sign_in_urls(
        &self,
        user_pool_id: &str,
        client_id: &str,
        urls: &[String],
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// Where CloudFormation waits for the answer.
pub trait Responder: Send + Sync {
    /// Puts the answer at the request's URL.
    fn respond(&self, url: &str, answer: &Value) -> impl Future<Output = Result<(), String>> + Send;
}

/// The setup's service.
#[derive(Debug)]
pub struct Setup<C, R> {
    /// The user pool's app clients.
    pub clients: C,
    /// CloudFormation's answer URL.
    pub responder: R,
}

impl<C: AppClients, R: Responder> Setup<C, R> {
    /// Carries a request out and answers CloudFormation (SUCCESS or FAILED with the reason);
    /// `Err` only when the answer itself could not be put (CloudFormation then waits for its
    /// timeout).
    pub async fn handle(&self, request: &ResourceRequest) -> Result<(), String> {
        let outcome = self.carry_out(request).await;
        if let Err(why) = &outcome {
            tracing::error!(request_type = %request.request_type, reason = %why, "the stack's setup failed");
        }
        self.responder
            .respond(&request.response_url, &answer_of(request, &outcome))
            .await
    }

    async fn carry_out(&self, request: &ResourceRequest) -> Result<(), String> {
        if request.request_type == "Delete" {
            return Ok(());
        }
        let sign_in: ConsoleSignIn = serde_json::from_value(request.resource_properties.clone())
            .map_err(|e| format!("the resource's properties: {e}"))?;
        if !sign_in.console_url.starts_with("https://") {
            return Err(format!("the console URL must be https: {}", sign_in.console_url));
        }
        let urls = [sign_in.console_url.clone()];
        self.clients
            .set_sign_in_urls(&sign_in.user_pool_id, &sign_in.client_id, &urls)
            .await?;
        tracing::info!(client_id = %sign_in.client_id, console_url = %sign_in.console_url, "the console's sign-in URLs set");
        Ok(())
    }
}

/// CloudFormation's answer to a request: its ids, the outcome, the resource's physical id (the
/// one given before, else the logical id: updates never replace it).
pub fn answer_of(request: &ResourceRequest, outcome: &Result<(), String>) -> Value {
    let physical = request
        .physical_resource_id
        .clone()
        .unwrap_or_else(|| format!("{}-console-sign-in", request.logical_resource_id));
    let mut answer = json!({
        "Status": if outcome.is_ok() { "SUCCESS" } else { "FAILED" },
        "PhysicalResourceId": physical,
        "StackId": request.stack_id,
        "RequestId": request.request_id,
        "LogicalResourceId": request.logical_resource_id,
    });
    if let Err(why) = outcome {
        // CloudFormation shows the reason in the stack's events (at most 4 KB of answer).
        answer["Reason"] = json!(why.chars().take(1000).collect::<String>());
    }
    answer
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A pool, a client and the URLs set on it.
    type UrlsSet = (String, String, Vec<String>);

    #[derive(Default, Clone)]
    struct Recorded {
        set: Arc<Mutex<Vec<UrlsSet>>>,
        answers: Arc<Mutex<Vec<(String, Value)>>>,
        failing: bool,
    }

    impl AppClients for Recorded {
        async fn set_sign_in_urls(&self, pool: &str, client: &str, urls: &[String]) -> Result<(), String> {
            if self.failing {
                return Err("ResourceNotFoundException: no such client".into());
            }
            self.set
                .lock()
                .unwrap()
                .push((pool.into(), client.into(), urls.to_vec()));
            Ok(())
        }
    }

    impl Responder for Recorded {
        async fn respond(&self, url: &str, answer: &Value) -> Result<(), String> {
            self.answers.lock().unwrap().push((url.into(), answer.clone()));
            Ok(())
        }
    }

    fn request(kind: &str, properties: Value) -> ResourceRequest {
        serde_json::from_value(json!({
            "RequestType": kind, "ResponseURL": "https://bucket.s3.example/answer?sig=1", "StackId": "arn:stack",
            "RequestId": "r-1", "LogicalResourceId": "ConsoleSignIn", "ResourceType": "Custom::ConsoleSignIn",
            "ServiceToken": "arn:fn", "ResourceProperties": properties}))
        .unwrap()
    }

    fn setup(r: &Recorded) -> Setup<Recorded, Recorded> {
        Setup {
            clients: r.clone(),
            responder: r.clone(),
        }
    }

    #[tokio::test]
    async fn a_create_sets_the_console_as_the_clients_callback_and_sign_out_url_and_answers_success() {
        let r = Recorded::default();
        let props = json!({"UserPoolId": "eu-west-1_A", "ClientId": "c1", "ConsoleUrl": "https://api.example/console", "ServiceToken": "arn:fn"});
        setup(&r).handle(&request("Create", props)).await.unwrap();
        assert_eq!(
            r.set.lock().unwrap()[0],
            (
                "eu-west-1_A".into(),
                "c1".into(),
                vec!["https://api.example/console".to_owned()]
            )
        );
        let (url, answer) = r.answers.lock().unwrap()[0].clone();
        assert_eq!(url, "https://bucket.s3.example/answer?sig=1");
        assert_eq!(
            (answer["Status"].as_str(), answer["RequestId"].as_str()),
            (Some("SUCCESS"), Some("r-1"))
        );
        assert_eq!(answer["PhysicalResourceId"], "ConsoleSignIn-console-sign-in");
    }

    #[tokio::test]
    async fn a_failure_is_answered_failed_with_its_reason_and_a_delete_changes_nothing() {
        let r = Recorded {
            failing: true,
            ..Recorded::default()
        };
        let props = json!({"UserPoolId": "p", "ClientId": "c", "ConsoleUrl": "https://api.example/console"});
        setup(&r).handle(&request("Update", props)).await.unwrap();
        let answer = r.answers.lock().unwrap()[0].1.clone();
        assert_eq!(answer["Status"], "FAILED");
        assert!(answer["Reason"].as_str().unwrap().contains("no such client"));
        let r = Recorded::default();
        setup(&r).handle(&request("Delete", json!({}))).await.unwrap();
        assert!(r.set.lock().unwrap().is_empty());
        assert_eq!(r.answers.lock().unwrap()[0].1["Status"], "SUCCESS");
    }

    #[tokio::test]
    async fn a_console_url_that_is_not_https_is_refused() {
        let r = Recorded::default();
        let props = json!({"UserPoolId": "p", "ClientId": "c", "ConsoleUrl": "http://api.example/console"});
        setup(&r).handle(&request("Create", props)).await.unwrap();
        assert_eq!(r.answers.lock().unwrap()[0].1["Status"], "FAILED");
        assert!(r.set.lock().unwrap().is_empty());
    }
}
