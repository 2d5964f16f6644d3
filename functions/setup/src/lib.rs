//! The stack's custom resource (`Custom::ConsoleSignIn`): CloudFormation's request, carried out by
//! `shared::service::setup` over the user pool and answered at the request's URL.

use shared::cognito::{CloudFormationAnswers, UserPools};
use shared::service::setup::{ResourceRequest, Setup};

/// The setup over Cognito and CloudFormation's answer URL.
pub type Service = Setup<UserPools, CloudFormationAnswers>;

/// The function's dependencies, built once per sandbox.
#[derive(Debug)]
pub struct App {
    service: Service,
}

impl App {
    /// Builds the function from its environment (the AWS configuration).
    pub async fn from_env() -> Result<Self, shared::config::ConfigError> {
        Self::from_clients(&shared::runtime::Clients::from_env().await?)
    }

    /// Builds the function from clients made once (a test gives it a meter of its own).
    pub fn from_clients(clients: &shared::runtime::Clients) -> Result<Self, shared::config::ConfigError> {
        let answers = CloudFormationAnswers::new().map_err(|e| shared::config::ConfigError::Invalid {
            name: "TLS",
            reason: e.to_string(),
        })?;
        Ok(Self {
            service: Setup {
                clients: UserPools::new(&clients.aws, &clients.meter),
                responder: answers,
            },
        })
    }

    /// One request of CloudFormation; `Err` only when its answer could not be put.
    pub async fn handle(&self, event: serde_json::Value) -> Result<(), String> {
        let request: ResourceRequest =
            serde_json::from_value(event).map_err(|e| format!("not a custom resource request: {e}"))?;
        self.service.handle(&request).await
    }
}
