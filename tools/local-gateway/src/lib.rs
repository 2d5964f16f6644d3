//! The local stack's API Gateway: serves every function behind the routes of `template.yaml`,
//! turning each HTTP request into the API Gateway v2 event the deployed function receives and
//! handing it to the function's own handler.

pub mod routes;

use std::convert::Infallible;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tracing::Instrument;

/// The gateway's logs, for people reading `.local/<stack>/local-gateway.log`: the Lambda runtime's
/// format (`AWS_LAMBDA_LOG_FORMAT`, `RUST_LOG`) with the time of each line added, and each line a
/// function writes carrying that function's name (the `invoke` span), since every function runs
/// in this one process.
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned());
    let filter = EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_target(false)
        .with_ansi(false)
        .with_env_filter(filter);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Every function of the stack, built once, each with a meter of its own.
pub struct Gateway {
    /// Each function's AWS request counts, by binary name.
    pub meters: Vec<(&'static str, shared::meter::Meter)>,
    /// `inbound-callback`.
    pub inbound: inbound_callback::App,
    /// `outbound-send`.
    pub outbound: outbound_send::App,
    /// `validate-credentials`.
    pub validate: validate_credentials::App,
    /// `accounts`.
    pub accounts: accounts::App,
    /// `conversations`.
    pub conversations: conversations::App,
    /// `console`.
    pub console: console::App,
}

/// The largest body the gateway takes (API Gateway's limit is 10 MB; the functions refuse more
/// than 64 KiB themselves).
const MAX_GATEWAY_BODY: usize = 10 * 1024 * 1024;

impl Gateway {
    /// Builds every function from the environment, as each would at start.
    pub async fn from_env() -> Result<Self, shared::config::ConfigError> {
        let base = shared::runtime::Clients::from_env().await?;
        let clients: Vec<_> = routes::FUNCTIONS.iter().map(|f| (*f, base.with_new_meter())).collect();
        let of = |name: &str| {
            clients
                .iter()
                .find(|(f, _)| *f == name)
                .map(|(_, c)| c)
                .unwrap_or(&base)
        };
        Ok(Self {
            inbound: inbound_callback::App::from_clients(of("inbound-callback"))?,
            outbound: outbound_send::App::from_clients(of("outbound-send"))?,
            validate: validate_credentials::App::from_clients(of("validate-credentials"))?,
            accounts: accounts::App::from_clients(of("accounts"))?,
            conversations: conversations::App::from_clients(of("conversations"))?,
            console: console::App::from_clients(of("console"))?,
            meters: clients.iter().map(|(f, c)| (*f, c.meter.clone())).collect(),
        })
    }

    /// The meter of one function.
    pub fn meter(&self, function: &str) -> Option<&shared::meter::Meter> {
        self.meters.iter().find(|(f, _)| *f == function).map(|(_, m)| m)
    }

    /// Serves until the process ends.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let gateway = self.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let gateway = gateway.clone();
                    async move { Ok::<_, Infallible>(gateway.route(req).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }

    async fn route(&self, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return plain(400, "the body could not be read"),
        };
        if body.len() > MAX_GATEWAY_BODY {
            return plain(413, "Request Entity Too Large");
        }
        let path = parts.uri.path().to_owned();
        let found = routes::find(parts.method.as_str(), &path);
        let (route, params) = match found {
            Ok(f) => f,
            // API Gateway's own answers for what no route matches.
            Err(_) => {
                tracing::warn!(method = %parts.method, path = %path, status = 404, "no route");
                return plain(404, "Not Found");
            }
        };
        let event = to_event(&parts, &body, route, &params);
        let request: Request = match lambda_http::request::from_str(&event.to_string()) {
            Ok(r) => r,
            Err(e) => return plain(500, &format!("the event could not be built: {e}")),
        };
        let started = std::time::Instant::now();
        // Every line a function logs while it handles the request names the function.
        let span = tracing::info_span!("invoke", function = route.function);
        let response = async {
            match route.function {
                "inbound-callback" => self.inbound.handle(request).await,
                "outbound-send" => self.outbound.handle(request).await,
                "validate-credentials" => self.validate.handle(request).await,
                "accounts" => self.accounts.handle(request).await,
                "console" => self.console.handle(request).await,
                _ => self.conversations.handle(request).await,
            }
        }
        .instrument(span)
        .await;
        let status = response.status().as_u16();
        let micros = started.elapsed().as_micros() as u64;
        if (400..500).contains(&status) {
            // One line per refused request, with the contract's error code: what a client got wrong.
            tracing::warn!(function = route.function, method = %parts.method, path = %path, status,
                code = error_code(&response).as_deref().unwrap_or(""), micros, "client error");
        } else {
            tracing::debug!(function = route.function, method = %parts.method, path = %path, status, micros, "routed");
        }
        to_http(response)
    }
}

/// The API Gateway v2 (HTTP API, payload 2.0) event of a request, the body base64-encoded
/// as API Gateway hands over any body it does not know to be text.
pub fn to_event(parts: &http::request::Parts, body: &[u8], route: routes::Route, params: &[(String, String)]) -> Value {
    let mut headers = Map::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), Value::String(value));
            }
        }
    }
    let raw_query = parts.uri.query().unwrap_or("").to_owned();
    let mut query = Map::new();
    for (k, v) in shared::telesign::sign::decode_form(&raw_query) {
        match query.get_mut(&k) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query.insert(k, Value::String(v));
            }
        }
    }
    let path_parameters: Map<String, Value> = params
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(percent_decode(v))))
        .collect();
    let route_key = format!("{} {}", route.method, route.path);
    let host = headers
        .get("host")
        .and_then(Value::as_str)
        .unwrap_or("127.0.0.1")
        .to_owned();
    let now = time::OffsetDateTime::now_utc();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "local", "apiId": "local", "domainName": host, "domainPrefix": "local",
            "http": {"method": parts.method.as_str(), "path": parts.uri.path(), "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": headers.get("user-agent").cloned().unwrap_or(Value::Null)},
            "requestId": uuid::Uuid::new_v4().to_string(), "routeKey": route_key, "stage": "$default",
            "time": now.to_string(), "timeEpoch": now.unix_timestamp() * 1000
        },
        "isBase64Encoded": !body.is_empty(),
    });
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !path_parameters.is_empty() {
        event["pathParameters"] = Value::Object(path_parameters);
    }
    if !body.is_empty() {
        event["body"] = Value::String(STANDARD.encode(body));
    }
    event
}

fn percent_decode(text: &str) -> String {
    // Path segments use %XX but not '+' for spaces.
    shared::telesign::sign::decode_form(&format!("x={}", text.replace('+', "%2B")))
        .into_iter()
        .next()
        .map(|(_, v)| v)
        .unwrap_or_default()
}

/// The `error.code` of a contract error body.
fn error_code(response: &Response<Body>) -> Option<String> {
    let bytes: &[u8] = match response.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => return None,
    };
    let body: Value = serde_json::from_slice(bytes).ok()?;
    body["error"]["code"].as_str().map(str::to_owned)
}

fn to_http(response: Response<Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(t) => Bytes::from(t),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

fn plain(status: u16, message: &str) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(json!({"message": message}).to_string())));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
