//! The stack's Cognito user pool (`cognito-idp`; the endpoint from `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`
//! when set): its app client's sign-in URLs, set once the API exists (`service::setup`).

use aws_sdk_cognitoidentityprovider::Client;

use channel_services::setup::AppClients;

/// The user pools of the account.
#[derive(Debug, Clone)]
pub struct UserPools {
    client: Client,
}

fn short(e: impl std::fmt::Debug) -> String {
    format!("{e:?}").chars().take(400).collect()
}

impl UserPools {
    /// A client with the shared AWS configuration, counting every request into `meter`.
    pub fn new(config: &aws_config::SdkConfig, meter: &crate::meter::Meter) -> Self {
        let conf = aws_sdk_cognitoidentityprovider::config::Builder::from(config)
            .interceptor(meter.interceptor("cognito-idp"))
            .build();
        Self {
            client: Client::from_conf(conf),
        }
    }

    /// The SDK client (the tests make a pool and a client with it).
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl AppClients for UserPools {
    /// 1 DescribeUserPoolClient, 1 UpdateUserPoolClient: an update resets whatever it does not
    /// name, so every setting read is written back, the URLs changed.
    async fn set_sign_in_urls(&self, user_pool_id: &str, client_id: &str, urls: &[String]) -> Result<(), String> {
        let described = self
            .client
            .describe_user_pool_client()
            .user_pool_id(user_pool_id)
            .client_id(client_id)
            .send()
            .await
            .map_err(short)?;
        let Some(c) = described.user_pool_client() else {
            return Err(format!("no app client {client_id} in {user_pool_id}"));
        };
        self.client
            .update_user_pool_client()
            .user_pool_id(user_pool_id)
            .client_id(client_id)
            .set_client_name(c.client_name().map(str::to_owned))
            .refresh_token_validity(c.refresh_token_validity())
            .access_token_validity(c.access_token_validity().unwrap_or(60))
            .id_token_validity(c.id_token_validity().unwrap_or(60))
            .set_token_validity_units(c.token_validity_units().cloned())
            .set_read_attributes(Some(c.read_attributes().to_vec()).filter(|v| !v.is_empty()))
            .set_write_attributes(Some(c.write_attributes().to_vec()).filter(|v| !v.is_empty()))
            .set_explicit_auth_flows(Some(c.explicit_auth_flows().to_vec()).filter(|v| !v.is_empty()))
            .set_supported_identity_providers(Some(c.supported_identity_providers().to_vec()).filter(|v| !v.is_empty()))
            .set_callback_urls(Some(urls.to_vec()))
            .set_logout_urls(Some(urls.to_vec()))
            .set_allowed_o_auth_flows(Some(c.allowed_o_auth_flows().to_vec()).filter(|v| !v.is_empty()))
            .set_allowed_o_auth_scopes(Some(c.allowed_o_auth_scopes().to_vec()).filter(|v| !v.is_empty()))
            .set_allowed_o_auth_flows_user_pool_client(c.allowed_o_auth_flows_user_pool_client())
            .set_prevent_user_existence_errors(c.prevent_user_existence_errors().cloned())
            .set_enable_token_revocation(c.enable_token_revocation())
            .set_auth_session_validity(c.auth_session_validity())
            .send()
            .await
            .map(|_| ())
            .map_err(short)
    }
}

/// CloudFormation's answer URL: a presigned S3 URL taking a PUT of the answer.
#[derive(Debug, Clone)]
pub struct CloudFormationAnswers {
    http: reqwest::Client,
}

impl CloudFormationAnswers {
    /// A client over the process's TLS configuration.
    pub fn new() -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured((*crate::tls::client_config()).clone())
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(Self { http })
    }
}

impl channel_services::setup::Responder for CloudFormationAnswers {
    /// 1 PUT, with no content type (the URL was signed without one).
    async fn respond(&self, url: &str, answer: &serde_json::Value) -> Result<(), String> {
        let body = answer.to_string();
        let put = self
            .http
            .put(url)
            .header("content-type", "")
            .header("content-length", body.len())
            .body(body)
            .send()
            .await
            .map_err(short)?;
        if put.status().is_success() {
            Ok(())
        } else {
            Err(format!("the answer URL answered {}", put.status()))
        }
    }
}
