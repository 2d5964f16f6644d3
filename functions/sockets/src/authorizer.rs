//! The WebSocket API's Lambda authorizer (WebSocket APIs have no JWT authorizer): the token of
//! the `token` query parameter verified as the HTTP API's JWT authorizer verifies a bearer
//! token, RS256 against the issuer's published keys (`JWKS_URL`, default
//! `<JWT_ISSUER>/.well-known/jwks.json`, read once and again at most once a minute for a key id
//! it does not know), the issuer (`JWT_ISSUER`), the audience (`JWT_AUDIENCE`: `aud`, or
//! `client_id` for access tokens), `exp` and `nbf` with no leeway. Its claims go to `$connect`
//! as the authorizer's context, every value a string as API Gateway passes claims.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerRequestTypeRequest, ApiGatewayCustomAuthorizerResponse,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

/// How often an unknown key id may make the keys be read again.
const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(60);

/// A token refused (the reason for the log only; the caller gets API Gateway's 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Where the issuer's keys come from.
#[derive(Debug)]
pub enum Keys {
    /// Keys known in advance (the local gateway's own).
    Fixed(JwkSet),
    /// The issuer's JWKS document, cached.
    Published {
        /// Its URL.
        url: String,
        /// The HTTPS client.
        http: reqwest::Client,
        /// The keys read last, and when.
        cache: Mutex<Option<(Instant, JwkSet)>>,
    },
}

/// The authorizer.
#[derive(Debug)]
pub struct Authorizer {
    keys: Keys,
    issuer: String,
    audiences: Vec<String>,
}

impl Authorizer {
    /// An authorizer of tokens from `issuer` for any of `audiences`, with keys from `keys`.
    pub fn new(keys: Keys, issuer: String, audiences: Vec<String>) -> Self {
        Self {
            keys,
            issuer,
            audiences,
        }
    }

    /// Builds the authorizer from its environment (`JWT_ISSUER`, `JWT_AUDIENCE`: one or more,
    /// separated by commas, `JWKS_URL`).
    pub fn from_env() -> Result<Self, shared::config::ConfigError> {
        let issuer = shared::config::required("JWT_ISSUER")?;
        let audiences = shared::config::required("JWT_AUDIENCE")?
            .split(',')
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .collect();
        let url = shared::config::optional("JWKS_URL")
            .unwrap_or_else(|| format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/')));
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured((*shared::tls::client_config()).clone())
            .timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| shared::config::ConfigError::Invalid {
                name: "JWKS_URL",
                reason: e.to_string(),
            })?;
        let keys = Keys::Published {
            url,
            http,
            cache: Mutex::new(None),
        };
        Ok(Self::new(keys, issuer, audiences))
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

    /// The claims of a valid token, every value a string (arrays flattened to `[a b]`).
    pub async fn verify(&self, token: &str) -> Result<HashMap<String, String>, Refused> {
        let head = jsonwebtoken::decode_header(token).map_err(|e| Refused(e.to_string()))?;
        let kid = head.kid.ok_or_else(|| Refused("no key id".into()))?;
        let key = self.key(&kid).await?;
        let mut rules = Validation::new(Algorithm::RS256);
        rules.leeway = 0;
        rules.set_issuer(&[&self.issuer]);
        rules.validate_aud = false;
        rules.set_required_spec_claims(&["exp", "iss"]);
        rules.validate_nbf = true;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &rules)
            .map_err(|e| Refused(e.to_string()))?
            .claims;
        if !self
            .audiences
            .iter()
            .any(|a| shared::access::audience_matches(&claims, a))
        {
            return Err(Refused("another audience".into()));
        }
        Ok(claims
            .into_iter()
            .map(|(k, v)| (k, shared::access::claim_text(v)))
            .collect())
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, Refused> {
        let find = |set: &JwkSet| set.find(kid).and_then(|jwk| DecodingKey::from_jwk(jwk).ok());
        let (url, http, cache) = match &self.keys {
            Keys::Fixed(set) => return find(set).ok_or_else(|| Refused("unknown key id".into())),
            Keys::Published { url, http, cache } => (url, http, cache),
        };
        let mut cached = cache.lock().await;
        if let Some(key) = cached.as_ref().and_then(|(_, set)| find(set)) {
            return Ok(key);
        }
        if cached
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < REFRESH_AT_MOST_EVERY)
        {
            return Err(Refused("unknown key id".into()));
        }
        let body = async { http.get(url).send().await?.error_for_status()?.bytes().await }
            .await
            .map_err(|e: reqwest::Error| Refused(format!("the issuer's keys could not be read: {e}")))?;
        let set: JwkSet =
            serde_json::from_slice(&body).map_err(|e| Refused(format!("the issuer's keys do not read: {e}")))?;
        let key = find(&set);
        *cached = Some((Instant::now(), set));
        key.ok_or_else(|| Refused("unknown key id".into()))
    }
}

/// The authorizer's context as `$connect` receives it, every value as a string.
pub fn claims_of_context(fields: &HashMap<String, Value>) -> HashMap<String, String> {
    fields
        .iter()
        .map(|(k, v)| (k.clone(), shared::access::claim_text(v.clone())))
        .collect()
}
