//! The local stack's API Gateway: serves every function behind the routes of `template.yaml`,
//! turning each HTTP request into the API Gateway v2 event the deployed function receives and
//! handing it to the function's own handler.
//!
//! # What it stands in for, and what not
//!
//! It emulates, as the deployed stack behaves:
//! - the HTTP API: routing by route key (method and path template, `{name}` parameters), the
//!   payload format 2.0 event (`routeKey`, `rawPath`, `rawQueryString`, lower-cased headers,
//!   base64 bodies, path parameters), API Gateway's own answers (`404 {"message":"Not Found"}`
//!   for an unmatched method or path, `401 {"message":"Unauthorized"}` with `WWW-Authenticate`,
//!   `413` past its 10 MB body limit);
//! - the JWT authorizer (`auth.rs`, verifying with `shared::jwt` as the WebSocket authorizer
//!   does): RS256, the key id, issuer, audience or `client_id`, `exp`, `nbf`, `iat`, the claims
//!   handed on as strings;
//! - the WebSocket API (`ws.rs`): the Lambda authorizer of `$connect`, `$connect` and
//!   `$disconnect` routed to `sockets`, the `@connections` management API (`410 Gone` for a
//!   connection it does not know);
//! - Lambda's event sources: the SQS mappings (`queue.rs`: long polls, batches, partial batch
//!   failures, the visibility timeout, the redrive to each dead-letter queue after its receives),
//!   the DynamoDB Streams mapping (`stream.rs`: the template's filter, order per shard, bisect on
//!   error, retries, the on-failure destination), the sweep's schedule;
//! - the identity provider the console signs in with (`identity.rs`: Cognito's hosted UI, the
//!   code flow with PKCE, refresh tokens, revocation, logout).
//!
//! It does not emulate, and the deploy rehearsal (`deploy/`) or the smoke test (`make smoke`)
//! holds the deployed stack to instead: throttling (the stage's route throttles, account
//! concurrency, reserved concurrency), API Gateway's 30-second integration timeout and Lambda's
//! function timeouts, Lambda's 6 MB payload limit and cold starts, memory and CPU shares, IAM
//! (every function runs with the local credentials: `tests/template.rs` checks the policies
//! against what each function's code calls), stages, custom domains, access logs and CORS.

pub mod auth;
pub mod identity;
pub mod queue;
pub mod routes;
pub mod stream;
pub mod ws;

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
use std::collections::HashMap;

use aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription, ApiGatewayV2httpRequest,
    ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription,
};
use aws_lambda_events::query_map::QueryMap;
use serde_json::json;
use tokio::net::TcpListener;
use tracing::Instrument;

/// The gateway's logs, for people reading `.local/<stack>/local-gateway.log`: the deployed
/// functions' format and filter (`AWS_LAMBDA_LOG_FORMAT`, `RUST_LOG`) with the time of each line added, and each line a
/// function writes carrying that function's name (the `invoke` span), since every function runs
/// in this one process.
pub fn init_logging() {
    // The deployed functions' filter (`shared::logging`): the same lines at the same level.
    let filter = shared::logging::filter(&shared::logging::requested_level());
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
    /// The functions behind the HTTP API, by the name the route table gives each.
    http: std::collections::BTreeMap<&'static str, Box<dyn Answer>>,
    /// The stand-in for API Gateway's JWT authorizer.
    pub authorizer: auth::Authorizer,
    /// The stand-in for the identity provider the console signs in with.
    pub identities: identity::Identities,
    /// `callback-replay` (fed by the parking queue's pollers, `queue.rs`).
    pub replay: callback_replay::App,
    /// `sweeper` (its schedule's run every `SWEEP_INTERVAL_SECONDS`, as the schedule runs it
    /// every minute; its turns fed by the sweep queue's pollers, `queue.rs`).
    pub sweeper: sweeper::App,
    /// `worker` (fed by the work queue's pollers, `queue.rs`).
    pub worker: worker::App,
    /// `setup` (deployed, CloudFormation's custom resource; locally a test hands it requests).
    pub setup: setup::App,
    /// `events` (fed by the table's stream, `stream.rs`).
    pub events: events::App,
    /// `sockets`: the WebSocket API's `$connect` and `$disconnect` (`ws.rs`).
    pub sockets: sockets::App,
    /// The WebSocket API's authorizer, with this gateway's key as the issuer's.
    pub socket_authorizer: sockets::authorizer::Authorizer,
    /// The open sockets.
    pub sockets_open: ws::Open,
    /// Invocations of `events` still to kill mid-batch (`POST /_local/faults/events`).
    pub events_crashes: std::sync::atomic::AtomicUsize,
}

/// A path as the log may hold it: a segment that could be a phone number (seven digits or more)
/// is written `{number}`, so that no customer's number reaches the gateway's log.
fn loggable(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            let digits = segment.chars().filter(char::is_ascii_digit).count();
            if digits >= 7 {
                "{number}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// An HTTP function as the gateway holds it: one boxed call, whichever function it is.
trait Answer: Send + Sync {
    fn answer_boxed(
        &self,
        request: Request,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response<Body>> + Send + '_>>;
}

impl<F: shared::runtime::HttpFunction> Answer for F {
    fn answer_boxed(
        &self,
        request: Request,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response<Body>> + Send + '_>> {
        Box::pin(self.answer(request))
    }
}

/// Builds the function the route table names `name`, as it builds itself at start; a name no
/// function of this gateway has fails the gateway's start.
fn http_function(
    name: &str,
    clients: &shared::runtime::Clients,
    authorizer: &auth::Authorizer,
) -> Result<Box<dyn Answer>, Box<dyn std::error::Error>> {
    Ok(match name {
        "inbound-callback" => Box::new(inbound_callback::App::from_clients(clients)?),
        "outbound-send" => Box::new(outbound_send::App::from_clients(clients)?),
        "validate-credentials" => Box::new(validate_credentials::App::from_clients(clients)?),
        "accounts" => Box::new(accounts::App::from_clients(clients)?),
        "conversations" => Box::new(conversations::App::from_clients(clients)?),
        // The console signs in against this gateway's identity stand-in, as deployed against Cognito.
        "console" => {
            Box::new(console::App::from_clients(clients)?.signing_in_with(&authorizer.issuer, &authorizer.audience))
        }
        other => {
            return Err(format!("the route table names the function {other}, which this gateway does not host").into())
        }
    })
}

/// The largest body the gateway takes (API Gateway's limit is 10 MB; the functions refuse more
/// than 64 KiB themselves).
const MAX_GATEWAY_BODY: usize = 10 * 1024 * 1024;

impl Gateway {
    /// Builds every function from the environment, as each would at start, and the authorizer
    /// (`JWT_ISSUER`, default `http://127.0.0.1:<SMS_LOCAL_PORT>/_local`; `JWT_AUDIENCE`, default
    /// `sms-channel-local`; `ROLES_CLAIM`).
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error>> {
        let base = shared::runtime::Clients::from_env().await?;
        let authorizer = authorizer_from_env()?;
        let clients: Vec<_> = routes::FUNCTIONS.iter().map(|f| (*f, base.with_new_meter())).collect();
        let of = |name: &str| {
            clients
                .iter()
                .find(|(f, _)| *f == name)
                .map(|(_, c)| c)
                .unwrap_or(&base)
        };
        let mut http = std::collections::BTreeMap::new();
        for name in routes::http_functions() {
            http.insert(name, http_function(name, of(name), &authorizer)?);
        }
        Ok(Self {
            http,
            replay: callback_replay::App::from_clients(of("callback-replay"))?,
            sweeper: sweeper::App::from_clients(of("sweeper"))?,
            worker: worker::App::from_clients(of("worker"))?,
            setup: setup::App::from_clients(of("setup"))?,
            events: events::App::from_clients(of("events"))?,
            sockets: sockets::App::from_clients(of("sockets"))?,
            meters: clients.iter().map(|(f, c)| (*f, c.meter.clone())).collect(),
            socket_authorizer: socket_authorizer(&authorizer)?,
            authorizer,
            identities: identity::Identities::default(),
            sockets_open: ws::Open::default(),
            events_crashes: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Runs the sweep every `SWEEP_INTERVAL_SECONDS` (default 5; 0 runs none), each run inside the
    /// function's invocation span and metrics scope, as the schedule's invocations are.
    fn start_sweeps(self: &Arc<Self>) {
        let every = shared::config::parsed("SWEEP_INTERVAL_SECONDS", 5u64).unwrap_or(5);
        if every == 0 {
            // No schedule of its own (a test's gateway beside the stack's, which schedules).
            return;
        }
        let gateway = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(every));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let span = tracing::info_span!("invoke", function = "sweeper");
                let run = async {
                    let (outcome, records) = shared::metrics::scope(gateway.sweeper.schedule()).await;
                    shared::metrics::write(&records, &[]);
                    if let Err(e) = outcome {
                        tracing::warn!(error = %e, "sweep failed; the next one tries again");
                    }
                };
                tracing::Instrument::instrument(run, span).await;
            }
        });
    }

    /// The meter of one function.
    pub fn meter(&self, function: &str) -> Option<&shared::meter::Meter> {
        self.meters.iter().find(|(f, _)| *f == function).map(|(_, m)| m)
    }

    /// Serves until the process ends (and polls the parking queue and runs the sweep, as Lambda
    /// and the schedule would).
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        self.start_pollers();
        self.start_sweeps();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let gateway = self.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<Incoming>| {
                    let gateway = gateway.clone();
                    async move {
                        if req.uri().path() == "/ws" {
                            return Ok::<_, Infallible>(gateway.websocket(req).await);
                        }
                        Ok::<_, Infallible>(gateway.route(req).await)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades()
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
        if let Some(local) = path.strip_prefix("/_local/") {
            if let Some(answer) = self.identity(&parts, local, &body) {
                return answer;
            }
            return self.local(parts.method.as_str(), local, &body);
        }
        if let Some(id) = path.strip_prefix("/@connections/") {
            return self.manage(parts.method.as_str(), id, &body);
        }
        let found = routes::find(parts.method.as_str(), &path);
        let (route, params) = match found {
            Ok(f) => f,
            // API Gateway's own answers for what no route matches.
            Err(_) => {
                tracing::warn!(method = %parts.method, path = %loggable(&path), status = 404, "no route");
                return plain(404, "Not Found");
            }
        };
        let claims = if route.public {
            None
        } else if self.identities.refuse_now() {
            tracing::warn!(method = %parts.method, route = route.path, status = 401, "token refused (a test's forced 401)");
            return plain(401, "Unauthorized");
        } else {
            let header = parts
                .headers
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            match self.authorizer.verify(header).await {
                Ok(claims) => Some(claims),
                Err(why) => {
                    // API Gateway's own answer; the reason only in the log.
                    tracing::warn!(method = %parts.method, route = route.path, status = 401, reason = %why, "token refused");
                    let mut refused = plain(401, "Unauthorized");
                    refused
                        .headers_mut()
                        .insert(http::header::WWW_AUTHENTICATE, http::HeaderValue::from_static("Bearer"));
                    return refused;
                }
            }
        };
        let mut event = to_event(&parts, &body, route, &params);
        if let Some(claims) = claims {
            event.request_context.authorizer = Some(authorizer_context(claims));
        }
        let text = serde_json::to_string(&event).unwrap_or_default();
        let request: Request = match lambda_http::request::from_str(&text) {
            Ok(r) => r,
            Err(e) => return plain(500, &format!("the event could not be built: {e}")),
        };
        let started = std::time::Instant::now();
        // Every line a function logs while it handles the request names the function; inside,
        // the invocation's own span (actor, ids) and metrics, as `shared::runtime::run` deployed.
        let span = tracing::info_span!("invoke", function = route.function);
        let Some(function) = self.http.get(route.function) else {
            // Not reached: every route's function was built at start, or the gateway did not start.
            return plain(502, "Bad Gateway");
        };
        let response = shared::observe::invocation(request, |request| function.answer_boxed(request))
            .instrument(span)
            .await;
        let status = response.status().as_u16();
        let micros = started.elapsed().as_micros() as u64;
        if (400..500).contains(&status) {
            // One line per refused request, with the contract's error code: what a client got wrong.
            // The route's template, never the path: a path may carry a customer's number.
            tracing::warn!(function = route.function, method = %parts.method, route = route.path, status,
                code = error_code(&response).as_deref().unwrap_or(""), micros, "client error");
        } else {
            tracing::debug!(function = route.function, method = %parts.method, route = route.path, status, micros, "routed");
        }
        to_http(response)
    }
}

impl Gateway {
    /// The identity provider's routes (`identity.rs`), at this gateway's own origin.
    fn identity(&self, parts: &http::request::Parts, path: &str, body: &[u8]) -> Option<hyper::Response<Full<Bytes>>> {
        let header =
            |name: http::header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
        let base = format!("http://{}", header(http::header::HOST));
        let language = header(http::header::ACCEPT_LANGUAGE).to_ascii_lowercase();
        let asked = identity::Asked {
            method: parts.method.as_str(),
            path,
            query: parts.uri.query().unwrap_or(""),
            body,
            base: &base,
            language: &language,
        };
        let answer = self.identities.answer(&self.authorizer, &asked)?;
        let mut response = plain(answer.status, "");
        *response.body_mut() = Full::new(Bytes::from(answer.body));
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(answer.content_type),
        );
        if let Some(to) = answer.location.and_then(|l| http::HeaderValue::from_str(&l).ok()) {
            response.headers_mut().insert(http::header::LOCATION, to);
        }
        Some(response)
    }

    /// The development routes: `POST /_local/tokens`, `GET /_local/jwks.json`.
    fn local(&self, method: &str, path: &str, body: &[u8]) -> hyper::Response<Full<Bytes>> {
        match (method, path) {
            ("GET", "jwks.json") => json_answer(200, &self.authorizer.jwks()),
            ("GET", "sockets") => json_answer(200, &json!({ "connections": self.open_socket_ids() })),
            ("POST", "faults/events") => {
                let crashes = serde_json::from_slice::<serde_json::Value>(body)
                    .ok()
                    .and_then(|b| b["crashes"].as_u64());
                match crashes {
                    Some(n) => {
                        self.events_crashes
                            .store(n as usize, std::sync::atomic::Ordering::SeqCst);
                        json_answer(200, &json!({ "crashes": n }))
                    }
                    None => json_answer(
                        400,
                        &json!({"error": {"code": "invalid_parameter", "message": "crashes is a count"}}),
                    ),
                }
            }
            ("POST", "tokens") => {
                let minted = serde_json::from_slice::<auth::MintRequest>(body)
                    .map_err(|e| auth::Refused(e.to_string()))
                    .and_then(|r| self.authorizer.mint(&r));
                match minted {
                    Ok(token) => json_answer(200, &json!({ "token": token })),
                    Err(e) => json_answer(
                        400,
                        &json!({"error": {"code": "invalid_parameter", "message": e.to_string()}}),
                    ),
                }
            }
            _ => plain(404, "Not Found"),
        }
    }
}

fn authorizer_from_env() -> Result<auth::Authorizer, Box<dyn std::error::Error>> {
    let port: u16 = shared::config::parsed("SMS_LOCAL_PORT", 9000)?;
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let issuer = var("JWT_ISSUER").unwrap_or_else(|| format!("http://127.0.0.1:{port}/_local"));
    let audience = var("JWT_AUDIENCE").unwrap_or_else(|| "sms-channel-local".into());
    auth::Authorizer::generate(issuer, audience, shared::http::roles_claim().to_owned())
}

/// The WebSocket API's authorizer, trusting this gateway's key as the issuer's published one.
fn socket_authorizer(http: &auth::Authorizer) -> Result<sockets::authorizer::Authorizer, Box<dyn std::error::Error>> {
    let keys = shared::jwt::JwtKeys::Fixed(serde_json::from_value(http.jwks())?);
    let verifier = shared::jwt::JwtVerifier::new(keys, http.issuer.clone(), vec![http.audience.clone()]);
    Ok(sockets::authorizer::Authorizer::new(verifier))
}

/// The authorizer's part of the request context: the verified claims.
fn authorizer_context(claims: HashMap<String, String>) -> ApiGatewayRequestAuthorizer {
    let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
    jwt.claims = claims;
    jwt.scopes = None;
    let mut authorizer = ApiGatewayRequestAuthorizer::default();
    authorizer.jwt = Some(jwt);
    authorizer
}

pub(crate) fn json_answer(status: u16, body: &serde_json::Value) -> hyper::Response<Full<Bytes>> {
    let mut response = plain(status, "");
    *response.body_mut() = Full::new(Bytes::from(body.to_string()));
    response
}

/// The API Gateway v2 (HTTP API, payload 2.0) event of a request, typed as `aws_lambda_events`
/// defines it; the body base64-encoded as API Gateway hands over any body it does not know to
/// be text.
pub fn to_event(
    parts: &http::request::Parts,
    body: &[u8],
    route: routes::Route,
    params: &[(String, String)],
) -> ApiGatewayV2httpRequest {
    let raw_query = parts.uri.query().unwrap_or("").to_owned();
    let route_key = format!("{} {}", route.method, route.path);
    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some(route_key.clone());
    event.raw_path = Some(parts.uri.path().to_owned());
    event.headers = parts.headers.clone();
    event.query_string_parameters = query_map(&raw_query);
    event.raw_query_string = Some(raw_query);
    event.path_parameters = params.iter().map(|(k, v)| (k.clone(), percent_decode(v))).collect();
    event.request_context = context(parts, route_key);
    event.is_base64_encoded = !body.is_empty();
    event.body = (!body.is_empty()).then(|| STANDARD.encode(body));
    event
}

fn context(parts: &http::request::Parts, route_key: String) -> ApiGatewayV2httpRequestContext {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = parts.method.clone();
    http.path = Some(parts.uri.path().to_owned());
    http.protocol = Some("HTTP/1.1".into());
    http.source_ip = Some("127.0.0.1".into());
    http.user_agent = header("user-agent");
    let now = time::OffsetDateTime::now_utc();
    let mut ctx = ApiGatewayV2httpRequestContext::default();
    ctx.route_key = Some(route_key);
    ctx.account_id = Some("local".into());
    ctx.stage = Some("$default".into());
    ctx.request_id = Some(uuid::Uuid::new_v4().to_string());
    ctx.apiid = Some("local".into());
    ctx.domain_name = Some(header("host").unwrap_or_else(|| "127.0.0.1".into()));
    ctx.domain_prefix = Some("local".into());
    ctx.time = Some(now.to_string());
    ctx.time_epoch = now.unix_timestamp() * 1000;
    ctx.http = http;
    ctx
}

/// The query string as API Gateway splits it (`+` and `%XX` decoded; repeated names kept).
pub(crate) fn query_map(raw: &str) -> QueryMap {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        map.entry(k.into_owned()).or_default().push(v.into_owned());
    }
    QueryMap::from(map)
}

/// A path segment decoded (`%XX` only: a `+` in a path is a plus).
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The `error.code` of a contract error body.
fn error_code(response: &Response<Body>) -> Option<String> {
    let bytes: &[u8] = match response.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => return None,
    };
    let body: serde_json::Value = serde_json::from_slice(bytes).ok()?;
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

pub(crate) fn plain(status: u16, message: &str) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(json!({"message": message}).to_string())));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_path_holds_no_number() {
        assert_eq!(
            loggable("/accounts/01ab/customers/+14255550123/export/x"),
            "/accounts/01ab/customers/{number}/export/x"
        );
        assert_eq!(loggable("/accounts/14255550100"), "/accounts/{number}");
        assert_eq!(loggable("/conversations"), "/conversations");
    }

    #[tokio::test]
    async fn a_function_the_gateway_does_not_host_fails_its_start() {
        let clients = shared::runtime::Clients {
            aws: shared::aws::load_config().await,
            table: "t".into(),
            meter: shared::meter::Meter::default(),
            raw_payload_days: 30,
        };
        let authorizer = auth::Authorizer::generate("https://i".into(), "a".into(), "g".into()).unwrap();
        let unknown = http_function("reports", &clients, &authorizer)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            unknown.as_deref(),
            Some("the route table names the function reports, which this gateway does not host")
        );
        assert!(http_function("console", &clients, &authorizer).is_ok());
        for name in routes::http_functions() {
            assert!(routes::FUNCTIONS.contains(&name), "{name} is a function of the stack");
        }
    }
}
