//! A proxy between the functions and DynamoDB Local that plays, on demand, what real DynamoDB does
//! and DynamoDB Local never does: transaction conflicts, throttling, unprocessed keys, a timeout
//! after the write committed, and outages. Everything else is forwarded unchanged (DynamoDB Local
//! does not check signatures, so the signed request goes through as it is).
//!
//! Control routes (JSON), driven like the TeleSign simulator's faults:
//! - `POST /_proxy/faults` `{kind, operation?, matching?, count?, seconds?, hold_ms?}`: the next
//!   `count` requests (default 1), or every request for `seconds`, of `operation` (the
//!   `X-Amz-Target` operation, e.g. `TransactWriteItems`; any when absent) whose body contains
//!   `matching` (a text, or a list of texts that must all be there; any body when absent) get
//!   the fault `kind`:
//!   - `conflict`: a transaction is cancelled with `TransactionConflict` on its first item (other
//!     writes get `TransactionConflictException`);
//!   - `throttle`: `ThrottlingException`;
//!   - `unprocessed`: a `BatchGetItem` / `BatchWriteItem` answered with every key unprocessed;
//!   - `timeout_after_commit`: forwarded and carried out, then left unanswered for `hold_ms`
//!     (default 10 000) and the connection closed;
//!   - `unreachable`: the connection closed before anything is forwarded.
//! - `GET /_proxy/faults`: the faults still queued; `DELETE /_proxy/faults`: none any more.
//! - `GET /_proxy/stats`: requests forwarded and faults played, by kind.
//! - `POST /_proxy/capacity` `{enforce?}`: DynamoDB's capacity model on, afresh (`capacity.rs`):
//!   every request forwarded is charged the units AWS would charge, by table, index and partition
//!   key; with `enforce`, a key that spent a partition's units of the current second is throttled
//!   as DynamoDB throttles it. `GET /_proxy/capacity?top=N`: the units by operation and the `N`
//!   hottest keys; `DELETE /_proxy/capacity`: off again.
//!
//! Faults name what they match, so that parallel tests (each with its own account ids) do not see
//! each other's.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::net::TcpListener;

pub mod capacity;
mod metered;

/// What a fault does to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// A transaction conflict.
    Conflict,
    /// Throttling.
    Throttle,
    /// Every key of a batch left unprocessed.
    Unprocessed,
    /// Carried out, then never answered.
    TimeoutAfterCommit,
    /// Closed before anything is forwarded.
    Unreachable,
}

/// A fault queued by a test.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fault {
    /// What it does.
    pub kind: FaultKind,
    /// Only this operation (`TransactWriteItems`, `GetItem`, ...).
    #[serde(default)]
    pub operation: Option<String>,
    /// Only requests whose body contains this text (or every text of a list).
    #[serde(default)]
    pub matching: Option<Matching>,
    /// How many requests it applies to (default 1; ignored with `seconds`).
    #[serde(default = "one")]
    pub count: u32,
    /// Every matching request for this long instead.
    #[serde(default)]
    pub seconds: Option<f64>,
    /// `timeout_after_commit`: how long the answer is held back.
    #[serde(default)]
    pub hold_ms: Option<u64>,
    #[serde(skip)]
    until: Option<Instant>,
}

fn one() -> u32 {
    1
}

/// Text a request's body must contain.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Matching {
    /// One text.
    One(String),
    /// Every one of these.
    All(Vec<String>),
}

impl Matching {
    fn found_in(&self, body: &str) -> bool {
        match self {
            Self::One(text) => body.contains(text.as_str()),
            Self::All(texts) => texts.iter().all(|t| body.contains(t.as_str())),
        }
    }
}

impl Fault {
    fn live(&self, now: Instant) -> bool {
        match self.until {
            Some(until) => now < until,
            None => self.count > 0,
        }
    }

    fn applies(&self, operation: &str, body: &str) -> bool {
        self.operation.as_deref().is_none_or(|o| o == operation)
            && self.matching.as_ref().is_none_or(|m| m.found_in(body))
    }
}

#[derive(Default)]
struct State {
    faults: Vec<Fault>,
    forwarded: u64,
    played: BTreeMap<String, u64>,
    model: Option<metered::Model>,
}

/// The proxy: an upstream (DynamoDB Local) and the faults to play.
#[derive(Clone)]
pub struct Proxy {
    upstream: String,
    client: Client<HttpConnector, Full<Bytes>>,
    state: Arc<Mutex<State>>,
}

/// Why a connection is closed unanswered.
#[derive(Debug)]
pub struct HangUp(String);

impl std::fmt::Display for HangUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HangUp {}

fn hung<E: std::fmt::Display>(e: E) -> HangUp {
    HangUp(e.to_string())
}

type Answer = Result<Response<Full<Bytes>>, HangUp>;

fn answer(status: StatusCode, body: Value) -> Answer {
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(hung)
}

fn dynamodb_error(kind: &str, message: &str, extra: Value) -> Answer {
    let mut body = json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": message});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    answer(StatusCode::BAD_REQUEST, body)
}

/// A connection closed with no answer.
fn hang_up() -> Answer {
    Err(HangUp("the connection is closed unanswered (a fault)".into()))
}

impl Proxy {
    /// A proxy in front of `upstream` (`http://127.0.0.1:8000`).
    pub fn new(upstream: String) -> Self {
        Self {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            state: Arc::default(),
        }
    }

    /// Serves until the process ends.
    pub async fn serve(self, listener: TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let proxy = self.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let proxy = proxy.clone();
                    async move { proxy.handle(req).await }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn handle(&self, req: Request<Incoming>) -> Answer {
        let (parts, body) = req.into_parts();
        let body = body.collect().await.map_err(hung)?.to_bytes();
        if let Some(route) = parts.uri.path().strip_prefix("/_proxy/") {
            if route == "capacity" {
                return metered::control(self, parts.method.as_str(), parts.uri.query().unwrap_or(""), &body);
            }
            return self.control(&parts.method, route, &body);
        }
        let operation = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("")
            .to_owned();
        let text = String::from_utf8_lossy(&body).into_owned();
        match self.take_fault(&operation, &text) {
            None if self.metering() => self.metered(&operation, parts, body).await,
            None => self.forward(parts, body).await,
            Some(fault) => self.play(fault, &operation, parts, body).await,
        }
    }

    /// The first live fault for this request, counted as played.
    fn take_fault(&self, operation: &str, body: &str) -> Option<Fault> {
        let now = Instant::now();
        let mut st = self.lock();
        st.faults.retain(|f| f.live(now));
        let i = st.faults.iter().position(|f| f.applies(operation, body))?;
        let fault = st.faults[i].clone();
        if fault.until.is_none() {
            st.faults[i].count -= 1;
        }
        let name = serde_json::to_value(fault.kind).ok()?.as_str()?.to_owned();
        *st.played.entry(name).or_default() += 1;
        Some(fault)
    }

    async fn play(&self, fault: Fault, operation: &str, parts: http::request::Parts, body: Bytes) -> Answer {
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        match fault.kind {
            FaultKind::Unreachable => hang_up(),
            FaultKind::Throttle => dynamodb_error(
                "ThrottlingException",
                "Rate of requests exceeds the allowed throughput.",
                json!({}),
            ),
            FaultKind::Conflict if operation == "TransactWriteItems" => {
                let items = request["TransactItems"].as_array().map_or(1, Vec::len);
                let reasons: Vec<Value> = (0..items)
                    .map(|i| match i {
                        0 => json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}),
                        _ => json!({"Code": "None"}),
                    })
                    .collect();
                dynamodb_error(
                    "TransactionCanceledException",
                    "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
                    json!({"CancellationReasons": reasons}),
                )
            }
            FaultKind::Conflict => dynamodb_error(
                "TransactionConflictException",
                "Transaction is ongoing for the item",
                json!({}),
            ),
            FaultKind::Unprocessed if operation == "BatchGetItem" => answer(
                StatusCode::OK,
                json!({"Responses": {}, "UnprocessedKeys": request["RequestItems"]}),
            ),
            FaultKind::Unprocessed if operation == "BatchWriteItem" => {
                answer(StatusCode::OK, json!({"UnprocessedItems": request["RequestItems"]}))
            }
            FaultKind::Unprocessed => self.forward(parts, body).await,
            FaultKind::TimeoutAfterCommit => {
                let _ = self.forward(parts, body).await;
                tokio::time::sleep(Duration::from_millis(fault.hold_ms.unwrap_or(10_000))).await;
                hang_up()
            }
        }
    }

    async fn forward(&self, parts: http::request::Parts, body: Bytes) -> Answer {
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut request = Request::builder()
            .method(parts.method)
            .uri(format!("{}{}", self.upstream, path));
        for (name, value) in &parts.headers {
            if name != http::header::HOST {
                request = request.header(name, value);
            }
        }
        let request = request.body(Full::new(body)).map_err(hung)?;
        let response = self.client.request(request).await.map_err(hung)?;
        self.lock().forwarded += 1;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(hung)?.to_bytes();
        Ok(Response::from_parts(parts, Full::new(body)))
    }

    fn control(&self, method: &Method, route: &str, body: &[u8]) -> Answer {
        match (method.as_str(), route) {
            ("POST", "faults") => match serde_json::from_slice::<Fault>(body) {
                Ok(mut f) => {
                    f.until = f.seconds.map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
                    let mut st = self.lock();
                    st.faults.push(f);
                    answer(StatusCode::OK, json!({"queued": st.faults.len()}))
                }
                Err(e) => answer(StatusCode::BAD_REQUEST, json!({"error": e.to_string()})),
            },
            ("GET", "faults") => answer(StatusCode::OK, json!(self.lock().faults)),
            ("DELETE", "faults") => {
                self.lock().faults.clear();
                answer(StatusCode::OK, json!({"queued": 0}))
            }
            ("GET", "stats") => {
                let st = self.lock();
                answer(StatusCode::OK, json!({"forwarded": st.forwarded, "played": st.played}))
            }
            _ => answer(StatusCode::NOT_FOUND, json!({"error": "no such route"})),
        }
    }
}
