//! `GET /console`: the agent console, one HTML page with its script and style embedded (built
//! from `console/` by esbuild; `console/dist/console.js` is committed), so the deployed stack needs
//! nothing but this function. The page calls the API from the same origin; deployed, it signs in
//! against the API's JWT issuer (`CONSOLE_OIDC_ISSUER`, `CONSOLE_OIDC_CLIENT_ID`) and takes its
//! live updates from the WebSocket API (`CONSOLE_SOCKET_URL`; unset, the same origin's `/ws`, as
//! the local stack serves it).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::json;
use sha2::{Digest, Sha256};

const PAGE: &str = include_str!("../../../console/index.html");
/// The desk's style, then the operator's pages' (`console/src/admin.css`, every rule under `.adm`).
const STYLE: &str = concat!(
    include_str!("../../../console/src/console.css"),
    include_str!("../../../console/src/admin.css")
);
const SCRIPT: &str = include_str!("../../../console/dist/console.js");

/// The page, assembled once per sandbox.
#[derive(Debug)]
pub struct App {
    html: String,
    policy: String,
    auth: Option<(String, String)>,
    socket: Option<String>,
    /// The provider's logout and revocation endpoints, when the configuration names them.
    endpoints: (Option<String>, Option<String>),
}

fn csp_hash(text: &str) -> String {
    format!("'sha256-{}'", STANDARD.encode(Sha256::digest(text.as_bytes())))
}

impl App {
    /// Builds the page from the environment (`CONSOLE_OIDC_ISSUER` and `CONSOLE_OIDC_CLIENT_ID`,
    /// both or neither).
    pub async fn from_env() -> Result<Self, shared::config::ConfigError> {
        Self::from_settings()
    }

    /// Builds the page (the local gateway's constructor; the console calls no AWS service).
    pub fn from_clients(_clients: &shared::runtime::Clients) -> Result<Self, shared::config::ConfigError> {
        Self::from_settings()
    }

    fn from_settings() -> Result<Self, shared::config::ConfigError> {
        let issuer = shared::config::url("CONSOLE_OIDC_ISSUER")?;
        let client = shared::config::optional("CONSOLE_OIDC_CLIENT_ID");
        let socket = shared::config::optional("CONSOLE_SOCKET_URL");
        let app = match (issuer, client) {
            (Some(issuer), Some(client_id)) => Self::new(Some((&issuer, &client_id))),
            (None, None) => Self::new(None),
            _ => {
                return Err(shared::config::ConfigError::Invalid {
                    name: "CONSOLE_OIDC_CLIENT_ID",
                    reason: "CONSOLE_OIDC_ISSUER and CONSOLE_OIDC_CLIENT_ID are set together".into(),
                })
            }
        };
        let app = match socket {
            Some(url) => app.with_socket(&url),
            None => app,
        };
        // Cognito's logout and revocation endpoints (its discovery names neither); another
        // provider's come from its discovery document.
        let logout = shared::config::url("CONSOLE_OIDC_LOGOUT_URL")?;
        let revoke = shared::config::url("CONSOLE_OIDC_REVOKE_URL")?;
        Ok(app.with_endpoints(logout.as_deref(), revoke.as_deref()))
    }

    /// The page told where its provider signs out (`logout_url`, Cognito's `/logout`) and revokes
    /// a refresh token (`revoke_url`).
    pub fn with_endpoints(mut self, logout: Option<&str>, revoke: Option<&str>) -> Self {
        self.endpoints = (logout.map(str::to_owned), revoke.map(str::to_owned));
        let auth = self.auth.clone();
        let auth = auth.as_ref().map(|(i, c)| (i.as_str(), c.as_str()));
        let socket = self.socket.clone();
        let endpoints = self.endpoints.clone();
        let mut page = Self::build(auth, socket.as_deref());
        page.endpoints = endpoints;
        page.rebuilt()
    }

    /// The page signing in against `issuer` as the app client `client_id` (the local stack's
    /// identity stand-in), its socket kept.
    pub fn signing_in_with(self, issuer: &str, client_id: &str) -> Self {
        let mut page = Self::build(Some((issuer, client_id)), self.socket.as_deref());
        page.endpoints = self.endpoints;
        page.rebuilt()
    }

    /// The page taking its live updates from the WebSocket API at `url` (`wss://…`).
    pub fn with_socket(self, url: &str) -> Self {
        let auth = self.auth.clone();
        let auth = auth.as_ref().map(|(i, c)| (i.as_str(), c.as_str()));
        let mut page = Self::build(auth, Some(url));
        page.endpoints = self.endpoints;
        page.rebuilt()
    }

    /// The page again with its provider's endpoints in its configuration.
    fn rebuilt(self) -> Self {
        let (logout, revoke) = self.endpoints.clone();
        if logout.is_none() && revoke.is_none() {
            return self;
        }
        let auth = self.auth.as_ref().map(|(i, c)| (i.as_str(), c.as_str()));
        let mut page = Self::assemble(auth, self.socket.as_deref(), logout.as_deref(), revoke.as_deref());
        page.endpoints = (logout, revoke);
        page
    }

    /// The page with sign-in against `auth` (issuer, client id), or none.
    pub fn new(auth: Option<(&str, &str)>) -> Self {
        Self::build(auth, None)
    }

    fn build(auth: Option<(&str, &str)>, socket: Option<&str>) -> Self {
        Self::assemble(auth, socket, None, None)
    }

    fn assemble(auth: Option<(&str, &str)>, socket: Option<&str>, logout: Option<&str>, revoke: Option<&str>) -> Self {
        let mut config = match auth {
            Some((issuer, client_id)) => json!({"auth": {"issuer": issuer, "client_id": client_id}}),
            None => json!({"auth": null}),
        };
        if auth.is_some() {
            for (name, url) in [("logout_url", logout), ("revoke_url", revoke)] {
                if let Some(url) = url {
                    config["auth"][name] = json!(url);
                }
            }
        }
        config["socket"] = json!(socket);
        // `<` escaped: the JSON sits in a script element.
        let config = config.to_string().replace('<', "\\u003c");
        let html = PAGE
            .replace("/*STYLE*/", STYLE)
            .replace("/*CONFIG*/", &config)
            .replace("/*SCRIPT*/", SCRIPT);
        // Signed in, the page also talks to the provider's endpoints (their hosts vary: HTTPS only).
        let sign_in = auth.map(|_| " https:").unwrap_or_default();
        // The live updates: the same origin's socket ('self'), or the WebSocket API's URL.
        let live = socket.map(|u| format!(" {u}")).unwrap_or_default();
        let policy = format!(
            "default-src 'none'; script-src {}; style-src {}; connect-src 'self'{sign_in}{live}; img-src 'self'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            csp_hash(SCRIPT),
            csp_hash(STYLE)
        );
        let auth = auth.map(|(i, c)| (i.to_owned(), c.to_owned()));
        Self {
            html,
            policy,
            auth,
            socket: socket.map(str::to_owned),
            endpoints: (None, None),
        }
    }

    /// Answers `GET /console`.
    pub async fn handle(&self, _req: Request) -> Response<Body> {
        let mut response = Response::new(Body::Text(self.html.clone()));
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
        headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
        if let Ok(v) = HeaderValue::from_str(&self.policy) {
            headers.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        response
    }
}

impl shared::runtime::HttpFunction for App {
    fn answer(&self, request: Request) -> impl std::future::Future<Output = Response<Body>> + Send {
        self.handle(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_embeds_its_assets_and_allows_only_them() {
        let app = App::new(None);
        assert!(app.html.contains("SMS conversations") && !app.html.contains("/*SCRIPT*/"));
        assert!(app.html.contains(r#""auth":null"#) && app.html.contains(r#""socket":null"#));
        assert!(app.policy.contains(&csp_hash(SCRIPT)) && app.policy.contains(&csp_hash(STYLE)));
        assert!(
            app.html.contains(".adm-field-error"),
            "the operator's pages' style is in the page"
        );
        assert!(!app.policy.contains("unsafe-inline"));
    }

    #[test]
    fn the_websocket_api_is_in_the_page_and_the_only_other_place_it_connects_to() {
        let app = App::new(None).with_socket("wss://abc.execute-api.eu-west-1.amazonaws.com/live");
        assert!(app
            .html
            .contains(r#""socket":"wss://abc.execute-api.eu-west-1.amazonaws.com/live""#));
        assert!(app
            .policy
            .contains("connect-src 'self' wss://abc.execute-api.eu-west-1.amazonaws.com/live;"));
    }

    #[test]
    fn the_providers_logout_and_revocation_endpoints_are_in_the_sign_in_config() {
        let app = App::new(Some(("https://issuer.example", "client")))
            .with_socket("wss://abc.example/live")
            .with_endpoints(
                Some("https://d.auth.example/logout"),
                Some("https://d.auth.example/oauth2/revoke"),
            );
        assert!(
            app.html.contains(r#""logout_url":"https://d.auth.example/logout""#),
            "{}",
            app.html
        );
        assert!(app
            .html
            .contains(r#""revoke_url":"https://d.auth.example/oauth2/revoke""#));
        assert!(app.html.contains("wss://abc.example/live"), "the socket kept");
    }

    #[test]
    fn the_sign_in_config_cannot_close_its_script_element() {
        let app = App::new(Some(("https://issuer.example/</script>", "client")));
        assert!(!app.html.contains("issuer.example/</script>"));
    }
}
