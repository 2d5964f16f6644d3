//! The WebSocket API's Lambda authorizer (WebSocket APIs have no JWT authorizer): the token of
//! the `token` query parameter verified by `shared::jwt` as the HTTP API's JWT authorizer verifies a bearer
//! token, RS256 against the issuer's published keys (`JWKS_URL`, default
//! `<JWT_ISSUER>/.well-known/jwks.json`, read once and again at most once a minute for a key id
//! it does not know), the issuer (`JWT_ISSUER`), the audience (`JWT_AUDIENCE`: `aud`, or
//! `client_id` for access tokens), `exp` and `nbf` with no leeway. Its claims go to `$connect`
//! as the authorizer's context, every value a string as API Gateway passes claims.

use std::collections::HashMap;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerRequestTypeRequest, ApiGatewayCustomAuthorizerResponse,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use serde_json::Value;
use shared::config::ConfigError;
use shared::jwt::{JwtKeys, JwtVerifier, Refused};

/// The authorizer.
#[derive(Debug)]
pub struct Authorizer {
    verifier: JwtVerifier,
}

impl Authorizer {
    /// An authorizer of the tokens `verifier` accepts.
    pub fn new(verifier: JwtVerifier) -> Self {
        Self { verifier }
    }

    /// Builds the authorizer from its environment (`JWT_ISSUER`, `JWT_AUDIENCE`: one or more,
    /// separated by commas, `JWKS_URL`).
    pub fn from_env() -> Result<Self, ConfigError> {
        let issuer = shared::config::required("JWT_ISSUER")?;
        let audiences = shared::config::required("JWT_AUDIENCE")?
            .split(',')
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .collect();
        let url = shared::config::optional("JWKS_URL")
            .unwrap_or_else(|| format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/')));
        let keys =
            JwtKeys::published(url, (*shared::tls::client_config()).clone()).map_err(|e| ConfigError::Invalid {
                name: "JWKS_URL",
                reason: e.to_string(),
            })?;
        Ok(Self::new(JwtVerifier::new(keys, issuer, audiences)))
    }
    /// Answers API Gateway: an Allow policy with the claims as context, or `Unauthorized`
    /// (API Gateway's 401).
    pub async fn authorize(
        &self,
        request: ApiGatewayCustomAuthorizerRequestTypeRequest,
    ) -> Result<ApiGatewayCustomAuthorizerResponse, Refused> {
        let token = request
            .query_string_parameters
            .first("token")
            .unwrap_or_default()
            .to_owned();
        let claims = match self.verify(&token).await {
            Ok(c) => c,
            Err(why) => {
                tracing::warn!(reason = %why, "socket token refused");
                return Err(Refused("Unauthorized".into()));
            }
        };
        let mut statement = IamPolicyStatement::default();
        statement.action = vec!["execute-api:Invoke".into()];
        statement.effect = IamPolicyEffect::Allow;
        statement.resource = vec![request.method_arn.unwrap_or_else(|| "*".into())];
        let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
        policy.version = Some("2012-10-17".into());
        policy.statement = vec![statement];
        let mut response = ApiGatewayCustomAuthorizerResponse::default();
        response.principal_id = claims.get("sub").cloned();
        response.policy_document = policy;
        response.context = serde_json::to_value(&claims).unwrap_or(Value::Null);
        Ok(response)
    }

    /// The claims of a valid token (`shared::jwt`).
    pub async fn verify(&self, token: &str) -> Result<HashMap<String, String>, Refused> {
        self.verifier.verify(token).await
    }
}

/// The authorizer's context as `$connect` receives it, every value as a string.
pub fn claims_of_context(fields: &HashMap<String, Value>) -> HashMap<String, String> {
    fields
        .iter()
        .map(|(k, v)| (k.clone(), shared::access::claim_text(v.clone())))
        .collect()
}
