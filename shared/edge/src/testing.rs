//! A request as API Gateway's HTTP API hands one to a function (payload format 2.0, the JWT
//! authorizer's claims as strings), built without a gateway: each function's edge tests parse
//! and map errors on the in-memory adapters with it.

use lambda_http::Request;
use serde_json::{json, Map, Value};

/// A request under construction.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    method: String,
    route: String,
    path: String,
    params: Map<String, Value>,
    query: Vec<(String, String)>,
    headers: Map<String, Value>,
    body: Option<String>,
    claims: Option<Map<String, Value>>,
}

impl ApiRequest {
    /// A request of the route `route_key` (`POST /conversations/{conversation_id}/notes`) to
    /// `path`, with no caller.
    pub fn new(route_key: &str, path: &str) -> Self {
        let (method, route) = route_key.split_once(' ').unwrap_or(("GET", route_key));
        Self {
            method: method.to_owned(),
            route: route.to_owned(),
            path: path.to_owned(),
            params: Map::new(),
            query: Vec::new(),
            headers: Map::new(),
            body: None,
            claims: None,
        }
    }

    /// A path parameter, as API Gateway decodes it.
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.params.insert(name.to_owned(), json!(value));
        self
    }

    /// A query parameter.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A header (its name lower-cased, as API Gateway passes it).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.insert(name.to_ascii_lowercase(), json!(value));
        self
    }

    /// A body, as sent.
    pub fn body(mut self, text: &str) -> Self {
        self.body = Some(text.to_owned());
        self
    }

    /// The caller the authorizer verified: `sub` and its roles under the roles claim.
    pub fn caller(mut self, sub: &str, roles: &[&str]) -> Self {
        let mut claims = Map::new();
        claims.insert("sub".into(), json!(sub));
        claims.insert(
            crate::http::roles_claim().into(),
            json!(format!("[{}]", roles.join(" "))),
        );
        self.claims = Some(claims);
        self
    }

    /// The request, as `lambda_http` reads the event.
    pub fn build(self) -> Request {
        let raw_query: Vec<String> = self
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", encoded(k), encoded(v)))
            .collect();
        let mut query = Map::new();
        for (k, v) in &self.query {
            query.insert(k.clone(), json!(v));
        }
        let mut context = json!({
            "routeKey": format!("{} {}", self.method, self.route),
            "accountId": "test", "apiId": "test", "stage": "$default", "requestId": "test-request",
            "domainName": "api.example", "domainPrefix": "api", "time": "07/Dec/2026:00:00:00 +0000",
            "timeEpoch": 1_796_601_600_000_i64,
            "http": {"method": self.method, "path": self.path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "test"},
        });
        if let Some(claims) = self.claims {
            context["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
        }
        let event = json!({
            "version": "2.0",
            "routeKey": format!("{} {}", self.method, self.route),
            "rawPath": self.path,
            "rawQueryString": raw_query.join("&"),
            "headers": self.headers,
            "queryStringParameters": query,
            "pathParameters": self.params,
            "requestContext": context,
            "body": self.body,
            "isBase64Encoded": false,
        });
        lambda_http::request::from_str(&event.to_string()).expect("an API Gateway v2 event")
    }
}

/// A query string's part percent-encoded (everything but the unreserved characters).
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
